"""``netsim step TARGET``: find the network of a lab or a script, then hand it to the stepper.

The stepper (:class:`netsim.trace.stepper.Stepper`) drives whatever network it is given. This
module, at the command-line layer, knows where networks come from: a lab's ``build()``, or a
Python script whose ``net.run()`` must not run because the stepper advances time itself. It
finds the script's networks with :meth:`Network.observe` and marks them ``driven``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .network import Network
from .trace.stepper import Stepper

__all__ = ["load_target", "main"]


def load_target(target: str) -> Callable[[], Any]:
    """A function building a fresh, not yet run, Network for a lab name or a script path.

    A lab module provides ``build()`` (returning a Network or ``(network, info)``). A script
    either defines ``build()`` or creates a Network at module level; its own ``net.run()`` and
    ``net.capture()`` calls do nothing while it is loaded, so the stepper can drive the run.

    Raises:
        SystemExit: no such lab, or a lab without ``build()``.
    """
    path = Path(target)
    if path.suffix == ".py" and path.exists():
        return lambda: _build_from_script(path)
    import labs
    try:
        mod = labs.load(target)
    except KeyError as exc:
        raise SystemExit(f"netsim step: {exc.args[0]} (or give a path to a .py script)") from None
    if not hasattr(mod, "build"):
        raise SystemExit(f"netsim step: lab {target!r} cannot be stepped (it has no build())")
    return lambda: _network_of(mod.build())


def _network_of(built: Any) -> Network:
    return built[0] if isinstance(built, tuple) else built


def _drive(net: Network) -> None:
    net.driven = True  # the stepper drives time, not the script


def _build_from_script(path: Path) -> Network:
    spec = importlib.util.spec_from_file_location("_netsim_step_script", path)
    module = importlib.util.module_from_spec(spec)
    with Network.observe(_drive):
        spec.loader.exec_module(module)
    if hasattr(module, "build"):
        return _network_of(module.build())
    nets = [v for v in vars(module).values() if isinstance(v, Network)]
    if not nets:
        raise SystemExit(f"netsim step: {path} creates no Network (define build() or a global net)")
    return nets[0]


def main(target: str, script: IO[str] | None = None, out: IO[str] | None = None) -> int:
    """Entry point of ``netsim step``; ``script`` holds commands (non-interactive mode)."""
    stepper = Stepper(load_target(target), out)
    stepper.echo(f"netsim step {target}: n=next  c=continue  b FILTER=break  p=back  "
                 f"l=ladder  q=quit  (Enter = next)")
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
