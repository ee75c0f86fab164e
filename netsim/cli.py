"""The ``netsim`` command: labs, topology files, the stepper, capture viewers, TFTP on real sockets.

Every mistake on the command line costs one line on stderr and exit status 2, before anything
runs: each lab option is built from the lab's parameter declarations (:mod:`labs.params`),
which convert and range-check the value. An unexpected error while a lab or a topology runs is
also one line (what failed, in which task on which host, at what virtual time) and exit status
3; ``--debug`` (or ``NETSIM_DEBUG=1``) prints the full traceback instead.

Exit status: 0 done (every check passed), 1 a check failed (or the job could not be done: a
TFTP transfer failed, a capture holds no TCP connection), 2 wrong input, 3 the run failed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
EXIT_CHECK_FAILED, EXIT_CRASH = 1, 3  # wrong input: 2, click's UsageError

_state = {"debug": False, "doing": "netsim"}


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _state["debug"] = True


def debug_option(fn):
    """``--debug``: show the traceback of an unexpected error (accepted by every command)."""
    return click.option("--debug", is_flag=True, expose_value=False, is_eager=True,
                        callback=_set_debug,
                        help="Show the full traceback of an unexpected error.")(fn)


class Declared(click.ParamType):
    """A click type made from a :class:`labs.params.Param`: its checks, its one-line messages."""

    def __init__(self, param):
        self.param = param
        self.name = param.kind.noun

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        from labs.params import ParamError
        try:
            return self.param.check(value, label=self.param.flag)
        except ParamError as exc:
            raise PlainBadParameter(str(exc), ctx=ctx, param=param) from None


class PlainBadParameter(click.BadParameter):
    """A BadParameter whose message is already the whole sentence (no "Invalid value for")."""

    def format_message(self) -> str:
        return self.message


class NetsimGroup(click.Group):
    """The top command: turns every error into one line and an exit status.

    ``netsim tftp``, ``exec``, ``grade``, ``view`` and ``sweep`` are loaded only when used: a
    command line with a typo should not pay for importing the TFTP stack, the program runner
    or the sweep machinery before it is told so.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), "tftp", "exec", "grade", "view", "sweep"])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == "tftp":
            from .apps.tftp.cli import tftp
            return tftp
        if name == "exec":
            from .cli_exec import exec_cmd
            return exec_cmd
        if name == "grade":
            from .cli_grade import grade_cmd
            return grade_cmd
        if name == "view":
            from .cli_view import view_cli
            return view_cli(CONTEXT, _lab_args)
        if name == "sweep":
            from .cli_sweep import sweep_cli
            return sweep_cli(CONTEXT, debug_option, _make_folder, describe_failure,
                             lambda text: _state.update(doing=text))
        return super().get_command(ctx, name)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        _state.update(debug=bool(os.environ.get("NETSIM_DEBUG")), doing="netsim")
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except click.ClickException as exc:
            click.echo(f"Error: {_usage_line(exc)}", err=True)
            code = exc.exit_code
        except click.Abort as exc:
            interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
            click.echo("interrupted" if interrupted else "Aborted.", err=True)
            code = 130 if interrupted else 1
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            code = 130
        except BrokenPipeError:
            # `netsim show big.pcapng | head`: the reader left; say nothing more.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            code = 1
        except Exception as exc:  # noqa: BLE001 - the one place that reports unexpected errors
            if _state["debug"]:
                import traceback
                traceback.print_exception(exc, file=sys.stderr)
            click.echo(f"Error: {_state['doing']} failed: {describe_failure(exc)}"
                       + ("" if _state["debug"] else " (--debug shows the traceback)"), err=True)
            code = EXIT_CRASH
        if not standalone_mode:
            return code
        sys.exit(code)


def _command_path(ctx: click.Context | None) -> str:
    """``netsim lab hub-vs-switch``, whatever name the program was started under."""
    if ctx is None:
        return "netsim"
    return " ".join(["netsim", *ctx.command_path.split()[1:]])


def _usage_line(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.NoSuchOption):
        near = f" (did you mean {exc.possibilities[0]}?)" if exc.possibilities else ""
        where = _command_path(ctx)
        if ctx is not None and getattr(ctx.command, "lab", None) is not None:
            return (f"lab {ctx.command.name} has no parameter {exc.option_name}{near}; "
                    f"see: {where} --help")
        return f"{where} has no option {exc.option_name}{near}; see: {where} --help"
    if ctx is not None and getattr(ctx.command, "lab", None) is not None and \
            exc.message.startswith("Got unexpected extra argument"):
        extra = exc.message.split("(", 1)[-1].rstrip(")")
        return (f"lab {ctx.command.name} takes only --name value parameters, not {extra!r}; "
                f"see: {_command_path(ctx)} --help")
    return " ".join(exc.format_message().split())  # one line, whatever click wrapped


