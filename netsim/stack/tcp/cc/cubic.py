"""CUBIC (RFC 9438): a window that grows as a cubic function of the time since the last loss.

After a loss at window ``W_max`` (segments), the window is cut to ``beta * W_max`` and then
follows ``W_cubic(t) = C * (t - K)**3 + W_max`` (RFC 9438 (1)): fast at first, flat near the
old maximum (the plateau), then probing beyond it. ``K = cbrt((W_max - cwnd_epoch) / C)``
(RFC 9438 (2)) is when the curve reaches ``W_max`` again. In the "Reno-friendly" region
(RFC 9438 4.3) the window follows an estimate of what Reno would have, ``W_est``, instead.
Slow start is RFC 5681's (RFC 9438 4.10; HyStart++ is not modelled).
"""

from __future__ import annotations

from ....sim.units import NS_PER_S
from .base import CongestionControl

__all__ = ["Cubic", "C", "BETA"]

C = 0.4                                  # RFC 9438 4.1: the cubic's aggressiveness
BETA = 0.7                               # RFC 9438 4.6: multiplicative decrease factor
ALPHA = 3 * (1 - BETA) / (1 + BETA)      # RFC 9438 4.3: Reno-friendly additive increase


class Cubic(CongestionControl):
    """RFC 9438 CUBIC, with fast convergence (4.7) and NewReno-style recovery without SACK.

    Attributes (windows in segments, floats):
        w_max: the window just before the last reduction (after fast convergence).
        cwnd_prior: the window when ssthresh was last set (for the alpha switch of 4.3).
        k: seconds from the epoch start until ``W_cubic`` reaches ``w_max``.
        epoch_start: virtual time (ns) the current congestion-avoidance stage began, or
            None before its first ACK.
        w_est: the Reno-friendly estimate.
    """

    name = "cubic"
    recovery = "newreno"
    __slots__ = ("w_max", "cwnd_prior", "k", "epoch_start", "w_est", "cwnd_epoch",
                 "_after_timeout", "_seg")

    def __init__(self, conn) -> None:
        super().__init__(conn)
        self.w_max = self.cwnd_prior = self.k = self.w_est = self.cwnd_epoch = 0.0
        self.epoch_start: int | None = None
        self._after_timeout = False
        self._seg = 0.0  # cwnd in segments with its fraction (conn.cwnd is whole bytes)

    def w_cubic(self, t: float) -> float:
        """RFC 9438 (1): the window (segments) ``t`` seconds into the epoch."""
        return C * (t - self.k) ** 3 + self.w_max

    def on_ack(self, acked: int, now: int) -> None:
        conn = self.conn
        if conn.cwnd < conn.ssthresh:
            super().on_ack(acked, now)
            return
        mss = conn.eff_mss
        if int(self._seg * mss) != conn.cwnd:
            self._seg = conn.cwnd / mss  # cwnd was set from outside (recovery, timeout)
        seg = self._seg
        if self.epoch_start is None:
            self._start_epoch(seg, now)
        t = (now - self.epoch_start) / NS_PER_S
        rtt = (conn.rto.srtt or 0) / NS_PER_S
        # RFC 9438 4.2: aim at where the curve will be one RTT from now, within [1, 1.5]x.
        target = min(max(self.w_cubic(t + rtt), seg), 1.5 * seg)
        acked_segs = acked / mss
        # RFC 9438 4.3: Reno's estimate grows alpha segments per window; alpha becomes 1
        # once W_est reaches the window of the last reduction.
        alpha = 1.0 if self.w_est >= self.cwnd_prior else ALPHA
        self.w_est += alpha * acked_segs / seg
        if self.w_cubic(t) < self.w_est:
            new = self.w_est                                   # Reno-friendly region
        else:
            new = seg + (target - seg) / seg * acked_segs      # concave / convex, 4.4-4.5
        self._seg = max(new, seg)
        conn.cwnd = int(self._seg * mss)

    def _start_epoch(self, seg: float, now: int) -> None:
        self.epoch_start = now
        self.cwnd_epoch = self.w_est = seg
        if self._after_timeout or self.w_max <= seg:
            # RFC 9438 4.8: the first stage after a timeout starts with K = 0 and W_max the
            # window at its start; so does a stage that begins above the old maximum.
            self._after_timeout = False
            self.w_max, self.k = seg, 0.0
        else:
            self.k = ((self.w_max - seg) / C) ** (1 / 3)      # RFC 9438 (2)

    def ssthresh_after_loss(self, flight: int, now: int) -> int:
        mss = self.conn.eff_mss
        seg = self.conn.cwnd / mss
        # RFC 9438 4.7 fast convergence: a flow that lost below its previous maximum is
        # probably sharing the path with a newcomer, so it releases bandwidth sooner.
        self.w_max = seg * (1 + BETA) / 2 if seg < self.w_max else seg
        self.cwnd_prior = seg
        self.epoch_start = None
        return max(int(flight * BETA), 2 * mss)                 # RFC 9438 4.6

    def on_recovery_end(self, now: int) -> None:
        self.epoch_start = None

    def on_timeout(self, now: int) -> None:
        self._after_timeout = True
        self.epoch_start = None
