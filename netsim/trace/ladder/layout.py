"""Where each part of a ladder diagram goes: one geometry, drawn by the SVG and the PNG renderers.

Time runs down the page. A segment is an arrow from its sender's lifeline at the time it was
sent to the receiver's lifeline at the time it arrived, so two segments in flight at once cross
(the SYNs of a simultaneous open, RFC 9293 3.5 figure 8) and a slow link slants its arrows. The
vertical scale makes a typical one-way trip :data:`TRANSIT_PX` tall. Two things bend the scale,
both visibly:

* an idle stretch that would take more than :data:`GAP_PX` is cut out of the axis: a broken
  axis, marked with the length of the gap (the 1 s RTO of a lost SYN, the 2*MSL of TIME_WAIT);
* events closer than :data:`MIN_DY` are pushed apart, so a segment sent the instant another
  arrives gets room for its label (the time column keeps printing the true times).

Labels are :func:`.model.row_label`'s text, written along their own arrow and placed where
they touch no other arrow, state box or label; :func:`collisions` counts what still touches
(tests assert none do).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from .model import LadderRow, StateChange, by_time, initial_states, isns, row_label

__all__ = ["Layout", "Arrow", "StateBox", "AxisBreak", "layout", "collisions", "LABEL_H", "STATE_H",
           "segments_cross", "FONT_PX", "CHAR_W"]

FONT_PX = 11          # the monospace font both renderers use, in pixels
CHAR_W = 6.7          # its advance per character (DejaVu Sans Mono: 0.602 em)
LABEL_H = 13          # a label's box height
TRANSIT_PX = 64       # how tall a typical one-way trip is drawn
GAP_PX = 260          # an idle stretch taller than this is cut out (a broken axis) ...
BREAK_PX = 44         # ... and drawn this tall instead
MIN_DY = 18           # the least room between two events
STATE_H = 17          # a state box's height
STATE_GAP = 27        # the least room between a state box and the event before or after it
TOP = 96              # y of the first event
TIME_X = 8            # the time column
LEFT_X = 118          # the left lifeline


@dataclass
class Arrow:
    """A segment's arrow: from (x1, y1) to (x2, y2) (for a lost segment, where it would have
    arrived: it is drawn to :attr:`end` and stops at a cross). The label is centred at
    (:attr:`lx`, :attr:`ly`), turned :attr:`angle` degrees (clockwise, y pointing down)."""

    row: LadderRow
    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    lost: bool
    lx: float = 0.0
    ly: float = 0.0
    angle: float = 0.0
    label_w: float = 0.0

    @property
    def end(self) -> tuple[float, float]:
        """Where the drawn line stops: the far lifeline, or 60% of the way for a lost segment."""
        if not self.lost:
            return self.x2, self.y2
        return self.x1 + (self.x2 - self.x1) * 0.6, self.y1 + (self.y2 - self.y1) * 0.6

    def label_corners(self) -> list[tuple[float, float]]:
        return _box(self.lx, self.ly, self.label_w, LABEL_H, math.radians(self.angle))

    def cross_corners(self) -> list[tuple[float, float]] | None:
        """The square the red cross of a lost segment takes (None when it arrived)."""
        return _box(*self.end, 14, 14, 0.0) if self.lost else None


@dataclass
class StateBox:
    """A state name in a box centred on a lifeline at (x, y)."""

    x: float
    y: float
    text: str

    @property
    def width(self) -> float:
        return len(self.text) * CHAR_W * 0.92 + 12

    def corners(self) -> list[tuple[float, float]]:
        return _box(self.x, self.y, self.width, STATE_H, 0.0)


@dataclass
class AxisBreak:
    """An idle stretch of ``gap_ns`` cut out of the time axis between ``y0`` and ``y1``."""

    y0: float
    y1: float
    gap_ns: int

    @property
    def text(self) -> str:
        ms = self.gap_ns / 1e6
        return f"{ms / 1000:.3f} s idle" if ms >= 1000 else f"{ms:.1f} ms idle"


@dataclass
class Layout:
    """Everything placed: the page size, both lifelines, arrows, state boxes, axis breaks and
    the time marks of the left column (``(y, text)``)."""

    endpoints: tuple[str, str]
    width: float
    height: float
    x: dict[str, float]
    top: float
    bottom: float
    arrows: list[Arrow] = field(default_factory=list)
    states: list[StateBox] = field(default_factory=list)
    initial: list[StateBox] = field(default_factory=list)
    breaks: list[AxisBreak] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)


def layout(items, endpoints: tuple[str, str], relative: bool = True,
           states: dict[str, str] | None = None) -> Layout:
    """Place a ladder's items (see the module docstring).

    Args:
        items: :class:`LadderRow` and :class:`StateChange` values; rows between other
            endpoints are left out.
        endpoints: (left, right) endpoint labels.
        relative: seq/ack in the labels relative to each end's ISN.
        states: initial states (default: the ``old`` of each end's first change).
    """
    items = [i for i in by_time(items)
             if (isinstance(i, StateChange) and i.endpoint in endpoints)
             or (isinstance(i, LadderRow) and {i.src, i.dst} == set(endpoints))]
    rows = [i for i in items if isinstance(i, LadderRow)]
    isn = isns(rows) if relative else None
    labels = {id(r): row_label(r, isn) + ("  (lost)" if r.lost else "") for r in rows}
    span = max([380] + [len(s) * CHAR_W + 90 for s in labels.values()])
    transit = _typical_transit(rows)
    lay = None
    # Crowded: first give the events more room, then (for crossing arrows, whose labels must
    # each fit on one side of the crossing) the lifelines more distance.
    for widen in (1.0, 1.4, 1.9, 2.5):
        x = {endpoints[0]: LEFT_X, endpoints[1]: LEFT_X + round(span * widen)}
        for min_dy in (MIN_DY, MIN_DY * 1.5):
            lay = _place(items, rows, labels, endpoints, x, transit, min_dy, states)
            if not collisions(lay):
                return lay
    return lay


def _typical_transit(rows: list[LadderRow]) -> int:
    """The median one-way trip of the segments whose arrival is known (1 ms if none is)."""
    trips = [r.arrive_ns - r.time_ns for r in rows if r.arrive_ns is not None
             and r.arrive_ns > r.time_ns]
    return int(statistics.median(trips)) if trips else 1_000_000


def _events(items, transit: int) -> list[tuple[tuple, str, object]]:
    """(sort key, kind, item): each row's send and arrival, each state change. At one instant
    an arrival comes first, then the items in the order they happened (a state change, then
    the segment it sends)."""
    events = []
    for k, item in enumerate(items):
        events.append(((item.time_ns, 1, k), "send" if isinstance(item, LadderRow) else "state",
                       item))
        if isinstance(item, LadderRow):
            arrive = item.arrive_ns
            if item.lost:
                arrive = item.time_ns + transit      # where it would have arrived
            if arrive is not None and arrive > item.time_ns:
                events.append(((arrive, 0, k), "arrive", item))
    events.sort(key=lambda e: e[0])
    return events


def _place(items, rows, labels, endpoints, x, transit, min_dy, states) -> Layout:
    scale = TRANSIT_PX / max(transit, 1)
    y_of: dict[tuple[int, str], float] = {}
    lay = Layout(endpoints, 0, 0, x, TOP, TOP)
    t0 = items[0].time_ns if items else 0
    y, prev_t, prev_kind = TOP, None, None
    for key, kind, item in _events(items, transit):
        t = key[0]
        if prev_t is not None:
            dy = (t - prev_t) * scale
            if dy > GAP_PX:
                lay.breaks.append(AxisBreak(y + min_dy / 2, y + BREAK_PX - min_dy / 2, t - prev_t))
                dy = BREAK_PX
            # A state box is wide: the arrows leaving or reaching its lifeline need more room.
            least = max(min_dy, STATE_GAP) if "state" in (kind, prev_kind) else min_dy
            y += max(dy, least)
        prev_t, prev_kind = t, kind
        y_of[(id(item), kind)] = y
        if kind == "send":
            lay.marks.append((y, f"{(t - t0) / 1e6:.3f}"))
        elif kind == "state":
            lay.states.append(StateBox(x[item.endpoint], y, item.new))
    lay.bottom = y + min_dy * 1.5
    initial = initial_states(items, endpoints, states)
    lay.initial = [StateBox(x[end], TOP - 40, initial[end]) for end in endpoints if initial[end]]
    for row in rows:
        y1 = y_of[(id(row), "send")]
        y2 = y_of.get((id(row), "arrive"), y1)   # arrival unknown: drawn level
        lay.arrows.append(Arrow(row, x[row.src], y1, x[row.dst], y2, labels[id(row)], row.lost))
    for arrow in lay.arrows:
        _place_label(arrow, lay)
    lay.width = x[endpoints[1]] + 110
    lay.height = lay.bottom + 24
    return lay


# Where along its arrow (0 = sender, 1 = receiver) and on which side a label may go, in order
# of preference: the middle first, then towards either end.
_SPOTS = [(f, side) for f in (0.5, 0.38, 0.62, 0.3, 0.7, 0.44, 0.56, 0.24, 0.76, 0.18, 0.82)
          for side in (-1, 1)]


def _place_label(arrow: Arrow, lay: Layout) -> None:
    dx, dy = arrow.x2 - arrow.x1, arrow.y2 - arrow.y1
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    # Text reads left to right: the angle of the arrow, or of its reverse for a leftward one.
    angle = math.degrees(math.atan2(dy, dx)) if dx >= 0 else math.degrees(math.atan2(-dy, -dx))
    arrow.angle = angle
    arrow.label_w = len(arrow.label) * CHAR_W + 6
    nx, ny = -math.sin(math.radians(angle)), math.cos(math.radians(angle))  # "below" the text
    best = None
    for f, side in _SPOTS:
        half = arrow.label_w / 2 / length
        if f - half < 0.04 or f + half > 0.93:     # keep clear of the lifelines and the head
            continue
        offset = side * (LABEL_H / 2 + 2)
        arrow.lx = arrow.x1 + ux * f * length + nx * offset
        arrow.ly = arrow.y1 + uy * f * length + ny * offset
        hits = _label_hits(arrow, lay)
        if best is None or hits < best[0]:
            best = (hits, arrow.lx, arrow.ly)
        if hits == 0:
            return
    if best is None:        # a label longer than its arrow: centre it
        arrow.lx, arrow.ly = (arrow.x1 + arrow.x2) / 2, (arrow.y1 + arrow.y2) / 2 - LABEL_H / 2 - 2
    else:
        arrow.lx, arrow.ly = best[1], best[2]


def _label_hits(arrow: Arrow, lay: Layout) -> int:
    """How many other arrows, state boxes and already placed labels ``arrow``'s label touches."""
    box = arrow.label_corners()
    hits = 0
    for other in lay.arrows:
        cross = other.cross_corners()
        if cross is not None and _polys_overlap(box, cross):
            hits += 1
        if other is arrow:
            continue
        if _poly_hits_segment(box, (other.x1, other.y1), other.end):
            hits += 1
        if other.label_w and _polys_overlap(box, other.label_corners()):
            hits += 1
    for state in [*lay.states, *lay.initial]:
        if _polys_overlap(box, state.corners()):
            hits += 1
    return hits


def collisions(lay: Layout) -> list[tuple[str, str]]:
    """Pairs (label, what it touches) of the finished layout: another arrow, a state box or
    another label; and (arrow, state box) for an arrow running through a box. Empty for a
    readable diagram."""
    found = []
    for i, arrow in enumerate(lay.arrows):
        box = arrow.label_corners()
        for j, other in enumerate(lay.arrows):
            cross = other.cross_corners()
            if cross is not None and _polys_overlap(box, cross):
                found.append((arrow.label, f"the cross of {other.label}"))
            if j != i and _poly_hits_segment(box, (other.x1, other.y1), other.end):
                found.append((arrow.label, f"arrow {other.label}"))
            if j > i and _polys_overlap(box, other.label_corners()):
                found.append((arrow.label, f"label {other.label}"))
        for state in [*lay.states, *lay.initial]:
            if _polys_overlap(box, state.corners()):
                found.append((arrow.label, f"state {state.text}"))
            if _poly_hits_segment(_box(state.x, state.y, state.width - 2, STATE_H - 2, 0.0),
                                  (arrow.x1, arrow.y1), arrow.end):
                found.append((f"arrow {arrow.label}", f"state {state.text}"))
    return found


# -- plane geometry ---------------------------------------------------------------------------

def _box(cx: float, cy: float, w: float, h: float, theta: float) -> list[tuple[float, float]]:
    c, s = math.cos(theta), math.sin(theta)
    return [(cx + dx * c - dy * s, cy + dx * s + dy * c)
            for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))]


