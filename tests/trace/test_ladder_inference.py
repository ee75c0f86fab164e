"""The ladder's state inference against the TCP core's table (RFC 9293 section 3.3.2, figure 5).

A ladder drawn from a capture infers each end's states with ``netsim.stack.tcp.infer``, which
fires the core's own events through the core's own :data:`TRANSITIONS`. Two checks keep the two
from drifting apart again:

* the table: every (state, segment) the inference can see moves it only along transitions the
  core's state machine allows, and every core transition that shows on the wire is one the
  inference takes;
* real conversations: two sans-I/O cores talk over a fake wire, and the states inferred from
  the segments alone equal the states the cores went through, event for event.
"""

from __future__ import annotations

import heapq
import itertools

import pytest

from netsim.stack.tcp import Connection
from netsim.stack.tcp.infer import advance, infer_states, sighting_events
from netsim.stack.tcp.states import (
    RECEIVED,
    SENT,
    TRANSITIONS,
    WIRE,
    Ev,
    State,
    StateMachine,
)
from netsim.trace import ladder
from netsim.wire.tcp import ACK, FIN, RST, SYN, TCP, flags_str

# -- the table ---------------------------------------------------------------------------------

FLAG_SETS = [sum(bits) for n in range(5) for bits in itertools.combinations((SYN, ACK, FIN, RST), n)]
ACKED = [frozenset(s) for s in ((), ("SYN",), ("FIN",), ("SYN", "FIN"))]
#: Every sighting an observer can tell apart: who, which flags, what the ACK covers.
SIGHTINGS = [(SENT, flags, frozenset()) for flags in FLAG_SETS] + [
    (RECEIVED, flags, acked) for flags in FLAG_SETS for acked in ACKED]


def _name(sighting) -> str:
    sent, flags, acked = sighting
    covers = f" acking our {'+'.join(sorted(acked))}" if acked else ""
    return f"{'snd' if sent else 'rcv'} [{flags_str(flags) or '<none>'}]{covers}"


@pytest.mark.parametrize("state", list(State))
def test_every_move_the_inference_makes_is_one_the_core_state_machine_makes(state):
    for sighting in SIGHTINGS:
        new, fired = advance(state, sighting_events(*sighting))
        machine = StateMachine()
        machine.state = state
        for event in fired:
            assert WIRE[event].matches(*sighting), (state, _name(sighting), event)
            machine.fire(event, 0)    # raises TcpStateError on a move the core forbids
        assert machine.state is new, (state, _name(sighting))


def test_every_core_transition_that_shows_on_the_wire_is_one_the_inference_takes():
    for (state, event), new in TRANSITIONS.items():
        if WIRE[event] is None:
            continue
        takers = [s for s in SIGHTINGS
                  if advance(state, sighting_events(*s))[1][:1] == (event,)]
        assert takers, f"no segment moves the inference {state} --{event}--> {new}"


def test_every_event_says_what_it_puts_on_the_wire():
    assert set(WIRE) == set(Ev)


def test_a_listening_end_that_sends_a_syn_does_not_move():
    # The ladder's old private table had ("LISTEN", "snd SYN") -> SYN_SENT; the core does not.
    assert (State.LISTEN, Ev.OPEN_ACTIVE) not in TRANSITIONS
    assert advance(State.LISTEN, sighting_events(SENT, SYN)) == (State.LISTEN, ())


def test_the_ladder_uses_the_core_table_and_inference():
    assert ladder.TRANSITIONS is TRANSITIONS
    assert ladder.infer_states is infer_states


# -- real conversations ------------------------------------------------------------------------

A, B = "h1:40000", "h2:80"
ADDR = {A: ("10.0.0.1", 40000), B: ("10.0.0.2", 80)}
ISS = {A: 1000, B: 0xFFFFFFF0}          # B's sequence numbers wrap past 2**32
DELAY = 1_000_000                       # one-way delay of the fake wire (1 ms)
MS = 1_000_000


class Conversation:
    """Two TCP cores joined by a wire with a fixed delay; every segment becomes a LadderRow.

    ``b``: "passive" listens (as a listener's child, like netsim's and Linux's sockets),
    "active" opens too, "closed" stays CLOSED. ``lose``: row numbers that never arrive.
    """

    def __init__(self, b: str = "passive", lose: set[int] = frozenset()):
        self.ends = {end: Connection(ADDR[end], ADDR[other], ISS[end])
                     for end, other in ((A, B), (B, A))}
        if b == "passive":
            self.ends[B].open_passive(0, listener_child=True)
        self.lose = lose
        self.rows: list[ladder.LadderRow] = []
        self.wire: list = []                 # (arrival, row number, destination, segment)
        self.now = 0

    def _transmit(self, src: str, seg: TCP) -> None:
        dst = B if src == A else A
        row = ladder.LadderRow(self.now, src, dst, flags_str(seg.flags), seg.seq, seg.ack,
                               len(seg.payload), seg.window)
        n = len(self.rows)
        self.rows.append(row)
        if n in self.lose:
            row.lost = True
        else:
            heapq.heappush(self.wire, (self.now + DELAY, n, dst, seg))

    def _flush(self) -> None:
        for end, conn in self.ends.items():
            for seg in conn.pending_segments():
                self._transmit(end, seg)

    def run(self, until: int) -> None:
        """Deliver segments and fire timers in time order up to ``until``."""
        while True:
            timers = [(t, end) for end, c in self.ends.items()
                      if (t := c.next_deadline()) is not None]
            arrival = self.wire[0][0] if self.wire else None
            timer = min(timers) if timers else None
            if timer is not None and timer[0] <= until and (arrival is None or timer[0] < arrival):
                self.now = timer[0]
                self.ends[timer[1]].on_timer(self.now)
            elif arrival is not None and arrival <= until:
                self.now, n, dst, seg = heapq.heappop(self.wire)
                self.rows[n].arrive_ns = self.now
                self.ends[dst].receive(seg, self.now)
            else:
                break
            self._flush()
        self.now = until

    def play(self, steps) -> None:
        """``(time, end, call, *args)`` steps: at that time, ``end`` makes the user call
        (``open_active``, ``close``, ``abort``, ``send``); ``"reboot"`` is a RST from ``end``'s
        address that its core never sent: the peer rebooted, and its new incarnation resets
        what it does not know (RFC 9293 3.5.2, half-open connections)."""
        for t, end, call, *args in steps:
            self.run(t)
            if call == "reboot":
                peer = B if end == A else A
                self._transmit(end, TCP(ADDR[end][1], ADDR[peer][1], seq=self.ends[peer].rcv_nxt,
                                        flags=RST))
            else:
                getattr(self.ends[end], call)(*args, t)
            self._flush()


