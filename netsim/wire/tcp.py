"""TCP segments (RFC 9293 section 3.1) with options as scapy-style (name, value) pairs.

Wire layout::

    offset  size  field
    0       2     source port
    2       2     destination port
    4       4     sequence number
    8       4     acknowledgment number
    12      1     data offset (4 bits, header length in 32-bit words, >= 5) | reserved (3 bits)
                  | NS/AE (1 bit, kept as flag 0x100)
    13      1     flags CWR ECE URG ACK PSH RST SYN FIN
    14      2     window
    16      2     checksum over pseudo-header + segment
    18      2     urgent pointer
    20      ...   options (data offset * 4 - 20 bytes)

Options (RFC 9293 3.2, RFC 7323, RFC 2018): ("EOL", None), ("NOP", None), ("MSS", 1460),
("WScale", 7), ("SAckOK", b""), ("SAck", ((left, right), ...)), ("Timestamp", (tsval, tsecr)),
and (kind, raw_bytes) for any other kind. Zero bytes after an EOL are padding and not kept.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from functools import partial
from typing import Any

from ._base import LazySegmentChecksum, blank, pack_error
from .addr import _ip_int_get, ip_to_int
from .checksum import internet_checksum, pseudo_sum, segment_ok
from .errors import DecodeError

__all__ = ["TCP", "decode", "from_fields", "flags_str", "tcp_option", "encode_options",
           "decode_options", "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS",
           "TCP_HEADER_LEN", "OPTION_KINDS"]

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
ECE = 0x40
CWR = 0x80
NS = 0x100  # ECN nonce (RFC 3540, historic), now AE (RFC 9768): bit 8 of the flags field

TCP_HEADER_LEN = 20
_PROTO_TCP = 6

_HDR = struct.Struct("!HHIIBBHHH")
_unpack = _HDR.unpack_from
_pack = _HDR.pack
_U16 = struct.Struct("!H")
_TS = struct.Struct("!II")
_FLAG_NAMES = (("FIN", FIN), ("SYN", SYN), ("RST", RST), ("PSH", PSH), ("ACK", ACK),
               ("URG", URG), ("ECE", ECE), ("CWR", CWR), ("NS", NS))

#: option kind numbers by scapy-style name
OPTION_KINDS = {"EOL": 0, "NOP": 1, "MSS": 2, "WScale": 3, "SAckOK": 4, "SAck": 5,
                "Timestamp": 8}

_FLAGS_STR_CACHE: dict[int, str] = {}
_OPT_CACHE: dict[bytes, tuple[tuple[Any, Any], ...]] = {}
_NOP = ("NOP", None)
_NOP_NOP_TS = b"\x01\x01\x08\x0a"  # NOP, NOP, Timestamp kind 8 length 10 (RFC 7323 app. A)


def flags_str(flags: int) -> str:
    """Return ``"SYN,ACK"`` for the flags set, in bit order (FIN first), or ``""``."""
    text = _FLAGS_STR_CACHE.get(flags)
    if text is None:
        text = ",".join(name for name, bit in _FLAG_NAMES if flags & bit)
        if len(_FLAGS_STR_CACHE) < 1024:
            _FLAGS_STR_CACHE[flags] = text
    return text


def tcp_option(options: Iterable[tuple[Any, Any]], name: str | int) -> Any:
    """Return the value of the first option called ``name`` (or of that kind number), else None."""
    for key, value in options:
        if key == name:
            return value
    return None


def encode_options(options: Iterable[tuple[Any, Any]]) -> bytes:
    """Encode option pairs, padded with zeros (EOL) to a multiple of 4 bytes.

    Raises:
        ValueError: an unknown option name, a value out of range, or more than 40 bytes.
    """
    if (type(options) is tuple and len(options) == 3 and options[2][0] == "Timestamp"
            and options[0] == options[1] == _NOP):
        try:  # most segments once RFC 7323 timestamps are on (decode has the same path)
            return _NOP_NOP_TS + _TS.pack(*options[2][1])
        except struct.error:
            pass  # out of range: the general path below raises the ValueError
    out = bytearray()
    for name, value in options:
        if name == "NOP":
            out.append(1)
        elif name == "EOL":
            out.append(0)
        elif name == "MSS":
            out += b"\x02\x04" + _U16.pack(value)
        elif name == "WScale":
            out += bytes((3, 3, value))
        elif name == "SAckOK":
            out += b"\x04\x02" + bytes(value or b"")
        elif name == "SAck":
            out += bytes((5, 2 + 8 * len(value)))
            for left, right in value:
                out += _TS.pack(left, right)
        elif name == "Timestamp":
            out += b"\x08\x0a" + _TS.pack(*value)
        elif isinstance(name, int) and not isinstance(name, bool) and 0 <= name <= 255:
            raw = bytes(value or b"")
            if len(raw) > 253:
                raise ValueError(f"TCP option kind {name}: {len(raw)} bytes of data is too long")
            out += bytes((name, 2 + len(raw))) + raw
        else:
            raise ValueError(f"TCP: unknown option {name!r}; use a kind number with raw bytes")
    if len(out) & 3:
        out += bytes(4 - (len(out) & 3))
    if len(out) > 40:
        raise ValueError(f"TCP: options take {len(out)} bytes, more than the 40 allowed")
    return bytes(out)


def _opt_error(field: str, offset: int, message: str) -> DecodeError:
    return DecodeError("TCP", field, offset, message)


def decode_options(buf: bytes, start: int, end: int) -> tuple[tuple[Any, Any], ...]:
    """Decode the options in ``buf[start:end]`` (offsets in errors are relative to the header).

    Raises:
        DecodeError: a kind without a length byte, a length below 2 or running past the header,
            or a known option with the wrong length.
    """
    if end - start == 12 and buf[start:start + 4] == _NOP_NOP_TS:  # most segments
        return (_NOP, _NOP, ("Timestamp", _TS.unpack_from(buf, start + 4)))
    raw = buf[start:end]
    cached = _OPT_CACHE.get(raw)
    if cached is not None:
        return cached
    opts: list[tuple[Any, Any]] = []
    i = start
    while i < end:
        kind = buf[i]
        if kind == 1:
            opts.append(("NOP", None))
            i += 1
            continue
        if kind == 0:
            opts.append(("EOL", None))
            break  # RFC 9293 3.2: the rest of the header is padding
        if i + 1 >= end:
            raise _opt_error("options", i, f"option kind {kind} has no length byte")
        length = buf[i + 1]
        if length < 2:
            raise _opt_error("options", i + 1, f"option kind {kind} has length {length} < 2")
        if i + length > end:
            raise _opt_error("options", i + 1, f"option kind {kind} length {length} runs past "
                             f"the header end at {end}")
        if kind == 2:
            if length != 4:
                raise _opt_error("options.MSS", i + 1, f"MSS option length {length} is not 4")
            opts.append(("MSS", (buf[i + 2] << 8) | buf[i + 3]))
        elif kind == 3:
            if length != 3:
                raise _opt_error("options.WScale", i + 1,
                                 f"window scale option length {length} is not 3")
            opts.append(("WScale", buf[i + 2]))
        elif kind == 4:
            if length != 2:
                raise _opt_error("options.SAckOK", i + 1,
                                 f"SACK-permitted option length {length} is not 2")
            opts.append(("SAckOK", b""))
        elif kind == 5:
            if (length - 2) % 8:
                raise _opt_error("options.SAck", i + 1,
                                 f"SACK option length {length} is not 2 + 8*n")
            blocks = tuple(_TS.unpack_from(buf, j) for j in range(i + 2, i + length, 8))
            opts.append(("SAck", blocks))
        elif kind == 8:
            if length != 10:
                raise _opt_error("options.Timestamp", i + 1,
                                 f"timestamp option length {length} is not 10")
            opts.append(("Timestamp", _TS.unpack_from(buf, i + 2)))
        else:
            opts.append((kind, bytes(buf[i + 2:i + length])))
        i += length
    result = tuple(opts)
    if not any(name in ("Timestamp", "SAck") for name, _ in result):  # values that repeat
        if len(_OPT_CACHE) >= 512:
            _OPT_CACHE.clear()
        _OPT_CACHE[raw] = result
    return result


# checksum_ok's check: segment_ok for protocol 6 (a partial runs in C: no Python frame).
_verify = partial(segment_ok, proto=_PROTO_TCP)
_from_bytes = int.from_bytes


class TCP(LazySegmentChecksum):
    """A TCP segment.

    Args:
        sport, dport: ports.
        seq, ack: sequence and acknowledgment numbers (32 bits).
        flags: OR of FIN SYN RST PSH ACK URG ECE CWR (and NS=0x100).
        window: the raw 16-bit window field (unscaled).
        payload: segment data.
        options: scapy-style option pairs, see the module docstring.
        urgent: urgent pointer.
        data_offset, checksum: computed on encode when None; decode keeps the received ones.
        reserved: the 3 reserved header bits.
    """

    __slots__ = ("sport", "dport", "seq", "ack", "flags", "window", "payload", "options",
                 "urgent", "data_offset", "checksum", "reserved", "_ck")
    _fields = __slots__[:-1]
    _verify = staticmethod(_verify)
    _derived = ("data_offset", "checksum")
    layer_name = "Transmission Control Protocol"

    def __init__(self, sport: int, dport: int, seq: int = 0, ack: int = 0, flags: int = 0,
                 window: int = 0, payload: bytes = b"", options: tuple = (), urgent: int = 0,
                 data_offset: int | None = None, checksum: int | None = None, reserved: int = 0):
        self.sport = sport
        self.dport = dport
        self.seq = seq
        self.ack = ack
        self.flags = flags
        self.window = window
        self.payload = payload
        self.options = tuple(options)
        self.urgent = urgent
        self.data_offset = data_offset
        self.checksum = checksum
        self.reserved = reserved
        self._ck: bool | None | tuple = None

    @classmethod
    def decode(cls, buf: bytes, src_ip: str | None = None, dst_ip: str | None = None) -> TCP:
        """Decode a segment; see :func:`decode`."""
        return decode(buf, src_ip, dst_ip)

    def option(self, name: str | int) -> Any:
        """Return the value of option ``name`` or None (see :func:`tcp_option`)."""
        return tcp_option(self.options, name)

    @property
    def flags_str(self) -> str:
        """The flags as ``"SYN,ACK"``."""
        return flags_str(self.flags)

    @property
    def seg_len(self) -> int:
        """Sequence space used: data length plus one for SYN and one for FIN."""
        return len(self.payload) + (self.flags & SYN and 1) + (self.flags & FIN and 1)

    def encode(self, src_ip: str | None = None, dst_ip: str | None = None) -> bytes:
        """Return the segment bytes.

        Args:
            src_ip, dst_ip: addresses for the pseudo-header checksum; when either is None and
                ``checksum`` is None, the checksum field is 0.

        Raises:
            ValueError: bad options, data offset too small for the options, or a field out of
                range.
        """
        payload = self.payload
        if (not self.options and self.data_offset is None and self.checksum is None
                and src_ip is not None and dst_ip is not None and type(payload) is bytes
                and not self.reserved and 0 <= self.flags <= 0xFF):
            # The usual segment: the same bytes, one copy of the payload instead of three
            # (tests/wire/test_tcp_fast_paths.py compares this with the general path). The
            # checksum (RFC 1071, RFC 9293 3.1) is summed in parts: the 20-byte header has an
            # even length, so the payload's 16-bit words stay aligned and the ones'-complement
            # sum of the whole is the sum of the parts' (an odd payload is padded with a zero
            # byte, that is, shifted left by 8 bits).
            sport, dport, seq, ack = self.sport, self.dport, self.seq, self.ack
            flags, window, urgent = self.flags, self.window, self.urgent
            try:
                head = _pack(sport, dport, seq, ack, 0x50, flags, window, 0, urgent)
            except (struct.error, OverflowError) as exc:
                raise pack_error("TCP", exc) from None
            n = len(payload)
            body = _from_bytes(payload, "big")
            total = (_from_bytes(head, "big") + (body << 8 if n & 1 else body)
                     + (_ip_int_get(src_ip) or ip_to_int(src_ip))
                     + (_ip_int_get(dst_ip) or ip_to_int(dst_ip)) + _PROTO_TCP + 20 + n)
            folded = total % 0xFFFF  # never 0 from a zero sum: the protocol number is in it
            checksum = 0xFFFF - folded if folded else 0  # ~ones_sum() & 0xFFFF (0 sums to 0xFFFF)
            return _pack(sport, dport, seq, ack, 0x50, flags, window, checksum, urgent) + payload
        opts = encode_options(self.options) if self.options else b""
        doff = self.data_offset
        if doff is None:
            doff = 5 + (len(opts) >> 2)
        else:
            room = doff * 4 - 20
            if not 5 <= doff <= 15 or room < len(opts):
                raise ValueError(f"TCP: data_offset {doff} cannot hold {len(opts)} option bytes")
            opts += bytes(room - len(opts))
        flags = self.flags
        if not 0 <= flags <= 0x1FF or not 0 <= self.reserved <= 7:
            raise ValueError("TCP: flags must fit 9 bits and reserved 3 bits")
        b12 = (doff << 4) | (self.reserved << 1) | (flags >> 8)
        try:
            checksum = self.checksum
            if checksum is None:
                head = _pack(self.sport, self.dport, self.seq, self.ack, b12, flags & 0xFF,
                             self.window, 0, self.urgent)
                if src_ip is None or dst_ip is None:
                    return b"".join((head, opts, self.payload))
                data = b"".join((head, opts, self.payload))
                checksum = internet_checksum(data, pseudo_sum(src_ip, dst_ip, _PROTO_TCP,
                                                              len(data)))
                return b"".join((data[:16], checksum.to_bytes(2, "big"), data[18:]))
            head = _pack(self.sport, self.dport, self.seq, self.ack, b12, flags & 0xFF,
                         self.window, checksum, self.urgent)
        except (struct.error, OverflowError) as exc:
            raise pack_error("TCP", exc) from None
        return b"".join((head, opts, self.payload))

    def summary(self) -> str:
        """Wireshark-style text, e.g. ``49152 -> 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460``."""
        parts = [f"{self.sport} -> {self.dport} [{flags_str(self.flags).replace(',', ', ')}]",
                 f"Seq={self.seq}"]
        if self.flags & ACK:
            parts.append(f"Ack={self.ack}")
        parts.append(f"Win={self.window}")
        if self.flags & URG:
            parts.append(f"Urg={self.urgent}")
        parts.append(f"Len={len(self.payload)}")
        parts.extend(_option_text(name, value) for name, value in self.options
                     if name not in ("NOP", "EOL"))
        return " ".join(parts)

    def describe(self) -> list[str]:
        """Tree lines."""
        doff = self.data_offset if self.data_offset is not None else \
            5 + len(encode_options(self.options)) // 4
        if self.checksum is None:
            ck = "Checksum: (computed on encode)"
        else:
            status = {True: "correct", False: "incorrect", None: "unverified"}[self.checksum_ok]
            ck = f"Checksum: 0x{self.checksum:04x} [{status}]"
        lines = [f"Source port: {self.sport}", f"Destination port: {self.dport}",
                 f"Sequence number: {self.seq}", f"Acknowledgment number: {self.ack}",
                 f"Header length: {doff * 4} bytes ({doff})",
                 f"Flags: 0x{self.flags:03x} ({flags_str(self.flags) or 'none'})",
                 f"Window: {self.window}", ck, f"Urgent pointer: {self.urgent}"]
        if self.options:
            lines.append("Options: " + ", ".join(_option_text(n, v) for n, v in self.options))
        lines.append(f"Data: {len(self.payload)} bytes")
        return lines


def _option_text(name: Any, value: Any) -> str:
    if name == "MSS":
        return f"MSS={value}"
    if name == "WScale":
        return f"WS={1 << min(value, 14)}"
    if name == "SAckOK":
        return "SACK_PERM"
    if name == "Timestamp":
        return f"TSval={value[0]} TSecr={value[1]}"
    if name == "SAck":
        return " ".join(f"SLE={left} SRE={right}" for left, right in value)
    if name in ("NOP", "EOL"):
        return name
    return f"opt{name}={bytes(value).hex()}"


_blank = blank(TCP)


def decode(buf: bytes, src_ip: str | None = None, dst_ip: str | None = None) -> TCP:
    """Decode a TCP segment (the whole IP payload: TCP has no length field).

    Args:
        buf: the segment.
        src_ip, dst_ip: when given, the checksum is verified over the pseudo-header.

    Returns:
        A :class:`TCP`; ``checksum_ok`` is None when no addresses were given.

    Raises:
        DecodeError: truncated header, data offset below 5 or beyond the segment, malformed
            options.
    """
    if type(buf) is not bytes:
        buf = bytes(buf)
    n = len(buf)
    if n < 20:
        raise DecodeError("TCP", "header", 0,
                          f"segment is {n} bytes, shorter than the 20-byte header")
    sport, dport, seq, ack, b12, b13, window, checksum, urgent = _unpack(buf)
    hl = (b12 >> 4) << 2
    if hl < 20:
        raise DecodeError("TCP", "data_offset", 12,
                          f"data offset {hl >> 2} words is below the minimum 5")
    if hl > n:
        raise DecodeError("TCP", "data_offset", 12,
                          f"header length {hl} bytes exceeds the {n}-byte segment")
    return from_fields(buf, 0, n, sport, dport, seq, ack, b12, b13, window, checksum, urgent,
                       decode_options(buf, 20, hl) if hl != 20 else (), src_ip, dst_ip)


def from_fields(buf: bytes, start: int, end: int, sport: int, dport: int, seq: int, ack: int,
                b12: int, b13: int, window: int, checksum: int, urgent: int,
                options: tuple[tuple[Any, Any], ...], src_ip: str | None = None,
                dst_ip: str | None = None, addrs_before: bool = False) -> TCP:
    """Build a decoded value from header fields already unpacked and checked.

    The one place a received segment's value is assembled: :func:`decode` calls it after its
    checks (``20 <= data offset * 4 <= end - start``, options parsed), ``decode_frame``'s fast
    path with the fields of its single unpack.

    Args:
        buf: the bytes the header was read from; the segment is ``buf[start:end]``.
        b12, b13: header bytes 12 (data offset, reserved, NS) and 13 (the other flags).
        sport, dport, seq, ack, window, checksum, urgent: the header fields as on the wire.
        options: the decoded options.
        src_ip, dst_ip: the addresses for the lazy checksum check (None: not checkable).
        addrs_before: instead, ``buf[start - 8:start]`` are the IPv4 source and destination
            addresses (an IPv4 header without options precedes the segment): they are summed
            as they stand (see ``checksum.segment_ok``).
    """
    hl = (b12 >> 4) << 2
    value = _blank()
    value.options = options
    value.sport = sport
    value.dport = dport
    value.seq = seq
    value.ack = ack
    value.flags = ((b12 & 1) << 8) | b13
    value.reserved = (b12 >> 1) & 7
    value.window = window
    value.payload = buf[start + hl:end]
    value.urgent = urgent
    value.data_offset = hl >> 2
    value.checksum = checksum
    if addrs_before:
        value._ck = (buf, start - 8, end, None, None)
    else:
        value._ck = None if src_ip is None or dst_ip is None else (buf, start, end, src_ip, dst_ip)
    return value
