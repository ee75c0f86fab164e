"""A streaming pcapng writer (draft-ietf-opsawg-pcapng, the format Wireshark saves by default).

The file is one section: a section header block (SHB) naming the writer in ``shb_userappl``,
one interface description block (IDB) per captured interface with ``if_name``,
``if_description`` and ``if_tsresol`` = 9 (timestamps in nanoseconds), then one enhanced packet
block (EPB) per frame, optionally with ``opt_comment`` and ``epb_flags`` (direction).
IDBs may come after packets: the format allows an IDB anywhere in its section, as long as it
precedes the packets that refer to it.

Streaming and crash safety: every block is built whole in memory and appended to a private
buffer of complete blocks, which goes to the file (opened unbuffered) once it passes
:data:`FLUSH_THRESHOLD` bytes, on :meth:`PcapngWriter.flush` and on close. Frames are never all
held in memory, and the file only ever ends on a block boundary, so a run that dies half way
leaves a file readable up to the last block written out.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from ._blockfile import FLUSH_THRESHOLD, BlockFile

__all__ = ["PcapngWriter", "FLUSH_THRESHOLD", "LINKTYPE_ETHERNET"]

LINKTYPE_ETHERNET = 1

# Block types (pcapng section 4 and 11.1).
BT_SHB = 0x0A0D0D0A
BT_IDB = 0x00000001
BT_EPB = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D

# Option codes (pcapng section 3.5 and the per-block option tables).
OPT_ENDOFOPT = 0
OPT_COMMENT = 1
SHB_USERAPPL = 4
IF_NAME = 2
IF_DESCRIPTION = 3
IF_TSRESOL = 9
EPB_FLAGS = 2
# epb_flags bits 0-1: 00 unknown, 01 inbound, 10 outbound (pcapng section 4.3.1).
DIRECTION_FLAGS = {"in": 1, "out": 2}

# Little-endian: the byte order of the machine that writes is allowed, we pick one for
# byte-identical captures across hosts.
_U32 = struct.Struct("<I")
_OPT_HDR = struct.Struct("<HH")
_SHB_HEAD = struct.Struct("<IIIHHq")          # type, length, magic, major, minor, section len
_IDB_BODY = struct.Struct("<HHI")             # linktype, reserved, snaplen
_EPB_HEAD = struct.Struct("<IIIIIII")         # type, length, if_id, ts hi, ts lo, caplen, len
_EPB_FLAGS_OPT = {d: _OPT_HDR.pack(EPB_FLAGS, 4) + _U32.pack(v) for d, v in DIRECTION_FLAGS.items()}
_END_OPT = _OPT_HDR.pack(OPT_ENDOFOPT, 0)
_PAD = (b"", b"\0", b"\0\0", b"\0\0\0")
_TS_MAX = (1 << 64) - 1


def _option(code: int, value: bytes) -> bytes:
    """One option: code, length, value padded to 32 bits."""
    return _OPT_HDR.pack(code, len(value)) + value + _PAD[-len(value) & 3]


def _block(block_type: int, body: bytes) -> bytes:
    """A generic block: type, total length, body (already 32-bit aligned), total length."""
    total = len(body) + 12
    return _U32.pack(block_type) + _U32.pack(total) + body + _U32.pack(total)


class PcapngWriter(BlockFile):
    """Write frames to a pcapng file as they come.

    Args:
        path_or_file: a path to create (truncated if it exists) or a binary file object open for
            writing; a file object passed in is flushed but left open by :meth:`close`.
        userappl: the ``shb_userappl`` option of the section header.

    Use as a context manager, or call :meth:`close`::

        with PcapngWriter("demo.pcapng") as w:
            eth0 = w.add_interface("h1-eth0")
            w.write(eth0, 1_000, frame, comment="h1: CLOSED -> SYN_SENT", direction="out")
    """

    __slots__ = ("_snaplens",)

    def __init__(self, path_or_file: str | bytes | object | BinaryIO, userappl: str = "netsim"):
        super().__init__(path_or_file)
        self._snaplens: list[int] = []
        options = _option(SHB_USERAPPL, userappl.encode()) + _END_OPT
        head = _SHB_HEAD.pack(BT_SHB, 28 + len(options), BYTE_ORDER_MAGIC, 1, 0, -1)
        self._buf += head + options + _U32.pack(28 + len(options))

    def add_interface(self, name: str, description: str = "", linktype: int = LINKTYPE_ETHERNET,
                      snaplen: int = 262144) -> int:
        """Describe one captured interface.

        Args:
            name: ``if_name``, e.g. ``"h1-eth0"``.
            description: ``if_description`` (omitted when empty).
            linktype: LINKTYPE_* of its frames (1 = Ethernet).
            snaplen: longest frame stored; longer frames are cut (their original length kept).

        Returns:
            The interface id to pass to :meth:`write` (0, 1, ... in order of addition).

        Raises:
            ValueError: when the writer is closed or a value does not fit its field.
        """
        self._check_open()
        if not 0 <= linktype <= 0xFFFF or not 0 <= snaplen <= 0xFFFFFFFF:
            raise ValueError(f"linktype {linktype} or snaplen {snaplen} out of range")
        options = _option(IF_NAME, name.encode())
        if description:
            options += _option(IF_DESCRIPTION, description.encode())
        options += _option(IF_TSRESOL, b"\x09") + _END_OPT
        body = _IDB_BODY.pack(linktype, 0, snaplen) + options
        self._buf += _block(BT_IDB, body)
        # snaplen 0 means "no limit" (pcapng section 4.2).
        self._snaplens.append(snaplen or 0xFFFFFFFF)
        return len(self._snaplens) - 1

    def write(self, if_id: int, time_ns: int, frame: bytes, comment: str | None = None,
              direction: str | None = None) -> None:
        """Append one frame as an enhanced packet block.

        Args:
            if_id: an id returned by :meth:`add_interface`.
            time_ns: capture time in nanoseconds (virtual time), 0 <= time_ns < 2**64.
            frame: the link-layer bytes (no FCS for Ethernet).
            comment: ``opt_comment`` (Wireshark's packet comment), e.g. a TCP state change.
            direction: ``"in"`` or ``"out"`` (``epb_flags``), or None for unknown.

        Raises:
            ValueError: unknown interface, bad direction or timestamp, or a closed writer.
        """
        if self._closed:
            self._check_open()
        try:
            snaplen = self._snaplens[if_id]
        except (IndexError, TypeError):
            raise ValueError(f"unknown interface id {if_id!r}; call add_interface() first") from None
        if if_id < 0 or not 0 <= time_ns <= _TS_MAX:
            raise ValueError(f"bad interface id {if_id} or timestamp {time_ns}")
        orig_len = len(frame)
        if orig_len > snaplen:
            frame = frame[:snaplen]
        caplen = len(frame)
        pad = -caplen & 3
        if comment is None and direction is None:
            total = 32 + caplen + pad
            options = b""
        else:
            options = b""
            if comment is not None:
                options = _option(OPT_COMMENT, comment.encode())
            if direction is not None:
                try:
                    options += _EPB_FLAGS_OPT[direction]
                except KeyError:
                    raise ValueError(f"direction must be 'in', 'out' or None, not {direction!r}") from None
            options += _END_OPT
            total = 32 + caplen + pad + len(options)
        buf = self._buf
        buf += _EPB_HEAD.pack(BT_EPB, total, if_id, time_ns >> 32, time_ns & 0xFFFFFFFF,
                              caplen, orig_len)
        buf += frame
        buf += _PAD[pad]
        if options:
            buf += options
        buf += _U32.pack(total)
        self.frames_written += 1
        if len(buf) >= FLUSH_THRESHOLD:
            self._file.write(buf)
            buf.clear()
