"""Both ends' TCP states inferred from the segments between them, with the core's own table.

An observer of the wire (a capture file, tcpdump, Wireshark's TCP analysis) sees segments, not
states. Each sighting of a segment - an end sending it, or an end receiving it - shows the
events whose :data:`~.states.WIRE` signature it matches (:func:`sighting_events`), and
:func:`advance` fires those events through :data:`~.states.TRANSITIONS`, the same table every
:class:`~.connection.Connection` obeys. Events the table does not allow in the state reached
change nothing, as a real stack ignores a retransmitted SYN, a duplicate ACK or data.

This is an observer's guess: TIME_WAIT never visibly ends, a RST is taken at face value, and a
simultaneous close seen from a single point looks like an ordinary close. Sans-I/O: imports
only the wire codecs and the state table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

from ...wire.tcp import ACK, FIN, RST, SYN
from .states import RECEIVED, SENT, TRANSITIONS, WIRE, Ev, State

__all__ = ["Sighting", "InferredChange", "sighting_events", "advance", "infer_states"]

_MOD = 1 << 32
_BITS = {"SYN": SYN, "ACK": ACK, "FIN": FIN, "RST": RST}   # all the inference looks at
_SIGNED = tuple((ev, wire) for ev, wire in WIRE.items() if wire is not None)


class Sighting(Protocol):
    """What the inference needs of one segment (``netsim.trace.ladder.LadderRow`` has it):
    endpoint labels, flags as :func:`netsim.wire.tcp.flags_str` writes them ("SYN,ACK"),
    absolute seq/ack, payload length, when it left and (None: same time) when it arrived."""

    time_ns: int
    src: str
    dst: str
    flags: str
    seq: int
    ack: int
    length: int
    lost: bool
    arrive_ns: int | None


class InferredChange(NamedTuple):
    """``endpoint`` moved ``old`` -> ``new`` at ``time_ns`` when it sent (``receiving`` False)
    or received row number ``row``; ``events`` are the table's events that took it there."""

    time_ns: int
    row: int
    receiving: bool
    endpoint: str
    old: State
    new: State
    events: tuple[Ev, ...]


def sighting_events(sent: bool, flags: int, acked: frozenset[str] = frozenset()
                    ) -> tuple[Ev, ...]:
    """The events a segment shows, in RFC 9293 processing order.

    Args:
        sent: True for the end that sends the segment, False for the end that receives it.
        flags: the segment's TCP flag bits.
        acked: which of the receiving end's own segments ("SYN", "FIN") its ACK covers.
    """
    return tuple(ev for ev, wire in _SIGNED if wire.matches(sent, flags, acked))


def advance(state: State, events: Iterable[Ev]) -> tuple[State, tuple[Ev, ...]]:
    """Fire ``events`` in order through the table, skipping those it does not allow.

    Returns:
        (the state reached, the events that moved it).
    """
    fired = []
    for event in events:
        new = TRANSITIONS.get((state, event))
        if new is not None:
            state = new
            fired.append(event)
    return state, tuple(fired)


def _seq_ge(a: int, b: int) -> bool:
    """a >= b in sequence space (RFC 9293 3.4: comparisons are modulo 2**32)."""
    return (a - b) % _MOD < _MOD // 2


def _flag_bits(flags: str) -> int:
    return sum(_BITS.get(name.strip(), 0) for name in flags.split(","))


def _initial(rows: Sequence[Sighting], end: str) -> State:
    # An end whose first segment is a SYN,ACK answered a SYN: it was listening.
    first = next((r for r in rows if r.src == end), None)
    if first is not None and _flag_bits(first.flags) & (SYN | ACK) == SYN | ACK:
        return State.LISTEN
    return State.CLOSED


def infer_states(rows: Sequence[Sighting], endpoints: tuple[str, str]
                 ) -> tuple[dict[str, State], list[InferredChange]]:
    """Run the state table over the segments of one connection.

    Args:
        rows: the connection's segments in order of first sighting (absolute seq/ack).
        endpoints: the two endpoint labels.

    Returns:
        (initial states, changes in time order): an end whose first segment is a SYN,ACK starts
        in LISTEN, every other in CLOSED. Each segment is seen by its sender at ``time_ns`` and,
        unless lost, by its receiver at ``arrive_ns`` (or ``time_ns``); the events one sighting
        fires collapse into one change, as RFC 9293 does for a FIN that also acknowledges ours
        (FIN_WAIT_1 -> TIME_WAIT).
    """
    initial = {end: _initial(rows, end) for end in endpoints}
    sightings = []   # (time, row index, receiving, end, row)
    for i, row in enumerate(rows):
        sightings.append((row.time_ns, i, False, row.src, row))
        if not row.lost:
            arrive = row.arrive_ns if row.arrive_ns is not None else row.time_ns
            sightings.append((arrive, i, True, row.dst, row))
    sightings.sort(key=lambda s: s[:3])
    state = dict(initial)
    ends: dict[tuple[str, str], int] = {}   # (end, "SYN"/"FIN") -> sequence number just past it
    changes = []
    for time_ns, i, receiving, end, row in sightings:
        flags = _flag_bits(row.flags)
        if receiving:
            acked = frozenset(kind for kind in ("SYN", "FIN")
                              if (end, kind) in ends and _seq_ge(row.ack, ends[(end, kind)]))
            events = sighting_events(RECEIVED, flags, acked)
        else:
            if flags & SYN:   # the first SYN carries the ISS; a repeat (RFC 9293 fig. 8) keeps it
                ends.setdefault((end, "SYN"), (row.seq + 1) % _MOD)
            if flags & FIN:
                ends[(end, "FIN")] = (row.seq + row.length + bool(flags & SYN) + 1) % _MOD
            events = sighting_events(SENT, flags)
        new, fired = advance(state[end], events)
        if fired:
            changes.append(InferredChange(time_ns, i, receiving, end, state[end], new, fired))
            state[end] = new
    return initial, changes
