"""A TCP ladder diagram as a PNG (matplotlib), for lab reports and slides.

It draws the same geometry as the SVG (:func:`netsim.trace.ladder.layout.layout`), pixel for
pixel: time runs down, each segment an arrow from its send time on one lifeline to its arrival
time on the other (a lost one stops at a cross), long idle gaps cut out of the axis and marked
with their length, state changes boxes on the lifelines, the labels of
:func:`netsim.trace.ladder.model.row_label` along their own arrow.
"""

from __future__ import annotations

import math
from pathlib import Path

from .ladder.layout import FONT_PX, STATE_H, Layout, layout

__all__ = ["render_png", "draw_layout"]

_DPI = 100
_PT = 72 / _DPI               # points per pixel at that resolution
_BLUE, _GREEN, _RED = "#1f5fa8", "#2e7d32", "#c0392b"


def render_png(items, endpoints: tuple[str, str], path: str | Path, relative: bool = True,
               title: str | None = None, states: dict[str, str] | None = None) -> Path:
    """Draw the ladder of ``items`` between ``endpoints`` into the PNG file ``path``.

    ``states`` are the endpoints' states before the first item (e.g. ``Ladder.initial``).
    """
    return draw_layout(layout(items, endpoints, relative, states), path, title)


def draw_layout(lay: Layout, path: str | Path, title: str | None = None) -> Path:
    """Draw a finished :class:`~netsim.trace.ladder.layout.Layout` into a PNG file."""
    # matplotlib is imported here, when a picture is drawn, so that importing netsim.trace
    # (and the whole simulator) does not pay for it.
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch, Polygon

    above = 26 if title else 0            # room for the title over the layout's own top
    fig = plt.figure(figsize=(lay.width / _DPI, (lay.height + above) / _DPI), dpi=_DPI)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.height, -above)       # y grows downwards, as in the SVG
    ax.axis("off")
    mono = {"family": "DejaVu Sans Mono", "size": FONT_PX * _PT}
    if title:
        ax.text(lay.width / 2, -above / 2, title, ha="center", va="center",
                fontsize=13 * _PT, weight="bold")
    ax.text(8, 44, "time (ms)", ha="left", va="center", color="#666", fontdict=mono)
    for end, x in lay.x.items():
        ax.text(x, 30, end, ha="center", va="center", weight="bold",
                fontdict={**mono, "size": 13 * _PT})
        y = lay.top - 44
        for brk in lay.breaks:
            ax.plot([x, x], [y, brk.y0], color="#444", lw=1.5 * _PT * 1.4, zorder=1)
            for yb in (brk.y0, brk.y1):
                ax.plot([x - 7, x + 7], [yb + 3, yb - 3], color="#888", lw=1.2, zorder=1)
            y = brk.y1
        ax.plot([x, x], [y, lay.bottom], color="#444", lw=1.5 * _PT * 1.4, zorder=1)
    mid = sum(lay.x.values()) / 2
    for brk in lay.breaks:
        ax.text(mid, (brk.y0 + brk.y1) / 2, brk.text, ha="center", va="center", color="#666",
                style="italic", fontdict=mono)
    for box in [*lay.initial, *lay.states]:
        w = box.width
        ax.add_patch(FancyBboxPatch((box.x - w / 2, box.y - STATE_H / 2), w, STATE_H,
                                    boxstyle="round,pad=0,rounding_size=4", fc="#fff4c2",
                                    ec="#a08000", lw=0.8, zorder=3))
        ax.text(box.x, box.y, box.text, ha="center", va="center", color="#5a4500", zorder=4,
                fontdict={**mono, "size": 10 * _PT})
    for y, text in lay.marks:
        ax.text(8, y, text, ha="left", va="center", color="#666", fontdict=mono)
    for a in lay.arrows:
        colour = _RED if a.lost else (_GREEN if a.x2 < a.x1 else _BLUE)
        x2, y2 = a.end
        if a.lost:
            ax.plot([a.x1, x2], [a.y1, y2], color=colour, lw=1.4, ls=(0, (5, 3)), zorder=2)
            ax.plot([x2 - 6, x2 + 6], [y2 - 6, y2 + 6], color=colour, lw=2.2, zorder=2)
            ax.plot([x2 - 6, x2 + 6], [y2 + 6, y2 - 6], color=colour, lw=2.2, zorder=2)
        else:
            angle = math.atan2(y2 - a.y1, x2 - a.x1)
            head = [(x2, y2)] + [(x2 - 10 * math.cos(angle + s), y2 - 10 * math.sin(angle + s))
                                 for s in (0.4, -0.4)]
            ax.plot([a.x1, x2 - 8 * math.cos(angle)], [a.y1, y2 - 8 * math.sin(angle)],
                    color=colour, lw=1.4, zorder=2)
            ax.add_patch(Polygon(head, closed=True, fc=colour, ec="none", zorder=2))
        # Screen y points down, matplotlib turns text counter-clockwise: hence the minus.
        ax.text(a.lx, a.ly, a.label, ha="center", va="center", rotation=-a.angle,
                rotation_mode="anchor", color=colour, zorder=5, fontdict=mono,
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85})
    out = Path(path)
    fig.savefig(out, dpi=_DPI)
    plt.close(fig)
    return out
