"""``netsim step``: walk through a simulation one event at a time.

Each step runs the kernel until the next visible event (a frame sent, received or dropped, or
a TCP state change) and shows it: the decoded frame as a layered tree, the note netsim
attached, every TCP endpoint's state with its sequence variables, and the ladder diagram so
far. ``back`` re-runs the simulation from the start to the previous event — exact, because the
same seed and script give the same run.

What is shown agrees with itself:

* one clock: every time is milliseconds of virtual time since the simulation started, in the
  event header, the ladder and the endpoint lines;
* one sequence-number convention: relative to each end's initial sequence number (as
  Wireshark shows them) in the frame tree, the endpoint lines and the ladder, or raw
  everywhere after the ``r`` command;
* the ladder holds only what the events shown so far have shown: a segment appears when its
  frame has been sent on the wire, its arrow arrives when the frame has been received.

This module drives any network it is given; finding the network of a lab or a script, and the
command loop, belong to the command line (:mod:`netsim.cli_step`).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import IO, Any

from ..wire.tcp import flags_str
from .events import TraceEvent
from .filters import FilterError, compile_filter
from .ladder.model import LadderRow, StateChange, isns
from .ladder.text import render_text

__all__ = ["Stepper", "HELP", "VISIBLE", "congestion_line"]

VISIBLE = frozenset({"tx", "rx", "drop", "state"})

HELP = """\
Commands (one per line; Enter alone means next):
  n, next            the next event
  c, continue        run until a breakpoint matches (or the end)
  b, break FILTER    break when FILTER matches (tcp.flags.fin, node h2, ip.dst == 10.0.0.2)
  b                  list the breakpoints
  d, delete          delete all breakpoints
  p, back            go back one event
  l, ladder          show the whole ladder so far
  r, relative        switch sequence numbers between relative (the default) and raw
  h, help            this text
  q, quit            stop"""

_LADDER_TAIL = 14


def _ms(ns: int) -> str:
    """The stepper's one clock: milliseconds since the simulation started."""
    return f"{ns / 1e6:.3f} ms"


def congestion_line(conn) -> str:
    """The sender's congestion state as ``ss -i`` shows it: cwnd and ssthresh in segments
    (and bytes), the RTO, the smoothed RTT, the recovery state and the algorithm."""
    mss = max(conn.eff_mss, 1)
    ssthresh = ("inf" if conn.ssthresh >= 1 << 30 else
                f"{conn.ssthresh / mss:.4g} ({conn.ssthresh} B)")
    srtt = conn.rto.srtt
    return (f"cwnd={conn.cwnd / mss:.4g} ({conn.cwnd} B) ssthresh={ssthresh} "
            f"rto={conn.rto.rto / 1e6:g}ms srtt=" + ("-" if srtt is None else f"{srtt / 1e6:.3g}ms")
            + f" {conn.ca_state} {conn.cc.name}")


