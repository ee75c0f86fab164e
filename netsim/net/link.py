"""A full-duplex point-to-point link: bandwidth, propagation delay, loss, MTU, drop-tail queue.

Each direction is an independent transmitter with its own output queue. A frame occupies the
wire for its serialisation time, which counts the preamble, FCS and inter-frame gap Ethernet
adds (IEEE 802.3 clause 4: 8 + 4 + 12 bytes), so goodput figures match a real 100 Mb/s NIC.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from ..sim.units import NS_PER_S
from .bulk import Ledger

if TYPE_CHECKING:
    from ..sim.kernel import Kernel
    from .interface import Interface

__all__ = ["Link", "WIRE_OVERHEAD", "flood", "FloodPlan", "BATCH_FLOODS", "BULK_COUNTS"]

WIRE_OVERHEAD = 8 + 4 + 12  # preamble+SFD, FCS, inter-frame gap (bytes)

# [version]: bumped by every change to any Link's settings (Link.__setattr__, drop_when); a
# FloodPlan keeps each port's link settings while it stays the same.
_settings = [0]


class _Direction:
    """One direction of the cable: a transmitter with a drop-tail queue.

    No frame is ever pre-empted on a full-duplex link, so the moment a queued frame will start
    is known when it is queued: ``free_at`` is when the wire falls idle, and ``starts`` holds
    the start times of frames still waiting. A frame sent onto an idle wire costs one event
    (its arrival); only a frame that has to wait needs a second one (its start).
    """

    __slots__ = ("src", "dst", "starts", "free_at", "frames", "bytes", "drops", "lost")

    def __init__(self, src: Interface, dst: Interface):
        self.src = src
        self.dst = dst
        # Made on the first frame that has to wait: an empty deque is about 600 bytes, and
        # most cables of a large network never queue a frame (issue 16, per-host memory).
        self.starts: deque[int] | None = None
        self.free_at = 0
        self.frames = self.bytes = self.drops = self.lost = 0

    def queued(self, now: int) -> int:
        """Frames waiting behind the one on the wire at time ``now``."""
        starts = self.starts
        if starts is None:
            return 0
        while starts and starts[0] <= now:
            starts.popleft()
        return len(starts)


class Link:
    """Two interfaces joined by a full-duplex cable.

    Args:
        bandwidth_bps: bits per second in each direction.
        delay_ns: propagation delay.
        loss: probability that a transmitted frame never arrives.
        mtu: largest IP packet (frame minus 14-byte header) the link carries; larger are dropped.
        queue_len: frames waiting per direction before drop-tail.
        duplicate: probability that a delivered frame arrives twice.
        reorder: probability that a frame is held back by an extra random delay (up to
            ``reorder_delay_ns``), letting later frames overtake it.
    """

    kind = "link"

    def __setattr__(self, name: str, value) -> None:
        # any change to any Link's settings makes every FloodPlan look its links up again
        # (a counter outside the class: writing a class attribute would invalidate the
        # interpreter's attribute caches for every Link)
        _settings[0] += 1
        object.__setattr__(self, name, value)

    def __init__(self, kernel: Kernel, a: Interface, b: Interface, *, bandwidth_bps: int,
                 delay_ns: int, loss: float = 0.0, mtu: int = 1500, queue_len: int = 100,
                 duplicate: float = 0.0, reorder: float = 0.0, reorder_delay_ns: int | None = None):
        for p, name in ((loss, "loss"), (duplicate, "duplicate"), (reorder, "reorder")):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability between 0 and 1, got {p!r}")
        if mtu < 68:
            raise ValueError(f"mtu must be at least 68 bytes (RFC 791), got {mtu}")
        if queue_len < 1:
            raise ValueError(f"queue length must be at least 1 frame, got {queue_len}")
        self.kernel = kernel
        self.a, self.b = a, b
        self.bandwidth_bps = bandwidth_bps
        self.delay_ns = delay_ns
        self.loss = loss
        self.mtu = mtu
        self.queue_len = queue_len
        self.duplicate = duplicate
        self.reorder = reorder
        self.reorder_delay_ns = reorder_delay_ns if reorder_delay_ns is not None else max(
            4 * delay_ns, self.serialisation_ns(1514) * 4)
        # The two directions as two attributes, not a dict keyed by interface: a dict of two
        # is 230 bytes, and every host of a large network has a cable (issue 16).
        self._ab = _Direction(a, b)
        self._ba = _Direction(b, a)
        # drop_when's rules; a shared empty tuple until the first (issue 16: per-host memory)
        self._rules: list[list] | tuple = ()
        a.medium = self
        b.medium = self

    def serialisation_ns(self, nbytes: int) -> int:
        return ((nbytes + WIRE_OVERHEAD) * 8 * NS_PER_S) // self.bandwidth_bps

    def peer_of(self, iface: Interface) -> Interface:
        return self.b if iface is self.a else self.a

    @property
    def endpoints(self) -> tuple[Interface, Interface]:
        return self.a, self.b

    def transmit(self, src: Interface, frame: bytes, comment: str | None) -> None:
        d = self._ab if src is self.a else self._ba
        n = len(frame)
        if n - 14 > self.mtu:
            d.drops += 1
            src.drops += 1
            src.tap(frame, "drop", f"dropped: {n - 14} bytes exceed the link MTU {self.mtu}")
            return
        kernel = self.kernel
        now = kernel.now
        start = d.free_at
        tx_ns = ((n + WIRE_OVERHEAD) * 8 * NS_PER_S) // self.bandwidth_bps
        if start <= now:
            d.free_at = now + tx_ns
            if self._rules or self.loss or self.reorder or self.duplicate:
                self._start(d, frame, comment, tx_ns)
                return
            # _start on a perfect cable (no rule, loss, reorder or duplicate: no RNG draw),
            # inlined: the same counters, tap and arrival event in the same order.
            d.frames += 1
            d.bytes += n
            src.tx_frames += 1           # src.transmitted(frame, comment), inlined
            src.tx_bytes += n
            if src.taps:
                for tap in src.taps:
                    tap(src, now, frame, "out", comment)
            kernel.call_later(tx_ns + self.delay_ns, d.dst.deliver, frame)
            return
        if d.queued(now) >= self.queue_len:
            d.drops += 1
            src.drops += 1
            src.tap(frame, "drop", "dropped: queue full")
            return
        if d.starts is None:
            d.starts = deque()
        d.starts.append(start)
        d.free_at = start + tx_ns
        self.kernel.call_at(start, self._start, d, frame, comment, tx_ns)

    def _start(self, d: _Direction, frame: bytes, comment: str | None, tx_ns: int) -> None:
        """The first bit of ``frame`` leaves now; schedule its last bit's arrival."""
        kernel = self.kernel
        d.frames += 1
        d.bytes += len(frame)
        if self._rules and self._drop_by_rule(d, frame, comment):
            return
        if self.loss and kernel.rng.random() < self.loss:
            d.lost += 1
            d.src.transmitted(frame, f"{comment}; lost on link" if comment else "lost on link")
            return
        d.src.transmitted(frame, comment)
        arrive = tx_ns + self.delay_ns
        if self.reorder and kernel.rng.random() < self.reorder:
            arrive += kernel.rng.randrange(1, self.reorder_delay_ns + 1)
        kernel.call_later(arrive, d.dst.deliver, frame)
        if self.duplicate and kernel.rng.random() < self.duplicate:
            kernel.call_later(arrive + tx_ns, d.dst.deliver, frame)

    def drop_when(self, predicate, count: int = 1, reason: str = "lost on purpose",
                  direction: Interface | None = None) -> None:
        """Lose the next ``count`` frames for which ``predicate(frame: bytes)`` is true.

        A deterministic fault injector for labs and tests ("lose the first SYN"): the frame
        is transmitted, so the sender's capture shows it, but it never arrives.

        Args:
            direction: only frames sent by this interface (either direction when None).
        """
        if not self._rules:
            self._rules = []
        self._rules.append([predicate, count, reason, direction])
        _settings[0] += 1

    def _drop_by_rule(self, d: _Direction, frame: bytes, comment: str | None) -> bool:
        for rule in self._rules:
            predicate, count, reason, direction = rule
            if count > 0 and (direction is None or direction is d.src) and predicate(frame):
                rule[1] -= 1
                d.lost += 1
                d.src.transmitted(frame, f"{comment}; {reason}" if comment else reason)
                return True
        return False

    def stats(self) -> dict[str, dict[str, int]]:
        return {f"{d.src.fullname}->{d.dst.fullname}": {"frames": d.frames, "bytes": d.bytes,
                                                       "queue_drops": d.drops, "lost": d.lost}
                for d in (self._ab, self._ba)}

    def __repr__(self) -> str:
        return f"<Link {self.a.fullname} <-> {self.b.fullname} {self.bandwidth_bps} bit/s>"


