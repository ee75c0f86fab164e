"""The transition table: the only place states change, and the diagrams drawn from it."""

from __future__ import annotations

import pytest

from netsim.stack.tcp.states import (
    TRANSITIONS,
    Ev,
    State,
    StateMachine,
    TcpStateError,
    to_dot,
    to_text,
)


def test_every_state_is_reachable_from_closed() -> None:
    """RFC 9293 3.3.2 (state machine overview): each of the eleven states can be reached from
    CLOSED through the table."""
    seen, todo = {State.CLOSED}, [State.CLOSED]
    while todo:
        st = todo.pop()
        for (a, _e), b in TRANSITIONS.items():
            if a is st and b not in seen:
                seen.add(b)
                todo.append(b)
    assert seen == set(State)


def test_every_state_can_reach_closed() -> None:
    """RFC 9293 3.3.2: from every state some sequence of events leads back to CLOSED (no state is a
    trap)."""
    for st in State:
        reach, todo = {st}, [st]
        while todo:
            s = todo.pop()
            for (a, _e), b in TRANSITIONS.items():
                if a is s and b not in reach:
                    reach.add(b)
                    todo.append(b)
        assert State.CLOSED in reach, st


def test_illegal_event_raises_and_keeps_state() -> None:
    """RFC 9293 3.3.2: only the transitions of the state diagram are legal; any other event is a
    local error and leaves the state alone."""
    sm = StateMachine()
    with pytest.raises(TcpStateError):
        sm.fire(Ev.RCV_FIN, 0)
    assert sm.state is State.CLOSED and sm.history == []


def test_fire_records_history() -> None:
    """RFC 9293 3.3.2 (CLOSED -> SYN_SENT on an active OPEN, -> ESTABLISHED on SYN,ACK): each
    transition is recorded with its time and event."""
    sm = StateMachine()
    sm.fire(Ev.OPEN_ACTIVE, 5)
    sm.fire(Ev.RCV_SYN_ACK, 9)
    assert sm.history == [(State.CLOSED, State.SYN_SENT, 5, Ev.OPEN_ACTIVE),
                          (State.SYN_SENT, State.ESTABLISHED, 9, Ev.RCV_SYN_ACK)]


def test_dot_and_text_list_every_transition() -> None:
    """RFC 9293 3.3.2 (the TCP connection state diagram): both drawings list every transition of
    the table exactly once."""
    dot, text = to_dot(), to_text()
    assert dot.startswith("digraph tcp {") and dot.rstrip().endswith("}")
    assert dot.count("->") == len(TRANSITIONS)
    assert len(text.splitlines()) == len(TRANSITIONS)
    assert '"SYN_SENT" -> "SYN_RECEIVED"' in dot
    assert "FIN_WAIT_1 --rcv FIN/snd ACK--> CLOSING" in text


def test_state_values_are_the_one_spelling_traces_and_ladders_print() -> None:
    assert [str(st) for st in State] == [st.name for st in State]
    assert str(State.SYN_RECEIVED) == "SYN_RECEIVED" and State("TIME_WAIT") is State.TIME_WAIT