class Stepper:
    """Drives a network event by event and renders what happened.

    Args:
        build: makes a fresh, not yet run, network each time it is called (the stepper calls
            it again to step back).
        out: where to print (stdout by default).
    """

    def __init__(self, build: Callable[[], Any], out: IO[str] | None = None):
        self.build = build
        self.out = out or sys.stdout
        self.breakpoints: list[tuple[str, Callable[[TraceEvent], bool]]] = []
        self.relative = True
        self._reset()

    def _reset(self) -> None:
        self.net = self.build()
        self.index = 0            # visible events shown so far
        self._pending: list[TraceEvent] = []
        self.finished = False
        self.so_far = _LadderSoFar(self.net)

    # -- running ---------------------------------------------------------------------------

    def _next_event(self) -> TraceEvent | None:
        while not self._pending:
            new = self.net.step()
            if new is None:
                self.finished = True
                return None
            self._pending.extend(e for e in new if e.kind in VISIBLE)
        self.index += 1
        ev = self._pending.pop(0)
        self.so_far.saw(ev)
        return ev

    def next(self, show: bool = True) -> TraceEvent | None:
        ev = self._next_event()
        if show:
            self.show(ev)
        return ev

    def cont(self) -> TraceEvent | None:
        skipped = 0
        while True:
            ev = self._next_event()
            if ev is None:
                self.echo(f"-- the simulation is idle after {skipped} more events "
                          f"(t={_ms(self.net.now)})")
                return None
            hit = [name for name, pred in self.breakpoints if pred(ev)]
            if hit:
                self.echo(f"-- breakpoint '{hit[0]}' after {skipped} events")
                self.show(ev)
                return ev
            skipped += 1

    def back(self) -> TraceEvent | None:
        target = self.index - 1
        if target < 1:
            self.echo("-- already at the start")
            return None
        # The programs print again as the run is repeated; what they printed is already on
        # the screen, so the replay is silent.
        with contextlib.redirect_stdout(io.StringIO()):
            self._reset()
            ev = None
            for _ in range(target):
                ev = self._next_event()
        self.echo(f"-- re-ran the simulation to event #{target}")
        self.show(ev)
        return ev

    def add_break(self, text: str) -> None:
        try:
            self.breakpoints.append((text, compile_filter(text)))
        except FilterError as exc:
            self.echo(f"-- bad filter: {exc}")
            return
        self.echo(f"-- breakpoint {len(self.breakpoints)}: {text}")

    # -- showing ---------------------------------------------------------------------------

    def echo(self, text: str = "") -> None:
        """Print a line to the stepper's output."""
        print(text, file=self.out)

    def show(self, ev: TraceEvent | None) -> None:
        if ev is None:
            self.echo(f"-- no more events: the simulation is idle at t={_ms(self.net.now)}")
            return
        where = f"{ev.node}-{ev.iface}" if ev.iface else ev.node
        what = {"tx": "sent", "rx": "received", "drop": "dropped", "state": "state"}[ev.kind]
        self.echo(f"\n#{self.index}  t={_ms(ev.time_ns)}  {where}  {what}")
        if ev.frame is not None:
            try:
                frame = ev.decoded
                tcp = self._tcp_numbers(frame)
                self.echo(f"   {self._summary(frame, tcp)}")
                for layer, lines in frame.tree():
                    self.echo(f"   ▸ {layer}")
                    for line in lines:
                        self.echo(f"       {self._tree_line(line, tcp)}")
            except ValueError as exc:
                self.echo(f"   [undecodable frame: {exc}]")
            if ev.note:
                self.echo(f"   note: {ev.note}")
        else:
            self.echo(f"   {ev.note}")
        self._show_tcp()

    def _tcp_numbers(self, frame) -> tuple[int, int, int, int] | None:
        """(raw seq, shown seq, raw ack, shown ack) of a TCP frame, per the convention."""
        if frame.tcp is None or frame.ip is None:
            return None
        seg = frame.tcp
        if not self.relative:
            return seg.seq, seg.seq, seg.ack, seg.ack
        src = self.so_far.label(frame.ip.src, seg.sport)
        dst = self.so_far.label(frame.ip.dst, seg.dport)
        isn = self.so_far.isns()
        seq = (seg.seq - isn[src]) % (1 << 32) if src in isn else seg.seq
        ack = (seg.ack - isn[dst]) % (1 << 32) if dst in isn else seg.ack
        return seg.seq, seq, seg.ack, ack

    def _summary(self, frame, tcp) -> str:
        text = frame.summary()
        if tcp is None or not self.relative:
            return text
        text = re.sub(r"\bSeq=\d+", f"Seq={tcp[1]}", text)
        return re.sub(r"\bAck=\d+", f"Ack={tcp[3]}", text)

    def _tree_line(self, line: str, tcp) -> str:
        if tcp is None or not self.relative:
            return line
        if line.startswith("Sequence number: "):
            return f"Sequence number: {tcp[1]} (relative; raw {tcp[0]})"
        if line.startswith("Acknowledgment number: "):
            return f"Acknowledgment number: {tcp[3]} (relative; raw {tcp[2]})"
        return line

    def endpoints(self) -> list[str]:
        """One line per TCP endpoint: state, and its sequence variables (relative to the ISNs
        unless the stepper shows raw numbers)."""
        lines = []
        for node in self.net.nodes.values():
            layer = getattr(node, "tcp", None)  # switches and hubs have no TCP
            if layer is None:
                continue
            for (_ip, port), _sock in sorted(layer.listeners.items()):
                lines.append(f"{node.name + ':' + str(port):<12} LISTEN")
            for ep in layer.conns.values():
                c = ep.conn

                def num(v: int, base: int) -> int:
                    return (v - base) % (1 << 32) if self.relative else v
                lines.append(f"{ep.label:<12} {str(c.state):<12} snd.una={num(c.snd_una, c.iss)} "
                             f"snd.nxt={num(c.snd_nxt, c.iss)} rcv.nxt={num(c.rcv_nxt, c.irs)} "
                             f"snd.wnd={c.snd_wnd} -> {ep.peer_label}")
                lines.append(" " * 13 + congestion_line(c))
        return lines

    def _show_tcp(self) -> None:
        eps = self.endpoints()
        if eps:
            self.echo("   TCP endpoints:")
            for line in eps:
                self.echo(f"     {line}")
        ladder = self.ladder_text()
        if ladder:
            lines = ladder.splitlines()
            more = len(lines) > _LADDER_TAIL
            self.echo("   ladder so far" + (" (last lines; 'l' shows all)" if more else "") + ":")
            for line in lines[-_LADDER_TAIL:]:
                self.echo(f"     {line}")

    def ladder_text(self) -> str:
        """The ladder of every connection, as far as the events shown so far have shown it."""
        return "\n\n".join(render_text(items, ends, relative=self.relative, states=initial,
                                       t0=0)
                           for ends, items, initial in self.so_far.ladders())

    # -- the command loop ------------------------------------------------------------------

    def command(self, line: str) -> bool:
        """Run one command; returns False to quit."""
        words = line.strip().split(None, 1)
        cmd = words[0].lower() if words else "n"
        arg = words[1] if len(words) > 1 else ""
        try:
            return self._command(cmd, arg)
        except Exception as exc:  # noqa: BLE001 - a program's error ends the run, not the session
            self.finished = True
            where = "; ".join(getattr(exc, "__notes__", ()))   # the kernel names the task
            self.echo(f"-- the simulation stopped at t={_ms(self.net.now)}: "
                      f"{type(exc).__name__}: {exc}" + (f" ({where})" if where else ""))
            return True

    def _command(self, cmd: str, arg: str) -> bool:
        if cmd in ("n", "next", "s", "step"):
            self.next()
        elif cmd in ("c", "continue", "run"):
            self.cont()
        elif cmd in ("b", "break"):
            if arg:
                self.add_break(arg)
            else:
                self.echo("-- breakpoints: " + (", ".join(t for t, _ in self.breakpoints) or "none"))
        elif cmd in ("d", "delete"):
            self.breakpoints.clear()
            self.echo("-- breakpoints deleted")
        elif cmd in ("p", "back", "prev"):
            self.back()
        elif cmd in ("l", "ladder"):
            self.echo(self.ladder_text() or "-- no TCP segment on the wire yet")
        elif cmd in ("r", "relative", "raw"):
            self.relative = not self.relative
            self.echo("-- sequence numbers " + ("relative to each end's initial sequence number"
                                                if self.relative else "raw, as on the wire"))
        elif cmd in ("q", "quit", "exit"):
            return False
        elif cmd in ("h", "help", "?"):
            self.echo(HELP)
        else:
            self.echo(f"-- unknown command {cmd!r}; type h for help")
        return True


