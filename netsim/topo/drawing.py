"""A picture of the topology: devices by kind, names and addresses, cable parameters.

matplotlib (Agg backend: no display needed) draws the graph of
:func:`netsim.topo.graph.to_graph`; the suffix of the path picks PNG or SVG. The layout is
deterministic: a spring layout with a fixed seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from ..sim.units import NS_PER_S, format_rate
from .graph import to_graph

__all__ = ["draw", "STYLES"]

# kind -> (marker, face colour, size, legend text)
STYLES: dict[str, tuple[str, str, int, str]] = {
    "host": ("o", "#7fb3e6", 1000, "host"),
    "router": ("D", "#f2a65a", 1100, "router"),
    "switch": ("s", "#8fd18f", 1100, "switch"),
    "hub": ("h", "#d9a6e6", 1200, "hub"),
}
_OTHER = ("o", "#cccccc", 1000, "other")


def _layout(g: nx.Graph, seed: int) -> dict[Any, Any]:
    if g.number_of_nodes() <= 1:
        return {n: (0.0, 0.0) for n in g}
    parts = []
    for comp in sorted(nx.connected_components(g), key=lambda c: sorted(c)):
        # spring_layout needs only numpy (kamada_kawai would need SciPy, which netsim does not
        # depend on), so the same seed draws the same picture everywhere.
        parts.append(nx.spring_layout(g.subgraph(sorted(comp)), seed=seed))
    # Lay separate islands side by side, each turned so its long axis is horizontal.
    out: dict[Any, Any] = {}
    x0 = 0.0
    for pos in parts:
        pos = _landscape(pos)
        xs = [x for x, _ in pos.values()]
        shift = x0 - min(xs)
        for n, (x, y) in pos.items():
            out[n] = (x + shift, y)
        x0 = max(xs) + shift + 1.0
    return out


def _landscape(pos: dict[Any, Any]) -> dict[Any, Any]:
    """Rotate a layout so its principal axis is horizontal (a chain of routers reads left to
    right, like a network diagram on a whiteboard)."""
    import numpy as np

    names = list(pos)
    pts = np.array([pos[n] for n in names], dtype=float)
    pts -= pts.mean(axis=0)
    if len(pts) > 1:
        _, vecs = np.linalg.eigh(np.cov(pts.T))
        axis = vecs[:, -1]
        if axis[0] < 0 or (axis[0] == 0 and axis[1] < 0):
            axis = -axis  # a fixed orientation, so the picture is the same every time
        rot = np.array([[axis[0], axis[1]], [-axis[1], axis[0]]])
        pts = pts @ rot.T
    return {n: (float(x), float(y)) for n, (x, y) in zip(names, pts)}


def _label_offset(g: nx.Graph, pos: dict[Any, Any], n: Any, radius: float):
    """Where to put a node's address box: away from its cables, ``radius`` points out."""
    import math

    x, y = pos[n]
    dx = dy = 0.0
    for m in g[n]:
        vx, vy = pos[m][0] - x, pos[m][1] - y
        norm = math.hypot(vx, vy) or 1.0
        dx, dy = dx + vx / norm, dy + vy / norm
    if math.hypot(dx, dy) < 0.5 and g.degree(n):  # cables on both sides: go perpendicular
        m = min(g[n], key=str)
        vx, vy = pos[m][0] - x, pos[m][1] - y
        dx, dy = (-vy, vx) if vx < 0 else (vy, -vx)
    dx, dy = -dx, -dy
    norm = math.hypot(dx, dy)
    if norm < 1e-9:
        return (0.0, -radius), "center", "top"
    ux, uy = dx / norm, dy / norm
    ha = "left" if ux > 0.4 else "right" if ux < -0.4 else "center"
    va = "bottom" if uy > 0.4 else "top" if uy < -0.4 else "center"
    return (ux * radius, uy * radius), ha, va


def _format_delay(ns: int | None) -> str:
    if ns is None:
        return ""
    for unit, scale in (("s", NS_PER_S), ("ms", 10**6), ("us", 10**3)):
        if ns >= scale:
            return f"{ns / scale:g}{unit}"
    return f"{ns}ns"


