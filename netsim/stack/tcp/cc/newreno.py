"""NewReno (RFC 6582): Reno's window arithmetic, with partial ACKs handled in recovery.

A partial ACK (one that acknowledges some but not all data outstanding when recovery began)
means another segment of the same window was lost: NewReno retransmits it at once and stays
in fast recovery until everything up to ``recover`` is acknowledged.
"""

from __future__ import annotations

from .base import CongestionControl

__all__ = ["NewReno"]


class NewReno(CongestionControl):
    """RFC 5681 windows with RFC 6582 fast recovery."""

    name = "newreno"
    recovery = "newreno"
    __slots__ = ()
