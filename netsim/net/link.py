"""A full-duplex point-to-point link: bandwidth, propagation delay, loss, MTU, drop-tail queue.

Each direction is an independent transmitter with its own output queue. A frame occupies the
wire for its serialisation time, which counts the preamble, FCS and inter-frame gap Ethernet
adds (IEEE 802.3 clause 4: 8 + 4 + 12 bytes), so goodput figures match a real 100 Mb/s NIC.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from ..sim.units import NS_PER_S

if TYPE_CHECKING:
    from ..sim.kernel import Kernel
    from .interface import Interface

__all__ = ["Link", "WIRE_OVERHEAD"]

WIRE_OVERHEAD = 8 + 4 + 12  # preamble+SFD, FCS, inter-frame gap (bytes)


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
