"""The streaming part both capture writers share: whole records buffered, then written.

A writer appends complete records (pcap records, pcapng blocks) to ``_buf``; the buffer goes to
the file when it passes ``FLUSH_THRESHOLD`` and on ``flush``/``close``. The file is opened
unbuffered, so only whole records ever reach it: a run that dies half way leaves a file that
reads cleanly up to the last record written.
"""

from __future__ import annotations

from typing import Any, BinaryIO

__all__ = ["BlockFile", "FLUSH_THRESHOLD"]

FLUSH_THRESHOLD = 64 * 1024


class BlockFile:
    """Owns (or borrows) the output file and the buffer of complete records."""

    __slots__ = ("_file", "_owns_file", "_buf", "_closed", "frames_written")

    def __init__(self, path_or_file: str | bytes | Any | BinaryIO):
        if hasattr(path_or_file, "write"):
            self._file = path_or_file
            self._owns_file = False
        else:
            self._file = open(path_or_file, "wb", buffering=0)
            self._owns_file = True
        self._buf = bytearray()
        self._closed = False
        self.frames_written = 0

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"I/O operation on a closed {type(self).__name__}")

    def flush(self) -> None:
        """Write out every complete record buffered so far and flush the file object."""
        self._check_open()
        self._drain()

    def close(self) -> None:
        """Flush, then close the file if this writer opened it. Closing twice is harmless."""
        if self._closed:
            return
        try:
            self._drain()
        finally:
            self._closed = True
            if self._owns_file:
                self._file.close()

    def _drain(self) -> None:
        if self._buf:
            self._file.write(self._buf)
            self._buf.clear()
        flush = getattr(self._file, "flush", None)
        if flush is not None:
            flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