# -- flooding ---------------------------------------------------------------------------------
#
# A switch (or anything else) that sends one frame out of many ports used to cost one kernel
# event per port: Interface.send -> Link.transmit -> Link._start -> call_later(dst.deliver).
# In a flat network of N hosts, N broadcasts reach N ports each (issue 16): N^2 heap events.
# flood() does the same transmissions, and gathers the deliveries that land at one instant
# into one event that makes them one after the other, in port order.
#
# Why the (time, seq) order of every observable effect stays the same. Unbatched, port k's
# delivery is an event (T_k, s_k), with s_1 < s_2 < ... in port order, scheduled during the
# flood event. An event E at T can run between two deliveries at T only if its seq lies
# between theirs, i.e. only if E was scheduled during the flood between those two ports. So:
#   * a port that qualifies (an idle Link that cannot lose, duplicate, reorder or drop by
#     rule, the frame within its MTU: FloodPlan, _plain_now) adds its destination to the
#     open group for its arrival time, or opens one: a new event (T, s) with s taken now,
#     so the group sits where its first delivery sat;
#   * whenever anything else may have been scheduled (a port that takes the ordinary path,
#     a capture tap on the sender: Kernel.scheduled_since), every open group that is no
#     longer the last event at its instant (Kernel.last_at) is closed and later ports open
#     new ones, behind whatever was scheduled: only an event at T can run between two
#     deliveries at T, so a group with nothing behind it at its instant stays open. A sender's taps run before
#     its delivery joins a group, as Interface.transmitted runs before Link._start
#     schedules the delivery, so what a tap schedules stays ahead of that delivery;
#   * a delivery schedules its consequences (replies after the node's latency, a switch's
#     forwarding) with seqs above every delivery of the flood, batched or not;
#   * between two deliveries the group asks Kernel.must_pause(): if run()/step() would have
#     returned after the previous delivery's event (kernel.stop(), a stop predicate, a
#     single step), it requeues itself under its own (time, seq) with the rest, so the
#     rest runs exactly where those events would have; an exception does the same.
# Each port's transmit bookkeeping (free_at, the direction's and the sender's counters, the
# sender's taps) happens in port order, as Link.transmit/_start do it, and nothing of the
# kernel's RNG is drawn on the batched path (lossy, duplicating and reordering links take the
# ordinary path, so their draws happen in the same order).
#
# What changes: kernel.events_run counts one event per group instead of one per port, and
# the livelock counter of Kernel.run sees fewer events at the instant of a big flood.

