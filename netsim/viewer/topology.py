"""The topology a scene is drawn on: devices with positions, cables with their parameters.

From a network, the devices and cables are those of :func:`netsim.topo.graph.to_graph` and
:func:`netsim.topo.graph.cable_ends` (a hub's shared medium is drawn as one cable per station,
as on the bench). Positions come from a seeded networkx spring layout, so the same network is
drawn the same way every time; the page lets a user drag devices and save the file with the
new positions.

From a capture without a topology file, there are no cables to draw: each device the capture
names is a box listing its captured interfaces ("a plain list of interfaces").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..sim.units import NS_PER_S, format_rate
from ..topo.graph import cable_ends, to_graph

__all__ = ["Topology", "from_network", "from_interfaces", "link_label"]

Key = tuple[str, str]  # (node, interface)


@dataclass
class Topology:
    """What the page draws, plus the cable peer of each interface (for pairing tx with rx).

    Attributes:
        nodes: ``{"name", "kind", "x", "y", "ifaces": [{"name", "mac", "addrs"}]}`` dicts.
        links: ``{"a", "ai", "b", "bi", "rate", "delay", "loss", "mtu", "medium", "label"}``.
        peers: (node, iface) -> (node, iface) at the other end of its cable.
    """

    nodes: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    peers: dict[Key, Key] = field(default_factory=dict)

    def node(self, name: str) -> dict[str, Any] | None:
        return next((n for n in self.nodes if n["name"] == name), None)

    def kind(self, name: str) -> str:
        node = self.node(name)
        return node["kind"] if node else "iface"

    def link_of(self, key: Key) -> dict[str, Any] | None:
        for link in self.links:
            if (link["a"], link["ai"]) == key or (link["b"], link["bi"]) == key:
                return link
        return None

    def interfaces(self) -> dict[str, Key]:
        """``{"h1-eth0": ("h1", "eth0")}`` for every interface."""
        return {f"{n['name']}-{i['name']}": (n["name"], i["name"])
                for n in self.nodes for i in n["ifaces"]}

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "links": self.links}


def _format_delay(ns: int | None) -> str:
    if ns is None:
        return ""
    for unit, scale in (("s", NS_PER_S), ("ms", 10**6), ("us", 10**3)):
        if ns >= scale:
            return f"{ns / scale:g} {unit}"
    return f"{ns} ns"


def link_label(rate: int | None, delay: int | None, loss: float | None) -> str:
    """``10 Mbps, 1 us, loss 5%``: a cable's rate, delay and loss as the page labels it."""
    parts = []
    if rate:
        parts.append(format_rate(rate).replace(".00 ", " "))
    if delay is not None:
        parts.append(_format_delay(delay))
    if loss:
        parts.append(f"loss {loss * 100:g}%")
    return ", ".join(parts)


