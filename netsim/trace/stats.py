"""Counters of a whole network in one snapshot, printable as tables.

``NetworkStats.collect(net)`` reads every interface's counters (frames and bytes each way,
drops, collisions), every node's ``stats()`` (switch forwarded/flooded/filtered/dropped, hub
repeated/collisions, whatever a host or router reports) and every medium's counters (link
queue drops and losses, hub segment collisions), and renders them as plain-text columns.
"""

from __future__ import annotations

from typing import Any

from ..sim.units import NS_PER_S

__all__ = ["NetworkStats"]

_IFACE_COLUMNS = ("tx_frames", "tx_bytes", "rx_frames", "rx_bytes", "drops", "collisions")


def _render(title: str, rows: dict[str, dict[str, Any]], columns: list[str] | None = None) -> str:
    """Plain-text table: one row per key, one column per counter, numbers right-aligned."""
    if not rows:
        return f"{title}\n(none)"
    if columns is None:
        columns = []
        for counters in rows.values():
            for name in counters:
                if name not in columns:
                    columns.append(name)
    header = ["name", *columns]
    body = [[name, *("" if c not in counters else str(counters[c]) for c in columns)]
            for name, counters in rows.items()]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:]))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([title, line(header), rule, *(line(r) for r in body)])


def _flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts from ``node.stats()`` become ``outer.inner`` columns."""
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            flat.update(_flatten(item, f"{name}."))
        else:
            flat[name] = item
    return flat


class NetworkStats:
    """A snapshot of counters.

    Attributes:
        time_ns: virtual time of the snapshot.
        interfaces: ``{"h1-eth0": {"tx_frames": ..., "collisions": ...}}``.
        devices: ``{"s1": {"kind": "switch", "forwarded": ...}}`` from each node's ``stats()``.
        links: ``{"h1-eth0->s1-eth0": {"frames": ..., "queue_drops": ..., "lost": ...}}`` per
            direction of each link, and per station of each hub segment.
    """

    def __init__(self, time_ns: int, interfaces: dict[str, dict[str, int]],
                 devices: dict[str, dict[str, Any]], links: dict[str, dict[str, int]]):
        self.time_ns = time_ns
        self.interfaces = interfaces
        self.devices = devices
        self.links = links

    @classmethod
    def collect(cls, net: Any) -> NetworkStats:
        """Read the counters of every interface, node and medium of ``net``.

        Args:
            net: a :class:`netsim.Network` (anything with ``nodes``, ``links`` and ``now``).

        Returns:
            The snapshot; later traffic does not change it.
        """
        interfaces: dict[str, dict[str, int]] = {}
        devices: dict[str, dict[str, Any]] = {}
        for node in net.nodes.values():
            for iface in node.interfaces:
                interfaces[iface.fullname] = iface.counters()
            devices[node.name] = {"kind": getattr(node, "kind", type(node).__name__.lower()),
                                  **_flatten(node.stats() or {})}
        links: dict[str, dict[str, int]] = {}
        seen: set[int] = set()
        for medium in net.links:
            if id(medium) in seen or not hasattr(medium, "stats"):
                continue
            seen.add(id(medium))
            links.update(medium.stats())
        return cls(net.now, interfaces, devices, links)

    def totals(self) -> dict[str, int]:
        """Interface counters summed over the network."""
        return {c: sum(i.get(c, 0) for i in self.interfaces.values()) for c in _IFACE_COLUMNS}

    def table(self) -> str:
        """The snapshot as plain-text tables: interfaces, one per device kind, links."""
        by_kind: dict[str, dict[str, dict[str, Any]]] = {}
        for name, counters in self.devices.items():
            rest = {k: v for k, v in counters.items() if k != "kind"}
            if rest:
                by_kind.setdefault(str(counters.get("kind", "node")), {})[name] = rest
        parts = [f"network statistics at t={self.time_ns / NS_PER_S:.6f}s",
                 _render("interfaces", self.interfaces, list(_IFACE_COLUMNS))]
        for kind, rows in by_kind.items():
            # Hosts and routers keep dozens of counters; show the ones that moved (to_dict()
            # has them all).
            columns = list(dict.fromkeys(k for r in rows.values() for k in r))
            title = f"{kind}es" if kind.endswith(("h", "s")) else f"{kind}s"
            if len(columns) > 10:
                columns = [c for c in columns if any(r.get(c) for r in rows.values())] or columns
                title += " (counters that are not zero)"
            parts.append(_render(title, rows, columns))
        parts.append(_render("links", self.links))
        return "\n\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts (JSON-serialisable) of every counter."""
        return {"time_ns": self.time_ns, "interfaces": {k: dict(v) for k, v in self.interfaces.items()},
                "devices": {k: dict(v) for k, v in self.devices.items()},
                "links": {k: dict(v) for k, v in self.links.items()}}

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return (f"<NetworkStats t={self.time_ns}ns {len(self.interfaces)} interfaces, "
                f"{len(self.devices)} devices>")
