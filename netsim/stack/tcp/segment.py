"""The segment value the core consumes and produces (:class:`netsim.wire.tcp.TCP`), plus
small helpers: SEG.LEN, option lookup, flag letters, and the RST for a closed port."""

from __future__ import annotations

from typing import Any

__all__ = ["TCP", "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "seg_len",
           "get_option", "flag_letters", "rst_for"]

from netsim.wire.tcp import ACK, CWR, ECE, FIN, PSH, RST, SYN, TCP, URG

_LETTERS = ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"), (ECE, "E"), (CWR, "W"),
            (URG, "U"), (ACK, "."))


def flag_letters(flags: int) -> str:
    """packetdrill/tcpdump-style flag letters, e.g. ``"S."`` for SYN+ACK."""
    return "".join(ch for bit, ch in _LETTERS if flags & bit) or "-"


def seg_len(seg: TCP) -> int:
    """SEG.LEN: payload bytes plus one for SYN and one for FIN (RFC 9293 section 3.4)."""
    return len(seg.payload) + (1 if seg.flags & SYN else 0) + (1 if seg.flags & FIN else 0)


def get_option(seg: TCP, name: str) -> Any:
    """The value of the first option called ``name`` (``"MSS"``...) or None."""
    for opt in seg.options:
        if opt[0] == name:
            return opt[1]
    return None


def rst_for(seg: TCP) -> TCP | None:
    """The reset answering a segment that reached no connection (RFC 9293 section 3.10.7.1).

    If the incoming segment has ACK, the reset is ``<SEQ=SEG.ACK><CTL=RST>``; otherwise
    ``<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>``. A reset is never answered.

    Args:
        seg: the segment that found no connection (ports as received).

    Returns:
        the RST segment (ports swapped) or None when ``seg`` itself is a reset.
    """
    if seg.flags & RST:
        return None
    if seg.flags & ACK:
        return TCP(sport=seg.dport, dport=seg.sport, seq=seg.ack, ack=0, flags=RST, window=0)
    return TCP(sport=seg.dport, dport=seg.sport, seq=0, ack=(seg.seq + seg_len(seg)) & 0xFFFFFFFF,
               flags=RST | ACK, window=0)
