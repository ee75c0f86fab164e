"""IPv4 headers (RFC 791), options kept as raw bytes.

Wire layout::

    offset  size  field
    0       1     version (4 bits, = 4) | IHL (4 bits, header length in 32-bit words, >= 5)
    1       1     type of service / DSCP+ECN
    2       2     total length (header + data)
    4       2     identification
    6       2     flags: reserved | DF | MF (3 bits) | fragment offset (13 bits, 8-byte units)
    8       1     time to live
    9       1     protocol
    10      2     header checksum (RFC 1071 over the header only)
    12      4     source address
    16      4     destination address
    20      ...   options (IHL*4 - 20 bytes)
"""

from __future__ import annotations

import struct

from ._base import OpenEnum, WireValue, blank, lookup, open_enum, pack_error
from .addr import _ip_int_get, _ip_pair, _ip_pair_get, ip_to_bytes
from .checksum import internet_checksum
from .checksum import verify as _verify
from .errors import DecodeError

__all__ = ["IPv4", "IPProto", "decode", "decode_verified", "from_fields", "encode_plain",
           "PROTO_ICMP", "PROTO_TCP", "PROTO_UDP",
           "IPV4_HEADER_LEN", "proto_name"]

PROTO_ICMP = 1
PROTO_IGMP = 2
PROTO_TCP = 6
PROTO_UDP = 17
IPV4_HEADER_LEN = 20

_HDR = struct.Struct("!BBHHHBBH4s4s")
_pack_plain = struct.Struct("!BBHHHBBHII").pack  # the addresses as 32-bit integers
_unpack = struct.Struct("!BBHHHBBH8s").unpack_from  # both addresses as one key for the pair cache
_RF, _DF, _MF = 0x8000, 0x4000, 0x2000


class IPProto(OpenEnum):
    """IP protocol numbers; unknown ones become ``proto 0x84``-style pseudo-members."""

    ICMP = 1
    IGMP = 2
    TCP = 6
    UDP = 17
    IPv6 = 41
    GRE = 47
    ESP = 50
    OSPF = 89
    SCTP = 132


_PROTOS = open_enum(IPProto, "proto", 8)


def proto_name(value: int) -> str:
    """Return ``"TCP"``, ``"UDP"``... or ``"proto 0x84"`` for an unknown number."""
    return lookup(_PROTOS, IPProto, value).name