class _LadderSoFar:
    """The TCP tracer's rows and state changes, kept only once an event shown by the stepper
    has shown them: a row when its frame was sent by the host that made it (at that time, not
    when TCP handed it to IP, which may be before ARP resolved the next hop), its arrival when
    the frame was received by the host it was for, a state change when its trace event was
    shown. A frame the link lost, or any interface dropped, marks its row lost."""

    def __init__(self, net):
        self.net = net
        self.sent: dict[int, LadderRow] = {}        # id(tracer row) -> the row as shown
        self.states: set[int] = set()               # id(tracer StateChange) shown

    def label(self, ip: str, port: int) -> str:
        owner = self.net.owner_of(ip) if hasattr(self.net, "owner_of") else None
        return f"{owner or ip}:{port}"

    def isns(self) -> dict[str, int]:
        isn: dict[str, int] = {}
        for conn in self.net.tcp_tracer.connections:
            isn.update(isns(r for r in conn.items if isinstance(r, LadderRow)))
        return isn

    def saw(self, ev: TraceEvent) -> None:
        if ev.kind == "state":
            self._state(ev)
            return
        if ev.frame is None:
            return
        try:
            frame = ev.decoded
        except ValueError:
            return
        if frame.tcp is None or frame.ip is None:
            return
        seg, ip = frame.tcp, frame.ip
        key = (self.label(ip.src, seg.sport), seg.seq, seg.ack, flags_str(seg.flags),
               len(seg.payload), seg.window)
        lost = ev.kind == "drop" or (ev.kind == "tx" and bool(ev.note) and "lost" in ev.note)
        if ev.kind == "tx" and self.net.owner_of(ip.src) == ev.node:
            row = self._find(key, sent=False)
            if row is not None:
                self.sent[id(row)] = replace(row, time_ns=ev.time_ns, arrive_ns=None, lost=lost)
        elif ev.kind == "rx" and self.net.owner_of(ip.dst) == ev.node:
            row = self._find(key, sent=True)
            if row is not None:
                shown = self.sent[id(row)]
                shown.arrive_ns, shown.lost = ev.time_ns, False
        elif lost:
            row = self._find(key, sent=True)
            if row is not None:
                self.sent[id(row)].lost = True

    def _find(self, key: tuple, sent: bool) -> LadderRow | None:
        """The first tracer row with ``key`` that is not yet sent (``sent=False``), or sent
        but neither arrived nor lost (``sent=True``): copies of a retransmitted segment are
        matched in the order they went."""
        for conn in self.net.tcp_tracer.connections:
            for row in conn.items:
                if not isinstance(row, LadderRow):
                    continue
                if (row.src, row.seq, row.ack, row.flags, row.length, row.window) != key:
                    continue
                shown = self.sent.get(id(row))
                if not sent and shown is None:
                    return row
                if sent and shown is not None and shown.arrive_ns is None and not shown.lost:
                    return row
        return None

    def _state(self, ev: TraceEvent) -> None:
        m = re.fullmatch(r"(\S+): (\S+) -> (\S+)", ev.note or "")
        if not m:
            return
        node, old, new = m.groups()
        for conn in self.net.tcp_tracer.connections:
            for item in conn.items:
                if (isinstance(item, StateChange) and id(item) not in self.states
                        and item.endpoint.startswith(node + ":")
                        and (item.old, item.new) == (old, new)):
                    self.states.add(id(item))
                    return

    def ladders(self) -> list[tuple[tuple[str, str], list, dict[str, str]]]:
        """(endpoints, items shown, initial states) of each connection with something shown."""
        out = []
        for conn in self.net.tcp_tracer.connections:
            items = []
            for item in conn.items:
                if isinstance(item, LadderRow) and id(item) in self.sent:
                    shown = self.sent[id(item)]
                    if shown.arrive_ns is None and not shown.lost:
                        shown = replace(shown, note="in flight")
                    items.append(shown)
                elif isinstance(item, StateChange) and id(item) in self.states:
                    items.append(item)
            if any(isinstance(i, LadderRow) for i in items):
                out.append((conn.endpoints, items, conn.ladder(final=False).initial))
        return out