def _landscape(pos: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Turn a layout so its long axis is horizontal (the page is wider than tall; a chain of
    routers reads left to right), in a fixed orientation so the same network looks the same."""
    import numpy as np

    names = list(pos)
    pts = np.array([pos[n] for n in names], dtype=float)
    pts -= pts.mean(axis=0)
    _, vecs = np.linalg.eigh(np.cov(pts.T))
    axis = vecs[:, -1]
    if axis[0] < 0 or (axis[0] == 0 and axis[1] < 0):
        axis = -axis
    pts = pts @ np.array([[axis[0], -axis[1]], [axis[1], axis[0]]])
    return {n: (float(x), float(y)) for n, (x, y) in zip(names, pts)}


def _layout(names: list[str], edges: list[tuple[str, str]], seed: int) -> dict[str, tuple[float, float]]:
    """Positions in [0.08, 0.92] x [0.1, 0.9]; islands side by side."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(names)
    g.add_edges_from(edges)
    out: dict[str, tuple[float, float]] = {}
    comps = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: names.index(c[0]))
    x0 = 0.0
    for comp in comps:
        if len(comp) == 1:
            pos = {comp[0]: (0.0, 0.0)}
        elif len(comp) == 2:
            pos = {comp[0]: (-1.0, 0.0), comp[1]: (1.0, 0.0)}
        else:
            pos = _landscape({n: (float(x), float(y)) for n, (x, y) in
                              nx.spring_layout(g.subgraph(comp), seed=seed).items()})
        xs = [p[0] for p in pos.values()]
        width = max(xs) - min(xs)
        for n, (x, y) in pos.items():
            out[n] = (x - min(xs) + x0, y)
        x0 += width + 1.0
    xs = [p[0] for p in out.values()]
    ys = [p[1] for p in out.values()]
    span_x = max(xs) - min(xs)
    span_y = max(ys) - min(ys)
    # Each axis fills the drawing (it is wider than tall, and landscape() put the long axis
    # across), except that a nearly flat layout stays flat in the middle.
    scale_x = span_x or 1.0
    scale_y = max(span_y, 0.3 * span_x) or 1.0
    return {n: (round(0.08 + 0.84 * ((x - min(xs)) / scale_x + (1 - span_x / scale_x) / 2), 4),
                round(0.1 + 0.8 * ((y - min(ys)) / scale_y + (1 - span_y / scale_y) / 2), 4))
            for n, (x, y) in out.items()}


def from_network(net: Any, positions: dict[str, tuple[float, float]] | None = None,
                 seed: int = 1) -> Topology:
    """The topology of ``net``: every device, interface (MAC, addresses) and cable.

    Args:
        net: a built network (run or not).
        positions: ``{name: (x, y)}`` in [0, 1] to keep (devices not listed are laid out).
        seed: the layout's seed.
    """
    g = to_graph(net)
    topo = Topology()
    for ia, ib, attrs in cable_ends(net):
        a, b = (ia.node.name, ia.name), (ib.node.name, ib.name)
        topo.peers[a] = b
        topo.peers[b] = a
        rate, delay, loss = attrs.get("bandwidth"), attrs.get("delay"), attrs.get("loss")
        topo.links.append({"a": a[0], "ai": a[1], "b": b[0], "bi": b[1], "rate": rate,
                           "delay": delay, "loss": loss or 0, "mtu": attrs.get("mtu"),
                           "medium": attrs.get("medium"), "label": link_label(rate, delay, loss)})
    names = list(g.nodes)
    pos = _layout(names, [(link["a"], link["b"]) for link in topo.links], seed)
    pos.update(positions or {})
    for name in names:
        data = g.nodes[name]
        addrs: dict[str, list[str]] = {}
        for iface, cidr in data.get("addresses", []):
            addrs.setdefault(iface, []).append(cidr)
        node = net.nodes[name]
        topo.nodes.append({
            "name": name, "kind": data.get("kind", "host"), "x": pos[name][0], "y": pos[name][1],
            "ifaces": [{"name": i.name, "mac": i.mac, "addrs": addrs.get(i.name, [])}
                       for i in node.interfaces],
        })
    return topo


def from_interfaces(keys: list[Key]) -> Topology:
    """No topology known: one box per device named in the capture, listing its interfaces
    (``h1-eth0`` is interface eth0 of h1), in rows of up to six; no cables."""
    topo = Topology()
    order: dict[str, list[str]] = {}
    for node, iface in keys:
        order.setdefault(node, [])
        if iface and iface not in order[node]:
            order[node].append(iface)
    per_row = min(6, max(1, len(order)))
    rows = math.ceil(len(order) / per_row) or 1
    for i, (node, ifaces) in enumerate(order.items()):
        r, c = divmod(i, per_row)
        topo.nodes.append({"name": node, "kind": "iface",
                           "x": round(0.1 + 0.8 * (c + 0.5) / per_row, 4),
                           "y": round(0.2 + 0.6 * (r + 0.5) / rows, 4),
                           "ifaces": [{"name": n, "mac": "", "addrs": []} for n in ifaces]})
    return topo
