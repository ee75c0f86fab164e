"""TCP connection states and the ONE table of legal transitions (RFC 9293 section 3.3.2).

Every state change of a :class:`~netsim.stack.tcp.connection.Connection` goes through
:meth:`StateMachine.fire`, which looks the (state, event) pair up in :data:`TRANSITIONS`; a pair
that is not in the table raises :class:`TcpStateError` instead of silently moving. The state
diagram a lab shows is drawn from the same table (:func:`to_dot`, :func:`to_text`), so the
picture and the code cannot disagree. The model is h11's ``_state.py``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["State", "Ev", "TRANSITIONS", "TcpStateError", "StateMachine", "to_dot", "to_text",
           "SYNCHRONIZED"]


class State(StrEnum):
    """The eleven RFC 9293 states (values are the RFC's spelling, handy in traces)."""

    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"

    def __str__(self) -> str:
        return self.value


class Ev(StrEnum):
    """What can move a connection: user calls, segments, timers."""

    OPEN_ACTIVE = "open/snd SYN"
    OPEN_PASSIVE = "listen"
    RCV_SYN = "rcv SYN/snd SYN,ACK"
    RCV_SYN_ACK = "rcv SYN,ACK/snd ACK"
    RCV_ACK_OF_SYN = "rcv ACK of SYN"
    CLOSE = "close/snd FIN"
    RCV_FIN = "rcv FIN/snd ACK"
    RCV_ACK_OF_FIN = "rcv ACK of FIN"
    TIMEOUT_2MSL = "timeout=2MSL"
    RCV_RST = "rcv RST"
    RST_BACK_TO_LISTEN = "rcv RST (passive open)"
    ABORT = "abort/snd RST"
    GIVE_UP = "retries exhausted"
    DELETE = "close (no SYN sent yet)"
    RCV_NEW_SYN = "rcv new SYN (RFC 6191)"

    def __str__(self) -> str:
        return self.value


S = State
#: (state, event) -> next state.  The only place a state change is defined.
TRANSITIONS: dict[tuple[State, Ev], State] = {
    (S.CLOSED, Ev.OPEN_ACTIVE): S.SYN_SENT,
    (S.CLOSED, Ev.OPEN_PASSIVE): S.LISTEN,
    (S.LISTEN, Ev.RCV_SYN): S.SYN_RECEIVED,
    (S.LISTEN, Ev.CLOSE): S.CLOSED,
    (S.LISTEN, Ev.ABORT): S.CLOSED,
    (S.SYN_SENT, Ev.RCV_SYN_ACK): S.ESTABLISHED,
    (S.SYN_SENT, Ev.RCV_SYN): S.SYN_RECEIVED,          # simultaneous open
    (S.SYN_SENT, Ev.RCV_RST): S.CLOSED,                 # ECONNREFUSED
    (S.SYN_SENT, Ev.GIVE_UP): S.CLOSED,                 # ETIMEDOUT
    (S.SYN_SENT, Ev.DELETE): S.CLOSED,
    (S.SYN_SENT, Ev.ABORT): S.CLOSED,
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
    (S.CLOSE_WAIT, Ev.CLOSE): S.LAST_ACK,
    (S.CLOSE_WAIT, Ev.RCV_RST): S.CLOSED,
    (S.CLOSE_WAIT, Ev.GIVE_UP): S.CLOSED,
    (S.CLOSE_WAIT, Ev.ABORT): S.CLOSED,
    (S.CLOSING, Ev.RCV_ACK_OF_FIN): S.TIME_WAIT,
    (S.CLOSING, Ev.RCV_RST): S.CLOSED,
    (S.CLOSING, Ev.GIVE_UP): S.CLOSED,
    (S.CLOSING, Ev.ABORT): S.CLOSED,
    (S.LAST_ACK, Ev.RCV_ACK_OF_FIN): S.CLOSED,
    (S.LAST_ACK, Ev.RCV_RST): S.CLOSED,
    (S.LAST_ACK, Ev.GIVE_UP): S.CLOSED,
    (S.LAST_ACK, Ev.ABORT): S.CLOSED,
    (S.TIME_WAIT, Ev.TIMEOUT_2MSL): S.CLOSED,
    (S.TIME_WAIT, Ev.RCV_RST): S.CLOSED,
    (S.TIME_WAIT, Ev.ABORT): S.CLOSED,
    (S.TIME_WAIT, Ev.RCV_NEW_SYN): S.CLOSED,            # a listener takes the SYN over
}
del S

#: States in which both sequence spaces are known (RFC 9293 "synchronized states").
SYNCHRONIZED = frozenset({
    State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSE_WAIT,
    State.CLOSING, State.LAST_ACK, State.TIME_WAIT,
})


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
