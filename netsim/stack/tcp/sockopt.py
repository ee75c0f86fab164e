"""Socket options that tune a TCP connection, read as Linux reads them.

Both drivers of the core use this table: the socket glue (``setsockopt``/``getsockopt`` on a
virtual host) and the packetdrill runner. An option maps to :class:`~.config.TcpConfig`
fields; :func:`apply` also updates a live connection (a new congestion-control module, a
re-armed keepalive timer), as Linux allows these options after ``connect``.
"""

from __future__ import annotations

import errno as _errno
import socket as _socket
from typing import Any

from ...sim.units import NS_PER_S as _NS
from .cc import ALGORITHMS
from .config import TcpConfig

__all__ = ["config_changes", "config_value", "apply", "option_by_name"]

_SOL, _TCP = _socket.SOL_SOCKET, _socket.IPPROTO_TCP
_KEEP = {_socket.TCP_KEEPIDLE: "keepidle_ns", _socket.TCP_KEEPINTVL: "keepintvl_ns",
         _socket.TCP_KEEPCNT: "keepcnt"}
_SOCK_MIN_RCVBUF, _SOCK_MIN_SNDBUF = 2304, 4608  # Linux, after doubling


def _error(code: int) -> OSError:
    return OSError(code, _errno.errorcode.get(code, str(code)))


def config_changes(level: int, option: int, value: Any) -> dict[str, Any] | None:
    """The TcpConfig fields ``setsockopt(level, option, value)`` sets, or None when the
    option is not one of these.

    Raises:
        OSError: ENOENT for an unknown congestion-control name (Linux's answer), EINVAL for
            a keepalive time or count below 1.
    """
    if level == _SOL and option == _socket.SO_KEEPALIVE:
        return {"keepalive": bool(value)}
    if level == _SOL and option == _socket.SO_RCVBUF:
        # Linux doubles the value (sk_rcvbuf) and offers about the value itself as window;
        # netsim keeps the other half for a reader that falls behind.
        size = max(2 * int(value), _SOCK_MIN_RCVBUF)
        return {"rcv_buf": size, "rcv_wnd": size // 2}
    if level == _SOL and option == _socket.SO_SNDBUF:
        return {"snd_buf": max(2 * int(value), _SOCK_MIN_SNDBUF) // 2}
    if level != _TCP:
        return None
    if option == _socket.TCP_NODELAY:
        return {"nodelay": bool(value)}
    if option in _KEEP:
        if int(value) < 1:
            raise _error(_errno.EINVAL)
        return {_KEEP[option]: int(value) * (1 if option == _socket.TCP_KEEPCNT else _NS)}
    if option == _socket.TCP_CONGESTION:
        name = (value.decode() if isinstance(value, bytes) else str(value)).rstrip("\0")
        if name not in ALGORITHMS:
            raise _error(_errno.ENOENT)
        return {"congestion_control": name}
    if option == _socket.TCP_QUICKACK:
        # Linux always delays ACKs and TCP_QUICKACK 1 suspends that; netsim ACKs every
        # segment unless asked, so 0 turns delayed ACKs on.
        return {"delayed_ack": not value}
    return None


def config_value(cfg: TcpConfig, level: int, option: int, buflen: int = 0) -> Any:
    """What ``getsockopt`` returns for one of these options, or None for another option."""
    if level == _SOL and option == _socket.SO_KEEPALIVE:
        return int(cfg.keepalive)
    if level == _SOL and option == _socket.SO_RCVBUF:
        return cfg.rcv_buf
    if level == _SOL and option == _socket.SO_SNDBUF:
        return 2 * cfg.snd_buf
    if level != _TCP:
        return None
    if option == _socket.TCP_NODELAY:
        return int(cfg.nodelay)
    if option in _KEEP:
        value = getattr(cfg, _KEEP[option])
        return value if option == _socket.TCP_KEEPCNT else value // _NS
    if option == _socket.TCP_CONGESTION:
        name = cfg.congestion_control.encode()
        return name.ljust(buflen, b"\0")[:buflen] if buflen else name
    return None


def apply(conn, changes: dict[str, Any], now: int) -> None:
    """Apply ``changes`` to a connection that already exists."""
    for name, value in changes.items():
        setattr(conn.cfg, name, value)
    if "congestion_control" in changes:
        conn.set_congestion_control(changes["congestion_control"])
    if changes.keys() & {"keepalive", "keepidle_ns", "keepintvl_ns", "keepcnt"}:
        conn.set_keepalive(conn.cfg.keepalive, now)


def option_by_name(level: str, option: str) -> tuple[int, int]:
    """``("SOL_TCP", "TCP_KEEPIDLE")`` -> the numbers (packetdrill scripts use the names).

    Raises:
        AttributeError: a name the socket module does not know.
    """
    lvl = _TCP if level in ("SOL_TCP", "IPPROTO_TCP") else getattr(_socket, level)
    return lvl, getattr(_socket, option)
