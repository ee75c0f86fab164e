"""UDP datagrams (RFC 768) with the IPv4 pseudo-header checksum.

Wire layout::

    offset  size  field
    0       2     source port
    2       2     destination port
    4       2     length (header + data, >= 8)
    6       2     checksum over pseudo-header + header + data; 0 = none sent (RFC 768),
                  a computed 0 is sent as 0xFFFF
"""

from __future__ import annotations

import struct

from ._base import LazySegmentChecksum, blank, pack_error
from .addr import _ip_int_get, ip_to_int
from .checksum import internet_checksum, pseudo_sum, segment_ok
from .errors import DecodeError

__all__ = ["UDP", "decode", "decode_verified", "from_fields", "encode_datagram",
           "UDP_HEADER_LEN"]

UDP_HEADER_LEN = 8
_PROTO_UDP = 17
_HDR = struct.Struct("!HHHH")
_unpack = _HDR.unpack_from
_pack = _HDR.pack


def _verify(buf: bytes, start: int, end: int, src_ip: str | None, dst_ip: str | None) -> bool:
    return segment_ok(buf, start, end, src_ip, dst_ip, _PROTO_UDP)


class UDP(LazySegmentChecksum):
    """A UDP datagram.

    Args:
        sport, dport: ports.
        payload: data.
        length, checksum: computed on encode when None; decode keeps the received ones.
    """

    __slots__ = ("sport", "dport", "payload", "length", "checksum", "_ck")
    _fields = __slots__[:-1]
    _verify = staticmethod(_verify)
    _derived = ("length", "checksum")
    layer_name = "User Datagram Protocol"

    def __init__(self, sport: int, dport: int, payload: bytes = b"", length: int | None = None,
                 checksum: int | None = None):
        self.sport = sport
        self.dport = dport
        self.payload = payload
        self.length = length
        self.checksum = checksum
        self._ck: bool | None | tuple = None

    @classmethod
    def decode(cls, buf: bytes, src_ip: str | None = None, dst_ip: str | None = None) -> UDP:
        """Decode a datagram; see :func:`decode`."""
        return decode(buf, src_ip, dst_ip)

    def encode(self, src_ip: str | None = None, dst_ip: str | None = None) -> bytes:
        """Return the datagram bytes.

        Args:
            src_ip, dst_ip: the IPv4 addresses for the pseudo-header; when either is None and
                ``checksum`` is None, the checksum is sent as 0 ("none").

        Raises:
            ValueError: a field out of range or a bad address.
        """
        payload = self.payload
        length = self.length if self.length is not None else 8 + len(payload)
        checksum = self.checksum
        try:
            if checksum is None:
                if src_ip is None or dst_ip is None:
                    checksum = 0
                else:
                    head = _pack(self.sport, self.dport, length, 0)
                    pseudo = pseudo_sum(src_ip, dst_ip, _PROTO_UDP, len(head) + len(payload))
                    # RFC 768: a computed 0 is sent as all ones; 0 means "no checksum"
                    checksum = internet_checksum(head + payload, pseudo) or 0xFFFF
                    return head[:6] + checksum.to_bytes(2, "big") + payload
            return _pack(self.sport, self.dport, length, checksum) + payload
        except struct.error as exc:
            raise pack_error("UDP", exc) from None

    def summary(self) -> str:
        """``sport -> dport Len=n`` (Len is the data length, as in Wireshark)."""
        return f"{self.sport} -> {self.dport} Len={len(self.payload)}"

    def describe(self) -> list[str]:
        """Tree lines."""
        length = self.length if self.length is not None else 8 + len(self.payload)
        if self.checksum is None:
            ck = "Checksum: (computed on encode)"
        elif self.checksum == 0:
            ck = "Checksum: 0x0000 [none]"
        else:
            status = {True: "correct", False: "incorrect", None: "unverified"}[self.checksum_ok]
            ck = f"Checksum: 0x{self.checksum:04x} [{status}]"
        return [f"Source port: {self.sport}", f"Destination port: {self.dport}",
                f"Length: {length}", ck, f"Data: {len(self.payload)} bytes"]


_blank = blank(UDP)
_from_bytes = int.from_bytes


