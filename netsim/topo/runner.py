"""``netsim run topo.yaml``: build a topology file, start its programs, run, capture, report.

The programs a file declares (see :mod:`netsim.topo.programs`) start at their ``at`` times;
the network runs for ``duration`` of virtual time while the chosen interfaces (the file's
``capture:`` list, or ``capture_on``; by default all of them) are captured to
``<out_dir>/<file stem>.pcapng``; the returned :class:`RunSummary` prints what happened.

A program that meets a network error (no route, a reset connection) reports it as one line of
its output and stops, as a real program would print its ``OSError``; any other exception is a
bug in netsim and comes out of :func:`run_topology_file` with the task, host and time noted.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..sim.units import format_time, parse_time
from .programs import PROGRAMS
from .yamlfile import (
    NetworkFactory,
    TopologyError,
    check_interface,
    is_program_file,
    load_topology,
)

__all__ = ["RunSummary", "run_topology_file", "DEFAULT_DURATION"]

DEFAULT_DURATION = "10s"


@dataclass
class RunSummary:
    """What a run did: program output lines, the capture, the picture, tasks left waiting."""

    path: str
    duration_ns: int
    capture: Path
    frames: int
    nodes: int
    links: int
    output: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    picture: Path | None = None
    captured: list[str] | None = None  # the interfaces/nodes captured; None: all
    stopped: str = ""     # why the run ended early (Ctrl-C, a live capture's reader gone)

    def __str__(self) -> str:
        lines = [f"{self.path}: {self.nodes} nodes, {self.links} links, ran "
                 f"{format_time(self.duration_ns)} of virtual time"]
        if self.output:
            lines.append("program output:")
            lines.extend(f"  {line}" for line in self.output)
        else:
            lines.append("no programs declared (add a 'programs:' list to the file)")
        if self.waiting:
            lines.append("still running at the end (servers wait forever): " + ", ".join(self.waiting))
        if self.stopped:
            lines.append(f"stopped early: {self.stopped}")
        which = f", only {', '.join(self.captured)}" if self.captured else ""
        lines.append(f"capture: {self.capture} ({self.frames} frames{which})")
        if self.picture is not None:
            lines.append(f"picture: {self.picture}")
        return "\n".join(lines)


def run_topology_file(path: str | Path, out_dir: str | Path = "captures",
                      duration: str | float | None = None, *, factory: NetworkFactory,
                      capture_on: list[str] | None = None, picture: bool = False,
                      prepare: Callable[[Any], None] | None = None,
                      stop_on: tuple[type[BaseException], ...] = (),
                      **network_kwargs: Any) -> RunSummary:
    """Build the topology in ``path``, run its programs and capture its interfaces.

    Args:
        path: the YAML topology file.
        factory: makes the empty network (``netsim.Network``; ``netsim run`` passes it).
        out_dir: folder for the capture and the picture (created if missing).
        duration: virtual time to run ("5s"); by default the file's ``duration:`` or 10 s.
        capture_on: interfaces ("h1-eth0") or nodes to capture, instead of the file's
            ``capture:`` list (default: every interface).
        picture: also draw the topology to ``<out_dir>/<file stem>.png``.
        prepare: called with the built network before anything runs (the CLI's real-time,
            forwarding and live-capture options).
        stop_on: exceptions that end the run early but still give a summary (Ctrl-C).
        network_kwargs: extra arguments for the Network (e.g. ``trace=False``).

    Returns:
        A :class:`RunSummary` (print it).

    Raises:
        TopologyError: the file is wrong (the message names the line), or ``capture_on``
            names an interface the topology does not have.
        Exception: a program failed in an unexpected way (named by the kernel).
    """
    net = load_topology(path, factory, **network_kwargs)
    if prepare is not None:
        prepare(net)
    spec = net.topology
    if duration is not None:
        duration_ns = parse_time(duration)
    else:
        duration_ns = spec.duration_ns if spec.duration_ns is not None else parse_time(
            DEFAULT_DURATION)
    chosen = spec.capture
    if capture_on is not None:
        try:
            chosen = [check_interface(spec, name) for name in capture_on]
        except ValueError as exc:
            raise TopologyError(f"--capture-on: {exc}", None, str(path)) from None
    out_dir = Path(out_dir)
    drawn = None
    if picture:
        from .drawing import draw
        drawn = draw(net, out_dir / f"{Path(path).stem}.png",
                     title=spec.description or Path(path).name)
    capture = out_dir / f"{Path(path).stem}.pcapng"
    output: list[tuple[int, int, str]] = []  # (stamp, order written, line)
    for prog in spec.programs:
        host = net.nodes[prog.host]
        out = _printer(net, prog.host, prog.run, output)
        if is_program_file(prog.run):
            start_program_file(host, prog, lambda line, out=out: out(line.text, line.time_ns))
            continue
        fn = PROGRAMS[prog.run].fn
        host.spawn_with_host(_program_task, fn, out, prog.params, at=f"{prog.at_ns}ns",
                             name=f"{prog.run}#{prog.index}")
    start, stopped = net.now, ""
    with net.capture(capture, interfaces=chosen) as cap:
        try:
            net.run(until=f"{start + duration_ns}ns")
        except stop_on as exc:
            stopped = str(exc) or type(exc).__name__
            duration_ns = net.now - start
        frames = cap.frames
    waiting = [getattr(t, "name", repr(t)) for t in net.blocked_tasks()]
    # In time order: ping writes its reply lines when it finishes, stamped when each arrived.
    lines = [line for _stamp, _order, line in sorted(output)]
    return RunSummary(str(path), duration_ns, capture, frames, len(net.nodes),
                      len(spec.links), lines, waiting, drawn, chosen, stopped)


def start_program_file(host: Any, prog: Any, on_output=None):
    """Start a ``run: file.py`` / ``run: -m module`` program (unmodified, netsim.userland)."""
    p = prog.params
    return host.run_program(p["module"] or p["path"], p["args"], module=p["module"] is not None,
                            cwd=p["cwd"], at=f"{prog.at_ns}ns", on_output=on_output)


def _program_task(host: Any, fn, out, params: dict[str, Any]) -> None:
    try:
        fn(host, out, **params)
    except OSError as exc:
        # What the program would print: the error, and for "no route" the usual cause.
        name = errno.errorcode.get(exc.errno, "") if exc.errno else ""
        text = f"{exc.strerror or exc}" + (f" ({name})" if name else "")
        if exc.errno == errno.ENETUNREACH and not getattr(host, "gateway", None):
            target = params.get("target")
            text += (f": {host.name} has no route to {target}" if target else "") + \
                " and no gateway (set gateway: on the node)"
        out(f"stopped: {text}")


def _printer(net: Any, host: str, program: str, output: list[tuple[int, int, str]]):
    def out(line: str, at_ns: int | None = None) -> None:
        stamp = net.now if at_ns is None else at_ns
        output.append((stamp, len(output), f"{format_time(stamp):>14} {host} {program}: {line}"))
    return out
