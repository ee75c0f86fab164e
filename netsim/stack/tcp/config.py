"""The tunables of a TCP connection, and the Linux sysctl names that set them.

A host's TCP layer keeps one :class:`TcpConfig` (its "sysctls"); each socket copies it, and
socket options change the copy. Defaults follow Linux where the RFCs leave a choice, and
every RFC feature can be switched off per host, as ``net.ipv4.tcp_*`` can on Linux:

========================================  ===============================================
``net.ipv4.tcp_window_scaling``           RFC 7323 window scaling (``window_scaling``)
``net.ipv4.tcp_timestamps``               RFC 7323 timestamps: 0 off, 1 on with a random
                                          per-connection offset, 2 on without (``timestamps``)
``net.ipv4.tcp_sack``                     RFC 2018 SACK, RFC 6675 recovery (``sack``)
``net.ipv4.tcp_dsack``                    RFC 2883 D-SACK (``dsack``)
``net.ipv4.tcp_congestion_control``       ``reno``, ``newreno`` or ``cubic``
``net.ipv4.tcp_rto_min_us``               the RTO floor (Linux 6.11+; default 200 ms)
``net.ipv4.tcp_rmem``, ``tcp_wmem``       ``min default max`` buffer sizes
``net.ipv4.tcp_keepalive_time`` etc.      keepalive idle time, interval, probe count
``net.ipv4.tcp_syn_retries``, ``tcp_retries2``
========================================  ===============================================
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ...sim.units import NS_PER_S as _S

__all__ = ["TcpConfig", "SYSCTLS"]

_MS = 1_000_000


@dataclass(slots=True)
class TcpConfig:
    """Per-connection tunables (times in nanoseconds, sizes in bytes).

    Attributes:
        mss: our MSS option value and the most data we put in one segment.
        rcv_buf: receive buffer (``SO_RCVBUF``): how many received bytes may wait for the
            application (Linux's ``tcp_rmem`` default, 128 KiB).
        rcv_wnd: the largest window we advertise (``TCP_WINDOW_CLAMP``; 65535, Linux's
            initial window). Kept apart from ``rcv_buf`` as Linux does (it offers about
            half its buffer), so a reader one window behind still finds the window open.
            The window-scale shift we offer is the smallest that covers the larger of the
            two (Linux sizes it for the largest buffer; netsim does not autotune).
        snd_buf: send buffer size (``send`` accepts at most this much unacknowledged data).
        rto_initial_ns: RFC 6298 (2.1): 1 s.
        rto_min_ns: the RTO floor. RFC 6298 (2.4) suggests 1 s; Linux uses 200 ms
            (``TCP_RTO_MIN``), and so does netsim by default.
        rto_max_ns: RFC 6298 (2.5) allows any maximum of at least 60 s.
        syn_retries: SYN retransmissions before ETIMEDOUT (Linux tcp_syn_retries: 6).
        synack_retries: SYN,ACK retransmissions of a listener's half-open child before it
            is dropped (Linux tcp_synack_retries: 5).
        data_retries: data/FIN retransmissions before ETIMEDOUT (Linux tcp_retries2: 15).
        msl_ns: maximum segment lifetime; TIME_WAIT lasts ``2 * msl_ns``.
        delayed_ack: RFC 9293 3.8.6.3 delayed ACKs. Off by default so every ladder diagram
            shows one ACK per data segment, which is easier to teach from.
        delack_ns: the delayed-ACK timer when ``delayed_ack`` is on.
        nodelay: True disables Nagle's algorithm (``TCP_NODELAY``).
        window_scaling: offer and accept RFC 7323 window scaling.
        timestamps: RFC 7323 timestamps (RTTM and PAWS): 0 off, 1 on with a per-connection
            offset, 2 on with TSval = milliseconds of virtual time (Linux's values).
        sack: offer and accept RFC 2018 SACK; loss recovery then follows RFC 6675.
        dsack: report duplicate segments with RFC 2883 D-SACK blocks.
        limited_transmit: RFC 3042 (RFC 5681 3.2 SHOULD): one new segment on each of the
            first two duplicate ACKs.
        initial_window: the initial window in segments (RFC 6928: 10); None uses
            RFC 5681 (3.1)'s two to four segments by MSS.
        congestion_control: ``"reno"``, ``"newreno"`` or ``"cubic"`` (``TCP_CONGESTION``).
        keepalive: send keepalive probes on an idle connection (``SO_KEEPALIVE``).
        keepidle_ns, keepintvl_ns, keepcnt: idle time before the first probe, time between
            probes, unanswered probes before ETIMEDOUT (Linux: 7200 s, 75 s, 9).
    """

    mss: int = 1460
    rcv_buf: int = 131072
    rcv_wnd: int = 65535
    snd_buf: int = 65536
    rto_initial_ns: int = _S
    rto_min_ns: int = 200 * _MS
    rto_max_ns: int = 60 * _S
    syn_retries: int = 6
    synack_retries: int = 5
    data_retries: int = 15
    msl_ns: int = 30 * _S
    delayed_ack: bool = False
    delack_ns: int = 200 * _MS
    nodelay: bool = False
    window_scaling: bool = True
    timestamps: int = 1
    sack: bool = True
    dsack: bool = True
    limited_transmit: bool = True
    initial_window: int | None = 10
    congestion_control: str = "cubic"
    keepalive: bool = False
    keepidle_ns: int = 7200 * _S
    keepintvl_ns: int = 75 * _S
    keepcnt: int = 9

    def copy(self) -> TcpConfig:
        """An independent copy (each connection owns one, so socket options stay local)."""
        return dataclasses.replace(self)

    def classic(self) -> TcpConfig:
        """A copy with the RFC 7323 and RFC 2018 options off: a SYN carries only the MSS."""
        return dataclasses.replace(self, window_scaling=False, timestamps=0, sack=False)

    def sysctl(self, name: str, value: str | int) -> None:
        """Set one tunable by its Linux sysctl name, e.g. ``("net.ipv4.tcp_sack", 0)``.

        Raises:
            KeyError: an unknown sysctl name.
            ValueError: a value that does not parse.
        """
        setter = SYSCTLS[name]
        setter(self, str(value).split())


def _flag(field: str):
    def set_(cfg: TcpConfig, words: list[str]) -> None:
        setattr(cfg, field, int(words[0]) != 0)
    return set_


def _int(field: str, scale: int = 1):
    def set_(cfg: TcpConfig, words: list[str]) -> None:
        setattr(cfg, field, int(words[0]) * scale)
    return set_


def _congestion(cfg: TcpConfig, words: list[str]) -> None:
    cfg.congestion_control = words[0]


def _rmem(cfg: TcpConfig, words: list[str]) -> None:
    default = int(words[1])
    # Linux offers about half of a buffer as window (tcp_win_from_space).
    cfg.rcv_buf, cfg.rcv_wnd = default, default - default // 2


def _wmem(cfg: TcpConfig, words: list[str]) -> None:
    cfg.snd_buf = int(words[1])


#: Linux sysctl name -> setter taking the value's words.
SYSCTLS = {
    "net.ipv4.tcp_window_scaling": _flag("window_scaling"),
    "net.ipv4.tcp_timestamps": _int("timestamps"),
    "net.ipv4.tcp_sack": _flag("sack"),
    "net.ipv4.tcp_dsack": _flag("dsack"),
    "net.ipv4.tcp_congestion_control": _congestion,
    "net.ipv4.tcp_rto_min_us": _int("rto_min_ns", 1000),
    "net.ipv4.tcp_syn_retries": _int("syn_retries"),
    "net.ipv4.tcp_synack_retries": _int("synack_retries"),
    "net.ipv4.tcp_retries2": _int("data_retries"),
    "net.ipv4.tcp_keepalive_time": _int("keepidle_ns", _S),
    "net.ipv4.tcp_keepalive_intvl": _int("keepintvl_ns", _S),
    "net.ipv4.tcp_keepalive_probes": _int("keepcnt"),
    "net.ipv4.tcp_rmem": _rmem,
    "net.ipv4.tcp_wmem": _wmem,
}
