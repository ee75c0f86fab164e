"""The event log: what happened, where and when, usable as a breakpoint predicate.

Every frame sent, received or dropped on any interface, and every event a protocol reports
(a TCP state change, an application message), becomes one :class:`TraceEvent`. Frame
summaries are decoded lazily, so keeping the log costs little until someone reads it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator

from ..sim.units import NS_PER_S, format_time

__all__ = ["TraceEvent", "TraceLog"]


class TraceEvent:
    """One thing that happened: ``kind`` is "tx", "rx", "drop", "state" or "app"."""

    __slots__ = ("time_ns", "node", "iface", "kind", "frame", "note", "_decoded")

    def __init__(self, time_ns: int, node: str, iface: str | None, kind: str,
                 frame: bytes | None = None, note: str | None = None):
        self.time_ns = time_ns
        self.node = node
        self.iface = iface
        self.kind = kind
        self.frame = frame
        self.note = note
        self._decoded = None

    @property
    def time(self) -> float:
        """Virtual time in seconds."""
        return self.time_ns / NS_PER_S

    @property
    def decoded(self):
        """The frame decoded with :func:`netsim.wire.decode_frame` (None for non-frame events)."""
        if self._decoded is None and self.frame is not None:
            from ..wire.frame import decode_frame
            self._decoded = decode_frame(self.frame)
        return self._decoded

    @property
    def summary(self) -> str:
        if self.frame is None:
            return self.note or ""
        try:
            return self.decoded.summary()
        except ValueError as exc:
            return f"[undecodable frame: {exc}]"

    def __repr__(self) -> str:
        where = f"{self.node}-{self.iface}" if self.iface else self.node
        note = f"  # {self.note}" if self.note and self.frame is not None else ""
        return f"{format_time(self.time_ns):>14} {where:<12} {self.kind:<5} {self.summary}{note}"


class TraceLog:
    """An append-only log of :class:`TraceEvent`, bounded to the last ``maxlen`` events.

    Subscribers see every event as it is appended, even ones that later fall off the end.
    """

    def __init__(self, maxlen: int | None = 200_000):
        self._events: deque[TraceEvent] = deque(maxlen=maxlen)
        self._subscribers: list[Callable[[TraceEvent], None]] = []
        self.total = 0

    def append(self, event: TraceEvent) -> None:
        self._events.append(event)
        self.total += 1
        for fn in self._subscribers:
            fn(event)

    def subscribe(self, fn: Callable[[TraceEvent], None]) -> Callable[[], None]:
        """Call ``fn(event)`` for each new event; returns a function that unsubscribes."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    def __iter__(self) -> Iterator[TraceEvent]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, i):
        return self._events[i]

    def filter(self, kind: str | None = None, node: str | None = None) -> list[TraceEvent]:
        return [e for e in self._events
                if (kind is None or e.kind == kind) and (node is None or e.node == node)]

    def clear(self) -> None:
        self._events.clear()