def _edge_label(data: dict[str, Any]) -> str:
    parts = []
    if data.get("bandwidth"):
        parts.append(format_rate(data["bandwidth"]).replace(".00 ", "").replace(" ", ""))
    if data.get("delay") is not None:
        parts.append(_format_delay(data["delay"]))
    if data.get("loss"):
        parts.append(f"loss {data['loss']:g}")
    if len(data.get("cables", ())) > 1:
        parts.append(f"x{len(data['cables'])}")
    return " / ".join(parts)


def _node_label(name: str, data: dict[str, Any]) -> str:
    lines = [name]
    for iface, cidr in data.get("addresses", ()):
        lines.append(f"{iface} {cidr}")
    return "\n".join(lines)


def draw(net: Any, path: str | Path, *, title: str | None = None, seed: int = 1) -> Path:
    """Draw ``net`` to ``path`` (``.png`` or ``.svg``).

    Args:
        net: a :class:`netsim.Network` (or a graph from :func:`to_graph`).
        path: output file; the suffix picks the format; parent folders are created.
        title: text above the picture (default: the file stem).
        seed: layout seed (only used without SciPy or for two-node islands).

    Returns:
        The path written.

    Raises:
        ValueError: the suffix is neither .png nor .svg.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise ValueError(f"draw writes .png or .svg files, not {path.suffix or 'no suffix'!r}")
    g = net if isinstance(net, nx.Graph) else to_graph(net)
    pos = _layout(g, seed)
    xs = [x for x, _ in pos.values()] or [0.0]
    ys = [y for _, y in pos.values()] or [0.0]
    # Size the figure so a typical cable is ~2 inches long: room for its label between icons.
    lengths = sorted(((pos[u][0] - pos[v][0]) ** 2 + (pos[u][1] - pos[v][1]) ** 2) ** 0.5
                     for u, v in g.edges()) or [1.0]
    scale = 2.1 / max(lengths[len(lengths) // 2], 1e-3)
    size = (min(max(scale * (max(xs) - min(xs)) + 3.5, 6.0), 24.0),
            min(max(scale * (max(ys) - min(ys)) + 3.0, 4.5), 18.0))
    fig, ax = plt.subplots(figsize=size)
    try:
        nx.draw_networkx_edges(g, pos, ax=ax, width=2.0, edge_color="#666666")
        kinds = sorted({d.get("kind") for _, d in g.nodes(data=True)}, key=str)
        handles = []
        for kind in kinds:
            marker, colour, size, text = STYLES.get(kind, _OTHER)
            nodes = [n for n, d in g.nodes(data=True) if d.get("kind") == kind]
            nx.draw_networkx_nodes(g, pos, nodelist=nodes, node_shape=marker, node_color=colour,
                                   node_size=size, edgecolors="#333333", linewidths=1.2, ax=ax)
            handles.append(Line2D([], [], marker=marker, linestyle="", markersize=12,
                                  markerfacecolor=colour, markeredgecolor="#333333",
                                  label=text))
        nx.draw_networkx_labels(g, pos, labels={n: n for n in g}, font_size=10,
                                font_weight="bold", ax=ax)
        for n, d in g.nodes(data=True):
            if d.get("addresses"):
                radius = STYLES.get(d.get("kind"), _OTHER)[2] ** 0.5 * 0.6 + 3
                offset, ha, va = _label_offset(g, pos, n, radius)
                ax.annotate(_node_label(n, d).split("\n", 1)[1], pos[n], xytext=offset,
                            textcoords="offset points", ha=ha, va=va, fontsize=8,
                            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#bbbbbb",
                                  "alpha": 0.9})
        labels = {(u, v): _edge_label(d) for u, v, d in g.edges(data=True)}
        nx.draw_networkx_edge_labels(g, pos, edge_labels=labels, font_size=7, ax=ax,
                                     bbox={"boxstyle": "round,pad=0.15", "fc": "#fffbe6",
                                           "ec": "none", "alpha": 0.9})
        ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
        ax.set_title(title if title is not None else path.stem, fontsize=12)
        ax.set_aspect("equal", adjustable="datalim")
        ax.margins(0.15)
        ax.set_axis_off()
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Keep SVG text as text: selectable, searchable, and small.
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            fig.savefig(path, format=fmt, dpi=110)
    finally:
        plt.close(fig)
    return path
