"""ICMP for IPv4 (RFC 792, RFC 1191 for "fragmentation needed" MTU).

Wire layout::

    offset  size  field
    0       1     type
    1       1     code
    2       2     checksum (RFC 1071 over the whole ICMP message)
    4       4     rest of header: echo identifier + sequence; next-hop MTU; unused (zero)
    8       ...   data: echo payload, or the quoted IP header + first 8 data bytes of the
                  datagram that caused an error
"""

from __future__ import annotations

import struct

from ._base import OpenEnum, WireValue, blank, lookup, open_enum, pack_error
from .checksum import internet_checksum, verify
from .errors import DecodeError

__all__ = ["ICMP", "ICMPType", "decode", "from_fields", "ECHO_REPLY", "DEST_UNREACHABLE",
           "SOURCE_QUENCH", "REDIRECT", "ECHO_REQUEST", "TIME_EXCEEDED", "PARAMETER_PROBLEM",
           "UNREACH_NET", "UNREACH_HOST", "UNREACH_PROTOCOL", "UNREACH_PORT", "UNREACH_FRAG_NEEDED",
           "UNREACH_SOURCE_ROUTE", "TTL_EXCEEDED_IN_TRANSIT", "FRAG_REASSEMBLY_EXCEEDED",
           "ERROR_TYPES", "quoted"]

ECHO_REPLY = 0
DEST_UNREACHABLE = 3
SOURCE_QUENCH = 4
REDIRECT = 5
ECHO_REQUEST = 8
TIME_EXCEEDED = 11
PARAMETER_PROBLEM = 12

UNREACH_NET = 0
UNREACH_HOST = 1
UNREACH_PROTOCOL = 2
UNREACH_PORT = 3
UNREACH_FRAG_NEEDED = 4
UNREACH_SOURCE_ROUTE = 5
TTL_EXCEEDED_IN_TRANSIT = 0
FRAG_REASSEMBLY_EXCEEDED = 1

#: types whose data quotes the offending datagram (RFC 792)
ERROR_TYPES = frozenset({DEST_UNREACHABLE, SOURCE_QUENCH, REDIRECT, TIME_EXCEEDED,
                         PARAMETER_PROBLEM})

_HDR = struct.Struct("!BBH4s")
_unpack = _HDR.unpack_from
_ECHO = struct.Struct("!HH")
_from_bytes = int.from_bytes


class ICMPType(OpenEnum):
    """ICMP message types; unknown ones become ``type 0x2a``-style pseudo-members."""

    ECHO_REPLY = 0
    DEST_UNREACHABLE = 3
    SOURCE_QUENCH = 4
    REDIRECT = 5
    ECHO_REQUEST = 8
    ROUTER_ADVERTISEMENT = 9
    ROUTER_SOLICITATION = 10
    TIME_EXCEEDED = 11
    PARAMETER_PROBLEM = 12
    TIMESTAMP = 13
    TIMESTAMP_REPLY = 14


_TYPES = open_enum(ICMPType, "type", 8)

_TYPE_TEXT = {ECHO_REPLY: "Echo (ping) reply", ECHO_REQUEST: "Echo (ping) request",
              DEST_UNREACHABLE: "Destination unreachable", SOURCE_QUENCH: "Source quench",
              REDIRECT: "Redirect", TIME_EXCEEDED: "Time-to-live exceeded",
              PARAMETER_PROBLEM: "Parameter problem", 13: "Timestamp request",
              14: "Timestamp reply", 9: "Router advertisement", 10: "Router solicitation"}
_UNREACH_TEXT = {0: "Network unreachable", 1: "Host unreachable", 2: "Protocol unreachable",
                 3: "Port unreachable", 4: "Fragmentation needed", 5: "Source route failed",
                 6: "Destination network unknown", 7: "Destination host unknown",
                 9: "Network administratively prohibited", 10: "Host administratively prohibited",
                 13: "Communication administratively filtered"}
_EXCEEDED_TEXT = {0: "Time to live exceeded in transit", 1: "Fragment reassembly time exceeded"}


