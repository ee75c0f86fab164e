"""The congestion-control interface and the RFC 5681 window arithmetic all modules share.

The connection calls the hooks; a module reads and writes ``conn.cwnd`` and
``conn.ssthresh`` (bytes) and reads ``conn.eff_mss`` (SMSS) and ``conn.rto`` (the RTT
estimator). Hooks:

* :meth:`on_ack` for each ACK of new data outside loss recovery, when the sender was
  limited by ``cwnd`` (Linux's ``tcp_is_cwnd_limited``: growing a window nobody fills only
  stores up a burst);
* :meth:`ssthresh_after_loss` when fast retransmit or a timeout detects a loss;
* :meth:`on_recovery_end` when fast recovery ends with a full ACK;
* :meth:`on_timeout` after ``ssthresh`` was lowered by a retransmission timeout.
"""

from __future__ import annotations

__all__ = ["CongestionControl"]


class CongestionControl:
    """Base class: RFC 5681 slow start and congestion avoidance.

    Attributes:
        name: what ``TCP_CONGESTION`` calls it.
        recovery: how fast recovery handles a partial ACK when SACK is not in use:
            ``"reno"`` (RFC 5681: the first new ACK ends recovery) or ``"newreno"``
            (RFC 6582: retransmit the next hole and stay in recovery). With SACK every
            module uses RFC 6675.
    """

    name = "base"
    recovery = "newreno"
    __slots__ = ("conn",)

    def __init__(self, conn) -> None:
        self.conn = conn

    def on_ack(self, acked: int, now: int) -> None:
        """Grow ``cwnd`` for ``acked`` newly acknowledged bytes (RFC 5681 3.1)."""
        conn = self.conn
        mss = conn.eff_mss
        if conn.cwnd < conn.ssthresh:
            conn.cwnd += min(acked, mss)                       # slow start, RFC 5681 (2)
        else:
            conn.cwnd += max(mss * mss // conn.cwnd, 1)        # congestion avoidance, (3)

    def ssthresh_after_loss(self, flight: int, now: int) -> int:
        """The new ``ssthresh`` after a loss: RFC 5681 (4), max(FlightSize / 2, 2 * SMSS)."""
        return max(flight // 2, 2 * self.conn.eff_mss)

    def on_recovery_end(self, now: int) -> None:
        """Fast recovery ended (a full ACK); ``cwnd`` was already set to its exit value."""

    def on_timeout(self, now: int) -> None:
        """A retransmission timeout set ``cwnd`` to one segment (RFC 5681 (5))."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} cwnd={self.conn.cwnd} ssthresh={self.conn.ssthresh}>"
