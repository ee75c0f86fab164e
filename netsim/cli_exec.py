"""``netsim exec``: run unmodified Python programs on the hosts of a topology file."""

from __future__ import annotations

import functools
import shlex
import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["exec_cmd", "parse_program_arg"]

DEFAULT_LIMIT = "60s"


def parse_program_arg(text: str) -> tuple[str, str, bool, list[str]]:
    """``"h2:client.py 10.0.0.1 9999"`` -> ``("h2", "client.py", False, ["10.0.0.1", "9999"])``;
    ``"h1:-m http.server 8000"`` -> ``("h1", "http.server", True, ["8000"])``.

    Raises:
        click.BadParameter: not HOST:PROGRAM.
    """
    host, sep, rest = text.partition(":")
    words = shlex.split(rest)
    if not sep or not host or not words:
        raise click.BadParameter(f"{text!r}: expected HOST:PROGRAM.py [ARGS...], e.g. h1:server.py")
    if words[0] == "-m":
        if len(words) < 2:
            raise click.BadParameter(f"{text!r}: -m needs a module name")
        return host, words[1], True, words[2:]
    return host, words[0], False, words[1:]


@click.command("exec", context_settings={"help_option_names": ["-h", "--help"],
                                         "max_content_width": 100})
@click.argument("topology", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("programs", nargs=-1)
@click.option("--until", default=None,
              help="Stop at this virtual time. Default: when every program has exited or "
                   f"nothing can happen any more, at most {DEFAULT_LIMIT}.")
@click.option("--cwd", "cwds", multiple=True, metavar="[HOST=]DIR",
              help="Working directory of the programs, or of one host's (repeatable; "
                   "default: the current one).")
@click.option("--capture", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also record every interface to this pcapng file.")
def exec_cmd(topology: Path, programs: tuple[str, ...], until: str | None, cwds: tuple[str, ...],
             capture: Path | None) -> None:
    """Run unmodified Python programs on the hosts of a topology file, in virtual time.

    Each PROGRAM is HOST:FILE.py (quote it to give arguments) or HOST:-m MODULE. Their socket,
    time, threading, multiprocessing ... belong to the virtual host; what they print is shown
    per host with its virtual time: [1.003 s h2] ... The file's own `programs:` run too.

    \b
    Examples:
      netsim exec lan.yaml h2:udp_receiver.py "h1:udp_sender.py 10.0.0.2"
      netsim exec lan.yaml h1:tcp_server.py "h2:tcp_client.py 10.0.0.1" --until 10s
      netsim exec routed.yaml "h2:-m http.server 8000" "h1:http_fetch.py http://10.0.2.20:8000/" \\
          --cwd h2=www --until 5s
    """
    from .network import Network
    from .sim.units import format_time, parse_time
    from .topo.yamlfile import TopologyError, is_program_file, load_topology
    from .userland.errors import DeadlockError
    try:
        net = load_topology(topology, Network)
    except TopologyError as exc:
        raise click.ClickException(str(exc)) from None
    started: list[Any] = []
    hosts = {n.name: n for n in net.nodes.values() if hasattr(n, "run_program")}
    folders = _parse_cwds(cwds, hosts)
    for prog in net.topology.programs:
        host = net.nodes[prog.host]
        if is_program_file(prog.run):
            from .topo.runner import start_program_file
            started.append((prog.run, start_program_file(host, prog, _show)))
        else:
            _start_named(net, host, prog)
    for text in programs:
        name, target, module, args = parse_program_arg(text)
        if name not in hosts:
            raise click.UsageError(f"{text!r}: no host {name!r} in {topology} "
                                   f"(hosts: {', '.join(hosts)})")
        try:
            proc = hosts[name].run_program(target, args, module=module, on_output=_show,
                                           cwd=folders.get(name, folders.get(None)))
        except FileNotFoundError:
            raise click.ClickException(f"{text!r}: no such program file {target!r}") from None
        started.append((" ".join([target, *args]) if not module else
                        " ".join(["-m", target, *args]), proc))
    if not started:
        raise click.UsageError("name at least one HOST:PROGRAM.py (or declare programs: in the file)")
    limit = parse_time(until or DEFAULT_LIMIT)
    failed = False
    try:
        if capture is not None:
            with net.capture(capture):
                _run(net, started, limit, until is not None)
        else:
            _run(net, started, limit, until is not None)
    except DeadlockError as exc:
        click.echo(f"netsim: {exc}", err=True)
        failed = True
    click.echo(f"--- {format_time(net.now)} of virtual time")
    for label, proc in started:
        if proc.done:
            click.echo(f"{proc.host.name} {label} (pid {proc.pid}): exited with status {proc.exitcode}")
            failed = failed or proc.exitcode != 0
            continue
        click.echo(f"{proc.host.name} {label} (pid {proc.pid}): still running")
        for thread, what, where in proc.waiting():
            click.echo(f"  {thread}: {what} at {where}")
    if capture is not None:
        click.echo(f"capture: {capture}")
    sys.exit(1 if failed else 0)


def _parse_cwds(cwds: tuple[str, ...], hosts: dict) -> dict[str | None, Path]:
    """``("www",)`` -> every host in www; ``("h2=www",)`` -> only h2."""
    out: dict[str | None, Path] = {}
    for item in cwds:
        host, sep, folder = item.partition("=")
        key = host if sep else None
        folder = folder if sep else item
        if key is not None and key not in hosts:
            raise click.UsageError(f"--cwd {item}: no host {key!r} (hosts: {', '.join(hosts)})")
        if not Path(folder).is_dir():
            raise click.UsageError(f"--cwd {item}: {folder!r} is not a folder")
        out[key] = Path(folder)
    return out


def _run(net: Any, started: list, limit_ns: int, fixed: bool) -> None:
    """Run to ``--until``; by default until every program exited, nothing is left to happen
    (then the deadlock check runs, as in net.run()) or the limit is reached."""
    kernel = net.kernel
    if fixed:
        net.run(until=f"{limit_ns}ns")
        return

    def stop() -> bool:
        nxt = kernel.peek()
        return all(p.done for _, p in started) or nxt is None or nxt > limit_ns

    if kernel.peek() is not None:
        kernel.run(stop=stop)
    if kernel.peek() is None:
        for hook in tuple(kernel.idle_hooks):
            hook()


def _show(line: Any) -> None:
    click.echo(str(line), err=line.stream == "stderr")


def _start_named(net: Any, host: Any, prog: Any) -> None:
    """A named program of netsim.topo.programs (ping, udp_echo_server ...)."""
    from .sim.units import NS_PER_S
    from .topo.programs import PROGRAMS

    def out(line: str) -> None:
        click.echo(f"[{net.now / NS_PER_S:.3f} s {host.name}] {prog.run}: {line}")

    fn = functools.partial(PROGRAMS[prog.run].fn, host, out, **prog.params)
    net.kernel.spawn(fn, name=f"{prog.run}#{prog.index}", node=host,
                     delay_ns=max(0, prog.at_ns - net.now))
