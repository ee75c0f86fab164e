"""A TCP ladder diagram as a PNG (matplotlib), for lab reports and slides.

The same items and labels (:func:`netsim.trace.ladder.model.row_label`) as
:func:`netsim.trace.ladder.render_text`: segments (:class:`LadderRow`) drawn as arrows between
the two endpoints' lifelines, lost ones ending in a cross half way, and state changes
(:class:`StateChange`) as boxes on the lifeline of the endpoint that changed. Each item gets its
own row (time runs down, printed on the left), so close events stay readable.
"""

from __future__ import annotations

from pathlib import Path

from .ladder.model import LadderRow, StateChange, by_time, isns, row_label

__all__ = ["render_png"]


def render_png(items, endpoints: tuple[str, str], path: str | Path, relative: bool = True,
               title: str | None = None, states: dict[str, str] | None = None) -> Path:
    """Draw the ladder of ``items`` between ``endpoints`` into the PNG file ``path``.

    ``states`` are the endpoints' states before the first item (e.g. ``Ladder.initial``).
    """
    # matplotlib is imported here, when a picture is drawn, so that importing netsim.trace
    # (and the whole simulator) does not pay for it.
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = by_time(items)
    left, right = endpoints
    x = {left: 0.0, right: 1.0}
    isn = isns(i for i in items if isinstance(i, LadderRow)) if relative else None
    n = max(len(items), 1)
    fig, ax = plt.subplots(figsize=(9, 0.42 * n + 1.6))
    t0 = items[0].time_ns if items else 0
    for end in endpoints:
        ax.plot([x[end], x[end]], [-0.6, n], color="#555", lw=1.2, zorder=1)
        ax.text(x[end], -1.0, end, ha="center", va="bottom", fontsize=10, weight="bold")
        if states and end in states:
            ax.text(x[end], -0.45, states[end], ha="center", va="center", fontsize=8, zorder=3,
                    bbox=dict(boxstyle="round,pad=0.25", fc="#eeeeee", ec="#888888"))
    for k, item in enumerate(items):
        ax.text(-0.32, k, f"{(item.time_ns - t0) / 1e6:.3f} ms", ha="right", va="center",
                fontsize=7, color="#666")
        if isinstance(item, StateChange):
            if item.endpoint not in x:
                continue
            ax.text(x[item.endpoint], k, item.new, ha="center", va="center", fontsize=8,
                    zorder=3, bbox=dict(boxstyle="round,pad=0.25", fc="#fff4c2", ec="#b59b00"))
            continue
        if item.src not in x or item.dst not in x:
            continue
        x0, x1 = x[item.src], x[item.dst]
        y1 = k + 0.75
        colour = "#c0392b" if item.lost else ("#1f5fa8" if x1 > x0 else "#2e7d32")
        if item.lost:
            xm = (x0 + x1) / 2
            ax.annotate("", xy=(xm, (k + y1) / 2), xytext=(x0, k),
                        arrowprops=dict(arrowstyle="-", color=colour, lw=1.4))
            ax.plot([xm], [(k + y1) / 2], marker="x", color=colour, markersize=9, mew=2)
        else:
            ax.annotate("", xy=(x1, y1), xytext=(x0, k),
                        arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.4))
        ax.text(0.5, k + 0.3, row_label(item, isn) + ("  (lost)" if item.lost else ""),
                ha="center", va="bottom", fontsize=7.5, color=colour,
                bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.85))
    ax.set_xlim(-0.55, 1.25)
    ax.set_ylim(n + 0.5, -1.5)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
