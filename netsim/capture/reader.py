"""Read pcap and pcapng captures, ours or anyone's (tcpdump, Wireshark, scapy), frame by frame.

:func:`read_capture` detects the format from the first four bytes and streams
:class:`CapturedFrame` values, converting every timestamp to integer nanoseconds.

pcapng (draft-ietf-opsawg-pcapng): both byte orders (per section), several sections (interface
ids restart in each), interface description blocks anywhere in a section, ``if_tsresol`` as a
power of 10 or of 2, ``if_tsoffset``, enhanced, simple and obsolete packet blocks, packet
comments and ``epb_flags`` directions. Unknown block types are skipped, as the format asks.

Classic pcap: the microsecond (0xa1b2c3d4) and nanosecond (0xa1b23c4d) magics in both byte
orders, and the "modified" 0xa1b2cd34 variant whose records carry 8 more bytes.

Errors: anything that does not parse raises :class:`netsim.wire.errors.DecodeError` with layer
``"pcapng"`` or ``"pcap"``, the field and the file offset. A file cut short is reported, not
hidden: every complete frame before the cut is yielded first, then a ``DecodeError`` (field
``"block"`` or ``"record"``) names the offset of the truncated block. A file that ends exactly on
a block boundary is complete and reads without error.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from ..sim.units import NS_PER_S
from ..wire.errors import DecodeError

__all__ = ["CapturedFrame", "read_capture"]

_SHB_TYPE = b"\x0a\x0d\x0d\x0a"     # the same bytes in both byte orders, on purpose
_BT_IDB, _BT_PB, _BT_SPB, _BT_EPB = 1, 2, 3, 6
_OPT_COMMENT, _IF_NAME, _IF_DESCRIPTION, _IF_TSRESOL, _IF_TSOFFSET = 1, 2, 3, 9, 14
_EPB_FLAGS = 2
_DIRECTIONS = (None, "in", "out", None)
_CHUNK = 1 << 20
# Structs per byte order, built once: the reader is on the path of every frame.
_U32 = {o: struct.Struct(o + "I") for o in "<>"}
_HEAD = {o: struct.Struct(o + "II") for o in "<>"}
_OPT = {o: struct.Struct(o + "HH") for o in "<>"}
_EPB = {o: struct.Struct(o + "IIIII") for o in "<>"}


class CapturedFrame(NamedTuple):
    """One frame read from a capture.

    ``if_id`` is the interface index within its pcapng section (0 for pcap); ``if_name`` is the
    interface's ``if_name`` option or None; ``direction`` is "in", "out" or None (unknown);
    ``orig_len`` is the length on the wire (``len(data)`` when the frame was not cut).
    """

    time_ns: int
    data: bytes
    if_id: int
    if_name: str | None
    comments: tuple[str, ...]
    linktype: int
    orig_len: int
    direction: str | None


class _Interface:
    __slots__ = ("linktype", "snaplen", "name", "mul", "div", "offset_ns")

    def __init__(self, linktype: int, snaplen: int):
        self.linktype = linktype
        self.snaplen = snaplen
        self.name: str | None = None
        self.mul, self.div = 1000, 1        # default if_tsresol: 10^-6 s
        self.offset_ns = 0

    def set_tsresol(self, value: int) -> None:
        # MSB clear: units of 10^-n s; MSB set: units of 2^-n s (pcapng section 4.2).
        exp = value & 0x7F
        if value & 0x80:
            self.mul, self.div = NS_PER_S, 1 << exp
        elif exp <= 9:
            self.mul, self.div = 10 ** (9 - exp), 1
        else:
            self.mul, self.div = 1, 10 ** (exp - 9)

    def time_ns(self, high: int, low: int) -> int:
        return ((high << 32 | low) * self.mul) // self.div + self.offset_ns


def read_capture(source: str | object | BinaryIO) -> Iterator[CapturedFrame]:
    """Stream the frames of a pcap or pcapng capture.

    Args:
        source: a path, or a binary file object positioned at the start of the capture.

    Returns:
        An iterator of :class:`CapturedFrame`, in file order.

    Raises:
        DecodeError: unknown magic, a corrupt or truncated block (raised after the complete
            frames before it were yielded).
        OSError: the file cannot be opened.
    """
    if hasattr(source, "read"):
        yield from _read_any(source)
    else:
        with open(source, "rb") as f:
            yield from _read_any(f)


def _read_any(f: BinaryIO) -> Iterator[CapturedFrame]:
    magic = f.read(4)
    if magic == _SHB_TYPE:
        yield from _read_pcapng(f)
        return
    if len(magic) == 4:
        for order in "<>":
            (value,) = struct.unpack(order + "I", magic)
            if value in _PCAP_MAGICS:
                yield from _read_pcap(f, order, value)
                return
    raise DecodeError("capture", "magic", 0,
                      f"not a pcap or pcapng file (first bytes {magic.hex() or 'empty'})")


def _read(f: BinaryIO, n: int) -> bytes:
    """Read up to ``n`` bytes without trusting ``n`` (a corrupt length must not allocate GiBs)."""
    if n <= _CHUNK:
        return f.read(n)
    parts = []
    while n > 0:
        chunk = f.read(min(n, _CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


# ---------------------------------------------------------------------------------------------
# pcapng

def _read_pcapng(f: BinaryIO) -> Iterator[CapturedFrame]:
    pos = 0                         # file offset of the current block
    head = _SHB_TYPE
    order = "<"
    ifaces: list[_Interface] = []
    while True:
        head += f.read(8 - len(head))
        if not head:
            return
        if head[:4] == _SHB_TYPE:
            order, length, body = _read_shb(f, head, pos)
            ifaces = []
        else:
            if len(head) < 8:
                _truncated(pos, len(head), 8)
            btype, length = _HEAD[order].unpack(head)
            if length < 12 or length & 3:
                _check_length(length, 12, pos)
            rest = _read(f, length - 8)
            if len(rest) < length - 8:
                _truncated(pos, 8 + len(rest), length)
            body = rest[:-4]
            if _U32[order].unpack_from(rest, length - 12)[0] != length:
                _check_trailer(rest[-4:], order, length, pos)
            if btype == _BT_EPB:
                yield _epb(body, order, ifaces, pos)
            elif btype == _BT_IDB:
                ifaces.append(_idb(body, order, pos))
            elif btype == _BT_SPB:
                yield _spb(body, order, ifaces, pos)
            elif btype == _BT_PB:
                yield _pb(body, order, ifaces, pos)
            # Any other block type (statistics, name resolution, custom...) is skipped.
        pos += length
        head = b""


def _truncated(pos: int, got: int, want: int) -> None:
    raise DecodeError("pcapng", "block", pos,
                      f"truncated block: the file ends after {got} of its {want} bytes")


def _check_length(length: int, minimum: int, pos: int) -> None:
    if length < minimum or length % 4:
        raise DecodeError("pcapng", "block_total_length", pos + 4,
                          f"block length {length} is not a multiple of 4 of at least {minimum}")


def _check_trailer(trailer: bytes, order: str, length: int, pos: int) -> None:
    (again,) = struct.unpack(order + "I", trailer)
    if again != length:
        raise DecodeError("pcapng", "block_total_length", pos + length - 4,
                          f"trailing block length {again} differs from the leading {length}")


def _read_shb(f: BinaryIO, head: bytes, pos: int) -> tuple[str, int, bytes]:
    """Section header block: the byte-order magic decides how the rest of the section reads."""
    magic = f.read(4)
    if len(head) < 8 or len(magic) < 4:
        _truncated(pos, len(head) + len(magic), 28)
    if magic == b"\x4d\x3c\x2b\x1a":
        order = "<"
    elif magic == b"\x1a\x2b\x3c\x4d":
        order = ">"
    else:
        raise DecodeError("pcapng", "byte_order_magic", pos + 8,
                          f"unknown byte-order magic {magic.hex()}")
    (length,) = struct.unpack(order + "I", head[4:8])
    _check_length(length, 28, pos)
    rest = _read(f, length - 12)
    if len(rest) < length - 12:
        _truncated(pos, 12 + len(rest), length)
    _check_trailer(rest[-4:], order, length, pos)
    major, minor = struct.unpack_from(order + "HH", rest, 0)
    if major != 1:
        raise DecodeError("pcapng", "major_version", pos + 12,
                          f"section version {major}.{minor} is not 1.x")
    return order, length, rest[:-4]


def _options(body: bytes, start: int, order: str, pos: int) -> Iterator[tuple[int, bytes]]:
    """Yield (code, value) until opt_endofopt or the end of the block body."""
    hdr = _OPT[order]
    i, end = start, len(body)
    while i < end:
        if end - i < 4:
            raise DecodeError("pcapng", "option", pos + 8 + i, "option header cut by block end")
        code, size = hdr.unpack_from(body, i)
        if code == 0:
            return
        i += 4
        if i + size > end:
            raise DecodeError("pcapng", "option_length", pos + 8 + i - 2,
                              f"option {code} of {size} bytes overruns its block")
        yield code, body[i:i + size]
        i += size + (-size & 3)


def _idb(body: bytes, order: str, pos: int) -> _Interface:
    if len(body) < 8:
        raise DecodeError("pcapng", "interface_description", pos + 8,
                          f"interface description body of {len(body)} bytes is below 8")
    linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", body, 0)
    iface = _Interface(linktype, snaplen)
    for code, value in _options(body, 8, order, pos):
        if code == _IF_NAME:
            iface.name = value.decode("utf-8", "replace").rstrip("\0")
        elif code == _IF_TSRESOL and len(value) >= 1:
            iface.set_tsresol(value[0])
        elif code == _IF_TSOFFSET and len(value) == 8:
            (seconds,) = struct.unpack(order + "q", value)
            iface.offset_ns = seconds * NS_PER_S
    return iface


def _interface(ifaces: list[_Interface], if_id: int, pos: int, field_offset: int) -> _Interface:
    if if_id >= len(ifaces):
        raise DecodeError("pcapng", "interface_id", pos + field_offset,
                          f"packet refers to interface {if_id}, only {len(ifaces)} described")
    return ifaces[if_id]


def _packet_options(body: bytes, start: int, order: str, pos: int
                    ) -> tuple[tuple[str, ...], str | None]:
    if start >= len(body):
        return (), None
    comments: list[str] = []
    direction = None
    for code, value in _options(body, start, order, pos):
        if code == _OPT_COMMENT:
            comments.append(value.decode("utf-8", "replace").rstrip("\0"))
        elif code == _EPB_FLAGS and len(value) == 4:
            (flags,) = struct.unpack(order + "I", value)
            direction = _DIRECTIONS[flags & 3]
    return tuple(comments), direction


def _epb(body: bytes, order: str, ifaces: list[_Interface], pos: int) -> CapturedFrame:
    if len(body) < 20:
        raise DecodeError("pcapng", "enhanced_packet", pos + 8,
                          f"enhanced packet body of {len(body)} bytes is below 20")
    if_id, high, low, caplen, orig_len = _EPB[order].unpack_from(body, 0)
    return _packet(body, order, ifaces, pos, if_id, high, low, caplen, orig_len)


def _pb(body: bytes, order: str, ifaces: list[_Interface], pos: int) -> CapturedFrame:
    """The obsolete packet block (type 2), still written by some old tools."""
    if len(body) < 20:
        raise DecodeError("pcapng", "packet", pos + 8,
                          f"packet block body of {len(body)} bytes is below 20")
    if_id, _drops, high, low, caplen, orig_len = struct.unpack_from(order + "HHIIII", body, 0)
    return _packet(body, order, ifaces, pos, if_id, high, low, caplen, orig_len)


def _packet(body: bytes, order: str, ifaces: list[_Interface], pos: int, if_id: int, high: int,
            low: int, caplen: int, orig_len: int) -> CapturedFrame:
    """The frame and options after the 20-byte fixed part of an enhanced or obsolete packet block."""
    iface = _interface(ifaces, if_id, pos, 8)
    end = 20 + caplen
    if end > len(body):
        raise DecodeError("pcapng", "captured_length", pos + 20,
                          f"captured length {caplen} overruns the {len(body) - 20}-byte block")
    comments, direction = _packet_options(body, end + (-caplen & 3), order, pos)
    return CapturedFrame(iface.time_ns(high, low), body[20:end], if_id, iface.name, comments,
                         iface.linktype, orig_len, direction)


def _spb(body: bytes, order: str, ifaces: list[_Interface], pos: int) -> CapturedFrame:
    """Simple packet block: interface 0, no timestamp (reported as 0), captured length implied."""
    if len(body) < 4:
        raise DecodeError("pcapng", "simple_packet", pos + 8, "simple packet block without length")
    iface = _interface(ifaces, 0, pos, 8)
    (orig_len,) = struct.unpack_from(order + "I", body, 0)
    caplen = min(orig_len, len(body) - 4)
    if iface.snaplen:
        caplen = min(caplen, iface.snaplen)
    return CapturedFrame(0, body[4:4 + caplen], 0, iface.name, (), iface.linktype, orig_len, None)


# ---------------------------------------------------------------------------------------------
# classic pcap

_PCAP_MAGICS = {0xA1B2C3D4: (1000, 16), 0xA1B23C4D: (1, 16), 0xA1B2CD34: (1000, 24)}


def _read_pcap(f: BinaryIO, order: str, magic: int) -> Iterator[CapturedFrame]:
    scale, record_size = _PCAP_MAGICS[magic]
    header = f.read(20)
    if len(header) < 20:
        raise DecodeError("pcap", "header", 0,
                          f"truncated header: the file ends after {4 + len(header)} of 24 bytes")
    major, _minor, _zone, _sigfigs, _snaplen, network = struct.unpack(order + "HHiIII", header)
    if major != 2:
        raise DecodeError("pcap", "version_major", 4, f"pcap version {major} is not 2")
    linktype = network & 0xFFFF   # upper bits may carry FCS information
    record = struct.Struct(order + "IIII")
    pos = 24
    while True:
        head = f.read(record_size)
        if not head:
            return
        if len(head) < record_size:
            raise DecodeError("pcap", "record", pos, f"truncated record header: the file ends "
                              f"after {len(head)} of its {record_size} bytes")
        seconds, frac, caplen, orig_len = record.unpack_from(head, 0)
        data = _read(f, caplen)
        if len(data) < caplen:
            raise DecodeError("pcap", "record", pos, f"truncated record: the file ends after "
                              f"{len(data)} of its {caplen} captured bytes")
        yield CapturedFrame(seconds * NS_PER_S + frac * scale, data, 0, None, (), linktype,
                            orig_len, None)
        pos += record_size + caplen