OPEN = (0, A, "open_active")              # rows 0-2: SYN, SYN,ACK, ACK
#: name -> (Conversation arguments, steps)
SCENARIOS = {
    "handshake then four-way close": ({}, [OPEN, (10 * MS, A, "close"), (20 * MS, B, "close")]),
    "simultaneous open": ({"b": "active"}, [OPEN, (0, B, "open_active")]),
    "simultaneous close": ({}, [OPEN, (10 * MS, A, "close"), (10 * MS, B, "close")]),
    "SYN to a closed port is refused": ({"b": "closed"}, [OPEN]),
    "lost SYN is sent again after the RTO": ({"lose": {0}}, [OPEN]),
    "abort in SYN_RECEIVED": ({}, [OPEN, (DELAY + MS // 2, B, "abort")]),
    "RST in SYN_RECEIVED, the ACK lost": ({"lose": {2}}, [OPEN, (3 * DELAY, A, "abort")]),
    "abort in ESTABLISHED": ({}, [OPEN, (10 * MS, B, "abort")]),
    "close with unread data resets (RFC 2525 2.17)": (
        {}, [OPEN, (10 * MS, A, "send", b"data"), (20 * MS, B, "close")]),
    "RST in FIN_WAIT_1, the FIN lost": (
        {"lose": {3}}, [OPEN, (10 * MS, A, "close"), (10 * MS + MS // 2, B, "abort")]),
    "abort in CLOSE_WAIT, RST in FIN_WAIT_2": (
        {}, [OPEN, (10 * MS, A, "close"), (15 * MS, B, "abort")]),
    "abort in FIN_WAIT_2, RST in CLOSE_WAIT": (
        {}, [OPEN, (10 * MS, A, "close"), (15 * MS, A, "abort")]),
    "abort in FIN_WAIT_1, RST in CLOSING, the first FIN lost": (
        {"lose": {3}}, [OPEN, (10 * MS, A, "close"), (11 * MS, B, "close"),
                        (12 * MS + MS // 2, B, "abort")]),
    "RST in LAST_ACK": (
        {}, [OPEN, (10 * MS, B, "close"), (20 * MS, A, "close"), (20 * MS + MS // 2, B, "abort")]),
    "RST in TIME_WAIT from a rebooted peer": (
        {}, [OPEN, (10 * MS, A, "close"), (20 * MS, B, "close"), (30 * MS, B, "reboot")]),
}
#: Table entries no conversation can show: the core defers a CLOSE in SYN_RECEIVED until the
#: handshake completes (RFC 9293 3.10.4), and drops a segment without ACK there (3.10.7.4,
#: fifth check), so its FIN never arrives in SYN_RECEIVED.
NEVER_TAKEN = {(State.SYN_RECEIVED, Ev.CLOSE), (State.SYN_RECEIVED, Ev.RCV_FIN)}


def _converse(name: str) -> Conversation:
    setup, steps = SCENARIOS[name]
    c = Conversation(**setup)
    c.play(steps)
    c.run(c.now + 2_000 * MS)        # past every RTO the scenarios arm, short of 2*MSL
    return c


def core_moves(conn: Connection) -> list[tuple[int, State, Ev, State]]:
    """What the core did, minus the events nobody on the wire can see."""
    return [(t, old, ev, new) for old, new, t, ev in conn.sm.history if WIRE[ev] is not None]


def inferred_moves(changes, end: str) -> list[tuple[int, State, Ev, State]]:
    """The inference's changes of ``end``, one per event (a change may fire two)."""
    moves = []
    for change in changes:
        if change.endpoint == end:
            state = change.old
            for ev in change.events:
                moves.append((change.time_ns, state, ev, TRANSITIONS[(state, ev)]))
                state = TRANSITIONS[(state, ev)]
            assert state is change.new
    return moves


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_states_inferred_from_the_segments_are_the_states_the_cores_went_through(name):
    c = _converse(name)
    initial, changes = infer_states(c.rows, (A, B))
    for end, conn in c.ends.items():
        history = conn.sm.history
        started = history[1][0] if history and history[0][3] is Ev.OPEN_PASSIVE else State.CLOSED
        assert initial[end] is started, end
        assert inferred_moves(changes, end) == core_moves(conn), end


def test_the_conversations_take_every_transition_that_shows_on_the_wire():
    taken = set()
    for name in SCENARIOS:
        for conn in _converse(name).ends.values():
            taken |= {(old, ev) for _t, old, ev, _new in core_moves(conn)}
    signed = {key for key in TRANSITIONS if WIRE[key[1]] is not None}
    assert signed - taken == NEVER_TAKEN