def describe_failure(exc: BaseException) -> str:
    """One line about an unexpected exception: what, where in the simulation, where in the code.

    The kernel notes the task, its host and the virtual time on an exception from a task; the
    sweep notes the point that failed; for an exception from a worker process the code
    location comes from the worker's traceback.
    """
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    notes = [n.removeprefix("netsim: ") for n in getattr(exc, "__notes__", ())
             if n.startswith("netsim: ")]
    where = _code_location(exc)
    return "; ".join([" ".join(what.split()), *notes, *([f"in {where}"] if where else [])])


def _code_location(exc: BaseException) -> str:
    """``labs/hub_vs_switch.py:75 (_sender)``: the innermost frame of netsim's, a lab's or the
    student's code (not the standard library's, nor the kernel's task trampoline)."""
    import traceback
    frames = [(f.filename, f.lineno, f.name) for f in traceback.extract_tb(exc.__traceback__)]
    remote = getattr(exc.__cause__, "tb", None)  # concurrent.futures' _RemoteTraceback
    if isinstance(remote, str):
        frames += _frames_of(remote)
    for filename, lineno, name in reversed(frames):
        path = Path(filename)
        if not _is_library(path) and path not in _PLUMBING:
            return f"{_short(path)}:{lineno} ({name})"
    return ""


_PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # holds netsim/ and labs/
# Frames that only pass an exception on: the task trampoline and the parameter-check wrapper.
_PLUMBING = {_PACKAGE_ROOT / "netsim" / "sim" / "kernel.py", _PACKAGE_ROOT / "labs" / "params.py"}


def _is_library(path: Path) -> bool:
    import sysconfig
    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return str(path).startswith("<") or any(str(path).startswith(r + os.sep) for r in roots)


def _short(path: Path) -> str:
    for root in (_PACKAGE_ROOT, Path.cwd()):
        try:
            return str(path.resolve().relative_to(root))
        except ValueError:
            continue
    return str(path)


def _frames_of(text: str) -> list[tuple[str, int, str]]:
    import re
    return [(m[1], int(m[2]), m[3])
            for m in re.finditer(r'File "([^"]+)", line (\d+), in (\S+)', text)]


@click.group(cls=NetsimGroup, context_settings=CONTEXT)
@click.version_option(package_name="netsim")
@debug_option
def main() -> None:
    """netsim: a network protocol simulator and packet lab.

    \b
    Examples:
      netsim lab list                       the lessons
      netsim lab hub-vs-switch              run the main lab (tables, plot, captures)
      netsim step tcp-handshake             walk through a TCP handshake one event at a time
      netsim view hub-vs-switch             watch it in the browser (frames moving, tables)
      netsim show captures/hub-vs-switch/hub.pcapng
      netsim tftp serve --root ./files      a real TFTP server on 127.0.0.1:6969

    Exit status: 0 done, 1 a lab check failed, 2 wrong input, 3 the run failed.
    """


# -- labs -----------------------------------------------------------------------------------

class LabGroup(click.Group):
    """``netsim lab NAME``: one command per lab, its options made from the lab's PARAMS."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        import labs
        return ["list", *labs.LABS]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        import labs
        if name == "list":
            return lab_list
        if name in labs.LABS:
            return _lab_command(labs.load(name))
        return None

    def resolve_command(self, ctx: click.Context, args: list[str]):
        import labs
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            try:
                labs.load(name)
            except KeyError as exc:
                raise click.UsageError(str(exc.args[0]), ctx) from None
        return super().resolve_command(ctx, args)


@main.group(cls=LabGroup, invoke_without_command=True, context_settings=CONTEXT)
@click.pass_context
def lab(ctx: click.Context) -> None:
    """Run a lab: `netsim lab list`, `netsim lab NAME [--param value ...]`.

    \b
    Examples:
      netsim lab list
      netsim lab hub-vs-switch --hosts 2,4,8 --out /tmp/hvs
      netsim lab tftp-transfer --loss 0.05
      netsim lab hub-vs-switch --help       the lab's own parameters
      netsim lab hub-vs-switch --live - | tshark -i -     watch its captures live
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        raise click.UsageError("name a lab (netsim lab list shows them)", ctx)