class ICMP(WireValue):
    """An ICMP message.

    Args:
        type, code: message type and code.
        rest: the second 32-bit word (identifier+sequence for echo, MTU for frag-needed).
        data: what follows the first 8 bytes.
        checksum: computed on encode when None.
    """

    __slots__ = ("type", "code", "rest", "data", "checksum", "_ck")
    _fields = __slots__[:-1]
    _derived = ("checksum",)
    layer_name = "Internet Control Message Protocol"

    def __init__(self, type: int, code: int = 0, rest: bytes = b"\0\0\0\0", data: bytes = b"",
                 checksum: int | None = None):
        self.type = type
        self.code = code
        self.rest = rest
        self.data = data
        self.checksum = checksum
        self._ck: bool | None | tuple = None

    # -- constructors -----------------------------------------------------------------------

    @classmethod
    def echo_request(cls, ident: int, seq: int, data: bytes = b"") -> ICMP:
        """An Echo (ping) request."""
        return cls(ECHO_REQUEST, 0, _ECHO.pack(ident, seq), data)

    @classmethod
    def echo_reply(cls, ident: int, seq: int, data: bytes = b"") -> ICMP:
        """An Echo reply (copy ident, seq and data from the request, RFC 792)."""
        return cls(ECHO_REPLY, 0, _ECHO.pack(ident, seq), data)

    @classmethod
    def unreachable(cls, code: int, quoted_datagram: bytes, mtu: int = 0) -> ICMP:
        """A Destination unreachable quoting the offending datagram.

        Args:
            code: UNREACH_PORT, UNREACH_HOST, ...
            quoted_datagram: the original IP datagram; its header plus the first 8 data bytes
                are kept (RFC 792; RFC 1812 4.3.2.3 allows more, we keep the classic amount).
            mtu: next-hop MTU for UNREACH_FRAG_NEEDED (RFC 1191).
        """
        return cls(DEST_UNREACHABLE, code, struct.pack("!HH", 0, mtu),
                   _quote(quoted_datagram))

    @classmethod
    def time_exceeded(cls, code: int, quoted_datagram: bytes) -> ICMP:
        """A Time exceeded quoting the offending datagram (header + first 8 data bytes)."""
        return cls(TIME_EXCEEDED, code, b"\0\0\0\0", _quote(quoted_datagram))

    @classmethod
    def decode(cls, buf: bytes) -> ICMP:
        """Decode a message; see :func:`decode`."""
        return decode(buf)

    @property
    def checksum_ok(self) -> bool | None:
        """Whether the received checksum was right (None: not verifiable, or not decoded).

        Verified on first access: decoding stays cheap for code that never asks."""
        ok = self._ck
        if ok.__class__ is tuple:
            ok = self._ck = _verify(*ok)
        return ok

    @checksum_ok.setter
    def checksum_ok(self, value: bool | None) -> None:
        self._ck = value

    # -- accessors --------------------------------------------------------------------------

    @property
    def ident(self) -> int:
        """Echo identifier (first half of ``rest``)."""
        return _from_bytes(self.rest[:2], "big")

    @property
    def seq(self) -> int:
        """Echo sequence number (second half of ``rest``)."""
        return _from_bytes(self.rest[2:4], "big")

    @property
    def mtu(self) -> int:
        """Next-hop MTU of a "fragmentation needed" message (RFC 1191)."""
        return _from_bytes(self.rest[2:4], "big")

    def quoted(self):
        """Decode the quoted datagram of an error message; see :func:`quoted`."""
        return quoted(self.data)

    def encode(self) -> bytes:
        """Return the message bytes, computing the checksum when None.

        Raises:
            ValueError: ``rest`` not 4 bytes or a field out of range.
        """
        if len(self.rest) != 4:
            raise ValueError(f"ICMP: rest must be 4 bytes, got {len(self.rest)}")
        try:
            head = _HDR.pack(self.type, self.code, 0, self.rest)
        except struct.error as exc:
            raise pack_error("ICMP", exc) from None
        checksum = self.checksum
        if checksum is None:
            # the header's sum is added as a start value: 2**16 == 1 (mod 0xFFFF), so where
            # it sits in the message does not matter (see checksum.py)
            checksum = internet_checksum(self.data, _from_bytes(head, "big"))
        elif not 0 <= checksum <= 0xFFFF:
            raise ValueError(f"ICMP: checksum {checksum} is not 16 bits")
        return b"".join((head[:2], checksum.to_bytes(2, "big"), head[4:], self.data))

    def type_text(self) -> str:
        """Human text for type and code, as Wireshark shows it."""
        base = _TYPE_TEXT.get(self.type) or lookup(_TYPES, ICMPType, self.type).name
        if self.type == DEST_UNREACHABLE:
            return f"{base} ({_UNREACH_TEXT.get(self.code, f'code {self.code}')})"
        if self.type == TIME_EXCEEDED:
            return f"{base} ({_EXCEEDED_TEXT.get(self.code, f'code {self.code}')})"
        if self.code and self.type not in (ECHO_REQUEST, ECHO_REPLY):
            return f"{base} (code {self.code})"
        return base

    def summary(self, ttl: int | None = None) -> str:
        """Wireshark-style text, e.g. ``Echo (ping) request id=0x0001, seq=1, ttl=64``."""
        text = self.type_text()
        if self.type in (ECHO_REQUEST, ECHO_REPLY):
            text += f"  id=0x{self.ident:04x}, seq={self.seq}"
            if ttl is not None:
                text += f", ttl={ttl}"
        return text

    def describe(self) -> list[str]:
        """Tree lines (with the quoted datagram's addresses for error messages)."""
        status = {True: "correct", False: "incorrect", None: "unverified"}[self.checksum_ok]
        ck = ("Checksum: (computed on encode)" if self.checksum is None
              else f"Checksum: 0x{self.checksum:04x} [{status}]")
        lines = [f"Type: {int(self.type)} ({self.type_text()})", f"Code: {self.code}", ck]
        if self.type in (ECHO_REQUEST, ECHO_REPLY):
            lines += [f"Identifier: 0x{self.ident:04x} ({self.ident})",
                      f"Sequence number: {self.seq}", f"Data: {len(self.data)} bytes"]
        elif self.type in ERROR_TYPES:
            if self.type == DEST_UNREACHABLE and self.code == UNREACH_FRAG_NEEDED:
                lines.append(f"MTU of next hop: {self.mtu}")
            try:
                q = self.quoted()
            except DecodeError as err:
                lines.append(f"Quoted datagram: [Malformed: {err}]")
            else:
                lines.append(f"Quoted datagram: {q.src} -> {q.dst} {q.proto.name}"
                             f" id=0x{q.ident:04x} ttl={q.ttl}")
                if len(q.payload) >= 4 and q.proto in (6, 17):
                    sport, dport = struct.unpack_from("!HH", q.payload)
                    lines.append(f"Quoted ports: {sport} -> {dport}")
        else:
            lines += [f"Rest of header: {self.rest.hex()}", f"Data: {len(self.data)} bytes"]
        return lines


