"""A ladder diagram as a standalone SVG document, for a page or a lab report.

The geometry is :func:`.layout.layout`'s, shared with the PNG: time runs down, each segment an
arrow from its send time on one lifeline to its arrival time on the other (a lost one stops at
a red cross), long idle gaps cut out of the axis and marked with their length, state changes
boxes on the lifelines, labels (:func:`.model.row_label`) along their own arrow.
"""

from __future__ import annotations

import math
from html import escape as html_escape

from .layout import FONT_PX, LABEL_H, STATE_H, Arrow, Layout, StateBox, layout

__all__ = ["render_svg"]


def _escape(text: str) -> str:
    """Text for an SVG text node: ``&``, ``<`` and ``>`` escaped (quotes need not be)."""
    return html_escape(text, quote=False)


_SVG_STYLE = f"""
text {{ font-family: DejaVu Sans Mono, Menlo, Consolas, monospace; font-size: {FONT_PX}px; }}
.end {{ font-weight: bold; font-size: 13px; }}
.life {{ stroke: #444; stroke-width: 1.5; }}
.seg {{ stroke: #1f5fa8; stroke-width: 1.4; fill: none; }}
.left {{ stroke: #2e7d32; }}
.lost {{ stroke: #b22222; stroke-dasharray: 5 3; }}
.cross {{ stroke: #b22222; stroke-width: 2.2; }}
.lbl {{ fill: #111; }}
.bg {{ fill: #fff; fill-opacity: 0.85; }}
.time {{ fill: #666; }}
.gap {{ fill: #666; font-style: italic; }}
.brk {{ stroke: #888; stroke-width: 1.2; fill: none; }}
.state rect {{ fill: #fff4c2; stroke: #a08000; }}
.state text {{ fill: #5a4500; font-size: 10px; }}
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
        SVG text, laid out by :func:`.layout.layout` (see the module docstring).
    """
    return svg_of(layout(items, endpoints, relative, states))


def svg_of(lay: Layout) -> str:
    """The SVG document of a finished layout."""
    w, h = round(lay.width), round(lay.height)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}">', f"<style>{_SVG_STYLE}</style>",
           f'<rect width="{w}" height="{h}" fill="white"/>',
           '<text x="8" y="20" class="time">time (ms)</text>']
    for end, x in lay.x.items():
        out.append(f'<text x="{x}" y="24" text-anchor="middle" class="end">{_escape(end)}</text>')
        out.extend(_lifeline(x, lay))
    for brk in lay.breaks:
        mid = (lay.x[lay.endpoints[0]] + lay.x[lay.endpoints[1]]) / 2
        out.append(f'<text x="{mid:.1f}" y="{(brk.y0 + brk.y1) / 2 + 4:.1f}" '
                   f'text-anchor="middle" class="gap">{_escape(brk.text)}</text>')
    for box in [*lay.initial, *lay.states]:
        out.append(_svg_state(box))
    for y, text in lay.marks:
        out.append(f'<text x="8" y="{y + 4:.1f}" class="time">{text}</text>')
    for arrow in lay.arrows:
        out.append(_svg_arrow(arrow))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _lifeline(x: float, lay: Layout) -> list[str]:
    """A lifeline, interrupted at each axis break by a gap between two short slanted strokes."""
    parts, y = [], lay.top - 44
    for brk in lay.breaks:
        parts.append(f'<line x1="{x}" y1="{y:.1f}" x2="{x}" y2="{brk.y0:.1f}" class="life"/>')
        for yb in (brk.y0, brk.y1):
            parts.append(f'<line x1="{x - 7}" y1="{yb + 3:.1f}" x2="{x + 7}" y2="{yb - 3:.1f}" '
                         'class="brk"/>')
        y = brk.y1
    parts.append(f'<line x1="{x}" y1="{y:.1f}" x2="{x}" y2="{lay.bottom:.1f}" class="life"/>')
    return parts


def _svg_state(box: StateBox) -> str:
    w = box.width
    return (f'<g class="state"><rect x="{box.x - w / 2:.1f}" y="{box.y - STATE_H / 2:.1f}" '
            f'width="{w:.1f}" height="{STATE_H}" rx="4"/><text x="{box.x}" y="{box.y + 4:.1f}" '
            f'text-anchor="middle">{_escape(box.text)}</text></g>')


def _svg_arrow(a: Arrow) -> str:
    x2, y2 = a.end
    kind = "seg" + (" lost" if a.lost else "") + (" left" if a.x2 < a.x1 else "")
    parts = [f'<line x1="{a.x1}" y1="{a.y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="{kind}"/>']
    if a.lost:
        for dx, dy in ((6, 6), (6, -6)):
            parts.append(f'<line x1="{x2 - dx:.1f}" y1="{y2 - dy:.1f}" x2="{x2 + dx:.1f}" '
                         f'y2="{y2 + dy:.1f}" class="cross"/>')
    else:
        angle = math.atan2(y2 - a.y1, x2 - a.x1)
        head = [(x2, y2)] + [(x2 - 10 * math.cos(angle + s), y2 - 10 * math.sin(angle + s))
                             for s in (0.4, -0.4)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in head)
        colour = "#2e7d32" if a.x2 < a.x1 else "#1f5fa8"
        parts.append(f'<polygon points="{points}" fill="{colour}"/>')
    turn = f'transform="rotate({a.angle:.2f} {a.lx:.1f} {a.ly:.1f})"'
    parts.append(f'<rect x="{a.lx - a.label_w / 2:.1f}" y="{a.ly - LABEL_H / 2:.1f}" '
                 f'width="{a.label_w:.1f}" height="{LABEL_H}" class="bg" {turn}/>')
    parts.append(f'<text x="{a.lx:.1f}" y="{a.ly + 4:.1f}" text-anchor="middle" class="lbl" '
                 f"{turn}>{_escape(a.label)}</text>")
    return "\n".join(parts)
