"""The events the TCP core reports to its driver (and :class:`TcpConfig`, re-exported).

The driver (the socket glue, the packetdrill runner, a test) drains events with
``Connection.pop_events()`` and turns them into wake-ups and exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .config import TcpConfig
from .states import State

__all__ = ["TcpConfig", "StateChange", "Connected", "DataAvailable", "Eof", "Reset", "Error",
           "Writable", "CongestionUpdate", "TcpEvent"]


@dataclass(frozen=True, slots=True)
class StateChange:
    """The connection moved from ``old`` to ``new`` at ``time`` (ns)."""

    old: State
    new: State
    time: int


@dataclass(frozen=True, slots=True)
class Connected:
    """The handshake completed (ESTABLISHED)."""

    time: int


@dataclass(frozen=True, slots=True)
class DataAvailable:
    """New in-order bytes can be read; ``nbytes`` is how many are readable now."""

    time: int
    nbytes: int


@dataclass(frozen=True, slots=True)
class Eof:
    """The peer's FIN was received: after the buffered bytes, reads return b""."""

    time: int


@dataclass(frozen=True, slots=True)
class Reset:
    """A valid RST was received."""

    time: int


@dataclass(frozen=True, slots=True)
class Error:
    """The connection failed; ``errno`` is what the socket call should raise."""

    errno: int
    time: int


@dataclass(frozen=True, slots=True)
class Writable:
    """Send-buffer space was freed (acknowledged data)."""

    time: int
    space: int


class CongestionUpdate(NamedTuple):
    """The sender's congestion state after a change (emitted once per input that changed it).

    A named tuple rather than a frozen dataclass: one is made for nearly every ACK, and a
    tuple is several times cheaper to build.

    Attributes:
        time: virtual time (ns).
        cwnd, ssthresh: congestion window and slow-start threshold in bytes (RFC 5681).
        rtt: the latest RTT sample (ns), None before the first.
        srtt, rttvar, rto: the RFC 6298 estimator (ns; srtt and rttvar None before a sample).
        ca_state: ``"open"``, ``"disorder"`` (duplicate ACKs below the threshold),
            ``"recovery"`` (fast recovery) or ``"loss"`` (after a timeout), as Linux names
            them.
        algorithm: the congestion-control module, e.g. ``"cubic"``.
    """

    time: int
    cwnd: int
    ssthresh: int
    rtt: int | None
    srtt: int | None
    rttvar: int | None
    rto: int
    ca_state: str
    algorithm: str


TcpEvent = (StateChange | Connected | DataAvailable | Eof | Reset | Error | Writable
            | CongestionUpdate)
