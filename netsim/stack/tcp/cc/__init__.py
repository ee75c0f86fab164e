"""Pluggable congestion control: Reno (RFC 5681), NewReno (RFC 6582), CUBIC (RFC 9438).

A connection holds one :class:`CongestionControl` object, chosen by name like Linux's
``setsockopt(IPPROTO_TCP, TCP_CONGESTION, b"cubic")``. The module owns only the window
arithmetic (how ``cwnd`` grows on an ACK, what ``ssthresh`` becomes on a loss); detecting
losses and retransmitting is the connection's job (:mod:`..recovery`).
"""

from __future__ import annotations

from .base import CongestionControl
from .cubic import Cubic
from .newreno import NewReno
from .reno import Reno

__all__ = ["CongestionControl", "Reno", "NewReno", "Cubic", "ALGORITHMS", "create"]

#: name -> class, the names ``TCP_CONGESTION`` accepts.
ALGORITHMS: dict[str, type[CongestionControl]] = {
    "reno": Reno,
    "newreno": NewReno,
    "cubic": Cubic,
}


def create(name: str, conn) -> CongestionControl:
    """A new congestion-control object called ``name`` for ``conn``.

    Raises:
        KeyError: no algorithm has that name (a socket turns it into ENOENT, as Linux).
    """
    return ALGORITHMS[name](conn)