class IPv4(WireValue):
    """An IPv4 datagram.

    Args:
        src, dst: dotted-quad strings.
        proto: protocol number of the payload (PROTO_TCP, ...).
        payload: the data after the header.
        ttl, ident, tos: as on the wire.
        df, mf: Don't Fragment and More Fragments flags; ``reserved`` is the reserved flag bit.
        frag_offset: fragment offset in bytes (a multiple of 8).
        options: raw option bytes; padded with zeros (EOL) to a multiple of 4 on encode.
        total_length, ihl, checksum: computed on encode when None; a decoded value keeps the
            received ones (``checksum_ok`` tells whether the checksum was right).
    """

    __slots__ = ("src", "dst", "proto", "payload", "ttl", "ident", "tos", "df", "mf",
                 "frag_offset", "options", "total_length", "ihl", "checksum", "reserved",
                 "_ck")
    _fields = __slots__[:-1]
    _derived = ("total_length", "ihl", "checksum")
    layer_name = "Internet Protocol Version 4"

    def __init__(self, src: str, dst: str, proto: int, payload: bytes = b"", ttl: int = 64,
                 ident: int = 0, tos: int = 0, df: bool = False, mf: bool = False,
                 frag_offset: int = 0, options: bytes = b"", total_length: int | None = None,
                 ihl: int | None = None, checksum: int | None = None, reserved: bool = False):
        self.src = src
        self.dst = dst
        self.proto = proto
        self.payload = payload
        self.ttl = ttl
        self.ident = ident
        self.tos = tos
        self.df = df
        self.mf = mf
        self.frag_offset = frag_offset
        self.options = options
        self.total_length = total_length
        self.ihl = ihl
        self.checksum = checksum
        self.reserved = reserved
        self._ck: bool | None | bytes = None

    @property
    def checksum_ok(self) -> bool | None:
        """Whether the received checksum was right (None: not verifiable, or not decoded).

        Verified on first access: decoding stays cheap for code that never asks."""
        ok = self._ck
        if ok.__class__ is bytes:  # decode stored the received header
            ok = self._ck = _verify(ok)
        return ok

    @checksum_ok.setter
    def checksum_ok(self, value: bool | None) -> None:
        self._ck = value

    @classmethod
    def decode(cls, buf: bytes, partial: bool = False) -> IPv4:
        """Decode a datagram; see :func:`decode`."""
        return decode(buf, partial)

    @property
    def header_length(self) -> int:
        """Header length in bytes (from ``ihl`` if set, else from the options)."""
        return self.ihl * 4 if self.ihl is not None else 20 + (len(self.options) + 3) // 4 * 4

    @property
    def is_fragment(self) -> bool:
        """True for any fragment (MF set or a non-zero offset)."""
        return self.mf or self.frag_offset != 0

    def encode(self) -> bytes:
        """Return header + payload, computing IHL, total length and checksum when None.

        Raises:
            ValueError: a bad address, a fragment offset not a multiple of 8, or a field out
                of range.
        """
        options = self.options
        if len(options) & 3:
            options = options + bytes(4 - (len(options) & 3))
        ihl = self.ihl if self.ihl is not None else 5 + (len(options) >> 2)
        total = self.total_length
        if total is None:
            total = 20 + len(options) + len(self.payload)
        off = self.frag_offset
        if off & 7:
            raise ValueError(f"IPv4: frag_offset {off} is not a multiple of 8 bytes")
        flags = (_RF if self.reserved else 0) | (_DF if self.df else 0) | (_MF if self.mf else 0)
        if off >> 3 > 0x1FFF or ihl > 15:
            raise ValueError("IPv4: frag_offset must be < 65536 and ihl <= 15")
        try:
            header = _HDR.pack(0x40 | ihl, self.tos, total, self.ident, flags | (off >> 3),
                               self.ttl, self.proto, 0, ip_to_bytes(self.src),
                               ip_to_bytes(self.dst)) + options
        except struct.error as exc:
            raise pack_error("IPv4", exc) from None
        checksum = self.checksum
        if checksum is None:
            checksum = internet_checksum(header)
        elif not 0 <= checksum <= 0xFFFF:
            raise ValueError(f"IPv4: checksum {checksum} is not 16 bits")
        return b"".join((header[:10], checksum.to_bytes(2, "big"), header[12:], self.payload))

    def summary(self) -> str:
        """``src -> dst PROTO`` with fragment information."""
        text = f"{self.src} -> {self.dst} {proto_name(self.proto)}"
        if self.is_fragment:
            text += f" fragment id=0x{self.ident:04x} off={self.frag_offset}" + \
                (" MF" if self.mf else "")
        return text

    def describe(self) -> list[str]:
        """Tree lines."""
        hl = self.header_length
        total = self.total_length if self.total_length is not None else hl + len(self.payload)
        flags = ", ".join(n for n, on in (("Reserved", self.reserved), ("DF", self.df),
                                            ("MF", self.mf)) if on) or "none"
        if self.checksum is None:
            ck = "Header checksum: (computed on encode)"
        else:
            status = {True: "correct", False: "incorrect", None: "unverified"}[self.checksum_ok]
            ck = f"Header checksum: 0x{self.checksum:04x} [{status}]"
        lines = ["Version: 4", f"Header length: {hl} bytes ({hl // 4})",
                 f"Type of service: 0x{self.tos:02x}", f"Total length: {total}",
                 f"Identification: 0x{self.ident:04x} ({self.ident})", f"Flags: {flags}",
                 f"Fragment offset: {self.frag_offset}", f"Time to live: {self.ttl}",
                 f"Protocol: {proto_name(self.proto)} ({int(self.proto)})", ck,
                 f"Source: {self.src}", f"Destination: {self.dst}"]
        if self.options:
            lines.append(f"Options: {bytes(self.options).hex()}")
        return lines


_blank = blank(IPv4)
_from_bytes = int.from_bytes


def encode_plain(src: str, dst: str, proto: int, payload: bytes, ttl: int, ident: int,
                 tos: int, df: bool) -> bytes:
    """``IPv4(src, dst, proto, payload, ttl=ttl, ident=ident, tos=tos, df=df).encode()``,
    byte for byte, for the datagrams a host originates (no options, not a fragment).

    The header checksum (RFC 1071) is summed from the fields, 16-bit words as integers and
    each address as its 32-bit integer (2**16 is 1 modulo 0xFFFF, see
    :mod:`netsim.wire.checksum`), so the header is packed once, with the checksum in place.
    Anything unusual (an address not seen before, a field out of range) takes
    :meth:`IPv4.encode`, so the bytes and the errors are the same.
    """
    s = _ip_int_get(src)
    d = _ip_int_get(dst)
    total = 20 + len(payload)
    if (s is None or d is None or total > 0xFFFF or not 0 <= tos <= 0xFF
            or not 0 <= ident <= 0xFFFF or not 0 <= ttl <= 0xFF or not 0 <= proto <= 0xFF):
        return IPv4(src, dst, proto, payload, ttl=ttl, ident=ident, tos=tos, df=df).encode()
    flags = _DF if df else 0
    # never 0 (the version nibble is in it): ones = sum % 0xFFFF, or 0xFFFF for a zero
    ones = (0x4500 + tos + total + ident + flags + (ttl << 8) + proto + s + d) % 0xFFFF
    checksum = ~(ones or 0xFFFF) & 0xFFFF
    return _pack_plain(0x45, tos, total, ident, flags, ttl, proto, checksum, s, d) + payload


