"""The ``netsim`` command: labs, topology files, the stepper, capture viewers, TFTP on real sockets."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .apps.tftp.cli import tftp

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="netsim")
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
    """


# -- labs -----------------------------------------------------------------------------------

def _convert(value: str, kind: type):
    if kind is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise click.BadParameter(f"expected true or false, got {value!r}")
    if kind in (list, tuple):
        return [_guess(v) for v in value.split(",") if v]
    try:
        return kind(value)
    except ValueError as exc:
        raise click.BadParameter(f"expected {kind.__name__}, got {value!r}") from exc


def _guess(v: str):
    for kind in (int, float):
        try:
            return kind(v)
        except ValueError:
            pass
    return v


def _parse_lab_args(mod, args: list[str]) -> dict:
    params, i = {}, 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise click.UsageError(f"unexpected argument {arg!r}; parameters look like --name value")
        key, _, val = arg[2:].partition("=")
        name = key.replace("-", "_")
        if name not in mod.PARAMS:
            import difflib
            near = difflib.get_close_matches(name, mod.PARAMS, n=1)
            hint = f" (did you mean --{near[0].replace('_', '-')}?)" if near else ""
            raise click.UsageError(f"lab {mod.NAME} has no parameter --{key}{hint}; "
                                   f"see: netsim lab {mod.NAME} --help")
        p = mod.PARAMS[name]
        if not val:
            if p.kind is bool and (i + 1 >= len(args) or args[i + 1].startswith("--")):
                val = "true"
            else:
                i += 1
                if i >= len(args):
                    raise click.UsageError(f"--{key} needs a value")
                val = args[i]
        params[name] = _convert(val, p.kind)
        i += 1
    return params


@main.command(context_settings={**CONTEXT, "ignore_unknown_options": True,
                                "allow_extra_args": True, "help_option_names": []})
