"""Reno (RFC 5681): slow start, additive increase, halving on loss.

Without SACK, Reno's fast recovery ends at the first ACK of new data (RFC 5681 3.2 step 6),
so a second loss in the same window waits for three more duplicate ACKs or a timeout: the
weakness NewReno fixes.
"""

from __future__ import annotations

from .base import CongestionControl

__all__ = ["Reno"]


class Reno(CongestionControl):
    """RFC 5681 congestion control with Reno fast recovery."""

    name = "reno"
    recovery = "reno"
    __slots__ = ()