def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def segments_cross(p1, p2, q1, q2) -> bool:
    """Whether segment p1-p2 and segment q1-q2 intersect (touching counts)."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and d1 and d2 and d3 and d4:
        return True

    def on(a, b, c) -> bool:
        return (min(a[0], b[0]) - 1e-9 <= c[0] <= max(a[0], b[0]) + 1e-9
                and min(a[1], b[1]) - 1e-9 <= c[1] <= max(a[1], b[1]) + 1e-9)
    return ((d1 == 0 and on(q1, q2, p1)) or (d2 == 0 and on(q1, q2, p2))
            or (d3 == 0 and on(p1, p2, q1)) or (d4 == 0 and on(p1, p2, q2)))


def _inside(poly, p) -> bool:
    signs = [_cross(poly[k], poly[(k + 1) % len(poly)], p) for k in range(len(poly))]
    return all(s > 0 for s in signs) or all(s < 0 for s in signs)


def _poly_hits_segment(poly, a, b) -> bool:
    edges = zip(poly, poly[1:] + poly[:1])
    return _inside(poly, a) or _inside(poly, b) or any(segments_cross(a, b, p, q) for p, q in edges)


def _polys_overlap(p, q) -> bool:
    return (any(_inside(q, v) for v in p) or any(_inside(p, v) for v in q)
            or any(segments_cross(a, b, c, d) for a, b in zip(p, p[1:] + p[:1])
                   for c, d in zip(q, q[1:] + q[:1])))