@click.argument("name", required=False)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for captures and plots (default: captures/<lab>).")
@click.option("--jobs", type=int, default=None, help="Worker processes for sweeps (default: cores).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("-h", "--help", "show_help", is_flag=True, help="Show the lab's parameters.")
@click.option("--realtime", is_flag=True, help="Pace virtual time to the wall clock.")
@click.option("--max-lag", default=None, help="With real time: abort past this lag (e.g. 10ms).")
@click.option("--live", default=None, metavar="-|FIFO",
              help="Stream the lab's captures live as pcapng to stdout (-) or a FIFO.")
@click.option("--on-broken-pipe", type=click.Choice(["stop", "continue"]), default="stop",
              show_default=True, help="When the --live reader goes away.")
@click.option("--view", is_flag=True, help="Show the lab's scenes in the browser viewer instead.")
@click.pass_context
def lab(ctx: click.Context, name: str | None, out: Path | None, jobs: int | None, as_json: bool,
        show_help: bool, realtime: bool, max_lag: str | None, live: str | None,
        on_broken_pipe: str, view: bool) -> None:
    """Run a lab: `netsim lab list`, `netsim lab NAME [--param value ...]`.

    \b
    Examples:
      netsim lab list
      netsim lab hub-vs-switch --hosts 2,4,8 --out /tmp/hvs
      netsim lab tftp-transfer --loss 0.05
      netsim lab hub-vs-switch --help       the lab's own parameters
      netsim lab hub-vs-switch --live - | tshark -i -     watch its captures live
    """
    from rich.console import Console

    import labs
    console = Console()
    if name is None:
        click.echo(ctx.get_help())
        if not show_help:
            raise click.UsageError("name a lab (netsim lab list shows them)")
        return
    if name == "list":
        from rich.table import Table
        t = Table(title="netsim labs", title_justify="left")
        t.add_column("lab")
        t.add_column("what it shows")
        for lab_name, mod in labs.available().items():
            t.add_row(lab_name, mod.SUMMARY)
        console.print(t)
        console.print("run one with: netsim lab NAME   (netsim lab NAME --help for its parameters)")
        return
    try:
        mod = labs.load(name)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    if show_help:
        console.print(f"[bold]netsim lab {mod.NAME}[/bold]: {mod.TITLE}\n{mod.SUMMARY}\n")
        for pname, p in mod.PARAMS.items():
            console.print(f"  --{pname.replace('_', '-'):<18} {p.help} (default: {p.default})",
                          markup=False, highlight=False)
        console.print("  --out DIR            folder for captures and plots\n"
                      "  --jobs N             worker processes for sweeps\n"
                      "  --realtime           pace virtual time to the wall clock (--max-lag 10ms: "
                      "a hard limit)\n"
                      "  --live -|FIFO        stream the captures live (pcapng) to a reader\n"
                      "  --view               show the lab's scenes in the browser viewer",
                      markup=False)
        return
    params = _parse_lab_args(mod, ctx.args)
    if view:
        from .cli_view import view_lab
        sys.exit(view_lab(mod.NAME, params))
    if out is not None:
        params["out"] = out
    if jobs is not None:
        params["jobs"] = jobs
    if realtime or max_lag is not None or live is not None:
        if live == "-" and as_json:
            raise click.UsageError("--json and --live - both want stdout; use a FIFO for --live")
        from .cli_realworld import run_lab
        result, console, code = run_lab(mod, params, realtime=realtime, max_lag=max_lag,
                                        live=live, on_broken_pipe=on_broken_pipe)
        if result is None:
            sys.exit(code)
    else:
        result = mod.run(**params)
    if as_json:
        import json
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        result.render(console)
    sys.exit(0 if result.passed else 1)


# -- topology files ---------------------------------------------------------------------------

@main.command("run")
@click.argument("topology", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--duration", default="10s", show_default=True, help="Virtual time to run.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the capture and the topology picture (default: captures/<file>).")
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
def run_cmd(topology: Path, duration: str, out: Path | None, realtime: bool,
            max_lag: str | None, forwards: tuple[str, ...], live: str | None,
            on_broken_pipe: str, view: bool) -> None:
    """Build a network from a YAML topology file, run its programs, capture everything.

    \b
    Examples:
      netsim run examples/topologies/two-subnets.yaml --duration 5s
      netsim run examples/topologies/tftp-behind-routers.yaml --forward udp:6969=h2:69
      netsim run examples/topologies/two-subnets.yaml --realtime --live - | wireshark -k -i -
    """
    out = out or Path("captures") / topology.stem
    if view:
        if realtime or max_lag or forwards or live:
            raise click.ClickException("--view records a simulated run: leave out --realtime, "
                                       "--max-lag, --forward and --live")
        from .cli_view import view_topology_run
        sys.exit(view_topology_run(topology, out, duration))
    from .cli_realworld import run_command
    sys.exit(run_command(topology, out, duration, realtime=realtime, max_lag=max_lag,
                         forwards=forwards, live=live, on_broken_pipe=on_broken_pipe))


# -- captures ---------------------------------------------------------------------------------

@main.command()
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--limit", type=int, default=None, help="Show at most this many frames.")
def show(capture: Path, limit: int | None) -> None:
    """One line per frame, like tshark's summary, with netsim's packet comments.

    \b
    Example:
      netsim show captures/hub-vs-switch/hub.pcapng
    """
    from .trace.show import show_capture
    from .wire.errors import DecodeError
    try:
        for n, line in enumerate(show_capture(capture)):
            if limit is not None and n >= limit:
                break
            click.echo(line)
    except DecodeError as exc:
        raise click.ClickException(f"{capture}: {exc}") from None


@main.command()
@click.argument("capture", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--svg", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the ladder as SVG to this file.")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw the ladder as a PNG picture into this file.")
@click.option("--ascii", "ascii_only", is_flag=True, help="Plain ASCII arrows.")
@click.option("--absolute", is_flag=True, help="Show raw sequence numbers, not relative ones.")
def ladder(capture: Path, svg: Path | None, png: Path | None, ascii_only: bool,
           absolute: bool) -> None:
    """Draw the TCP ladder diagram of every connection in a capture (ours or tcpdump's).

    \b
    Example:
      netsim ladder captures/tcp-handshake/handshake.pcapng --svg handshake.svg
    """
    from .trace.ladder import ladders_from_capture, render_svg, render_text
    from .wire.errors import DecodeError
    try:
        ladders = ladders_from_capture(capture)
    except DecodeError as exc:
        raise click.ClickException(f"{capture}: {exc}") from None
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


@main.command(context_settings=CONTEXT)
@click.argument("target")
@click.option("--script", "script", type=click.File("r"), default=None,
              help="Read stepper commands from this file ('-' for stdin) instead of the keyboard.")
def step(target: str, script) -> None:
    """Step through a lab or a Python script one event at a time.

    Keys: n/Enter next event, c continue, b FILTER break on a filter (tcp.flags.fin, node h2),
    p back one event, q quit.

    \b
    Examples:
      netsim step tcp-handshake
      echo "n\\nn\\nb tcp.flags.fin\\nc\\nq" | netsim step tcp-handshake --script -
    """
    from .cli_step import main as stepper_main
    sys.exit(stepper_main(target, script))


main.add_command(tftp)


def _add_exec() -> None:
    from .cli_exec import exec_cmd
    main.add_command(exec_cmd)


_add_exec()


def _add_view() -> None:
    from .cli_view import view_cli
    main.add_command(view_cli(CONTEXT, _parse_lab_args))


_add_view()

if __name__ == "__main__":  # pragma: no cover
    main()