@click.command("list", context_settings=CONTEXT)
def lab_list() -> None:
    """The labs, in the order of the course."""
    from rich.console import Console
    from rich.table import Table

    import labs
    t = Table(title="netsim labs", title_justify="left")
    t.add_column("lab")
    t.add_column("what it shows")
    for lab_name, mod in labs.available().items():
        t.add_row(lab_name, mod.SUMMARY)
    console = Console()
    console.print(t)
    console.print("run one with: netsim lab NAME   (netsim lab NAME --help for its parameters)")


def _option_help(p) -> str:
    default = ",".join(map(str, p.default)) if p.many else p.default
    return f"{p.help}: {p.describe(example=False)} (default: {default})"


def _metavar(p) -> str:
    base = {"an integer": "N", "a number": "X", "text": "TEXT", "a time": "TIME",
            "a rate": "RATE"}[p.kind.noun]
    if p.choices:
        base = "NAME"
    return f"{base},..." if p.many else base


_JOBS = None  # built on first use: labs.params is imported only when a lab is named


def _jobs_param():
    global _JOBS
    if _JOBS is None:
        from labs.params import Param
        _JOBS = Param("jobs", int, 1, min=1, help="worker processes for sweeps")
    return _JOBS


def _lab_command(mod) -> click.Command:
    options: list[click.Parameter] = [
        click.Option([p.flag, name], type=Declared(p), default=None, metavar=_metavar(p),
                     help=_option_help(p))
        for name, p in mod.PARAMS.items()]
    options += [
        click.Option(["--out"], type=click.Path(file_okay=False, path_type=Path), default=None,
                     help=f"Folder for captures and plots (default: captures/{mod.NAME})."),
        click.Option(["--jobs"], type=Declared(_jobs_param()), default=None, metavar="N",
                     help="Worker processes for sweeps, 1 or more (default: the number of cores)."),
        click.Option(["--cluster"], default=None, metavar="ADDRESS",
                     help="Run the sweep's points on this Dask scheduler, e.g. "
                          "tcp://scheduler:8786 (default: NETSIM_DASK_SCHEDULER, if set and "
                          "no --jobs)."),
        click.Option(["--json", "as_json"], is_flag=True, help="Print the result as JSON."),
        click.Option(["--realtime"], is_flag=True, help="Pace virtual time to the wall clock."),
        click.Option(["--max-lag"], default=None,
                     help="With real time: abort past this lag (e.g. 10ms)."),
        click.Option(["--live"], default=None, metavar="-|FIFO",
                     help="Stream the lab's captures live as pcapng to stdout (-) or a FIFO."),
        click.Option(["--on-broken-pipe"], type=click.Choice(["stop", "continue"]),
                     default="stop", show_default=True, help="When the --live reader goes away."),
        click.Option(["--view"], is_flag=True,
                     help="Show the lab's scenes in the browser viewer instead of running it."),
    ]

    def callback(out: Path | None, jobs: int | None, cluster: str | None, as_json: bool,
                 realtime: bool, max_lag: str | None, live: str | None, on_broken_pipe: str,
                 view: bool,
                 **values: Any) -> None:
        if view:
            from .cli_view import view_lab
            _state["doing"] = f"lab {mod.NAME} --view"
            sys.exit(view_lab(mod.NAME, {k: v for k, v in values.items() if v is not None}))
        live_opts = {"realtime": realtime, "max_lag": max_lag, "live": live,
                     "on_broken_pipe": on_broken_pipe}
        with _sweep_cluster(jobs, cluster):
            _run_lab(mod, {k: v for k, v in values.items() if v is not None}, out, jobs,
                     as_json, live_opts)

    cmd = click.Command(mod.NAME, params=options, callback=callback, context_settings=CONTEXT,
                        help=f"{mod.TITLE}.\n\n{mod.SUMMARY}.",
                        epilog=f"Example: netsim lab {mod.NAME} --out /tmp/{mod.NAME}")
    debug_option(cmd)
    cmd.lab = mod  # type: ignore[attr-defined]  (the error lines say "lab X has no parameter")
    return cmd


