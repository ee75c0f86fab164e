"""Address helpers: MAC and IPv4 addresses are strings in values, bytes on the wire.

Conversions are cached in plain dicts (a simulated LAN has few distinct addresses, so the
hot path is one dict lookup). Caches are cleared when they grow past a bound so fuzzing or
random traffic cannot make them grow without limit.
"""

from __future__ import annotations

import socket

__all__ = [
    "BROADCAST_MAC", "ZERO_MAC", "BROADCAST_IP", "ZERO_IP",
    "mac_to_bytes", "mac_str", "ip_to_bytes", "ip_str", "ip_to_int", "int_to_ip",
    "is_multicast_mac", "is_broadcast_mac",
]

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
ZERO_MAC = "00:00:00:00:00:00"
BROADCAST_IP = "255.255.255.255"
ZERO_IP = "0.0.0.0"

_CACHE_LIMIT = 4096
_MAC_STR: dict[bytes, str] = {}
_MAC_BYTES: dict[str, bytes] = {}
_IP_STR: dict[bytes, str] = {}
_IP_BYTES: dict[str, bytes] = {}
_IP_INT: dict[str, int] = {}
_MAC_PAIRS: dict[bytes, tuple[str, str]] = {}
_IP_PAIRS: dict[bytes, tuple[str, str]] = {}
# The decoders (and checksum.pseudo_sum) look up through these bound methods (None on a miss:
# then _mac_pair, _ip_pair or ip_to_int fills the cache). Calling a bound method is cheaper
# than ``_MAC_PAIRS.get(raw)`` on a name bound by ``from .addr import ...``: CPython 3.11
# compiles a method call on an imported name as an attribute load and a call, as it would for
# a module (measured ~25 ns a lookup on decode_frame's fast path).
_mac_pair_get = _MAC_PAIRS.get
_ip_pair_get = _IP_PAIRS.get
_ip_int_get = _IP_INT.get
_HEX = frozenset("0123456789abcdefABCDEF")


def mac_str(raw: bytes) -> str:
    """Return ``"aa:bb:cc:dd:ee:ff"`` for 6 raw bytes.

    Args:
        raw: exactly 6 bytes.

    Returns:
        The lower-case colon-separated form.

    Raises:
        ValueError: ``raw`` is not 6 bytes long.
    """
    text = _MAC_STR.get(raw)
    if text is None:
        if len(raw) != 6:
            raise ValueError(f"a MAC address is 6 bytes, got {len(raw)}")
        text = bytes(raw).hex(":")
        if len(_MAC_STR) >= _CACHE_LIMIT:
            _MAC_STR.clear()
        _MAC_STR[bytes(raw)] = text
    return text


def mac_to_bytes(text: str) -> bytes:
    """Return the 6 bytes of a MAC address written ``aa:bb:cc:dd:ee:ff`` (or with ``-``).

    Raises:
        ValueError: not six two-digit hex groups.
    """
    raw = _MAC_BYTES.get(text)
    if raw is None:
        if not isinstance(text, str):
            raise ValueError(f"a MAC address is a string like '02:00:00:00:00:01', got {text!r}")
        parts = text.replace("-", ":").split(":")
        if len(parts) != 6 or any(len(p) != 2 or not set(p) <= _HEX for p in parts):
            raise ValueError(f"not a MAC address: {text!r}")
        raw = bytes(int(p, 16) for p in parts)
        if len(_MAC_BYTES) >= _CACHE_LIMIT:
            _MAC_BYTES.clear()
        _MAC_BYTES[text] = raw
    return raw


def ip_str(raw: bytes) -> str:
    """Return dotted-quad text for 4 raw bytes.

    Raises:
        ValueError: ``raw`` is not 4 bytes long.
    """
    text = _IP_STR.get(raw)
    if text is None:
        if len(raw) != 4:
            raise ValueError(f"an IPv4 address is 4 bytes, got {len(raw)}")
        text = socket.inet_ntoa(bytes(raw))
        if len(_IP_STR) >= _CACHE_LIMIT:
            _IP_STR.clear()
        _IP_STR[bytes(raw)] = text
    return text


def ip_to_bytes(text: str) -> bytes:
    """Return the 4 bytes of a dotted-quad IPv4 address (strict: four decimal octets).

    Raises:
        ValueError: not a dotted quad.
    """
    raw = _IP_BYTES.get(text)
    if raw is None:
        if not isinstance(text, str):
            raise ValueError(f"an IPv4 address is a string like '10.0.0.1', got {text!r}")
        parts = text.split(".")
        if len(parts) != 4 or any(not p.isdigit() or not p.isascii() or len(p) > 3
                                  or int(p) > 255 for p in parts):
            raise ValueError(f"not an IPv4 address: {text!r}")
        raw = bytes(int(p) for p in parts)
        if len(_IP_BYTES) >= _CACHE_LIMIT:
            _IP_BYTES.clear()
        _IP_BYTES[text] = raw
    return raw


def ip_to_int(text: str) -> int:
    """Return an IPv4 address as a 32-bit integer (``"10.0.0.1"`` -> ``0x0A000001``).

    Raises:
        ValueError: not a dotted quad.
    """
    value = _IP_INT.get(text)
    if value is None:
        value = int.from_bytes(ip_to_bytes(text), "big")
        if len(_IP_INT) >= _CACHE_LIMIT:
            _IP_INT.clear()
        _IP_INT[text] = value
    return value


def int_to_ip(value: int) -> str:
    """Return dotted-quad text for a 32-bit integer.

    Raises:
        ValueError: outside 0..2**32-1.
    """
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"an IPv4 address is 32 bits, got {value}")
    return ip_str(value.to_bytes(4, "big"))


def _mac_pair(raw: bytes) -> tuple[str, str]:
    """Text of the two MAC addresses in 12 raw bytes (an Ethernet header's dst, src), cached
    by the pair: decoders look up ``_mac_pair_get(raw)`` first, one lookup for both."""
    pair = (mac_str(raw[:6]), mac_str(raw[6:12]))
    if len(_MAC_PAIRS) >= _CACHE_LIMIT:
        _MAC_PAIRS.clear()
    _MAC_PAIRS[bytes(raw)] = pair
    return pair


def _ip_pair(raw: bytes) -> tuple[str, str]:
    """Text of the two IPv4 addresses in 8 raw bytes (an IPv4 header's src, dst), cached by the
    pair like :func:`_mac_pair`."""
    pair = (ip_str(raw[:4]), ip_str(raw[4:8]))
    if len(_IP_PAIRS) >= _CACHE_LIMIT:
        _IP_PAIRS.clear()
    _IP_PAIRS[bytes(raw)] = pair
    return pair


def is_multicast_mac(text: str) -> bool:
    """True for group addresses (the I/G bit, least significant bit of the first octet)."""
    return bool(mac_to_bytes(text)[0] & 1)


def is_broadcast_mac(text: str) -> bool:
    """True for ff:ff:ff:ff:ff:ff in any case."""
    return mac_to_bytes(text) == b"\xff" * 6
