"""The TCP tracer: every segment, state change and congestion update of both ends of every
connection.

The host stack reports to it (``segment`` when a segment leaves or arrives, ``state`` when a
connection changes state, ``congestion`` when a sender's cwnd, ssthresh, RTT estimate or
recovery state changes); it turns that into :class:`~netsim.trace.ladder.LadderRow` and
:class:`~netsim.trace.ladder.StateChange` items per connection, so a ladder diagram shows
both ends' real states (not states inferred from a capture), and a lost segment is an arrow
that never arrives. The congestion updates
(:class:`~netsim.stack.tcp.events.CongestionUpdate`) are what a cwnd-vs-time plot needs:
``conn.congestion("h1:40000")``. Like the event log, the tracer keeps only the most recent
``max_updates`` of them (``Network(trace=N)`` bounds both).


Memory: a tracer switched off (``Network(trace=False)``) keeps nothing at all, so no record
of a connection outlives it; a tracer with a ``limit`` (``Network(trace=N)``) keeps at most
that many ladder items (segments and state changes) in all, forgetting the oldest
connections first, then the oldest items of one that alone is larger than the limit.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..wire import tcp as _tcp
from .ladder.diagram import Ladder
from .ladder.model import LadderRow, StateChange, option_text, sack_blocks

__all__ = ["TcpTracer", "TracedConnection", "state_name"]


def state_name(state) -> str:
    """A state as traces print it: ``State.SYN_SENT`` -> ``"SYN_SENT"`` (its value; the
    ``State`` values are the one spelling, so nothing is converted)."""
    return str(state)


@dataclass
class _Sent:
    row: LadderRow
    key: tuple


@dataclass
class TracedConnection:
    """One connection seen from both ends: endpoints are labels like ``h1:49152``."""

    endpoints: tuple[str, str]
    items: list = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    listening: set[str] = field(default_factory=set)
    _in_flight: dict[tuple, list[LadderRow]] = field(default_factory=dict)
    # The tracer's bounded store of (connection, endpoint, update), shared by all connections.
    _updates: deque = field(default_factory=deque, repr=False)

    def congestion(self, endpoint: str | None = None) -> list:
        """The congestion updates of this connection, oldest first.

        Args:
            endpoint: one end's label (``"h1:40000"``): only the updates of its sender;
                None: both ends' updates, as ``(endpoint, update)`` pairs.

        Returns:
            :class:`~netsim.stack.tcp.events.CongestionUpdate` values (cwnd, ssthresh, rtt,
            srtt, rttvar, rto, ca_state, algorithm, time), or pairs when ``endpoint`` is None.
            Updates older than the tracer's bound are gone.
        """
        mine = [(ep, u) for conn, ep, u in self._updates if conn is self]
        if endpoint is None:
            return mine
        return [u for ep, u in mine if ep == endpoint]

    def ladder(self, final: bool = True) -> Ladder:
        """The ladder diagram: ``.text()`` for the terminal, ``.svg()`` for a picture.

        Args:
            final: segments that never arrived are drawn as lost; pass False while the
                simulation still runs (they may be in flight).
        """
        in_flight = {id(r) for rows in self._in_flight.values() for r in rows}
        for item in self.items:
            if isinstance(item, LadderRow):
                item.lost = final and id(item) in in_flight
        initial = {}
        for item in self.items:
            if isinstance(item, StateChange) and item.endpoint not in initial:
                initial[item.endpoint] = item.old
        for ep in self.endpoints:
            initial.setdefault(ep, self.states.get(ep, "LISTEN" if ep in self.listening else "CLOSED"))
        return Ladder(self.endpoints, list(self.items), initial)


class TcpTracer:
    """Collects segments, state changes and congestion updates from every host of a network.

    Args:
        limit: the most ladder items kept over all connections (None: no limit).
        enabled: False records nothing (the hosts may still call it).
        max_updates: keep at most this many congestion updates (the newest; None: all).
    """

    def __init__(self, limit: int | None = None, enabled: bool = True,
                 max_updates: int | None = 200_000):
        self.connections: list[TracedConnection] = []
        self._by_key: dict[frozenset, TracedConnection] = {}
        self.listening: set[str] = set()  # labels of listening sockets, e.g. "h2:80"
        self.limit = limit
        self.enabled = enabled
        self.items = 0      # ladder items kept now
        self.forgotten = 0  # items dropped to stay within the limit
        self._updates: deque = deque(maxlen=max_updates)
        self.updates_total = 0

    def _added(self, conn: TracedConnection) -> None:
        self.items += 1
        if self.limit is not None and self.items > self.limit:
            self._shrink(conn)

    def _shrink(self, current: TracedConnection) -> None:
        """Forget the oldest items until a tenth of the limit is free (amortized: a trim
        is a list copy, not one per item)."""
        target = self.limit - self.limit // 10
        while self.items > target and self.connections:
            oldest = self.connections[0]
            if oldest is current and len(self.connections) == 1:
                self._trim(oldest, self.items - target)
                break
            if oldest is current:  # keep the one being written; forget the next oldest
                oldest = self.connections[1]
            self.connections.remove(oldest)
            if self._by_key.get(frozenset(oldest.endpoints)) is oldest:
                del self._by_key[frozenset(oldest.endpoints)]
            self.items -= len(oldest.items)
            self.forgotten += len(oldest.items)

    def _trim(self, conn: TracedConnection, n: int) -> None:
        dropped = conn.items[:n]
        del conn.items[:n]
        gone = {id(r) for r in dropped if isinstance(r, LadderRow)}
        for key in list(conn._in_flight):
            rows = [r for r in conn._in_flight[key] if id(r) not in gone]
            if rows:
                conn._in_flight[key] = rows
            else:
                del conn._in_flight[key]
        self.items -= n
        self.forgotten += n

    @staticmethod
    def label(host: str, port: int) -> str:
        return f"{host}:{port}"

    def _conn(self, a: str, b: str) -> TracedConnection:
        key = frozenset((a, b))
        conn = self._by_key.get(key)
        if conn is None:
            conn = TracedConnection((a, b), listening=self.listening, _updates=self._updates)
            self._by_key[key] = conn
            self.connections.append(conn)
        return conn

    def _restart_if_reused(self, conn: TracedConnection, seg) -> TracedConnection:
        # A new SYN (no ACK) on a 4-tuple whose previous connection finished starts a new one.
        if seg.flags & _tcp.SYN and not seg.flags & _tcp.ACK and conn.items and all(
                s in ("CLOSED", "TIME_WAIT") for s in conn.states.values()) and len(conn.states) == 2:
            new = TracedConnection(conn.endpoints, listening=self.listening,
                                   _updates=self._updates)
            self._by_key[frozenset(conn.endpoints)] = new
            self.connections.append(new)
            return new
        return conn

    def segment(self, time_ns: int, src: str, dst: str, seg, direction: str, note: str = "") -> None:
        """Record a segment sent by ``src`` (direction "out") or received by ``dst`` ("in")."""
        if not self.enabled:
            return
        conn = self._conn(src, dst)
        key = (src, dst, seg.seq, seg.ack, seg.flags, len(seg.payload), seg.window)
        if direction == "out":
            conn = self._restart_if_reused(conn, seg)
            row = LadderRow(time_ns, src, dst, _tcp.flags_str(seg.flags), seg.seq, seg.ack,
                            len(seg.payload), seg.window, option_text(seg.options), note,
                            sack=sack_blocks(seg.options))
            conn.items.append(row)
            conn._in_flight.setdefault(key, []).append(row)
            self._added(conn)
        else:
            waiting = conn._in_flight.get(key)
            if waiting:
                # The newest copy sent is the one that arrived: an older identical copy (the
                # original of a retransmission) was the one lost.
                row = waiting.pop()
                row.arrive_ns = time_ns
                if not waiting:
                    del conn._in_flight[key]

    def listen(self, endpoint: str, active: bool = True) -> None:
        """A socket started (or stopped) listening on ``endpoint`` ("h2:80")."""
        if not self.enabled:
            return
        if active:
            self.listening.add(endpoint)
        else:
            self.listening.discard(endpoint)

    def state(self, time_ns: int, endpoint: str, peer: str, old, new) -> None:
        """Record that ``endpoint`` (talking to ``peer``) moved from ``old`` to ``new``."""
        if not self.enabled:
            return
        if frozenset((endpoint, peer)) not in self._by_key and str(old) not in ("CLOSED", "LISTEN"):
            # a late change of a connection forgotten to stay within the limit: not a new one
            self.forgotten += 1
            return
        conn = self._conn(endpoint, peer)
        conn.items.append(StateChange(time_ns, endpoint, state_name(old), state_name(new)))
        conn.states[endpoint] = state_name(new)
        self._added(conn)

    def congestion(self, endpoint: str, peer: str, update) -> None:
        """Record a :class:`~netsim.stack.tcp.events.CongestionUpdate` of ``endpoint``'s
        sender (its connection to ``peer``)."""
        if not self.enabled:
            return
        self._updates.append((self._conn(endpoint, peer), endpoint, update))
        self.updates_total += 1

    def find(self, endpoint_prefix: str) -> list[TracedConnection]:
        """Connections with an endpoint starting with ``endpoint_prefix`` ("h1" or "h1:80")."""
        return [c for c in self.connections
                if any(e == endpoint_prefix or e.startswith(endpoint_prefix + ":") for e in c.endpoints)]

    def in_flight_rows(self) -> list[LadderRow]:
        return [r for c in self.connections for rows in c._in_flight.values() for r in rows]
