"""Tunables of a TCP connection and the events the core reports to its driver.

The driver (the socket glue, the packetdrill runner, a test) drains events with
``Connection.pop_events()`` and turns them into wake-ups and exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass

from .states import State

__all__ = ["TcpConfig", "StateChange", "Connected", "DataAvailable", "Eof", "Reset", "Error",
           "Writable", "TcpEvent"]

_S = 1_000_000_000


@dataclass(slots=True)
class TcpConfig:
    """Per-connection tunables (times in nanoseconds).

    Attributes:
        mss: our MSS option value and the most data we put in one segment.
        rcv_buf: receive buffer size; the advertised window (capped at 65535: we never send
            the window-scale option, so per RFC 7323 neither side scales).
        snd_buf: send buffer size (``send`` accepts at most this much unacknowledged data).
        rto_initial_ns, rto_min_ns, rto_max_ns: RFC 6298 (2.1), (2.4), (2.5).
        syn_retries: SYN retransmissions before ETIMEDOUT (Linux tcp_syn_retries: 6).
        synack_retries: SYN,ACK retransmissions of a listener's half-open child before it
            is dropped (Linux tcp_synack_retries: 5).
        data_retries: data/FIN retransmissions before ETIMEDOUT (Linux tcp_retries2: 15).
        msl_ns: maximum segment lifetime; TIME_WAIT lasts ``2 * msl_ns``.
        delayed_ack: RFC 9293 3.8.6.3 delayed ACKs. Off by default so every ladder diagram
            shows one ACK per data segment, which is easier to teach from.
        delack_ns: the delayed-ACK timer when ``delayed_ack`` is on.
        nodelay: True disables Nagle's algorithm (``TCP_NODELAY``).
    """

    mss: int = 1460
    rcv_buf: int = 65536
    snd_buf: int = 65536
    rto_initial_ns: int = _S
    rto_min_ns: int = _S
    rto_max_ns: int = 60 * _S
    syn_retries: int = 6
    synack_retries: int = 5
    data_retries: int = 15
    msl_ns: int = 30 * _S
    delayed_ack: bool = False
    delack_ns: int = 200_000_000
    nodelay: bool = False


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


TcpEvent = StateChange | Connected | DataAvailable | Eof | Reset | Error | Writable