#: Switch batching off (tests compare against the unbatched path; both must agree exactly).
BATCH_FLOODS = True
#: Switch counting quiet receptions in bulk off (netsim.net.bulk; tests compare both ways).
BULK_COUNTS = True


class _Arrivals:
    """Deliveries of one frame that land at one instant: one kernel event for all of them.

    With ``ledger`` set, ``dsts`` also holds members of that :class:`~netsim.net.bulk.Ledger`
    whose reception is quiet: ``indiv`` is the rest, delivered one by one, ``skipped`` the
    members the ledger's bump must pass by. When the event runs in an ordinary ``run()``
    (no stop predicate, no step), when no member left or became concerned since the flood and
    no tap on an individual receiver may read a counter (a capture only writes frames:
    ``quiet_safe``), the quiet receptions are one ``bump`` and only ``indiv`` is delivered. Otherwise every
    delivery of ``dsts`` is made one by one, as if nothing were owed in bulk: a stop
    predicate or a tap may read any counter between two deliveries.
    """

    __slots__ = ("kernel", "frame", "dsts", "timer", "ledger", "indiv", "skipped", "evictions",
                 "keys", "weight")

    def __init__(self, kernel: Kernel, frame: bytes):
        self.kernel = kernel
        self.frame = frame
        self.dsts: list[Interface] = []
        self.timer: list | None = None
        self.ledger: Ledger | None = None

    def run(self, start: int) -> None:
        """Deliver to ``dsts[start:]`` in order, as Interface.deliver would to each."""
        kernel, frame = self.kernel, self.frame
        led = self.ledger
        if led is not None:
            self.ledger = None
            if (led.alive and led.evictions == self.evictions
                    and led.weight(self.keys) == self.weight and kernel._pause is None
                    and not kernel._stop and not _watched(self.indiv)):
                led.bump(len(frame), self.skipped)
                self.dsts = self.indiv
                if not self.dsts:
                    return
        dsts = self.dsts
        size = len(frame)
        last = len(dsts) - 1
        pause = kernel._pause       # Kernel.must_pause, inline: it is asked per delivery
        i = start
        try:
            for i in range(start, last + 1):
                dst = dsts[i]
                dst._rx_frames += 1
                dst._rx_bytes += size
                note = dst.node.receive(dst, frame)
                if dst.taps:
                    for tap in dst.taps:
                        tap(dst, kernel.now, frame, "in", note)
                if i != last and (kernel._stop or (pause is not None and pause())):
                    self._requeue(i + 1)
                    return
        except BaseException:
            # the delivery that raised was made (as its own event would have been); the
            # rest stay due, as their events would have stayed in the heap
            if i < last:
                self._requeue(i + 1)
            raise

    def _requeue(self, start: int) -> None:
        timer = self.timer
        timer[3] = (start,)
        self.kernel.requeue(timer)


