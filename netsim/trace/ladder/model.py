"""What a ladder diagram is made of, and the one label every renderer prints for a segment.

Items are :class:`LadderRow` (one segment) and :class:`StateChange` (one end changes state).
The TCP tracer builds them live from the simulator, :mod:`.capture` infers them from a capture
file. :func:`row_label` is the text on a segment's arrow in the terminal, the SVG and the PNG.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["LadderRow", "StateChange", "row_label", "isns", "by_time", "initial_states",
           "option_text", "sack_blocks", "negotiation"]

_MOD = 1 << 32


@dataclass(slots=True)
class LadderRow:
    """One segment: ``src`` and ``dst`` are endpoint labels (``"h1:49152"``); ``seq``/``ack`` are
    the wire values (renderers subtract the ISNs when asked); ``flags`` is ``"SYN,ACK"`` as
    :func:`netsim.wire.tcp.flags_str` writes it; ``arrive_ns`` is when it reached ``dst`` (None:
    unknown); ``lost`` marks a segment that never arrived; ``sack`` holds the SACK blocks
    (RFC 2018, wire values in ``dst``'s sequence space, like ``ack``)."""

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
    sack: tuple[tuple[int, int], ...] = ()


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
    :func:`isns`; None: absolute), ``ack`` only when the ACK flag is set, ``len`` when not 0,
    SACK blocks (``SACK=2897-4345``) relative to the same ISN as ``ack``."""
    seq, ack = row.seq, row.ack
    base = 0
    if isn is not None:
        seq = (seq - isn.get(row.src, 0)) % _MOD
        if row.dst in isn:
            base = isn[row.dst]
            ack = (ack - base) % _MOD
    parts = [f"[{row.flags or '<none>'}]", f"seq={seq}"]
    if "ACK" in row.flags.split(","):
        parts.append(f"ack={ack}")
    if row.length:
        parts.append(f"len={row.length}")
    parts.append(f"win={row.window}")
    if row.options:
        parts.append(row.options)
    if row.sack:
        # RFC 2018 3: each block is [left, right) of the data sender's sequence space.
        parts.append("SACK=" + ",".join(f"{(a - base) % _MOD}-{(b - base) % _MOD}"
                                        for a, b in row.sack))
    return " ".join(parts)


def negotiation(rows: Iterable[LadderRow], endpoints: tuple[str, str]) -> tuple[int, str] | None:
    """What the two SYNs agreed on, and the index of the row (in ``rows``) that settled it.

    Each end offers its options on its SYN (RFC 9293 3.7.1, RFC 7323 2-3, RFC 2018 2); an
    option is in use only when both offered it, and each end's MSS limits what the *other*
    sends. Returns None until both ends' SYNs are among ``rows``.

    Returns:
        ``(index, "negotiated: MSS 1460 both ways, SACK, timestamps, window scale x4/x128")``:
        for pairs, the left end's value first.
    """
    offers: dict[str, dict[str, str]] = {}
    for i, row in enumerate(rows):
        if "SYN" not in row.flags.split(",") or row.src in offers or row.src not in endpoints:
            continue
        offers[row.src] = dict(word.partition("=")[::2] for word in row.options.split())
        if len(offers) == 2:
            return i, _agreed(offers[endpoints[0]], offers[endpoints[1]], endpoints)
    return None


def _agreed(a: dict[str, str], b: dict[str, str], endpoints: tuple[str, str]) -> str:
    hosts = [end.rsplit(":", 1)[0] for end in endpoints]

    def pair(key: str, default: str) -> str:
        x, y = a.get(key, default), b.get(key, default)
        return f"{x} both ways" if x == y else f"{x}/{y}"

    # RFC 9293 3.7.1: a SYN without MSS means 536.
    parts = [f"MSS {pair('MSS', '536')}"]
    for key, name in (("SACK_PERM", "SACK"), ("TS", "timestamps")):
        if key in a and key in b:
            parts.append(name)
        elif key in a or key in b:
            parts.append(f"no {name} (only {hosts[0 if key in a else 1]} offered it)")
    if "WS" in a and "WS" in b:
        # RFC 7323 2.2: each end scales the windows it sends by its own shift.
        x, y = a["WS"], b["WS"]
        parts.append(f"window scale x{x} both ways" if x == y else f"window scale x{x}/x{y}")
    elif "WS" in a or "WS" in b:
        parts.append(f"no window scaling (only {hosts[0 if 'WS' in a else 1]} offered it)")
    return "negotiated: " + ", ".join(parts)


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
    """Options as Wireshark shows them in the Info column: ``MSS=1460 WS=128 SACK_PERM``
    (SACK blocks apart: :func:`sack_blocks`).

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
    # SACK blocks are not text here: they are sequence numbers, which the renderers show
    # relative to the ISN like ``ack`` (``LadderRow.sack``, :func:`row_label`).
    return " ".join(shown)


def sack_blocks(options) -> tuple[tuple[int, int], ...]:
    """The SACK blocks of a segment's options (RFC 2018), as wire values; () for none."""
    for name, value in options:
        if name == "SAck":
            return tuple(value)
    return ()