def decode(buf: bytes, partial: bool = False) -> IPv4:
    """Decode an IPv4 datagram and verify its header checksum.

    Args:
        buf: the datagram; bytes past ``total_length`` (Ethernet padding) are dropped.
        partial: accept a datagram cut short (the quoted datagram inside an ICMP error):
            the payload is then whatever follows the header.

    Returns:
        An :class:`IPv4` with ``checksum_ok`` set.

    Raises:
        DecodeError: truncated header, version not 4, IHL < 5, header longer than the buffer,
            total length below the header length or (unless ``partial``) beyond the buffer.
    """
    if type(buf) is not bytes:
        buf = bytes(buf)
    n = len(buf)
    if n < 20:
        raise DecodeError("IPv4", "header", 0,
                          f"datagram is {n} bytes, shorter than the 20-byte header")
    vihl, tos, total, ident, frag, ttl, proto, checksum, addrs = _unpack(buf)
    hl = (vihl & 15) << 2
    if vihl >> 4 != 4:
        raise DecodeError("IPv4", "version", 0, f"version {vihl >> 4} is not 4")
    if hl < 20:
        raise DecodeError("IPv4", "ihl", 0,
                          f"header length {hl >> 2} words is below the minimum 5")
    if hl > n:
        raise DecodeError("IPv4", "ihl", 0,
                          f"header length {hl} bytes exceeds the {n} bytes available")
    if total < hl:
        raise DecodeError("IPv4", "total_length", 2,
                          f"total length {total} is below the header length {hl}")
    if total > n and not partial:
        raise DecodeError("IPv4", "total_length", 2,
                          f"total length {total} exceeds the {n} bytes available")
    return from_fields(buf, 0, hl, tos, total, ident, frag, ttl, proto, checksum, addrs)


def decode_verified(buf: bytes) -> IPv4:
    """:func:`decode` with ``checksum_ok`` worked out at once, for a receiver that reads it
    first thing (a host's IP input): the same value, the same errors, one call less. The
    header is a whole number of 32-bit words, so it needs no padding (RFC 1071 4.1)."""
    if type(buf) is not bytes or len(buf) < 20:
        return decode(buf)  # converts, or raises
    vihl, tos, total, ident, frag, ttl, proto, checksum, addrs = _unpack(buf)
    hl = (vihl & 15) << 2
    if vihl >> 4 != 4 or hl < 20 or not hl <= total <= len(buf):
        return decode(buf)  # raises, naming what is wrong
    value = from_fields(buf, 0, hl, tos, total, ident, frag, ttl, proto, checksum, addrs)
    ones = _from_bytes(value._ck, "big")  # type: ignore[arg-type]
    value._ck = ones % 0xFFFF == 0 and ones != 0  # checksum.verify
    return value


def from_fields(buf: bytes, start: int, hl: int, tos: int, total: int, ident: int, frag: int,
                ttl: int, proto: int, checksum: int, addrs: bytes) -> IPv4:
    """Build a decoded value from header fields already unpacked and checked.

    The one place a received datagram's value is assembled: :func:`decode` calls it after its
    checks (version 4, ``20 <= hl <= total``), ``decode_frame``'s fast path with the fields of
    its single unpack.

    Args:
        buf: the bytes the header was read from; the datagram starts at ``start``.
        hl: header length in bytes (IHL * 4); options are ``buf[start + 20:start + hl]``.
        tos, total, ident, ttl, proto, checksum: the header fields as on the wire.
        frag: the 16-bit flags and fragment offset word.
        addrs: the 8 address bytes, source then destination.
    """
    value = _blank()
    data = start + hl
    value._ck = buf[start:data]  # the header, checked on the first read of checksum_ok
    value.options = buf[start + 20:data] if hl != 20 else b""
    value.payload = buf[data:start + total]
    pair = _ip_pair_get(addrs)
    value.src, value.dst = pair if pair is not None else _ip_pair(addrs)
    p = _PROTOS.get(proto)
    value.proto = p if p is not None else lookup(_PROTOS, IPProto, proto)
    value.ttl = ttl
    value.ident = ident
    value.tos = tos
    value.df = frag & 0x4000 != 0  # the flag bits: _RF, _DF, _MF (literals on the hot path)
    value.mf = frag & 0x2000 != 0
    value.reserved = frag & 0x8000 != 0
    value.frag_offset = (frag & 0x1FFF) << 3
    value.total_length = total
    value.ihl = hl >> 2
    value.checksum = checksum
    return value