class FloodPlan:
    """What :func:`flood` looks up once for a node's ports: each port's Link, direction and
    settings, and the :class:`~netsim.net.bulk.Ledger` that counts quiet receptions.

    Only a cache. It is rebuilt when the port list grew, any Link's settings changed
    (``_settings[0]``) or a member left a ledger (a tap was added); each flood still checks
    that a port's medium is the Link recorded here (anything else takes the ordinary path
    and makes the plan rebuild). Rebuilding closes the old ledgers: what they owe is
    counted into each member first.
    """

    __slots__ = ("entries", "count", "last", "version", "ledgers", "evictions")

    def __init__(self) -> None:
        self.entries: list[tuple] = []
        self.count = -1
        self.last: Interface | None = None
        self.version = -1
        self.ledgers: list[Ledger] = []
        self.evictions = 0

    def for_ports(self, ports: list[Interface]) -> list[tuple]:
        """``(port, link, direction, plain, mtu, bandwidth, delay, member, ledger)`` per
        port; ``link`` is None for a port on anything but a Link, ``plain`` False for a link
        that can lose, duplicate, reorder or drop by rule (those take the ordinary path),
        ``member`` the far interface's ledger Member (None: never counted in bulk)."""
        if (self.version != _settings[0] or len(ports) != self.count
                or (ports and ports[-1] is not self.last)
                or (self.ledgers and sum(led.evictions for led in self.ledgers)
                    != self.evictions)):
            for led in self.ledgers:
                led.close()
            ledgers: dict[tuple, Ledger] = {}
            entries = []
            for port in ports:
                m = port.medium
                if type(m) is Link:
                    plain = _perfect(m)
                    d = m._ab if port is m.a else m._ba
                    rec = led = None
                    if plain and BULK_COUNTS:
                        rec, led = _join(ledgers, d.dst, m)
                    entries.append((port, m, d, plain, m.mtu, m.bandwidth_bps, m.delay_ns,
                                    rec, led))
                else:
                    entries.append((port, None, None, False, 0, 0, 0, None, None))
            self.entries, self.count = entries, len(ports)
            self.last = ports[-1] if ports else None
            self.version = _settings[0]
            self.ledgers = list(ledgers.values())
            self.evictions = 0
        return self.entries

    def invalidate(self) -> None:
        self.version = -1


def _join(ledgers: dict, dst: Interface, link: Link):
    """Make ``dst`` a member of the ledger for its cable's settings, if its node can count
    a quiet frame in bulk (``quiet_counters``) and nothing watches it (no tap)."""
    node = dst.node
    offer = getattr(node, "quiet_counters", None)
    if offer is None or dst.taps or dst.bulk is not None:
        return None, None
    counted = offer(dst)
    if counted is None:
        return None, None
    counters, names = counted
    classify = type(node).quiet_frame
    key = (link.bandwidth_bps, link.delay_ns, link.mtu, classify)
    led = ledgers.get(key)
    if led is None:
        led = ledgers[key] = Ledger(classify)
    return led.join(dst, counters, names, node.quiet_keys(dst)), led


def _watched(dsts: list[Interface]) -> bool:
    """Whether a tap on one of ``dsts`` may read a counter or stop the run while the group
    delivers (a capture that only writes frames says it cannot: ``quiet_safe``)."""
    for dst in dsts:
        if dst.taps:
            for tap in dst.taps:
                if not getattr(tap, "quiet_safe", False):
                    return True
    return False


def _close_overtaken(kernel: Kernel, groups: dict[int, _Arrivals]) -> None:
    """Close the open groups that something was just scheduled behind, at their instant:
    a later delivery joining one would run before that event, where unbatched it ran after
    it. Groups at other instants stay open (events at other instants cannot come between
    two deliveries of one instant)."""
    for t in [t for t, g in groups.items() if kernel.last_at(t) is not g.timer]:
        del groups[t]


def _perfect(link: Link) -> bool:
    """No drop rule, loss, duplication or reordering: nothing of the kernel's RNG is drawn
    (Link.transmit makes the same test inline, on its hot path)."""
    return not (link._rules or link.loss or link.duplicate or link.reorder)