def _verify(buf: bytes, start: int, end: int) -> bool:
    return verify(buf[start:end] if start or end != len(buf) else buf)


def _quote(datagram: bytes) -> bytes:
    """Header plus the first 8 data bytes of ``datagram`` (RFC 792)."""
    if len(datagram) >= 1:
        hl = (datagram[0] & 15) * 4
        return bytes(datagram[:max(hl, 20) + 8])
    return b""


def quoted(data: bytes):
    """Decode the IPv4 datagram quoted in an ICMP error "as far as it goes".

    The quoted datagram is usually cut short (header plus 8 bytes), so its total length is
    not enforced: the returned IPv4 value's payload is whatever was quoted (typically the
    source and destination ports first).

    Returns:
        a :class:`netsim.wire.ipv4.IPv4`.

    Raises:
        DecodeError: fewer than 20 bytes, or an invalid IPv4 header.
    """
    from . import ipv4

    try:
        return ipv4.decode(data, partial=True)
    except DecodeError as err:
        raise DecodeError("ICMP", f"quoted.{err.layer}.{err.field}", 8 + err.offset,
                          err.message) from None


_blank = blank(ICMP)


def decode(buf: bytes) -> ICMP:
    """Decode an ICMP message and verify its checksum.

    Raises:
        DecodeError: shorter than the 8-byte header.
    """
    if type(buf) is not bytes:
        buf = bytes(buf)
    n = len(buf)
    if n < 8:
        raise DecodeError("ICMP", "header", 0,
                          f"message is {n} bytes, shorter than the 8-byte header")
    typ, code, checksum, rest = _unpack(buf)
    return from_fields(buf, 0, n, typ, code, checksum, rest)


def from_fields(buf: bytes, start: int, end: int, typ: int, code: int, checksum: int,
                rest: bytes) -> ICMP:
    """Build a decoded value from header fields already unpacked and checked.

    The one place a received message's value is assembled: :func:`decode` calls it after its
    length check (``end - start >= 8``), ``decode_frame``'s fast path with the fields of its
    single unpack.

    Args:
        buf: the bytes the header was read from; the message is ``buf[start:end]``.
        typ, code, checksum: the header fields as on the wire.
        rest: the second 32-bit word, 4 bytes.
    """
    value = _blank()
    t = _TYPES.get(typ)
    value.type = t if t is not None else lookup(_TYPES, ICMPType, typ)
    value.code = code
    value.rest = rest
    value.data = buf[start + 8:end]
    value.checksum = checksum
    value._ck = (buf, start, end)  # checked on the first read of checksum_ok
    return value
