"""What programs print: one console per network, every line stamped with virtual time and host.

A program's ``print`` and ``sys.stdout``/``sys.stderr`` are :class:`Stream` objects. Each
complete line becomes an :class:`OutputLine` on the network's :class:`Console`, stamped with
the virtual time its first character was written, and shown as ``[1.003 s h2] text``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..sim.units import NS_PER_S

__all__ = ["OutputLine", "Console", "Stream"]


@dataclass(frozen=True)
class OutputLine:
    """One line a program wrote. ``stream`` is "stdout" or "stderr"."""

    time_ns: int
    host: str
    pid: int
    program: str
    stream: str
    text: str

    def __str__(self) -> str:
        mark = " stderr" if self.stream == "stderr" else ""
        return f"[{self.time_ns / NS_PER_S:.3f} s {self.host}{mark}] {self.text}"


class Console:
    """Every line every program on one network printed, in virtual-time order."""

    def __init__(self) -> None:
        self.lines: list[OutputLine] = []
        self._subscribers: list[Callable[[OutputLine], None]] = []

    def subscribe(self, fn: Callable[[OutputLine], None]) -> Callable[[], None]:
        """Call ``fn(line)`` for each new line (live echo); returns an unsubscriber."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    def emit(self, line: OutputLine) -> None:
        self.lines.append(line)
        for fn in tuple(self._subscribers):
            fn(line)

    def text(self, host: str | None = None) -> str:
        """The lines (of one host, or all) as ``[1.003 s h2] ...``, one per line."""
        return "\n".join(str(x) for x in self.lines if host is None or x.host == host)

    def __str__(self) -> str:
        return self.text()


class Stream(io.TextIOBase):
    """A program's stdout or stderr: splits what is written into stamped lines."""

    def __init__(self, sink: Callable[[str, int], None], clock: Callable[[], int], name: str):
        super().__init__()
        self._sink = sink
        self._clock = clock
        self._name = name
        self._partial = ""
        self._started = 0

    @property
    def name(self) -> str:
        return f"<{self._name}>"

    @property
    def encoding(self) -> str:
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, s: Any) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        if not s:
            return 0
        if not self._partial:
            self._started = self._clock()
        text = self._partial + s
        *done, self._partial = text.split("\n")
        for line in done:
            self._sink(line, self._started)
            self._started = self._clock()
        return len(s)

    def flush(self) -> None:
        """Lines stay buffered until their newline, as on a terminal; see :meth:`close_line`."""

    @property
    def buffer(self) -> _Bytes:
        """``sys.stdout.buffer``: bytes written there are decoded as UTF-8."""
        return _Bytes(self)

    def close_line(self) -> None:
        """Emit an unterminated last line (at process exit)."""
        if self._partial:
            line, self._partial = self._partial, ""
            self._sink(line, self._started)


class _Bytes:
    """The binary side of a :class:`Stream`."""

    def __init__(self, text: Stream):
        self._text = text

    def write(self, b: bytes) -> int:
        self._text.write(bytes(b).decode("utf-8", "replace"))
        return len(b)

    def flush(self) -> None:
        pass
