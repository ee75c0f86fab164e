"""Socket options and message flags: which ones netsim models, and clear errors for the rest.

Linux knows many more options and flags than a simulated host models. A program that uses
one it does not model gets a ``NotImplementedError`` naming it (not ``ENOPROTOOPT``, which
would claim Linux lacks it too); a number Linux does not know gets ``ENOPROTOOPT`` as it
would on Linux. Names come from Python's own ``socket`` module, so they are the ones the
program used.
"""

from __future__ import annotations

import socket as _pysocket
import struct
from typing import Any

__all__ = ["option_value", "option_name", "not_modelled_option", "check_flags", "pack_option",
           "flag_names", "LINGER"]

LINGER = struct.Struct("ii")   # struct linger {int l_onoff; int l_linger;}

_LEVELS = {_pysocket.SOL_SOCKET: ("SOL_SOCKET", "SO_"),
           _pysocket.IPPROTO_TCP: ("IPPROTO_TCP", "TCP_"),
           _pysocket.IPPROTO_IP: ("IPPROTO_IP", "IP_"),
           _pysocket.IPPROTO_UDP: ("IPPROTO_UDP", "UDP_")}


def _names(prefix: str) -> dict[int, str]:
    table: dict[int, list[str]] = {}
    for name in dir(_pysocket):
        value = getattr(_pysocket, name)
        if name.startswith(prefix) and isinstance(value, int) and not isinstance(value, bool):
            table.setdefault(value, []).append(name)
    return {v: "/".join(sorted(n)) for v, n in table.items()}


_OPTION_NAMES = {level: _names(prefix) for level, (_, prefix) in _LEVELS.items()}
_MSG_NAMES = _names("MSG_")


def option_value(value: Any) -> int:
    """A ``setsockopt`` value as an int: an int, a bool, or bytes in host (little) byte order."""
    if isinstance(value, (bytes, bytearray)):
        return int.from_bytes(value[:4], "little", signed=True)
    return int(value)


def option_name(level: int, option: int) -> str | None:
    """``"SOL_SOCKET SO_KEEPALIVE"`` for an option Python's socket module names, else None."""
    level_name = _LEVELS.get(level, (None, None))[0]
    name = _OPTION_NAMES.get(level, {}).get(option)
    return f"{level_name} {name}" if level_name and name else None


def not_modelled_option(level: int, option: int, kind: str) -> NotImplementedError | None:
    """The error for an option Linux has but netsim's ``kind`` sockets do not model, or None
    for an option Linux does not know either (the caller raises ENOPROTOOPT)."""
    name = option_name(level, option)
    if name is None:
        return None
    return NotImplementedError(f"netsim {kind} sockets do not model the socket option {name}")


def flag_names(flags: int) -> str:
    """``"MSG_OOB|MSG_TRUNC"``: the names of the bits set in ``flags``."""
    bits = [_MSG_NAMES.get(1 << i, f"0x{1 << i:x}") for i in range(32) if flags >> i & 1]
    return "|".join(bits)


def check_flags(flags: int, allowed: int, call: str, kind: str) -> int:
    """Check the ``flags`` of a send or receive call.

    Returns:
        ``flags`` as an int.

    Raises:
        TypeError: not an integer (as CPython says it).
        NotImplementedError: a flag netsim does not model for this call, named.
    """
    if not isinstance(flags, int):
        raise TypeError(f"'{type(flags).__name__}' object cannot be interpreted as an integer")
    extra = flags & ~allowed
    if extra:
        raise NotImplementedError(f"netsim {kind} sockets do not model {flag_names(extra)} "
                                  f"in {call}()")
    return flags


def pack_option(value: int | tuple[int, int] | bytes, buflen: int | None) -> int | bytes:
    """What ``getsockopt`` returns: the int, or with ``buflen`` the C value as bytes (a
    ``struct linger`` for a pair), cut to ``buflen`` as the kernel does. A text option
    (TCP_CONGESTION) is its bytes, NUL-padded to ``buflen``."""
    if isinstance(value, bytes):
        return value.ljust(buflen, b"\0")[:buflen] if buflen else value
    if not buflen:  # CPython: a buflen of 0 (its default) asks for the int
        return value[0] if isinstance(value, tuple) else value
    if not 0 < buflen <= 1024:
        raise OSError("getsockopt buflen out of range")  # CPython's own check and words
    raw = LINGER.pack(*value) if isinstance(value, tuple) else struct.pack("i", value)
    return raw[:buflen]