def encode_datagram(sport: int, dport: int, payload: bytes, src_ip: str, dst_ip: str) -> bytes:
    """``UDP(sport, dport, payload).encode(src_ip, dst_ip)``, byte for byte: what every
    ``sendto`` builds, in one pack and without the value object.

    The checksum is summed arithmetically: the ones'-complement sum of the header words is
    ``sport + dport + length + 0`` and an address counts as its 32-bit integer (2**16 is 1
    modulo 0xFFFF, see :mod:`netsim.wire.checksum`), so the header is packed once, with the
    checksum in place. Any bad input takes :meth:`UDP.encode`, so errors are the same too.
    """
    n = len(payload)
    length = 8 + n
    s = _ip_int_get(src_ip)
    d = _ip_int_get(dst_ip)
    if s is None or d is None or length > 0xFFFF or not (0 <= sport <= 0xFFFF
                                                       and 0 <= dport <= 0xFFFF):
        return UDP(sport, dport, payload).encode(src_ip, dst_ip)
    # pseudo-header (RFC 768): src + dst + protocol + UDP length; then the header words
    total = (s + d + _PROTO_UDP + length + sport + dport + length
             + _from_bytes(payload if not n & 1 else payload + b"\0", "big"))
    # never 0 (the protocol number is in it): ones = total % 0xFFFF, or 0xFFFF for a zero
    checksum = ~(total % 0xFFFF or 0xFFFF) & 0xFFFF
    # RFC 768: a computed 0 is sent as all ones; 0 means "no checksum"
    return _pack(sport, dport, length, checksum or 0xFFFF) + payload


def decode(buf: bytes, src_ip: str | None = None, dst_ip: str | None = None) -> UDP:
    """Decode a UDP datagram; bytes past ``length`` are dropped.

    Args:
        buf: the IP payload.
        src_ip, dst_ip: when given, the checksum is verified.

    Returns:
        A :class:`UDP`; ``checksum_ok`` is None when the checksum is 0 (not sent) or no
        addresses were given.

    Raises:
        DecodeError: shorter than 8 bytes, length below 8 or beyond the buffer.
    """
    if type(buf) is not bytes:
        buf = bytes(buf)
    n = len(buf)
    if n < 8:
        raise DecodeError("UDP", "header", 0, f"datagram is {n} bytes, shorter than the "
                          "8-byte header")
    sport, dport, length, checksum = _unpack(buf)
    if length < 8:
        raise DecodeError("UDP", "length", 4, f"length {length} is below the 8-byte header")
    if length > n:
        raise DecodeError("UDP", "length", 4,
                          f"length {length} exceeds the {n} bytes available")
    return from_fields(buf, 0, sport, dport, length, checksum, src_ip, dst_ip)


def from_fields(buf: bytes, start: int, sport: int, dport: int, length: int, checksum: int,
                src_ip: str | None = None, dst_ip: str | None = None,
                addrs_before: bool = False) -> UDP:
    """Build a decoded value from header fields already unpacked and checked.

    The one place a received datagram's value is assembled: :func:`decode` calls it after its
    checks (``8 <= length <= len(buf) - start``), ``decode_frame``'s fast path with the fields
    of its single unpack.

    Args:
        buf: the bytes the header was read from; the datagram is ``buf[start:start + length]``.
        sport, dport, length, checksum: the header fields as on the wire.
        src_ip, dst_ip: the addresses for the lazy checksum check (None: not checkable).
        addrs_before: instead, ``buf[start - 8:start]`` are the IPv4 source and destination
            addresses, as in :func:`netsim.wire.tcp.from_fields`.
    """
    end = start + length
    value = _blank()
    value.sport = sport
    value.dport = dport
    value.length = length
    value.checksum = checksum
    value.payload = buf[start + 8:end]
    if checksum == 0:  # RFC 768: none was sent
        value._ck = None
    elif addrs_before:
        value._ck = (buf, start - 8, end, None, None)
    else:
        value._ck = None if src_ip is None or dst_ip is None else (buf, start, end, src_ip, dst_ip)
    return value


def decode_verified(buf: bytes, src_ip: str, dst_ip: str) -> UDP:
    """:func:`decode` with ``checksum_ok`` worked out at once, for a receiver that reads it
    first thing (the host's UDP layer): the same value, the same errors, fewer calls.

    The check is :func:`netsim.wire.checksum.segment_ok`'s: pseudo-header (RFC 768) plus the
    datagram, checksum field included, sums to ones'-complement zero.
    """
    if type(buf) is not bytes or len(buf) < 8:
        return decode(buf, src_ip, dst_ip)
    sport, dport, length, checksum = _unpack(buf)
    if not 8 <= length <= len(buf):
        return decode(buf, src_ip, dst_ip)  # raises
    value = _blank()
    value.sport = sport
    value.dport = dport
    value.length = length
    value.checksum = checksum
    value.payload = buf[8:length]
    if checksum == 0:  # RFC 768: none was sent
        value._ck = None
    else:
        data = buf if length == len(buf) else buf[:length]
        if length & 1:
            data += b"\0"
        total = (_from_bytes(data, "big") + (_ip_int_get(src_ip) or ip_to_int(src_ip))
                 + (_ip_int_get(dst_ip) or ip_to_int(dst_ip)) + _PROTO_UDP + length)
        value._ck = total % 0xFFFF == 0
    return value
