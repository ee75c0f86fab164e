"""A learning switch: store-and-forward, MAC learning with aging, flooding, filtering.

The forwarding process follows IEEE 802.1Q clause 8.7 (learning) and 8.8 (the filtering
database): the source address of every frame teaches the switch which port leads to that
station; a frame for a known station leaves by that port only, a frame whose destination sits
on the port it came in by is filtered (dropped), and broadcast, multicast and unknown unicast
frames are flooded to every other port. Entries not refreshed for the aging time (300 s by
default, 802.1Q table 8-6) are forgotten, so the switch floods again.

Store-and-forward: ``Interface.deliver`` runs when the last bit has arrived, and the switch
sends the frame ``latency`` later through ``kernel.call_later`` (never from inside
``receive``), so a capture shows the frame received before the copies it caused. Each port's
output queue is the drop-tail queue of the link behind it (``net.link(..., queue=N)``).
"""

from __future__ import annotations

from typing import Any

from ..net.interface import Interface
from ..net.link import FloodPlan, flood
from ..sim.units import NS_PER_S, parse_time
from .node import Node

__all__ = ["Switch", "MacTable", "MacEntry"]

_BROADCAST = b"\xff" * 6


def _mac_str(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


class MacEntry(tuple):
    """One row of :meth:`Switch.mac_table`: ``(mac, port, age_s)``."""

    __slots__ = ()

    def __new__(cls, mac: str, port: str, age_s: float) -> MacEntry:
        return tuple.__new__(cls, (mac, port, age_s))

    @property
    def mac(self) -> str:
        return self[0]

    @property
    def port(self) -> str:
        return self[1]

    @property
    def age(self) -> float:
        return self[2]


class MacTable(list):
    """The switch's learned addresses: a list of :class:`MacEntry` that prints as a table."""

    def __init__(self, switch_name: str, entries: list[MacEntry]):
        super().__init__(entries)
        self.switch_name = switch_name

    def port_of(self, mac: str) -> str | None:
        """The port name ``mac`` was learned on, or None."""
        mac = mac.lower()
        for entry in self:
            if entry.mac == mac:
                return entry.port
        return None

    def __str__(self) -> str:
        lines = [f"MAC table of {self.switch_name}", f"{'MAC address':<19}{'port':<8}age"]
        for mac, port, age in self:
            lines.append(f"{mac:<19}{port:<8}{age:.3f}s")
        if not self:
            lines.append("(empty)")
        return "\n".join(lines)


class Switch(Node):
    """An Ethernet learning bridge.

    Args:
        net: the owning network (or any object with ``kernel`` and ``allocate_mac()``).
        name: the node name.
        aging: how long a learned address stays valid without being seen ("300s").
        latency: store-and-forward processing delay between reception and transmission ("5us").

    Raises:
        ValueError: an unparsable time.
    """

    kind = "switch"

    def __init__(self, net: Any, name: str, aging: str | float = "300s",
                 latency: str | float = "5us"):
        super().__init__(net, name)
        self.aging_ns = parse_time(aging)
        self.latency_ns = parse_time(latency)
        # source MAC bytes -> [port, time last seen (ns)]
        self._table: dict[bytes, list] = {}
        self.forwarded = self.flooded = self.filtered = self.dropped = 0
        self.learned = 0
        self._flood_plan = FloodPlan()   # each port's link, looked up once (net.link.flood)

    # -- the forwarding process -------------------------------------------------------------

    def receive(self, iface: Interface, frame: bytes) -> str | None:
        """Learn from the source address, then forward, flood or filter after ``latency``.

        Returns:
            A capture note when something noteworthy happened (learned, moved, filtered).
        """
        if len(frame) < 14:
            self.dropped += 1
            return "dropped: runt frame"
        now = self.kernel.now
        table = self._table
        src = frame[6:12]
        note = None
        entry = table.get(src)
        if entry is not None and now - entry[1] > self.aging_ns:
            del table[src]  # aged out: relearning it is news worth a note
            entry = None
        if entry is None:
            if not src[0] & 1:   # never learn a group address as a source (802.1Q 8.7)
                table[src] = [iface, now]
                self.learned += 1
                note = f"learned {_mac_str(src)} on port {iface.name}"
        elif entry[0] is iface:
            entry[1] = now
        else:
            note = f"moved {_mac_str(src)} from port {entry[0].name} to {iface.name}"
            entry[0] = iface
            entry[1] = now
        dst = frame[0:6]
        if dst[0] & 1:
            why = "flooded: broadcast" if dst == _BROADCAST else "flooded: multicast"
        else:
            entry = table.get(dst)
            if entry is not None and now - entry[1] > self.aging_ns:
                del table[dst]
                entry = None
            if entry is None:
                why = "flooded: unknown unicast"
            elif entry[0] is iface:
                self.filtered += 1
                why = "filtered: destination is on the ingress port"
                return f"{note}; {why}" if note else why
            else:
                self.forwarded += 1
                self.kernel.call_later(self.latency_ns, entry[0].send, frame)
                return note
        self.flooded += 1
        self.kernel.call_later(self.latency_ns, self._flood, iface, frame, why)
        return note

    def _flood(self, ingress: Interface, frame: bytes, why: str) -> None:
        # every connected port but the ingress, in port order; the deliveries that land at
        # one instant share one kernel event (net.link.flood says why nothing else changes)
        flood(self.kernel, self.interfaces, frame, why, ingress, self._flood_plan)

    # -- inspection -------------------------------------------------------------------------

    def mac_table(self) -> MacTable:
        """The live entries, oldest port first in learning order: (mac, port name, age seconds)."""
        now = self.kernel.now
        rows = [MacEntry(_mac_str(mac), port.name, (now - seen) / NS_PER_S)
                for mac, (port, seen) in self._table.items() if now - seen <= self.aging_ns]
        return MacTable(self.name, rows)

    def flush(self) -> None:
        """Forget every learned address (as ``clear mac address-table`` does)."""
        n = len(self._table)
        self._table.clear()
        log = getattr(self.net, "log", None)  # a bare test harness may have no trace
        if log is not None:
            log(self.name, "mac", f"MAC table cleared: {n} entr{'y' if n == 1 else 'ies'} forgotten")

    def stats(self) -> dict[str, Any]:
        """Counters: forwarded, flooded, filtered, dropped (runts plus port queue drops), learned."""
        return {"forwarded": self.forwarded, "flooded": self.flooded, "filtered": self.filtered,
                "dropped": self.dropped + sum(p.drops for p in self.interfaces),
                "learned": self.learned, "mac_entries": len(self.mac_table())}
