"""Two TCP cores over a fake link with seeded loss, duplication and reordering.

No simulator: a heap of (time, seq, destination, segment) plays the wire, and the loop
alternates between delivering segments and firing connection timers in time order.
"""

from __future__ import annotations

import heapq
import random

from netsim.stack.tcp import Connection, Listener, State, TcpConfig

MS = 1_000_000


class FakeLink:
    """Carries segments between ``a`` and ``b`` with delay, loss, duplication, reordering."""

    def __init__(self, rng: random.Random, delay_ns: int = 10 * MS, loss: float = 0.0,
                 dup: float = 0.0, reorder: float = 0.0):
        self.rng, self.delay = rng, delay_ns
        self.loss, self.dup, self.reorder = loss, dup, reorder
        self.heap: list = []
        self.seq = 0
        self.sent = self.dropped = 0

    def put(self, now: int, dst, seg) -> None:
        self.sent += 1
        if self.rng.random() < self.loss:
            self.dropped += 1
            return
        copies = 2 if self.rng.random() < self.dup else 1
        for _ in range(copies):
            extra = self.rng.randrange(0, 30 * MS) if self.rng.random() < self.reorder else 0
            self.seq += 1
            heapq.heappush(self.heap, (now + self.delay + extra, self.seq, dst, seg))


class Pair:
    """A client connection and the server child it connects to, joined by a FakeLink."""

    def __init__(self, link: FakeLink, config: TcpConfig | None = None,
                 isn_a: int = 0xFFFF0000, isn_b: int = 0xFFFFFF00):
        self.link = link
        self.now = 0
        self.a = Connection(("10.0.0.1", 40000), ("10.0.0.2", 80), isn_a, config)
        self.listener = Listener(("10.0.0.2", 80), 4, lambda _l, _r: isn_b, config)
        self.b: Connection | None = None

    def flush(self) -> None:
        for seg in self.a.pending_segments():
            self.link.put(self.now, "b", seg)
        if self.b is not None:
            for seg in self.b.pending_segments():
                self.link.put(self.now, "a", seg)
        for _remote, seg in self.listener.pending_replies():
            self.link.put(self.now, "a", seg)

    def deliver(self, dst, seg) -> None:
        if dst == "a":
            self.a.receive(seg, self.now)
        elif self.b is None or self.b.state is State.CLOSED:
            child = self.listener.receive(seg, ("10.0.0.1", 40000), self.now)
            if child is not None:
                self.b = child
        else:
            self.b.receive(seg, self.now)

    def step(self) -> bool:
        """Run the next event (segment arrival or timer); False when nothing is left."""
        conns = [c for c in (self.a, self.b) if c is not None]
        deadlines = [(d, i) for i, c in enumerate(conns) if (d := c.next_deadline()) is not None]
        t_link = self.link.heap[0][0] if self.link.heap else None
        t_timer = min(deadlines)[0] if deadlines else None
        if t_link is None and t_timer is None:
            return False
        if t_timer is None or (t_link is not None and t_link <= t_timer):
            t, _, dst, seg = heapq.heappop(self.link.heap)
            self.now = max(self.now, t)
            self.deliver(dst, seg)
        else:
            self.now = max(self.now, t_timer)
            conns[min(deadlines)[1]].on_timer(self.now)
        self.flush()
        return True


def transfer_both_ways(seed: int, size: int, loss: float, dup: float, reorder: float,
                       config: TcpConfig | None = None, max_steps: int = 2_000_000):
    """Send ``size`` random bytes each way at once, then close both; return what arrived."""
    rng = random.Random(seed)
    data_a = rng.randbytes(size)
    data_b = rng.randbytes(size)
    pair = Pair(FakeLink(rng, loss=loss, dup=dup, reorder=reorder), config)
    pair.a.open_active(0)
    pair.flush()
    sent = {"a": 0, "b": 0}
    got = {"a": bytearray(), "b": bytearray()}
    shut = set()
    for _ in range(max_steps):
        if not pair.step():
            break
        for name, conn, data in (("a", pair.a, data_a), ("b", pair.b, data_b)):
            if conn is None or conn.state in (State.SYN_SENT, State.SYN_RECEIVED,
                                              State.LISTEN):
                continue
            if sent[name] < size and conn.state in (State.ESTABLISHED, State.CLOSE_WAIT):
                sent[name] += conn.send(data[sent[name]:sent[name] + 65536], pair.now)
            elif sent[name] == size and name not in shut:
                conn.shutdown_write(pair.now)
                shut.add(name)
            got[name] += conn.recv(1 << 20)
        pair.flush()
    return pair, data_a, data_b, bytes(got["b"]), bytes(got["a"])
