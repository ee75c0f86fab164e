"""Out-of-order segment storage for the receive side (RFC 9293 section 3.10.7.4, "text").

Positions are *stream offsets* (an unwrapped count of bytes since the first data byte), so
nothing here cares about 32-bit wraparound. Overlapping pieces are trimmed on insert: the
store holds disjoint, sorted, non-adjacent-merged ranges.
"""

from __future__ import annotations

import bisect

__all__ = ["Reassembler"]


class Reassembler:
    """Holds data that arrived beyond the next expected byte until the gap fills."""

    __slots__ = ("_starts", "_chunks")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._chunks: list[bytes] = []

    def __len__(self) -> int:
        return sum(len(c) for c in self._chunks)

    def __bool__(self) -> bool:
        return bool(self._starts)

    @property
    def segments(self) -> list[tuple[int, int]]:
        """The held ranges as ``[(start, end), ...]`` (end exclusive)."""
        return [(s, s + len(c)) for s, c in zip(self._starts, self._chunks)]

    def add(self, start: int, data: bytes) -> None:
        """Store ``data`` at stream offset ``start``, keeping what was already held.

        Args:
            start: stream offset of ``data[0]``.
            data: the bytes (may overlap held ranges; overlaps are trimmed).
        """
        end = start + len(data)
        if not data:
            return
        i = bisect.bisect_left(self._starts, start)
        # Merge with the neighbour on the left when it reaches us.
        if i > 0 and self._starts[i - 1] + len(self._chunks[i - 1]) >= start:
            i -= 1
        pieces = []
        while i < len(self._starts) and self._starts[i] <= end:
            pieces.append((self._starts.pop(i), self._chunks.pop(i)))
        # The union is contiguous; held bytes win where they overlap (first copy kept).
        lo = min([start] + [s for s, _ in pieces])
        hi = max([end] + [s + len(c) for s, c in pieces])
        buf = bytearray(hi - lo)
        buf[start - lo:end - lo] = data
        for s, c in pieces:
            buf[s - lo:s - lo + len(c)] = c
        self._starts.insert(i, lo)
        self._chunks.insert(i, bytes(buf))

    def overlap(self, start: int, end: int) -> tuple[int, int] | None:
        """The first part of ``[start, end)`` already held, as ``(start, end)``, or None."""
        i = max(bisect.bisect_right(self._starts, start) - 1, 0)
        for s, c in zip(self._starts[i:], self._chunks[i:]):
            if s >= end:
                break
            lo, hi = max(s, start), min(s + len(c), end)
            if lo < hi:
                return lo, hi
        return None

    def pop_from(self, offset: int) -> bytes:
        """Remove and return the bytes contiguous from ``offset`` (possibly empty).

        Held data entirely before ``offset`` is discarded; a range straddling it is trimmed.

        Args:
            offset: the next expected stream offset.

        Returns:
            the bytes starting exactly at ``offset``, as far as they are contiguous.
        """
        while self._starts and self._starts[0] + len(self._chunks[0]) <= offset:
            del self._starts[0]
            del self._chunks[0]
        if not self._starts or self._starts[0] > offset:
            return b""
        s, c = self._starts.pop(0), self._chunks.pop(0)
        return c[offset - s:]
