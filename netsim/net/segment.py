"""A half-duplex shared medium: one collision domain behind one or more hubs (IEEE 802.3 CSMA/CD).

Physical picture. Every station (a host NIC, a switch or router port) hangs off a hub port by a
cable with a propagation delay; hubs may be cabled to each other (a tree of repeaters). A
station's signal reaches another station after ``d(src) + d(hub path) + d(dst)``. Each hub is a
pure repeater, so the whole tree is one collision domain and one :class:`Segment`.

Medium access (IEEE 802.3 clause 4.2.3, "CSMA/CD media access control"):

* carrier sense: a station defers while a signal is present *at that station* (a signal from
  ``s`` started at ``t`` is present at ``k`` from ``t + p(s, k)``), then waits the inter-frame
  gap (96 bit times, 4.4.2) before it transmits;
* collision detection: a station that starts inside another's propagation window (it has not
  heard the other yet) collides; each side notices when the other's first bit reaches it,
  aborts, and sends a 32-bit jam (4.2.3.2.4);
* truncated binary exponential backoff (4.2.3.2.5): after the n-th collision of a frame the
  station waits ``r * slot`` with ``k = min(n, 10)``, ``r`` uniform in ``[0, 2**k - 1]`` and a
  slot of 512 bit times; after 16 attempts the frame is dropped (``attemptLimit``).

A frame whose transmission finished without a collision is received by every other station
(its last bit arrives ``p(src, k)`` after the end). Simplification: receivers accept exactly
the frames their sender completed; a "late collision" (possible only when a cable is longer than
half a slot) aborts the station that notices it but does not corrupt copies elsewhere.

What captures show: the sender's ``out`` record carries the time the successful attempt started
and a comment such as ``collision, backoff k=3``; each hub shows the frame ``in`` on the port it
came from and ``out`` on its other ports when the frame has fully reached the hub; each station
shows ``in`` when the last bit reaches it. A frame given up after 16 collisions becomes a
``drop`` record with ``dropped: 16 collisions``. Each collided attempt is a ``collision`` record
at the moment the station detects it (``collided after 12.345us (attempt 1): ...``), for the
trace only.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from ..sim.units import NS_PER_S, format_time

if TYPE_CHECKING:
    from ..sim.kernel import Kernel
    from .interface import Interface

__all__ = ["Segment", "SLOT_BITS", "JAM_BITS", "IFG_BITS", "ATTEMPT_LIMIT", "BACKOFF_LIMIT"]

SLOT_BITS = 512        # slotTime (802.3 4.4.2), in bit times
JAM_BITS = 32          # jamSize
IFG_BITS = 96          # interFrameGap
ATTEMPT_LIMIT = 16     # attemptLimit: transmissions of one frame before it is dropped
BACKOFF_LIMIT = 10     # backoffLimit: k stops growing here
_PREAMBLE_FCS = 8 + 4  # preamble+SFD and FCS bytes on the wire around the frame
_MIN_FRAME = 60        # shorter frames still occupy 64 bytes on the wire (4.4.2 minFrameSize)


class _Tx:
    """One transmission attempt on the medium (its signal, possibly cut short by a collision)."""

    __slots__ = ("station", "start", "end", "aborted", "done", "timer")

    def __init__(self, station: _Station, start: int, end: int):
        self.station = station
        self.start = start
        self.end = end
        self.aborted = False
        self.done = False
        self.timer: Any = None


class _Station:
    """MAC state of one interface attached to the segment."""

    __slots__ = ("iface", "port", "hub", "delay_ns", "loss", "mtu", "queue_len", "queue", "head",
                 "attempts", "ks", "current", "timer", "deferring", "drops", "lost", "frames",
                 "bytes", "collisions")

    def __init__(self, iface: Interface, port: Interface, delay_ns: int, loss: float, mtu: int,
                 queue_len: int):
        self.iface = iface
        self.port = port            # the hub port the cable plugs into
        self.hub = port.node
        self.delay_ns = delay_ns
        self.loss = loss
        self.mtu = mtu
        self.queue_len = queue_len
        self.queue: deque = deque()   # frames waiting behind the head frame (drop-tail)
        self.head: tuple[bytes, str | None] | None = None
        self.attempts = 0             # collisions suffered by the head frame so far
        self.ks: list[int] = []       # backoff exponents used for the head frame
        self.current: _Tx | None = None
        self.timer: Any = None        # pending carrier-sense retry or backoff expiry
        self.deferring = False
        self.frames = self.bytes = self.drops = self.lost = self.collisions = 0


class Segment:
    """The collision domain of a tree of hubs; the ``medium`` of every interface attached to it.

    Args:
        kernel: the simulation kernel (clock, events and the RNG used for backoff and loss).
        bandwidth_bps: the one bit rate of every cable in the domain.
    """

    kind = "segment"

    def __init__(self, kernel: Kernel, bandwidth_bps: int):
        self.kernel = kernel
        self.bandwidth_bps = bandwidth_bps
        self.hubs: list[Any] = []
        self.stations: dict[Interface, _Station] = {}
        # hub -> list of (local port, remote port, remote hub, delay_ns)
        self.trunks: dict[Any, list[tuple[Interface, Interface, Any, int]]] = {}
        self.live: list[_Tx] = []
        self.collisions = 0          # collision detections (one per station per collided attempt)
        self.drops = 0               # queue-full, MTU and excessive-collision drops
        self.excessive_collisions = 0
        self._bit_ns = NS_PER_S / bandwidth_bps
        self.slot_ns = self._bits_ns(SLOT_BITS)
        self.jam_ns = self._bits_ns(JAM_BITS)
        self.ifg_ns = self._bits_ns(IFG_BITS)
        self._prop: dict[tuple[_Station, _Station], int] = {}
        self._plans: dict[_Station, list[tuple[int, int, Any, Any]]] = {}
        self._max_prop = 0

    def _bits_ns(self, bits: int) -> int:
        return (bits * NS_PER_S) // self.bandwidth_bps

    # -- topology ---------------------------------------------------------------------------

    def add_hub(self, hub: Any) -> None:
        hub.segment = self
        if hub not in self.trunks:
            self.hubs.append(hub)
            self.trunks[hub] = []
            self._invalidate()

    def attach(self, iface: Interface, port: Interface, *, delay_ns: int, loss: float, mtu: int,
               queue_len: int) -> _Station:
        """Plug station ``iface`` into hub ``port`` with a cable of ``delay_ns``."""
        if not 0.0 <= loss <= 1.0:
            raise ValueError(f"loss must be a probability between 0 and 1, got {loss!r}")
        if mtu < 68:
            raise ValueError(f"mtu must be at least 68 bytes (RFC 791), got {mtu}")
        if queue_len < 1:
            raise ValueError(f"queue length must be at least 1 frame, got {queue_len}")
        self.add_hub(port.node)
        st = _Station(iface, port, delay_ns, loss, mtu, queue_len)
        self.stations[iface] = st
        iface.medium = self
        port.medium = self
        self._invalidate()
        return st

    def merge(self, other: Segment) -> None:
        """Absorb ``other``'s hubs, cables and stations: cabled repeaters share one domain.

        Raises:
            ValueError: the bit rates differ, or ``other`` has frames in flight.
        """
        if other.bandwidth_bps != self.bandwidth_bps:
            raise ValueError("all cables of one collision domain must run at the same bit rate "
                             f"({self.bandwidth_bps} vs {other.bandwidth_bps} bit/s)")
        if any(not t.done for t in other.live) or any(s.head for s in other.stations.values()):
            raise ValueError("cannot cable two hubs together while frames are in flight")
        for hub in other.hubs:
            self.add_hub(hub)
            self.trunks[hub].extend(other.trunks[hub])
            for local, remote, _, _ in other.trunks[hub]:
                local.medium = remote.medium = self
        for iface, st in other.stations.items():
            self.stations[iface] = st
            iface.medium = self
            st.port.medium = self
        self.collisions += other.collisions
        self.drops += other.drops
        self._invalidate()

    def add_trunk(self, port_a: Interface, port_b: Interface, delay_ns: int) -> None:
        """Cable hub port ``port_a`` to hub port ``port_b`` (both hubs end up in this segment).

        Raises:
            ValueError: both hubs are already in this domain (the cable would close a loop).
        """
        hub_a, hub_b = port_a.node, port_b.node
        if hub_a in self.trunks and hub_b in self.trunks and self.hubs_connected(hub_a, hub_b):
            raise ValueError(f"cabling {hub_a.name} to {hub_b.name} closes a loop of hubs; a "
                             "repeater loop would circulate every frame forever")
        self.add_hub(hub_a)
        self.add_hub(hub_b)
        self.trunks[hub_a].append((port_a, port_b, hub_b, delay_ns))
        self.trunks[hub_b].append((port_b, port_a, hub_a, delay_ns))
        port_a.medium = port_b.medium = self
        self._invalidate()

    def hubs_connected(self, a: Any, b: Any) -> bool:
        return b in self._hub_distances(a)

    def _invalidate(self) -> None:
        self._prop.clear()
        self._plans.clear()
        self._max_prop = 0

    def _hub_distances(self, start: Any) -> dict[Any, tuple[int, Interface | None]]:
        """Delay from hub ``start`` to every hub, and the port each is entered by (a tree)."""
        dist: dict[Any, tuple[int, Interface | None]] = {start: (0, None)}
        stack = [start]
        while stack:
            hub = stack.pop()
            base = dist[hub][0]
            for _local, remote, other, delay in self.trunks[hub]:
                if other not in dist:
                    dist[other] = (base + delay, remote)
                    stack.append(other)
        return dist

    def propagation_ns(self, a: _Station, b: _Station) -> int:
        """One-way delay from station ``a``'s NIC to station ``b``'s (0 for the same station)."""
        if a is b:
            return 0
        key = (a, b)
        p = self._prop.get(key)
        if p is None:
            p = a.delay_ns + self._hub_distances(a.hub)[b.hub][0] + b.delay_ns
            self._prop[key] = self._prop[(b, a)] = p
        return p

    def max_propagation_ns(self) -> int:
        if not self._max_prop:
            sts = list(self.stations.values())
            self._max_prop = max((self.propagation_ns(a, b) for a in sts for b in sts), default=0)
        return self._max_prop

    def _plan(self, src: _Station) -> list[tuple[int, int, Any, Any]]:
        """Deliveries of a frame from ``src``: (delay after its end, order, action, target)."""
        plan = self._plans.get(src)
        if plan is not None:
            return plan
        hubs = self._hub_distances(src.hub)
        plan = []
        for hub, (d, entry) in hubs.items():
            ingress = src.port if entry is None else entry
            plan.append((src.delay_ns + d, 0, "hub", (hub, ingress)))
        for st in self.stations.values():
            if st is not src:
                plan.append((self.propagation_ns(src, st), 1, "station", st))
        plan.sort(key=lambda item: (item[0], item[1]))
        self._plans[src] = plan
        return plan

    def ports_of(self, hub: Any) -> list[Interface]:
        return [i for i in hub.interfaces if i.medium is self]

    def peer_of(self, iface: Interface) -> None:
        """A shared medium has no single peer."""
        return None

    @property
    def endpoints(self) -> tuple[Interface, ...]:
        return tuple(self.stations)

    # -- the MAC ----------------------------------------------------------------------------

    def transmit(self, src: Interface, frame: bytes, comment: str | None) -> None:
        """Queue ``frame`` at station ``src`` (the medium side of ``Interface.send``)."""
        st = self.stations.get(src)
        if st is None:
            # A hub port only repeats; it never originates frames.
            src.drops += 1
            src.tap(frame, "drop", "dropped: a hub port does not originate frames")
            return
        if len(frame) - 14 > st.mtu:
            self._drop(st, frame, f"dropped: {len(frame) - 14} bytes exceed the link MTU {st.mtu}")
            return
        if st.head is not None:
            if len(st.queue) >= st.queue_len:
                self._drop(st, frame, "dropped: queue full")
                return
            st.queue.append((frame, comment))
            return
        st.head = (frame, comment)
        self._try(st)

    def _drop(self, st: _Station, frame: bytes, why: str) -> None:
        st.drops += 1
        st.iface.drops += 1
        self.drops += 1
        st.iface.tap(frame, "drop", why)

    def _signal_ns(self, nbytes: int) -> int:
        return ((max(nbytes, _MIN_FRAME) + _PREAMBLE_FCS) * 8 * NS_PER_S) // self.bandwidth_bps

    def _free_at(self, st: _Station, now: int) -> int:
        """Earliest time ``st`` may start: no carrier at ``st`` and an idle gap behind it."""
        ready = now
        ifg = self.ifg_ns
        prop = self.propagation_ns
        for tx in self.live:
            p = prop(tx.station, st)
            if tx.start + p > now:
                continue            # not heard yet: the vulnerable window
            t = tx.end + p + ifg
            if t > ready:
                ready = t
        return ready

    def _prune(self, now: int) -> None:
        horizon = now - self.max_propagation_ns() - self.ifg_ns
        if self.live and self.live[0].done and self.live[0].end < horizon:
            self.live = [tx for tx in self.live if not (tx.done and tx.end < horizon)]

    def _try(self, st: _Station) -> None:
        """Carrier sense, then transmit the head frame or defer until the medium looks free."""
        st.timer = None
        kernel = self.kernel
        now = kernel.now
        self._prune(now)
        ready = self._free_at(st, now)
        if ready > now:
            st.deferring = True
            st.timer = kernel.call_at(ready, self._try, st)
            return
        st.deferring = False
        self._start(st, now)

    def _start(self, st: _Station, now: int) -> None:
        kernel = self.kernel
        frame = st.head[0]
        tx = _Tx(st, now, now + self._signal_ns(len(frame)))
        prop = self.propagation_ns
        for other in self.live:
            if other.station is st:
                continue
            p = prop(other.station, st)
            if other.end + p <= now:
                continue
            heard_here = other.start + p      # its first bit reaches us: we detect the collision
            if heard_here > now:
                kernel.call_at(heard_here, self._collide, tx)
            heard_there = now + p             # our first bit reaches it
            if heard_there < other.end:
                kernel.call_at(heard_there, self._collide, other)
        self.live.append(tx)
        st.current = tx
        tx.timer = kernel.call_at(tx.end, self._end, tx)

    def _collide(self, tx: _Tx) -> None:
        """``tx``'s station hears another signal while sending: abort and jam (4.2.3.2.4)."""
        if tx.aborted or tx.done:
            return
        kernel = self.kernel
        now = kernel.now
        tx.aborted = True
        st = tx.station
        st.collisions += 1
        st.iface.collisions += 1
        self.collisions += 1
        hub = st.hub
        hub.collisions += 1
        kernel.cancel(tx.timer)
        # Shown to the taps as a "collision" record (the trace and the viewer draw it; file
        # captures leave it out, as a NIC discards a collided frame).
        st.iface.tap(st.head[0], "collision", f"collided after {format_time(now - tx.start)} "
                     f"(attempt {st.attempts + 1}): jam, then back off")
        tx.end = now + self.jam_ns
        tx.timer = kernel.call_at(tx.end, self._end, tx)
        # Signals may now end sooner than deferring stations assumed: let them look again.
        for other in self.stations.values():
            if other.deferring and other is not st:
                kernel.cancel(other.timer)
                other.timer = kernel.call_at(max(now, self._free_at(other, now)), self._try, other)

    def _end(self, tx: _Tx) -> None:
        tx.done = True
        st = tx.station
        st.current = None
        if tx.aborted:
            self._after_collision(st)
        else:
            self._success(st, tx)

    def _after_collision(self, st: _Station) -> None:
        st.attempts += 1
        if st.attempts >= ATTEMPT_LIMIT:
            # 802.3 4.2.3.2.5: after attemptLimit transmissions the frame is discarded.
            frame = st.head[0]
            self.excessive_collisions += 1
            self._drop(st, frame, f"dropped: {st.attempts} collisions")
            self._next(st)
            return
        k = min(st.attempts, BACKOFF_LIMIT)
        st.ks.append(k)
        r = self.kernel.rng.randrange(1 << k)
        st.timer = self.kernel.call_later(r * self.slot_ns, self._try, st)

    def _success(self, st: _Station, tx: _Tx) -> None:
        kernel = self.kernel
        frame, comment = st.head
        notes = []
        if st.ks:
            n = len(st.ks)
            notes.append(f"collision, backoff k={st.ks[0]}" if n == 1
                         else f"{n} collisions, backoff k={','.join(map(str, st.ks))}")
        lost = st.loss and kernel.rng.random() < st.loss
        if lost:
            st.lost += 1
            notes.append("lost on link")
        if comment:
            notes.insert(0, comment)
        note = "; ".join(notes) if notes else None
        st.frames += 1
        st.bytes += len(frame)
        iface = st.iface
        iface.tx_frames += 1
        iface.tx_bytes += len(frame)
        for tap in iface.taps:
            tap(iface, tx.start, frame, "out", note)
        if not lost:
            end = tx.end
            for delay, _order, action, target in self._plan(st):
                if action == "hub":
                    kernel.call_at(end + delay, self._repeat, target[0], target[1], frame)
                else:
                    kernel.call_at(end + delay, self._receive, target, frame)
        self._next(st)

    def _next(self, st: _Station) -> None:
        st.attempts = 0
        st.ks = []
        if st.queue:
            st.head = st.queue.popleft()
            self._try(st)
        else:
            st.head = None

    def _repeat(self, hub: Any, ingress: Interface, frame: bytes) -> None:
        """The whole frame reached ``hub`` by ``ingress``: show it in, and out of the others."""
        ingress.deliver(frame)
        for port in hub.interfaces:
            if port is not ingress and port.medium is self:
                port.transmitted(frame, None)

    def _receive(self, st: _Station, frame: bytes) -> None:
        # Loss on the receiving station's own cable only spoils that station's copy.
        if st.loss and self.kernel.rng.random() < st.loss:
            st.lost += 1
            return
        st.iface.deliver(frame)

    # -- reporting --------------------------------------------------------------------------

    def stats(self) -> dict[str, dict[str, int]]:
        """Per-station counters: frames and bytes sent, drops, frames lost, collisions."""
        return {f"{st.iface.fullname}->{st.hub.name}": {
                    "frames": st.frames, "bytes": st.bytes, "queue_drops": st.drops,
                    "lost": st.lost, "collisions": st.collisions}
                for st in self.stations.values()}

    def __repr__(self) -> str:
        names = ", ".join(h.name for h in self.hubs)
        return f"<Segment {names}: {len(self.stations)} stations, {self.bandwidth_bps} bit/s>"