def _lab_args(mod, args: list[str]) -> dict[str, Any]:
    """``--name value`` pairs after a lab's name (``netsim view LAB ...``), each read and
    checked by the lab's own declaration."""
    from labs.params import ParamError
    values: dict[str, Any] = {}
    i = 0
    while i < len(args):
        key, eq, value = args[i].partition("=")
        name = key[2:].replace("-", "_") if key.startswith("--") else None
        if name not in mod.PARAMS:
            raise click.UsageError(f"lab {mod.NAME} has no parameter {key}; see: netsim lab "
                                   f"{mod.NAME} --help")
        if not eq:
            i += 1
            if i >= len(args):
                raise click.UsageError(f"{key} needs a value")
            value = args[i]
        try:
            values[name] = mod.PARAMS[name].check(value, key)
        except ParamError as exc:
            raise click.UsageError(str(exc)) from None
        i += 1
    return values


@contextlib.contextmanager
def _sweep_cluster(jobs: int | None, cluster: str | None):
    """The lab's sweeps on the Dask cluster named by --cluster (see labs.sweep.where)."""
    from labs.cluster import ClusterError, check_address, require_dask
    from labs.sweep import cluster_source, on_cluster, where
    if cluster is not None and jobs is not None:
        raise click.UsageError("--jobs runs on this machine, --cluster on a Dask cluster: "
                               "give one of them")
    try:
        kind, address = where(jobs, cluster)
        if kind == "cluster":
            source = cluster_source(cluster)
            cluster = check_address(address, source)
            require_dask(source)
        with on_cluster(cluster):
            yield
    except ClusterError as exc:  # also: no scheduler at the address, found mid-lab
        raise click.UsageError(str(exc)) from None


def _run_lab(mod, values: dict[str, Any], out: Path | None, jobs: int | None,
             as_json: bool, live_opts: dict[str, Any]) -> None:
    from rich.console import Console

    from labs.params import ParamError
    out = _make_folder(out if out is not None else Path("captures") / mod.NAME, "--out")
    _state["doing"] = f"lab {mod.NAME}"
    console = Console()
    try:
        if live_opts["realtime"] or live_opts["max_lag"] is not None or live_opts["live"]:
            if live_opts["live"] == "-" and as_json:
                raise click.UsageError("--json and --live - both want stdout; use a FIFO for "
                                       "--live")
            from .cli_realworld import run_lab
            result, console, code = run_lab(mod, {**values, "out": out, "jobs": jobs},
                                            **live_opts)
            if result is None:
                sys.exit(code)
        else:
            result = mod.run(**values, out=out, jobs=jobs)
    except ParamError as exc:  # a combination of values the lab itself refuses
        raise click.UsageError(str(exc)) from None
    if as_json:
        import json
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        result.render(console)
    sys.exit(0 if result.passed else EXIT_CHECK_FAILED)