def _plain_now(link: Link, size: int) -> bool:
    """FloodPlan's verdict for ``link``, read afresh (a tap changed some link mid-flood)."""
    return _perfect(link) and size - 14 <= link.mtu


def flood(kernel: Kernel, ports: list[Interface], frame: bytes, comment: str | None,
          skip: Interface | None = None, plan: FloodPlan | None = None) -> None:
    """Send ``frame`` out of every connected interface of ``ports`` except ``skip``.

    The same as calling ``port.send(frame, comment)`` for each in turn: the same counters,
    taps, queueing, drops and (time, seq) order of deliveries (see the notes above); the
    deliveries that land at one instant share one kernel event.

    Args:
        plan: a :class:`FloodPlan` the caller keeps for ``ports`` (one per node), so links
            are not looked up again at every flood.
    """
    if not BATCH_FLOODS:
        for port in ports:
            if port is not skip and port.medium is not None:
                port.send(frame, comment)
        return
    if plan is None:
        plan = FloodPlan()
    now = kernel.now
    size = len(frame)
    payload = size - 14
    bits_ns = (size + WIRE_OVERHEAD) * 8 * NS_PER_S
    groups: dict[int, _Arrivals] = {}
    last_t = -1
    group: _Arrivals | None = None
    last_bw = tx_ns = free = 0
    entries = plan.for_ports(ports)
    version = plan.version
    trusted = True      # the plan's settings hold: no Link changed since it was made
    # Per ledger whose members may receive this frame quietly (netsim.net.bulk): [the group
    # that takes its bump, the members the frame concerns, members to skip, the frame's
    # keys, and the index's weight for them (a member concerned by the time the copies
    # land, e.g. one that learned the sender from a frame still arriving, changes it)].
    states: dict[Ledger, list] | None = None
    led0 = st0 = None   # the first of them (most plans have one ledger): no dict lookup
    if BULK_COUNTS:
        for led in plan.ledgers:
            keys = led.quiet_frame(frame)
            if keys is not None:
                st = [None, led.concerned(keys), [], keys, led.weight(keys)]
                if states is None:
                    states = {}
                    led0, st0 = led, st
                states[led] = st
    for port, link, d, plain, mtu, bw, delay, rec, led in entries:
        if port is skip:
            if rec is not None and states is not None and led in states:
                states[led][2].append(rec)
            continue
        if (link is not None and port.medium is link and port.up
                and (plain and payload <= mtu if trusted else _plain_now(link, size))):
            if d.free_at <= now:
                if not trusted:
                    bw, delay = link.bandwidth_bps, link.delay_ns
                if bw != last_bw:
                    # one int for every port of this speed: no allocation per port
                    last_bw, tx_ns = bw, bits_ns // bw
                    free = now + tx_ns
                # Link.transmit onto an idle wire, then Link._start, then Interface.transmitted
                d.free_at = free
                d.frames += 1
                d.bytes += size
                port.tx_frames += 1
                port.tx_bytes += size
                if port.taps:
                    mark = kernel.schedule_mark()
                    for tap in port.taps:
                        tap(port, now, frame, "out", comment)
                    if kernel.scheduled_since(mark):
                        _close_overtaken(kernel, groups)
                        last_t = -1
                    if _settings[0] != version:
                        trusted = False
                t = free + delay
                if t != last_t:
                    group = groups.get(t)
                    if group is None:
                        group = groups[t] = _Arrivals(kernel, frame)
                        group.timer = kernel.call_at(t, group.run, 0)
                    last_t = t
                dst = d.dst
                group.dsts.append(dst)
                if rec is not None and states is not None:
                    st = st0 if led is led0 else states.get(led)
                    if st is not None:
                        if trusted and rec not in st[1]:
                            taker = st[0]
                            if taker is None and group.ledger is None:
                                # the first quiet member: this group takes the ledger's bump
                                st[0] = group
                                group.ledger, group.skipped = led, st[2]
                                group.indiv = group.dsts[:-1]
                                group.evictions = led.evictions
                                group.keys, group.weight = st[3], st[4]
                                continue
                            if taker is group:
                                continue
                        st[2].append(rec)       # delivered one by one: the bump passes it
                if group.ledger is not None:
                    group.indiv.append(dst)
                continue
        else:
            medium = port.medium
            if medium is None:
                continue
            if medium is not link:
                plan.invalidate()       # cabled or re-cabled since the plan was made
        if rec is not None and states is not None and led in states:
            states[led][2].append(rec)
        mark = kernel.schedule_mark()
        port.send(frame, comment)
        if kernel.scheduled_since(mark):
            _close_overtaken(kernel, groups)
            last_t = -1
        if _settings[0] != version:
            trusted = False
