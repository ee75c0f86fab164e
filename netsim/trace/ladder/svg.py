"""A ladder diagram as a standalone SVG document, for a page or a lab report.

Each item gets its own vertical slot in time order; a segment whose arrival time is known
slants down to where that time falls among the other items, a lost one stops at a red cross,
and state changes are boxes on the lifelines. Labels are :func:`.model.row_label`'s.
"""

from __future__ import annotations

import math
from html import escape as html_escape

from .model import LadderRow, StateChange, by_time, initial_states, isns, row_label

__all__ = ["render_svg"]


def _escape(text: str) -> str:
    """Text for an SVG text node: ``&``, ``<`` and ``>`` escaped (quotes need not be)."""
    return html_escape(text, quote=False)


_SVG_STYLE = """
text { font-family: DejaVu Sans Mono, Menlo, Consolas, monospace; font-size: 11px; }
.end { font-weight: bold; font-size: 13px; }
.life { stroke: #444; stroke-width: 1.5; }
.seg { stroke: #1f5fa8; stroke-width: 1.4; fill: none; }
.lost { stroke: #b22222; stroke-dasharray: 5 3; }
.cross { stroke: #b22222; stroke-width: 2.2; }
.lbl { fill: #111; }
.bg { fill: #fff; fill-opacity: 0.85; }
.time { fill: #666; }
.state rect { fill: #fff4c2; stroke: #a08000; }
.state text { fill: #5a4500; font-size: 10px; }
"""


def render_svg(items, endpoints: tuple[str, str], relative: bool = True,
               states: dict[str, str] | None = None) -> str:
    """Draw a ladder as a standalone SVG document.

    Args:
        items: :class:`LadderRow` and :class:`StateChange` values.
        endpoints: (left, right) endpoint labels.
        relative: seq/ack relative to each end's ISN.
        states: initial states (default: the ``old`` state of each end's first change).

    Returns:
        SVG text. Each item gets its own vertical slot, in time order; a row with a known
        ``arrive_ns`` slants down to where its arrival time falls among the other items, a lost
        row stops half way at a red cross, state changes are boxes on the lifelines.
    """
    items = [i for i in by_time(items)
             if (isinstance(i, StateChange) and i.endpoint in endpoints)
             or (isinstance(i, LadderRow) and {i.src, i.dst} == set(endpoints))]
    rows = [i for i in items if isinstance(i, LadderRow)]
    isn = isns(rows) if relative else None
    labels = {id(r): row_label(r, isn) for r in rows}
    span = max([360] + [int(len(s) * 6.8) + 60 for s in labels.values()])
    xl, step, top = 110, 30, 92
    xr = xl + span
    t0 = items[0].time_ns if items else 0
    slots = [(item.time_ns, top + k * step) for k, item in enumerate(items)]
    bottom = top + len(items) * step + step
    x_of = {endpoints[0]: xl, endpoints[1]: xr}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{xr + 110}" height="{bottom + 20}" '
           f'viewBox="0 0 {xr + 110} {bottom + 20}">', f"<style>{_SVG_STYLE}</style>",
           f'<rect width="{xr + 110}" height="{bottom + 20}" fill="white"/>',
           '<text x="8" y="20" class="time">time (ms)</text>']
    for end, x in x_of.items():
        out.append(f'<text x="{x}" y="24" text-anchor="middle" class="end">{_escape(end)}</text>')
        out.append(f'<line x1="{x}" y1="{top - 44}" x2="{x}" y2="{bottom}" class="life"/>')
    initial = initial_states(items, endpoints, states)
    for end, x in x_of.items():
        if initial[end]:
            out.append(_svg_state(x, 44, initial[end]))
    for item, (_t, y) in zip(items, slots):
        if isinstance(item, StateChange):
            out.append(_svg_state(x_of[item.endpoint], y + 3, item.new))   # below arrow tips
            continue
        x1, x2 = x_of[item.src], x_of[item.dst]
        y2 = y if item.arrive_ns is None else _y_at(item.arrive_ns, slots, step)
        out.append(f'<text x="8" y="{y + 4}" class="time">{(item.time_ns - t0) / 1e6:.3f}</text>')
        out.append(_svg_arrow(x1, y, x2, y2, labels[id(item)], item.lost))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _y_at(time_ns: int, slots: list[tuple[int, int]], step: int) -> float:
    """Where ``time_ns`` falls among the item slots (linear between the two around it)."""
    prev_t, prev_y = slots[0][0], slots[0][1]
    for t, y in slots:
        if t >= time_ns:
            if t == time_ns or t == prev_t:
                return y
            return prev_y + (y - prev_y) * (time_ns - prev_t) / (t - prev_t)
        prev_t, prev_y = t, y
    return prev_y + step


def _svg_state(x: float, y: float, name: str) -> str:
    w = len(name) * 6.3 + 12
    return (f'<g class="state"><rect x="{x - w / 2:.1f}" y="{y:.1f}" width="{w:.1f}" height="17" '
            f'rx="4"/><text x="{x}" y="{y + 12:.1f}" text-anchor="middle">{_escape(name)}</text></g>')


def _svg_arrow(x1: float, y1: float, x2: float, y2: float, label: str, lost: bool) -> str:
    if lost:
        x2, y2 = x1 + (x2 - x1) * 0.6, y1 + (y2 - y1) * 0.6
    parts = [f'<line x1="{x1}" y1="{y1}" x2="{x2:.1f}" y2="{y2:.1f}" '
             f'class="seg{" lost" if lost else ""}"/>']
    if lost:
        for dx, dy in ((6, 6), (6, -6)):
            parts.append(f'<line x1="{x2 - dx:.1f}" y1="{y2 - dy:.1f}" x2="{x2 + dx:.1f}" '
                         f'y2="{y2 + dy:.1f}" class="cross"/>')
    else:
        angle = math.atan2(y2 - y1, x2 - x1)
        head = [(x2, y2)] + [(x2 - 10 * math.cos(angle + s), y2 - 10 * math.sin(angle + s))
                             for s in (0.4, -0.4)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in head)
        parts.append(f'<polygon points="{points}" fill="#1f5fa8"/>')
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2 - 5
    w = len(label) * 6.7
    parts.append(f'<rect x="{mx - w / 2:.1f}" y="{my - 10:.1f}" width="{w:.1f}" height="13" '
                 f'class="bg"/>')
    parts.append(f'<text x="{mx:.1f}" y="{my:.1f}" text-anchor="middle" class="lbl">'
                 f"{_escape(label)}</text>")
    return "\n".join(parts)
