"""TCP connection states and the ONE table of legal transitions (RFC 9293 section 3.3.2).

Every state change of a :class:`~netsim.stack.tcp.connection.Connection` goes through
:meth:`StateMachine.fire`, which looks the (state, event) pair up in :data:`TRANSITIONS`; a pair
that is not in the table raises :class:`TcpStateError` instead of silently moving. The state
diagram a lab shows is drawn from the same table (:func:`to_dot`, :func:`to_text`), and so is
the state inference of a ladder drawn from a capture: :data:`WIRE` gives each event the segment
that shows it on the wire, and :mod:`.infer` runs the table over the segments it sees. The
picture, the inference and the code cannot disagree. The model is h11's ``_state.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ...wire.tcp import ACK, FIN, RST, SYN

__all__ = ["State", "Ev", "TRANSITIONS", "TcpStateError", "StateMachine", "to_dot", "to_text",
           "SYNCHRONIZED", "Wire", "WIRE", "SENT", "RECEIVED"]


class State(StrEnum):
    """The eleven RFC 9293 states. Values are the member names (``"SYN_SENT"``), the one
    spelling used by the core, traces, ladders, sockets and labs."""

    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN_SENT"
    SYN_RECEIVED = "SYN_RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN_WAIT_1"
    FIN_WAIT_2 = "FIN_WAIT_2"
    CLOSE_WAIT = "CLOSE_WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST_ACK"
    TIME_WAIT = "TIME_WAIT"

    def __str__(self) -> str:
        return self.value


class Ev(StrEnum):
    """What can move a connection: user calls, segments, timers."""

    OPEN_ACTIVE = "open/snd SYN"
    OPEN_PASSIVE = "listen"
    RCV_SYN = "rcv SYN/snd SYN,ACK"
    RCV_SYN_ACK = "rcv SYN,ACK/snd ACK"
    RCV_ACK_OF_SYN = "rcv ACK of SYN"
    CLOSE = "close/snd FIN"           # the FIN may wait for queued data or the handshake
    RCV_FIN = "rcv FIN/snd ACK"
    RCV_ACK_OF_FIN = "rcv ACK of FIN"
    TIMEOUT_2MSL = "timeout=2MSL"
    RCV_RST = "rcv RST"
    RST_BACK_TO_LISTEN = "rcv RST (passive open)"
    ABORT = "abort/snd RST"
    GIVE_UP = "retries exhausted"
    FIN_TIMEOUT = "timeout=fin_timeout"  # an orphan waited in FIN_WAIT_2 too long (Linux)
    DELETE = "delete TCB"             # close or abort with nothing to send (RFC 9293 3.10.4-5)
    RCV_NEW_SYN = "rcv new SYN (RFC 6191)"

    def __str__(self) -> str:
        return self.value


S = State
#: (state, event) -> next state.  The only place a state change is defined.
TRANSITIONS: dict[tuple[State, Ev], State] = {
    (S.CLOSED, Ev.OPEN_ACTIVE): S.SYN_SENT,
    (S.CLOSED, Ev.OPEN_PASSIVE): S.LISTEN,
    (S.LISTEN, Ev.RCV_SYN): S.SYN_RECEIVED,
    (S.LISTEN, Ev.DELETE): S.CLOSED,
    (S.SYN_SENT, Ev.RCV_SYN_ACK): S.ESTABLISHED,
    (S.SYN_SENT, Ev.RCV_SYN): S.SYN_RECEIVED,          # simultaneous open
    (S.SYN_SENT, Ev.RCV_RST): S.CLOSED,                 # ECONNREFUSED
    (S.SYN_SENT, Ev.GIVE_UP): S.CLOSED,                 # ETIMEDOUT
    (S.SYN_SENT, Ev.DELETE): S.CLOSED,
    (S.SYN_RECEIVED, Ev.RCV_ACK_OF_SYN): S.ESTABLISHED,
    (S.SYN_RECEIVED, Ev.CLOSE): S.FIN_WAIT_1,
    (S.SYN_RECEIVED, Ev.RCV_FIN): S.CLOSE_WAIT,
    (S.SYN_RECEIVED, Ev.RCV_RST): S.CLOSED,
    (S.SYN_RECEIVED, Ev.RST_BACK_TO_LISTEN): S.LISTEN,
    (S.SYN_RECEIVED, Ev.GIVE_UP): S.CLOSED,
    (S.SYN_RECEIVED, Ev.ABORT): S.CLOSED,
    (S.ESTABLISHED, Ev.CLOSE): S.FIN_WAIT_1,
    (S.ESTABLISHED, Ev.RCV_FIN): S.CLOSE_WAIT,
    (S.ESTABLISHED, Ev.RCV_RST): S.CLOSED,
    (S.ESTABLISHED, Ev.GIVE_UP): S.CLOSED,
    (S.ESTABLISHED, Ev.ABORT): S.CLOSED,
    (S.FIN_WAIT_1, Ev.RCV_ACK_OF_FIN): S.FIN_WAIT_2,
    (S.FIN_WAIT_1, Ev.RCV_FIN): S.CLOSING,              # simultaneous close
    (S.FIN_WAIT_1, Ev.RCV_RST): S.CLOSED,
    (S.FIN_WAIT_1, Ev.GIVE_UP): S.CLOSED,
    (S.FIN_WAIT_1, Ev.ABORT): S.CLOSED,
    (S.FIN_WAIT_2, Ev.RCV_FIN): S.TIME_WAIT,
    (S.FIN_WAIT_2, Ev.RCV_RST): S.CLOSED,
    (S.FIN_WAIT_2, Ev.ABORT): S.CLOSED,
    (S.FIN_WAIT_2, Ev.FIN_TIMEOUT): S.CLOSED,
    (S.CLOSE_WAIT, Ev.CLOSE): S.LAST_ACK,
    (S.CLOSE_WAIT, Ev.RCV_RST): S.CLOSED,
    (S.CLOSE_WAIT, Ev.GIVE_UP): S.CLOSED,
    (S.CLOSE_WAIT, Ev.ABORT): S.CLOSED,
    (S.CLOSING, Ev.RCV_ACK_OF_FIN): S.TIME_WAIT,
    (S.CLOSING, Ev.RCV_RST): S.CLOSED,
    (S.CLOSING, Ev.GIVE_UP): S.CLOSED,
    (S.CLOSING, Ev.DELETE): S.CLOSED,
    (S.LAST_ACK, Ev.RCV_ACK_OF_FIN): S.CLOSED,
    (S.LAST_ACK, Ev.RCV_RST): S.CLOSED,
    (S.LAST_ACK, Ev.GIVE_UP): S.CLOSED,
    (S.LAST_ACK, Ev.DELETE): S.CLOSED,
    (S.TIME_WAIT, Ev.TIMEOUT_2MSL): S.CLOSED,
    (S.TIME_WAIT, Ev.RCV_RST): S.CLOSED,
    (S.TIME_WAIT, Ev.DELETE): S.CLOSED,
    (S.TIME_WAIT, Ev.RCV_NEW_SYN): S.CLOSED,            # a listener takes the SYN over
}
del S

#: States in which both sequence spaces are known (RFC 9293 "synchronized states").
SYNCHRONIZED = frozenset({
    State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT,
    State.CLOSING, State.LAST_ACK, State.TIME_WAIT,
})


#: Values of :attr:`Wire.sent`: the end sends the segment, or receives it.
SENT, RECEIVED = True, False


@dataclass(frozen=True, slots=True)
class Wire:
    """The segment that shows an event to someone watching the wire.

    Attributes:
        sent: :data:`SENT` when the end the event happens to sends the segment, :data:`RECEIVED`
            when it receives it.
        flags: the TCP flag bits the segment must carry (it may carry others).
        without: flag bits it must not carry.
        acks: ``"SYN"`` or ``"FIN"`` when its acknowledgment number must cover the SYN or the
            FIN this end sent; ``""`` when the ACK field does not matter.
    """

    sent: bool
    flags: int
    without: int = 0
    acks: str = ""

    def matches(self, sent: bool, flags: int, acked: frozenset[str]) -> bool:
        """Whether a segment sent (or received) with ``flags``, whose ACK covers the end's own
        segments named in ``acked`` (``{"SYN", "FIN"}``), shows this event."""
        # RFC 9293 3.10.7.4: a reset is processed before, and instead of, the rest of the
        # segment, so a segment carrying RST shows only the events whose signature is a RST.
        if flags & RST and not self.flags & RST:
            return False
        return (sent == self.sent and flags & self.flags == self.flags
                and not flags & self.without and (not self.acks or self.acks in acked))


#: Event -> its wire signature, None for an event that puts nothing on the wire. A segment can
#: show several events (a FIN,ACK that acknowledges our FIN: RCV_ACK_OF_FIN then RCV_FIN); the
#: order here is the order RFC 9293 3.10.7.4 processes a segment in: RST, SYN, ACK, FIN.
WIRE: dict[Ev, Wire | None] = {
    Ev.OPEN_ACTIVE: Wire(SENT, SYN, without=ACK),
    Ev.ABORT: Wire(SENT, RST),                            # RFC 9293 3.10.5: "send a reset"
    Ev.RCV_RST: Wire(RECEIVED, RST),
    Ev.RCV_SYN: Wire(RECEIVED, SYN, without=ACK),         # the SYN,ACK it sends follows
    Ev.RCV_SYN_ACK: Wire(RECEIVED, SYN | ACK, acks="SYN"),
    Ev.RCV_ACK_OF_SYN: Wire(RECEIVED, ACK, acks="SYN"),   # also a simultaneous open's SYN,ACK
    Ev.RCV_ACK_OF_FIN: Wire(RECEIVED, ACK, acks="FIN"),
    Ev.CLOSE: Wire(SENT, FIN),
    Ev.RCV_FIN: Wire(RECEIVED, FIN),
    Ev.OPEN_PASSIVE: None,        # listen() sends nothing
    Ev.DELETE: None,              # the TCB goes and nothing is sent
    Ev.TIMEOUT_2MSL: None,        # TIME_WAIT ends in silence
    Ev.GIVE_UP: None,             # retransmissions just stop (RFC 9293 3.8.3, R2)
    Ev.FIN_TIMEOUT: None,         # the orphan is deleted in silence (Linux tcp_fin_timeout)
    # A RST in SYN_RECEIVED returns a connection to LISTEN only when the listening TCB itself
    # took the SYN (RFC 9293 3.10.7.4, first check); a listener's child (Linux, netsim's
    # sockets) is closed instead, with the same RST on the wire. An observer cannot tell the
    # two apart, so the RST shows RCV_RST, the child's view: the connection is gone.
    Ev.RST_BACK_TO_LISTEN: None,
    # A new SYN into TIME_WAIT (RFC 6191, RFC 1122 4.2.2.13) ends the old TCB and is handed to
    # the listener, which answers it as LISTEN does: what the wire shows is the new
    # connection's RCV_SYN, so the old TCB's end has no segment of its own.
    Ev.RCV_NEW_SYN: None,
}


class TcpStateError(RuntimeError):
    """A (state, event) pair the table does not allow: a bug in the caller or in the core."""


class StateMachine:
    """Holds one connection's state and records every change.

    Attributes:
        state: the current :class:`State`.
        history: list of ``(old, new, time_ns, event)`` tuples, oldest first.
    """

    __slots__ = ("state", "history")

    def __init__(self) -> None:
        self.state = State.CLOSED
        self.history: list[tuple[State, State, int, Ev]] = []

    def can(self, event: Ev) -> bool:
        """Whether ``event`` is legal in the current state."""
        return (self.state, event) in TRANSITIONS

    def fire(self, event: Ev, now: int) -> tuple[State, State]:
        """Apply ``event``; the only code that assigns a connection state.

        Args:
            event: what happened.
            now: virtual time in nanoseconds (recorded in :attr:`history`).

        Returns:
            ``(old, new)``.

        Raises:
            TcpStateError: the table has no entry for (current state, event).
        """
        old = self.state
        try:
            new = TRANSITIONS[(old, event)]
        except KeyError:
            raise TcpStateError(f"no transition from {old} on {event!r}") from None
        self.state = new
        self.history.append((old, new, now, event))
        return old, new


def to_text() -> str:
    """The transition table as text, one ``STATE --event--> STATE`` per line."""
    return "\n".join(f"{a} --{e}--> {b}" for (a, e), b in TRANSITIONS.items())


def to_dot() -> str:
    """The state diagram as a Graphviz ``dot`` string (render with ``dot -Tsvg``)."""
    lines = ["digraph tcp {", "  rankdir=TB;", '  node [shape=box, style=rounded];']
    for st in State:
        lines.append(f'  "{st}";')
    for (a, e), b in TRANSITIONS.items():
        lines.append(f'  "{a}" -> "{b}" [label="{e}"];')
    lines.append("}")
    return "\n".join(lines)
