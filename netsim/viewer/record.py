"""Record a run for the viewer: every trace event, and the device state after each one.

A :class:`Recorder` subscribes to a network's trace log before it runs. For each event it
keeps the event and compares the devices' tables with what they were after the previous event:
each switch's MAC table, each host's and router's ARP cache and routing table, and every TCP
connection's state and sequence variables. Only the rows that changed are kept (a *delta*), so
the page rebuilds the state at any instant by replaying deltas from the nearest checkpoint, and
a step back is exact.

The comparison runs inside the trace subscriber, that is right after the device handled the
frame: the switch has learned the source address of the frame it just received, the TCP end
has changed state for the segment that caused it. A record the medium appends late (a hub
station's ``out`` record carries the start time of its transmission, see
:mod:`netsim.net.segment`) is not a moment of its own; its changes go with the next event.
"""

from __future__ import annotations

from typing import Any

from ..trace.events import TraceEvent

__all__ = ["Recorder", "TABLE_COLUMNS", "snapshot"]

_MOD = 1 << 32

#: Columns of each table kind, as the page's state panels head them.
TABLE_COLUMNS: dict[str, list[str]] = {
    "mac": ["MAC address", "port"],
    "arp": ["IP address", "MAC address", "iface", "state"],
    "route": ["prefix", "via", "iface", "kind"],
    "tcp": ["endpoint", "peer", "state", "snd.una", "snd.nxt", "rcv.nxt", "snd.wnd", "rcv.wnd",
            "cwnd"],
}

Tables = dict[str, dict[str, tuple]]


def _rel(value: int, base: int) -> int:
    return (value - base) % _MOD


def _tcp_rows(name: str, layer: Any) -> dict[str, tuple]:
    rows: dict[str, tuple] = {}
    for (_ip, port), _sock in sorted(layer.listeners.items()):
        label = f"{name}:{port}"
        rows[f"listen {label}"] = (label, "", "LISTEN", "", "", "", "", "", "")
    for ep in layer.conns.values():
        c = ep.conn
        # Sequence variables relative to the ISNs, as the stepper and Wireshark show them.
        rows[f"{ep.label}>{ep.peer_label}"] = (
            ep.label, ep.peer_label, str(c.state), _rel(c.snd_una, c.iss), _rel(c.snd_nxt, c.iss),
            _rel(c.rcv_nxt, c.irs), c.snd_wnd, _rel(c.rcv_adv, c.rcv_nxt),
            getattr(c, "cwnd", ""))
    return rows


def snapshot(net: Any) -> Tables:
    """The devices' tables now: ``{"mac/s1": {key: row}, "arp/h1": ..., "tcp/h1": ...}``."""
    tables: Tables = {}
    for name, node in net.nodes.items():
        mac_table = getattr(node, "mac_table", None)
        if callable(mac_table):
            tables[f"mac/{name}"] = {e.mac: (e.mac, e.port) for e in mac_table()}
        arp_table = getattr(node, "arp_table", None)
        if callable(arp_table):
            tables[f"arp/{name}"] = {f"{r.iface} {r.ip}": (r.ip, r.mac or "(incomplete)",
                                                           r.iface, r.state)
                                     for r in arp_table()}
        routes = getattr(node, "routes", None)
        if callable(routes):
            tables[f"route/{name}"] = {f"{r.prefix} {r.via} {r.iface}": (r.prefix, r.via or "",
                                                                           r.iface, r.kind)
                                       for r in routes()}
        layer = getattr(node, "tcp", None)
        if layer is not None and hasattr(layer, "conns"):
            tables[f"tcp/{name}"] = _tcp_rows(name, layer)
    return tables


class Recorder:
    """Keeps a network's events and the state deltas between them while it runs.

    Args:
        net: the network, not yet run (or at the moment recording should start).
        max_events: stop the kernel once this many events are recorded (None: no limit).

    Attributes:
        events: the :class:`TraceEvent` list, in the order the trace log got them.
        deltas: ``(event position, table, key, row or None)``; position -1 is the state
            before the first event, None a row that went away.
        stopped: True when ``max_events`` ended the run.

    Raises:
        ValueError: the network keeps no trace (``Network(trace=False)``).
    """

    def __init__(self, net: Any, max_events: int | None = None):
        if not getattr(net, "tracing", True):
            raise ValueError("the viewer needs the network's trace: make it with "
                             "Network(trace=True), the default")
        self.net = net
        self.max_events = max_events
        self.events: list[TraceEvent] = []
        self.deltas: list[tuple[int, str, str, tuple | None]] = []
        self.stopped = False
        self._prev: Tables = {}
        self._diff(-1)
        self._unsubscribe = net.trace.subscribe(self._on_event)

    def _on_event(self, ev: TraceEvent) -> None:
        self.events.append(ev)
        if ev.time_ns == self.net.kernel.now:
            self._diff(len(self.events) - 1)
        if self.max_events is not None and len(self.events) >= self.max_events and not self.stopped:
            self.stopped = True
            self.net.kernel.stop()

    def _diff(self, pos: int) -> None:
        now = snapshot(self.net)
        prev = self._prev
        out = self.deltas
        for table, rows in now.items():
            old = prev.get(table, {})
            if rows == old:
                continue
            for key, row in rows.items():
                if old.get(key) != row:
                    out.append((pos, table, key, row))
            for key in old:
                if key not in rows:
                    out.append((pos, table, key, None))
        for table, old in prev.items():
            if table not in now:
                out.extend((pos, table, key, None) for key in old)
        self._prev = now

    def close(self) -> None:
        """Stop recording (the network may go on running)."""
        self._unsubscribe()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
