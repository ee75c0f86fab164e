"""``netsim step``: walk through a simulation one event at a time.

Each step runs the kernel until the next visible event (a frame sent, received or dropped, or
a TCP state change) and shows it: the decoded frame as a layered tree, the note netsim
attached, every TCP endpoint's state with its sequence variables (relative to the ISNs), and
the ladder diagram so far. ``back`` re-runs the simulation from the start to the previous
event — exact, because the same seed and script give the same run.

This module drives any network it is given; finding the network of a lab or a script, and the
command loop, belong to the command line (:mod:`netsim.cli_step`).

Commands (one per line; Enter alone means ``next``)::

    n, next            the next event
    c, continue        run until a breakpoint matches (or the end)
    b, break FILTER    break when FILTER matches (tcp.flags.fin, node h2, ip.dst == 10.0.0.2)
    d, delete          delete all breakpoints
    p, back            go back one event
    l, ladder          show the whole ladder so far
    q, quit            stop
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any

from ..sim.units import format_time
from .events import TraceEvent
from .filters import FilterError, compile_filter

__all__ = ["Stepper", "HELP", "VISIBLE"]

VISIBLE = frozenset({"tx", "rx", "drop", "state"})
HELP = __doc__.split("Commands", 1)[1]


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
        self._reset()

    def _reset(self) -> None:
        self.net = self.build()
        self.index = 0            # visible events shown so far
        self._pending: list[TraceEvent] = []
        self.finished = False

    # -- running ---------------------------------------------------------------------------

    def _next_event(self) -> TraceEvent | None:
        while not self._pending:
            new = self.net.step()
            if new is None:
                self.finished = True
                return None
            self._pending.extend(e for e in new if e.kind in VISIBLE)
        self.index += 1
        return self._pending.pop(0)

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
                            f"(t={format_time(self.net.now)})")
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
            self.echo(f"-- no more events: the simulation is idle at t={format_time(self.net.now)}")
            return
        where = f"{ev.node}-{ev.iface}" if ev.iface else ev.node
        what = {"tx": "sent", "rx": "received", "drop": "dropped", "state": "state"}[ev.kind]
        self.echo(f"\n#{self.index}  t={format_time(ev.time_ns)}  {where}  {what}")
        if ev.frame is not None:
            try:
                frame = ev.decoded
                self.echo(f"   {frame.summary()}")
                for layer, lines in frame.tree():
                    self.echo(f"   ▸ {layer}")
                    for line in lines:
                        self.echo(f"       {line}")
            except ValueError as exc:
                self.echo(f"   [undecodable frame: {exc}]")
            if ev.note:
                self.echo(f"   note: {ev.note}")
        else:
            self.echo(f"   {ev.note}")
        self._show_tcp()

    def endpoints(self) -> list[str]:
        """One line per TCP endpoint: state, and seq variables relative to the ISNs."""
        lines = []
        for node in self.net.nodes.values():
            layer = getattr(node, "tcp", None)  # switches and hubs have no TCP
            if layer is None:
                continue
            for (_ip, port), _sock in sorted(layer.listeners.items()):
                lines.append(f"{node.name}:{port:<6} LISTEN")
            for ep in layer.conns.values():
                c = ep.conn
                name = str(c.state)
                rel = lambda v, base: (v - base) % (1 << 32)  # noqa: E731
                lines.append(f"{ep.label:<12} {name:<12} snd.una={rel(c.snd_una, c.iss)} "
                             f"snd.nxt={rel(c.snd_nxt, c.iss)} rcv.nxt={rel(c.rcv_nxt, c.irs)} "
                             f"snd.wnd={c.snd_wnd} -> {ep.peer_label}")
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
            tail = lines[-14:]
            self.echo("   ladder so far" + (" (last lines; 'l' shows all)" if len(lines) > 14 else "") + ":")
            for line in tail:
                self.echo(f"     {line}")

    def ladder_text(self) -> str:
        tracer = self.net.tcp_tracer
        if not tracer.connections:
            return ""
        return "\n\n".join(c.ladder(final=False).text() for c in tracer.connections if c.items)

    # -- the command loop ------------------------------------------------------------------

    def command(self, line: str) -> bool:
        """Run one command; returns False to quit."""
        words = line.strip().split(None, 1)
        cmd = words[0].lower() if words else "n"
        arg = words[1] if len(words) > 1 else ""
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
            self.echo(self.ladder_text() or "-- no TCP connection yet")
        elif cmd in ("q", "quit", "exit"):
            return False
        elif cmd in ("h", "help", "?"):
            self.echo(HELP)
        else:
            self.echo(f"-- unknown command {cmd!r}; type h for help")
        return True
