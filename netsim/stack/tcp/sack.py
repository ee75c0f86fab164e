"""Selective acknowledgments: the sender's scoreboard (RFC 6675) and the receiver's blocks
(RFC 2018, with RFC 2883 D-SACK).

The scoreboard works on *stream offsets* (unwrapped byte counts, as the reassembler does),
so no comparison here cares about 32-bit wraparound; the connection converts sequence
numbers at the edge. Terms follow RFC 6675 section 2: HighACK (``una``), HighData (``high``),
HighRxt (``high_rxt``), DupThresh (3).
"""

from __future__ import annotations

import bisect

__all__ = ["Scoreboard", "DUP_THRESH", "receiver_blocks"]

DUP_THRESH = 3  # RFC 6675 section 2 / RFC 5681 3.2


class Scoreboard:
    """The SACKed ranges above the cumulative ACK, as sorted disjoint ``[start, end)``.

    Attributes:
        starts, ends: parallel sorted lists of the SACKed ranges.
    """

    __slots__ = ("starts", "ends")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def __bool__(self) -> bool:
        return bool(self.starts)

    def __repr__(self) -> str:
        return f"<Scoreboard {list(zip(self.starts, self.ends))}>"

    @property
    def sacked(self) -> int:
        """Bytes SACKed in total."""
        return sum(e - s for s, e in zip(self.starts, self.ends))

    def clear(self) -> None:
        """Forget every SACK (RFC 2018 section 8: after a timeout the receiver may renege)."""
        self.starts.clear()
        self.ends.clear()

    def add(self, start: int, end: int) -> int:
        """Record a SACKed range; returns how many of its bytes were not SACKed before."""
        if end <= start:
            return 0
        starts, ends = self.starts, self.ends
        i = bisect.bisect_left(ends, start)      # first range reaching start
        j = bisect.bisect_right(starts, end)     # ranges i..j-1 touch [start, end)
        covered = sum(max(min(e, end) - max(s, start), 0)
                      for s, e in zip(starts[i:j], ends[i:j]))
        new = end - start - covered
        if i < j:
            start, end = min(start, starts[i]), max(end, ends[j - 1])
        starts[i:j] = [start]
        ends[i:j] = [end]
        return new

    def trim(self, una: int) -> None:
        """Drop what the cumulative ACK ``una`` now covers."""
        starts, ends = self.starts, self.ends
        while starts and ends[0] <= una:
            del starts[0]
            del ends[0]
        if starts and starts[0] < una:
            starts[0] = una

    def is_sacked(self, off: int) -> int | None:
        """The end of the SACKed range holding ``off``, or None when ``off`` is not SACKed."""
        i = bisect.bisect_right(self.starts, off) - 1
        if i >= 0 and off < self.ends[i]:
            return self.ends[i]
        return None

    def is_lost(self, off: int, mss: int) -> bool:
        """RFC 6675 IsLost(off): DupThresh discontiguous SACKed ranges, or more than
        (DupThresh - 1) * SMSS SACKed bytes, lie above ``off``."""
        above = ranges = 0
        for s, e in zip(self.starts, self.ends):
            if e > off + 1:
                above += e - max(s, off + 1)
                ranges += 1
        return above > (DUP_THRESH - 1) * mss or ranges >= DUP_THRESH

    def holes(self, una: int, high: int):
        """Yield the unSACKed ranges ``(start, end)`` between ``una`` and ``high``."""
        pos = una
        for s, e in zip(self.starts, self.ends):
            if e <= pos:
                continue
            if s > pos:
                yield pos, min(s, high)
            pos = max(pos, e)
            if pos >= high:
                return
        if pos < high:
            yield pos, high

    def pipe(self, una: int, high: int, high_rxt: int, mss: int) -> int:
        """RFC 6675 SetPipe: bytes the sender believes are still in the network.

        An unSACKed byte counts once unless it is presumed lost, and once more if it was
        retransmitted (it lies below HighRxt).
        """
        pipe = 0
        for s, e in self.holes(una, high):
            if not self.is_lost(s, mss):
                pipe += e - s
            if s < high_rxt:
                pipe += min(e, high_rxt) - s
        return pipe

    def next_lost(self, una: int, high: int, high_rxt: int, mss: int) -> tuple[int, int] | None:
        """RFC 6675 NextSeg rule (1): the first unSACKed range above HighRxt that IsLost."""
        for s, e in self.holes(una, high):
            s = max(s, high_rxt)
            if s < e and self.is_lost(s, mss):
                return s, min(e, s + mss)
        return None

    def next_unsacked(self, una: int, high: int, high_rxt: int,
                      mss: int) -> tuple[int, int] | None:
        """NextSeg rule (3): an unSACKed range above HighRxt with SACKed data above it."""
        if not self.starts:
            return None
        top = self.ends[-1]
        for s, e in self.holes(una, min(high, top)):
            s = max(s, high_rxt)
            if s < e:
                return s, min(e, s + mss)
        return None


def receiver_blocks(held: list[tuple[int, int]], recent: list[int],
                    limit: int) -> list[tuple[int, int]]:
    """The SACK blocks a receiver reports, in RFC 2018 section 4 order.

    The first block holds the most recently received segment; the others repeat the most
    recently reported blocks, then any other held ranges, up to ``limit`` blocks.

    Args:
        held: the out-of-order ranges held, as stream offsets ``(start, end)``.
        recent: stream offsets of recently received out-of-order segments, newest first.
        limit: the most blocks that fit in the option space.
    """
    out: list[tuple[int, int]] = []
    for off in recent:
        for rng in held:
            if rng[0] <= off < rng[1] and rng not in out:
                out.append(rng)
                break
        if len(out) >= limit:
            return out
    for rng in reversed(held):
        if rng not in out:
            out.append(rng)
            if len(out) >= limit:
                break
    return out
