"""``netsim step TARGET [OPTIONS]``: find the network to step through, then hand it to the stepper.

The stepper (:class:`netsim.trace.stepper.Stepper`) drives whatever network it is given. This
module, at the command-line layer, knows where networks come from:

* a lab: each lab module offers the scene a student steps through, ``scene(**options)``, with
  its options declared in ``STEP_PARAMS`` (``netsim step tcp-handshake --variant lost-syn``,
  ``netsim step hub-vs-switch --device hub``);
* a Python script, run as ``python script.py ARGS`` would run it, up to its first
  ``net.run()``: the stepper advances time from there. It finds the script's network with
  :meth:`Network.observe` and marks it ``driven``, so ``net.capture(...)`` records nothing
  while the script is re-run to step back.
"""

from __future__ import annotations

import contextlib
import difflib
import runpy
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from labs.params import ParamError

from .network import Network
from .trace.stepper import Stepper

__all__ = ["load_target", "main", "StepError"]


class StepError(Exception):
    """Something the user asked for cannot be stepped; the message says what and why."""


def load_target(target: str, args: list[str] | None = None) -> Callable[[], Network]:
    """A function building a fresh, not yet run, Network for a lab name or a script path.

    Args:
        target: a lab name (``tcp-handshake``) or the path of a ``.py`` script.
        args: a lab's scene options (``["--variant", "lost-syn"]``), or the script's own
            command-line arguments.

    Raises:
        StepError: no such lab or script, or an option the lab's scene does not take.
    """
    args = list(args or [])
    path = Path(target)
    if path.suffix == ".py":
        if not path.is_file():
            raise StepError(f"no script {target!r} (netsim step takes a lab name or a .py file)")
        return lambda: _build_from_script(path, args)
    import labs
    try:
        mod = labs.load(target)
    except KeyError as exc:
        raise StepError(f"{exc.args[0]} (or give the path of a .py script)") from None
    params = _scene_options(mod, args)
    return lambda: _network_of(mod.scene(**params))


def _scene_options(mod, args: list[str]) -> dict[str, Any]:
    """``--name value`` / ``--name=value`` pairs, converted to the types ``STEP_PARAMS`` declares."""
    declared = mod.STEP_PARAMS
    takes = ", ".join(f"--{n.replace('_', '-')}" for n in declared) or "no options"
    values: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise StepError(f"unexpected argument {arg!r}; lab {mod.NAME} takes {takes}")
        key, eq, value = arg[2:].partition("=")
        name = key.replace("-", "_")
        if name not in declared:
            near = difflib.get_close_matches(name, declared, n=1)
            hint = f" (did you mean --{near[0].replace('_', '-')}?)" if near else ""
            raise StepError(f"lab {mod.NAME} has no step option --{key}{hint}; it takes {takes}")
        if not eq:
            i += 1
            if i >= len(args):
                raise StepError(f"--{key} needs a value")
            value = args[i]
        try:
            values[name] = declared[name].check(value, f"--{key}")
        except ParamError as exc:
            raise StepError(str(exc)) from None
        i += 1
    return values


def _network_of(built: Any) -> Network:
    return built[0] if isinstance(built, tuple) else built


class _ReachedRun(Exception):
    """The script called ``net.run()``: from here on the stepper runs the network."""

    def __init__(self, net: Network):
        super().__init__("the stepper drives the network from here")
        self.net = net


def _drive(nets: list[Network]) -> Callable[[Network], None]:
    def observe(net: Network) -> None:
        net.driven = True          # captures record nothing; the stepper advances time

        def run(*_args: Any, **_kwargs: Any) -> None:
            raise _ReachedRun(net)
        net.run = run              # this network's run() hands over to the stepper
        nets.append(net)
    return observe


@contextlib.contextmanager
def _as_main(path: Path, args: list[str]) -> Iterator[None]:
    """``sys.argv`` and ``sys.path[0]`` as ``python path args`` would set them."""
    argv, syspath = sys.argv, list(sys.path)
    sys.argv = [str(path), *args]
    sys.path.insert(0, str(path.resolve().parent))
    try:
        yield
    finally:
        sys.argv, sys.path[:] = argv, syspath


def _build_from_script(path: Path, args: list[str]) -> Network:
    nets: list[Network] = []
    with Network.observe(_drive(nets)), _as_main(path, args):
        try:
            namespace = runpy.run_path(str(path), run_name="__main__")
        except _ReachedRun as reached:
            return reached.net
        except SystemExit as exc:
            if nets:
                return nets[0]
            raise StepError(f"{path} exited (status {exc.code}) before it built a network"
                            ) from None
        except Exception as exc:   # the script's own error, before the stepper took over
            raise StepError(f"{path}{_line_in(path, exc)} raised {type(exc).__name__}: {exc}"
                            ) from None
    if callable(namespace.get("build")):
        return _network_of(namespace["build"]())
    if nets:
        return nets[0]
    raise StepError(f"{path} ran to its end without building a Network; if it builds one only "
                    "when given an option, pass the option after its name (e.g. netsim step "
                    "examples/tcp_echo.py --sim)")


def _line_in(path: Path, exc: BaseException) -> str:
    """`` line N`` of the deepest frame of ``exc``'s traceback that is in ``path``."""
    import traceback
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
             if Path(f.filename).resolve() == path.resolve()]
    return f" line {lines[-1]}" if lines else ""


def main(target: str, script: IO[str] | None = None, out: IO[str] | None = None,
         args: list[str] | None = None) -> int:
    """Entry point of ``netsim step``; ``script`` holds commands (non-interactive mode).

    Returns the exit status: 0, or 2 (with one line on stderr) when the target cannot be
    stepped.
    """
    try:
        stepper = Stepper(load_target(target, args), out)
    except StepError as exc:
        print(f"netsim step: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:        # a scene option out of range (e.g. --variant bogus)
        print(f"netsim step {target}: {exc}", file=sys.stderr)
        return 2
    stepper.echo(f"netsim step {target}: n=next  c=continue  b FILTER=break  p=back  "
                 f"l=ladder  r=raw/relative  h=help  q=quit  (Enter = next)")
    interactive = script is None and sys.stdin.isatty()
    source = script if script is not None else sys.stdin
    while True:
        if interactive:
            try:
                line = input("(step) ")
            except EOFError:
                break
        else:
            line = source.readline()
            if not line:
                break
            stepper.echo(f"(step) {line.rstrip()}")
        if not stepper.command(line):
            break
    return 0