def _make_folder(path: Path, option: str, given: Path | None = None) -> Path:
    """Create ``path`` (and its parents) now, so that a bad ``option`` fails before the work."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
        why = f"{blocker} is a file" if blocker else exc.strerror or str(exc)
        raise click.UsageError(f"{option} {given or path}: cannot create the folder {path} "
                               f"({why})") from None
    return path


def _output_file(path: Path | None, option: str) -> Path | None:
    """Check before a long job that an output file can be written (its folder is made)."""
    if path is None:
        return None
    _make_folder(path.parent, option, given=path)
    if not os.access(path.parent, os.W_OK):
        raise click.UsageError(f"{option} {path}: the folder {path.parent} is not writable")
    return path


# -- topology files ---------------------------------------------------------------------------

def _duration_param():
    from labs.params import TIME, Param

    from .topo.runner import DEFAULT_DURATION
    from .topo.yamlfile import MAX_DURATION
    return Param("duration", TIME, DEFAULT_DURATION, min="0s", min_open=True, max=MAX_DURATION)


class _LazyDeclared(Declared):
    """A :class:`Declared` whose parameter is made on first use (keeps ``--help`` fast)."""

    def __init__(self, make, noun: str):
        self._make, self.name = make, noun

    @property
    def param(self):
        return self._make()


def _interface_list(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    names = [v.strip() for v in value.split(",")]
    if not all(names):
        raise click.BadParameter(f"--capture-on must be interface or node names separated by "
                                 f"commas, like h1-eth0,r1-eth1 (got {value!r})")
    return names


@main.command("run", context_settings=CONTEXT)
@click.argument("topology", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--duration", type=_LazyDeclared(_duration_param, "a time"), default=None,
              metavar="TIME",
              help="Virtual time to run, up to a day (default: the file's duration:, else 10s).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the capture and the topology picture (default: captures/<file>).")
@click.option("--capture-on", "capture_on", callback=_interface_list, default=None,
              metavar="IFACE,...",
              help="Capture only these interfaces or nodes (h1-eth0,r1-eth1); default: the "
                   "file's capture:, else every interface.")
@click.option("--realtime", is_flag=True,
              help="Pace virtual time to the wall clock (on anyway with --forward or attach:).")
@click.option("--max-lag", default=None, help="With real time: abort past this lag (e.g. 10ms).")
@click.option("--forward", "forwards", multiple=True, metavar="[udp|tcp:][ADDR:]PORT=HOST:PORT[@VIA]",
              help="Relay a real port on this machine to a virtual host (no root needed).")
@click.option("--live", default=None, metavar="-|FIFO",
              help="Also stream the capture live as pcapng to stdout (-) or a FIFO.")
@click.option("--on-broken-pipe", type=click.Choice(["stop", "continue"]), default="stop",
              show_default=True, help="When the --live reader goes away.")
@click.option("--view", is_flag=True, help="Then show the run in the browser viewer.")
@debug_option
def run_cmd(topology: Path, duration: str | None, out: Path | None,
            capture_on: list[str] | None, realtime: bool, max_lag: str | None,
            forwards: tuple[str, ...], live: str | None, on_broken_pipe: str,
            view: bool) -> None:
    """Build a network from a YAML topology file, run its programs, capture, draw it.

    \b
    Examples:
      netsim run examples/topologies/two_subnets.yaml --duration 5s
      netsim run examples/topologies/two_subnets.yaml --capture-on h1-eth0
      netsim run examples/topologies/tftp_behind_routers.yaml --forward udp:6969=h2:69
      netsim run examples/topologies/two_subnets.yaml --realtime --live - | wireshark -k -i -
    """
    out = _make_folder(out or Path("captures") / topology.stem, "--out")
    _state["doing"] = f"netsim run {topology}"
    if view:
        if realtime or max_lag or forwards or live:
            raise click.UsageError("--view records a simulated run: leave out --realtime, "
                                   "--max-lag, --forward and --live")
        from .cli_view import view_topology_run
        sys.exit(view_topology_run(topology, out, duration))
    from .cli_realworld import run_command
    sys.exit(run_command(topology, out, duration, realtime=realtime, max_lag=max_lag,
                         forwards=forwards, live=live, on_broken_pipe=on_broken_pipe,
                         capture_on=capture_on, picture=True))


# -- captures ---------------------------------------------------------------------------------

def _limit_param():
    from labs.params import Param
    return Param("limit", int, 1, min=1, help="frames to show")


@main.command(context_settings=CONTEXT)
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--limit", type=_LazyDeclared(_limit_param, "an integer"), default=None,
              metavar="N", help="Show at most this many frames (1 or more).")
@debug_option
def show(capture: Path, limit: int | None) -> None:
    """One line per frame, like tshark's summary, with netsim's packet comments.

    \b
    Example:
      netsim show captures/hub-vs-switch/hub.pcapng --limit 20
    """
    from .trace.show import show_capture
    from .wire.errors import DecodeError
    _state["doing"] = f"netsim show {capture}"
    try:
        for n, line in enumerate(show_capture(capture)):
            if limit is not None and n >= limit:
                break
            click.echo(line)
    except DecodeError as exc:
        raise click.UsageError(f"{capture}: {exc}") from None


@main.command(context_settings=CONTEXT)
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--svg", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the ladder as SVG to this file.")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw the ladder as a PNG picture into this file.")
@click.option("--ascii", "ascii_only", is_flag=True, help="Plain ASCII arrows.")
@click.option("--absolute", is_flag=True, help="Show raw sequence numbers, not relative ones.")
@debug_option
def ladder(capture: Path, svg: Path | None, png: Path | None, ascii_only: bool,
           absolute: bool) -> None:
    """Draw the TCP ladder diagram of every connection in a capture (ours or tcpdump's).

    \b
    Example:
      netsim ladder captures/tcp-handshake/normal.pcapng --svg handshake.svg
    """
    from .trace.ladder import ladders_from_capture, render_svg, render_text
    from .wire.errors import DecodeError
    svg, png = _output_file(svg, "--svg"), _output_file(png, "--png")
    _state["doing"] = f"netsim ladder {capture}"
    try:
        ladders = ladders_from_capture(capture)
    except DecodeError as exc:
        raise click.UsageError(f"{capture}: {exc}") from None
    if not ladders:
        raise click.ClickException(f"{capture}: no TCP connections found")
    for i, lad in enumerate(ladders):
        click.echo(render_text(lad.items, lad.endpoints, relative=not absolute, ascii=ascii_only))
        if svg is not None:
            path = svg if len(ladders) == 1 else svg.with_name(f"{svg.stem}-{i + 1}{svg.suffix}")
            path.write_text(render_svg(lad.items, lad.endpoints, relative=not absolute))
            click.echo(f"SVG written to {path}")
        if png is not None:
            from .trace.ladder_plot import render_png
            path = png if len(ladders) == 1 else png.with_name(f"{png.stem}-{i + 1}{png.suffix}")
            render_png(lad.items, lad.endpoints, path, relative=not absolute, states=lad.initial)
            click.echo(f"PNG written to {path}")


def _conn_param():
    from labs.params import Param
    return Param("conn", int, 1, min=1, help="connection number")


@main.command(context_settings=CONTEXT)
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Draw the graph as a PNG into this file (default: CAPTURE-tcpgraph.png).")
@click.option("--svg", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Draw the graph as SVG into this file instead.")
@click.option("--conn", type=_LazyDeclared(_conn_param, "an integer"), default=None,
              metavar="N", help="Which connection (1, 2, ... as listed; default: most data).")
@debug_option
def tcpgraph(capture: Path, png: Path | None, svg: Path | None, conn: int | None) -> None:
    """Time-sequence graph (segments, ACKs, window, SACK, retransmissions) and bytes in
    flight of a TCP connection in any capture (ours or tcpdump's).

    \b
    Example:
      netsim tcpgraph captures/tcp-congestion/reno.pcapng --png reno.png
    """
    from .trace.tcpgraph import draw, time_sequences
    from .wire.errors import DecodeError
    if png is not None and svg is not None:
        raise click.UsageError("give --png or --svg, not both")
    out = _output_file(svg, "--svg") or _output_file(png, "--png") \
        or Path(f"{capture.stem}-tcpgraph.png")
    _state["doing"] = f"netsim tcpgraph {capture}"
    try:
        graphs = time_sequences(capture)
    except DecodeError as exc:
        raise click.UsageError(f"{capture}: {exc}") from None
    if not graphs:
        raise click.ClickException(f"{capture}: no TCP connections found")
    if conn is not None and conn > len(graphs):
        raise click.UsageError(f"--conn must be from 1 to {len(graphs)} (got {conn}): "
                               f"{capture} holds {len(graphs)} TCP connection(s)")
    chosen = conn or 1 + max(range(len(graphs)), key=lambda i: graphs[i].data_bytes)
    for i, g in enumerate(graphs, 1):
        mark = "*" if i == chosen else " "
        click.echo(f"{mark} {i}: {g.sender} -> {g.receiver}: {len(g.segments)} data segments, "
                   f"{len(g.retransmissions)} retransmitted, {g.data_bytes} bytes")
    fmt = "svg" if svg is not None else "png"
    draw(graphs[chosen - 1], out, fmt=fmt)
    click.echo(f"{fmt.upper()} written to {out}")


@main.command(context_settings={**CONTEXT, "ignore_unknown_options": True,
                                "allow_extra_args": True})
@click.argument("target")
@click.option("--script", "script", type=click.File("r"), default=None,
              help="Read stepper commands from this file ('-' for stdin) instead of the keyboard.")
@click.pass_context
@debug_option
def step(ctx: click.Context, target: str, script) -> None:
    """Step through a lab or a Python script one event at a time.

    TARGET is a lab (its scene's options follow it: a wrong one lists them) or a script
    that builds a Network (its own arguments follow it; it runs up to its net.run()).
    Keys: n/Enter next event, c continue, b FILTER break on a filter (tcp.flags.fin, node h2),
    p back one event, l ladder, r raw/relative sequence numbers, h help, q quit.

    \b
    Examples:
      netsim step tcp-handshake
      netsim step tcp-handshake --variant lost-syn
      netsim step hub-vs-switch --device hub
      netsim step examples/tcp_echo.py --sim
      printf 'n\\nn\\nb tcp.flags.fin\\nc\\nq\\n' | netsim step tcp-handshake --script -
    """
    from .cli_step import main as stepper_main
    _state["doing"] = f"netsim step {target}"
    sys.exit(stepper_main(target, script, args=ctx.args))


if __name__ == "__main__":  # pragma: no cover
    main()
