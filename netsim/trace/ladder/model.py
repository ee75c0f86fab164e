"""What a ladder diagram is made of, and the one label every renderer prints for a segment.

Items are :class:`LadderRow` (one segment) and :class:`StateChange` (one end changes state).
The TCP tracer builds them live from the simulator, :mod:`.capture` infers them from a capture
file. :func:`row_label` is the text on a segment's arrow in the terminal, the SVG and the PNG.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["LadderRow", "StateChange", "row_label", "isns", "by_time", "initial_states",
           "option_text"]

_MOD = 1 << 32


@dataclass(slots=True)
class LadderRow:
    """One segment: ``src`` and ``dst`` are endpoint labels (``"h1:49152"``); ``seq``/``ack`` are
    the wire values (renderers subtract the ISNs when asked); ``flags`` is ``"SYN,ACK"`` as
    :func:`netsim.wire.tcp.flags_str` writes it; ``arrive_ns`` is when it reached ``dst`` (None:
    unknown); ``lost`` marks a segment that never arrived."""

    time_ns: int
    src: str
    dst: str
    flags: str
    seq: int
    ack: int
    length: int
    window: int
    options: str = ""
    note: str = ""
    lost: bool = False
    arrive_ns: int | None = None


@dataclass(slots=True)
class StateChange:
    """``endpoint`` moved from state ``old`` to ``new`` (``State`` values) at ``time_ns``."""

    time_ns: int
    endpoint: str
    old: str
    new: str


def isns(rows: Iterable[LadderRow]) -> dict[str, int]:
    """Each end's initial sequence number: its SYN's seq, else the first seq it sent."""
    rows = list(rows)
    isn: dict[str, int] = {}
    for row in rows:
        if "SYN" in row.flags.split(","):
            isn.setdefault(row.src, row.seq)
    for row in rows:
        isn.setdefault(row.src, row.seq)
    return isn


def row_label(row: LadderRow, isn: dict[str, int] | None) -> str:
    """``[SYN,ACK] seq=0 ack=1 win=65535 MSS=1460``: seq/ack relative to ``isn`` (from
    :func:`isns`; None: absolute), ``ack`` only when the ACK flag is set, ``len`` when not 0."""
    seq, ack = row.seq, row.ack
    if isn is not None:
        seq = (seq - isn.get(row.src, 0)) % _MOD
        if row.dst in isn:
            ack = (ack - isn[row.dst]) % _MOD
    parts = [f"[{row.flags or '<none>'}]", f"seq={seq}"]
    if "ACK" in row.flags.split(","):
        parts.append(f"ack={ack}")
    if row.length:
        parts.append(f"len={row.length}")
    parts.append(f"win={row.window}")
    if row.options:
        parts.append(row.options)
    return " ".join(parts)


def by_time(items) -> list:
    """Items in time order; equal times keep the order they came in (the sort is stable)."""
    return sorted(items, key=lambda item: item.time_ns)


def initial_states(items, endpoints: tuple[str, str], states: dict[str, str] | None
                   ) -> dict[str, str]:
    """Each end's state before the first item: ``states`` if given, else the ``old`` of its
    first change, else ``""`` (unknown)."""
    initial = dict(states or {})
    for item in items:
        if isinstance(item, StateChange):
            initial.setdefault(item.endpoint, item.old)
    return {end: initial.get(end, "") for end in endpoints}


def option_text(options) -> str:
    """Options as Wireshark shows them in the Info column: ``MSS=1460 WS=128 SACK_PERM``.

    A ladder is read for what each segment does, so the timestamp option is shown as ``TS``
    only on a SYN, where it is negotiated (RFC 7323 3.2); its values, on every segment, are
    in the capture.
    """
    names = {name for name, _ in options}
    syn = "MSS" in names or "WScale" in names or "SAckOK" in names   # options only SYNs carry
    shown = []
    for name, value in options:
        if name == "MSS":
            shown.append(f"MSS={value}")
        elif name == "WScale":
            shown.append(f"WS={1 << min(value, 14)}")
        elif name == "SAckOK":
            shown.append("SACK_PERM")
        elif name == "Timestamp" and syn:
            shown.append("TS")
        elif name == "SAck":
            shown.append("SACK=" + ",".join(f"{a}-{b}" for a, b in value))
    return " ".join(shown)
