"""A streaming classic pcap writer (the libpcap format, draft-ietf-opsawg-pcap).

One global header (magic 0xa1b2c3d4 for microsecond timestamps, 0xa1b23c4d for nanosecond,
version 2.4, LINKTYPE_ETHERNET by default) then one record per frame. Like the pcapng writer it
buffers whole records only and writes them out past 64 KiB, on flush and on close.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from ..sim.units import NS_PER_S
from ._blockfile import FLUSH_THRESHOLD, BlockFile

__all__ = ["PcapWriter", "MAGIC_USEC", "MAGIC_NSEC"]

MAGIC_USEC = 0xA1B2C3D4
MAGIC_NSEC = 0xA1B23C4D

_HEADER = struct.Struct("<IHHiIII")   # magic, major, minor, thiszone, sigfigs, snaplen, linktype
_RECORD = struct.Struct("<IIII")      # ts seconds, ts fraction, incl_len, orig_len


class PcapWriter(BlockFile):
    """Write frames to a classic pcap file.

    Args:
        path_or_file: a path to create or a binary file object (left open by :meth:`close`).
        nanosecond: nanosecond timestamps (magic 0xa1b23c4d); False truncates to microseconds.
        linktype: LINKTYPE_* of every frame (1 = Ethernet).
        snaplen: longest frame stored; longer frames are cut, their original length kept.
    """

    __slots__ = ("_div", "_snaplen")

    def __init__(self, path_or_file: str | object | BinaryIO, nanosecond: bool = True,
                 linktype: int = 1, snaplen: int = 262144):
        super().__init__(path_or_file)
        self._div = 1 if nanosecond else 1000
        self._snaplen = snaplen
        magic = MAGIC_NSEC if nanosecond else MAGIC_USEC
        self._buf += _HEADER.pack(magic, 2, 4, 0, 0, snaplen, linktype)

    def write(self, time_ns: int, frame: bytes) -> None:
        """Append one frame.

        Args:
            time_ns: capture time in nanoseconds, 0 <= seconds < 2**32.
            frame: the link-layer bytes.

        Raises:
            ValueError: a timestamp out of range, or a closed writer.
        """
        if self._closed:
            raise ValueError("I/O operation on a closed PcapWriter")
        seconds, frac = divmod(time_ns, NS_PER_S)
        if not 0 <= seconds <= 0xFFFFFFFF:
            raise ValueError(f"timestamp {time_ns} ns does not fit a pcap record")
        orig_len = len(frame)
        if orig_len > self._snaplen:
            frame = frame[:self._snaplen]
        buf = self._buf
        buf += _RECORD.pack(seconds, frac // self._div, len(frame), orig_len)
        buf += frame
        self.frames_written += 1
        if len(buf) >= FLUSH_THRESHOLD:
            self._file.write(buf)
            buf.clear()
