"""A ladder diagram for a terminal: time down the left, the two lifelines, one arrow per
segment labelled by :func:`.model.row_label`, each end's state printed under it as it changes.
Unicode box drawing, or plain ASCII."""

from __future__ import annotations

import textwrap

from .model import LadderRow, StateChange, by_time, initial_states, isns, negotiation, row_label

__all__ = ["render_text"]

_UNICODE = {"line": "│", "dash": "─", "right": "▶", "left": "◀", "lost": "✗", "more": "…"}
_ASCII = {"line": "|", "dash": "-", "right": ">", "left": "<", "lost": "x", "more": "~"}


def render_text(items, endpoints: tuple[str, str], relative: bool = True,
                width: int | None = None, ascii: bool = False,
                states: dict[str, str] | None = None, notes: bool = True,
                t0: int | None = None, negotiated: bool = True) -> str:
    """Draw a ladder for a terminal.

    Args:
        items: :class:`LadderRow` and :class:`StateChange` values (sorted by time here).
        endpoints: (left, right) endpoint labels; rows between other labels are skipped.
        relative: show seq/ack relative to each end's ISN, as Wireshark does.
        width: total width in columns; None fits the longest label. Longer labels are cut.
        ascii: plain ASCII instead of Unicode box drawing.
        states: initial states to print under the endpoints (default: the ``old`` state of
            each end's first change).
        notes: append each row's ``note`` after the right lifeline.
        t0: the time (ns) the time column counts from; None: the first item's (0 gives the
            simulation's own clock, as the stepper shows it).
        negotiated: under the segment that completes the handshake's option exchange (the
            second end's SYN), say what the two SYNs agreed on (:func:`.model.negotiation`).

    Returns:
        The diagram, lines joined with ``\\n``, time (ms since ``t0``) on the left.
    """
    g = _ASCII if ascii else _UNICODE
    items = by_time(items)
    left, right = endpoints
    rows = [i for i in items if isinstance(i, LadderRow)]
    isn = isns(rows) if relative else None
    labels = {id(r): row_label(r, isn) for r in rows}
    between = [r for r in rows if {r.src, r.dst} == {left, right}]
    agreed = negotiation(between, endpoints) if negotiated else None
    agreed_after = id(between[agreed[0]]) if agreed else None
    tcol = 11
    inner = max([40, len(left) + len(right) + 2] + [len(s) + 5 for s in labels.values()])
    if width is not None:
        inner = max(12, width - tcol - 2)
    if t0 is None:
        t0 = items[0].time_ns if items else 0
    blank = " " * tcol

    def ends(a: str, b: str) -> str:
        gap = inner + 2 - len(a) - len(b)
        return a + " " * max(1, gap) + b

    out = [f"{'time (ms)':>{tcol - 2}}  " + ends(left, right)]
    initial = initial_states(items, endpoints, states)
    out.append(blank + ends(initial[left] or g["line"], initial[right] or g["line"]))
    pending: dict[str, str] = {}

    def flush_states() -> None:
        if pending:
            out.append(blank + ends(pending.get(left, g["line"]), pending.get(right, g["line"])))
            pending.clear()

    for item in items:
        if isinstance(item, StateChange):
            if item.endpoint not in endpoints:
                continue
            if item.endpoint in pending:
                flush_states()
            pending[item.endpoint] = item.new
            continue
        if {item.src, item.dst} != {left, right}:
            continue
        flush_states()
        text = labels[id(item)]
        if len(text) > inner - 5:
            text = text[:inner - 6] + g["more"]
        body = _text_arrow(text, inner, item.src == left, item.lost, g)
        line = f"{(item.time_ns - t0) / 1e6:>{tcol - 2}.3f}  {g['line']}{body}{g['line']}"
        if notes and item.note:
            line += f"  # {item.note}"
        out.append(line)
        if id(item) == agreed_after:
            for part in _pack(agreed[1], inner - 4):
                out.append(blank + g["line"] + "  " + part.ljust(inner - 2) + g["line"])
    flush_states()
    return "\n".join(out) + "\n"


def _text_arrow(text: str, inner: int, rightward: bool, lost: bool, g: dict[str, str]) -> str:
    dash = g["dash"]
    if lost:   # the arrow stops two thirds of the way, ending in a cross
        reach = max(len(text) + 5, inner * 2 // 3)
        fill, gap = dash * (reach - len(text) - 3), " " * (inner - reach)
        if rightward:
            return dash * 2 + text + fill + g["lost"] + gap
        return gap + g["lost"] + fill + text + dash * 2
    fill = dash * (inner - len(text) - 3)
    if rightward:
        return dash * 2 + text + fill + g["right"]
    return g["left"] + fill + text + dash * 2


def _pack(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width``, broken after its commas where possible (so a
    phrase such as ``window scale x4`` stays on one line), continuation lines indented."""
    lines: list[str] = []
    for phrase in text.split(", "):
        piece = phrase if not lines else ", " + phrase
        if lines and len(lines[-1]) + len(piece) <= width:
            lines[-1] += piece
        elif lines:
            lines[-1] += ","
            lines.append("  " + phrase)
        else:
            lines.append(phrase)
    return [part for line in lines
            for part in textwrap.wrap(line, width, subsequent_indent="  ") or [""]]
