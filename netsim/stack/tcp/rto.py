"""Retransmission timeout estimation (RFC 6298).

SRTT/RTTVAR smoothing with alpha = 1/8, beta = 1/4, K = 4, a clock granularity G, a lower
bound, an upper bound (60 s) and exponential backoff. The class defaults are the RFC's
(a 1 s minimum, RFC 6298 (2.4)); :class:`~netsim.stack.tcp.config.TcpConfig` passes Linux's
200 ms. Karn's rule (RFC 6298 section 3) is the caller's job: never feed a sample taken from
a retransmitted segment, unless a timestamp (RFC 7323 4) says which transmission it times.
"""

from __future__ import annotations

from ...sim.units import NS_PER_S

__all__ = ["RtoEstimator"]

_K = 4


class RtoEstimator:
    """Tracks SRTT, RTTVAR and the current (possibly backed-off) RTO, all in nanoseconds.

    Args:
        initial_ns: RTO before the first sample (RFC 6298 (2.1): 1 s).
        min_ns: lower bound (RFC 6298 (2.4): 1 s).
        max_ns: upper bound (RFC 6298 (2.5) allows >= 60 s).
        granularity_ns: clock granularity G (1 ms by default).
    """

    __slots__ = ("srtt", "rttvar", "rto", "rtt", "min_ns", "max_ns", "granularity_ns",
                 "backoffs")

    def __init__(self, initial_ns: int = NS_PER_S, min_ns: int = NS_PER_S,
                 max_ns: int = 60 * NS_PER_S, granularity_ns: int = 1_000_000):
        self.srtt: int | None = None
        self.rtt: int | None = None  # the latest sample
        self.rttvar: int | None = None
        self.min_ns = min_ns
        self.max_ns = max_ns
        self.granularity_ns = granularity_ns
        self.rto = min(max(initial_ns, 0), max_ns)
        self.backoffs = 0

    def sample(self, rtt_ns: int) -> None:
        """Feed one RTT measurement R (RFC 6298 (2.2), (2.3)); also clears any backoff.

        Args:
            rtt_ns: measured round-trip time of a segment sent once.
        """
        rtt_ns = max(rtt_ns, 0)
        self.rtt = rtt_ns
        if self.srtt is None or self.rttvar is None:
            self.srtt = rtt_ns
            self.rttvar = rtt_ns // 2
        else:
            self.rttvar = (3 * self.rttvar + abs(self.srtt - rtt_ns)) // 4
            self.srtt = (7 * self.srtt + rtt_ns) // 8
        base = self.srtt + max(self.granularity_ns, _K * self.rttvar)
        self.rto = min(max(base, self.min_ns), self.max_ns)
        self.backoffs = 0

    def back_off(self) -> int:
        """Double the RTO after a timeout (RFC 6298 (5.5)), capped at the maximum.

        Returns:
            the new RTO in nanoseconds.
        """
        self.rto = min(self.rto * 2, self.max_ns)
        self.backoffs += 1
        return self.rto
