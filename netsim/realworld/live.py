"""Live capture: pcapng to a pipe, a FIFO or stdout while the simulation runs.

``net.capture(sys.stdout.buffer)`` (``netsim run topo.yaml --live -``) writes the same blocks a
file capture would: the section header first, an interface block per interface (named as in
files, ``h1-eth0``; a real port under its real name), and one enhanced packet block per frame
with its comment and direction. Each block is written whole and flushed as soon as its frame
happens, so ``wireshark -k -i -`` or ``tshark -i -`` show frames as the simulation makes them,
and in real-time mode at the moment they happen.

A reader that goes away (Wireshark closed, ``tshark -c 10`` done) makes the next write fail
with EPIPE. The stream then says so in one line on stderr and either lets the simulation go on
without it (``on_broken_pipe="continue"``) or stops it by raising :class:`LiveReaderGone`
(``"stop"``), which the ``netsim`` command reports as that one line, never as a traceback.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from ..capture import PcapngWriter
from ..sim.units import format_time

__all__ = ["LiveStream", "LiveCapture", "LiveReaderGone", "open_fifo", "BROKEN_PIPE_CHOICES"]

BROKEN_PIPE_CHOICES = ("stop", "continue")
_GONE = (errno.EPIPE, errno.ECONNRESET, errno.ESHUTDOWN)


class LiveReaderGone(Exception):
    """The live capture's reader went away and the user asked to stop then."""


class LiveStream:
    """One pcapng stream shared by every live capture that feeds it.

    Args:
        stream: a binary file object (pipe, FIFO, ``sys.stdout.buffer``, a socket file).
        on_broken_pipe: "stop" (raise :class:`LiveReaderGone`) or "continue".
        report: where the one-line message goes (stderr by default).
        owns: close ``stream`` on :meth:`close` (True for a FIFO this module opened).
    """

    def __init__(self, stream: BinaryIO, on_broken_pipe: str = "stop",
                 report: Callable[[str], Any] | None = None, owns: bool = False,
                 cleanup: Callable[[], Any] | None = None):
        if on_broken_pipe not in BROKEN_PIPE_CHOICES:
            raise ValueError(f"on_broken_pipe must be 'stop' or 'continue', not {on_broken_pipe!r}")
        self.stream = stream
        self.on_broken_pipe = on_broken_pipe
        self.report = report or (lambda line: print(line, file=sys.stderr, flush=True))
        self.owns = owns
        self.cleanup = cleanup
        self.writer = PcapngWriter(stream)
        self.broken = False
        self.closed = False
        self.frames = 0
        self._guard(None)   # the section header goes out at once: a reader starts reading

    def add_interface(self, name: str, description: str) -> int:
        if_id = self.writer.add_interface(name, description=description)
        self._guard(None)
        return if_id

    def write(self, if_id: int, time_ns: int, frame: bytes, comment: str | None,
              direction: str | None) -> None:
        if self.broken or self.closed:
            return
        self.writer.write(if_id, time_ns, frame, comment=comment, direction=direction)
        self.frames += 1
        self._guard(time_ns)

    def _guard(self, time_ns: int | None) -> None:
        """Flush the complete blocks now; turn a vanished reader into the user's choice."""
        try:
            self.writer.flush()
        except OSError as exc:
            if exc.errno not in _GONE:
                raise
            self._gone(time_ns)

    def _gone(self, time_ns: int | None) -> None:
        self.broken = True
        # Whatever is still buffered can never be delivered; point the descriptor at
        # /dev/null so no later flush (the interpreter's own, at exit, for stdout) fails
        # again and prints "Exception ignored ... BrokenPipeError".
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
        except (OSError, AttributeError, ValueError):
            pass
        when = f" at t={format_time(time_ns)}" if time_ns is not None else ""
        name = getattr(self.stream, "name", "the stream")
        target = "stdout" if name in ("<stdout>", 1) else str(name)   # 1: fdopen'd stdout
        if self.on_broken_pipe == "stop":
            message = (f"netsim: the live capture's reader on {target} went away (broken pipe)"
                       f"{when}: stopping the simulation")
            self.report(message)
            raise LiveReaderGone(message)
        self.report(f"netsim: the live capture's reader on {target} went away (broken pipe)"
                    f"{when}: the simulation goes on without it")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if not self.broken:
                self.writer.close()
        except OSError as exc:
            if exc.errno not in _GONE:
                raise
        finally:
            if self.owns:
                try:
                    self.stream.close()
                except OSError:
                    pass
            if self.cleanup is not None:
                self.cleanup()


class LiveCapture:
    """A capture into a :class:`LiveStream`; the same protocol as ``NetworkCapture``.

    Args:
        net: the network.
        stream: a :class:`LiveStream` (shared) or a binary file object (a stream of its own).
        interfaces: as for ``net.capture`` (None: all, including interfaces made later).
        follow: a file capture to mirror; this one detaches when that one is closed.
    """

    def __init__(self, net: Any, stream: LiveStream | BinaryIO,
                 interfaces: Iterable[Any] | None = None, on_broken_pipe: str = "stop",
                 follow: Any = None):
        self.net = net
        if isinstance(stream, LiveStream):
            self.live, self._own_stream = stream, False
        else:
            self.live, self._own_stream = LiveStream(stream, on_broken_pipe), True
        self.path = getattr(self.live.stream, "name", None)
        self.format = "pcapng"
        self.follow = follow
        self.frames = 0
        self.closed = False
        self._ids: dict[Any, int] = {}
        targets, self._wanted = net.capture_targets(interfaces)
        for iface in targets:
            self._add(iface)
        net._captures.append(self)

    def _maybe_add(self, iface: Any) -> None:
        if not self.closed and self._wanted is None:
            self._add(iface)

    def _add(self, iface: Any) -> None:
        if iface in self._ids:
            return
        # The same interface block a file capture writes (NetworkCapture._add).
        desc = f"{iface.node.kind} {iface.node.name} port {iface.name} ({iface.mac})"
        self._ids[iface] = self.live.add_interface(iface.fullname, desc)
        iface.taps.append(self._tap)

    def _tap(self, iface: Any, time_ns: int, frame: bytes, direction: str,
             comment: str | None) -> None:
        if self.follow is not None and self.follow.closed:
            self.close()
            return
        if (direction == "drop" and not comment) or direction == "collision":
            return
        self.frames += 1
        self.live.write(self._ids[iface], time_ns, frame, comment,
                        direction if direction != "drop" else "out")

    def flush(self) -> None:
        if not self.closed:
            self.live._guard(None)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for iface in self._ids:
            if self._tap in iface.taps:
                iface.taps.remove(self._tap)
        if self in self.net._captures:
            self.net._captures.remove(self)
        if self._own_stream:
            self.live.close()

    def __enter__(self) -> LiveCapture:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_fifo(path: str | Path, announce: Callable[[str], Any] | None = None
              ) -> tuple[BinaryIO, Callable[[], None] | None]:
    """Open (creating if needed) a FIFO for writing; blocks until a reader opens it.

    Returns:
        (the file, a cleanup that removes the FIFO if this call created it, else None).

    Raises:
        FileExistsError: ``path`` exists and is not a FIFO (a regular file is not a live
            target: it would be overwritten).
    """
    path = Path(path)
    created = False
    if path.exists():
        if not stat.S_ISFIFO(path.stat().st_mode):
            raise FileExistsError(f"{path} exists and is not a FIFO; give a new name (netsim "
                                  "creates the FIFO) or '-' for stdout")
    else:
        os.mkfifo(path, 0o600)
        created = True
    if announce is not None:
        announce(f"netsim: waiting for a reader on the FIFO {path} (Wireshark: Capture > "
                 f"Options > Manage Interfaces > Pipes, add {path}; or: tshark -i {path})")
    stream = open(path, "wb", buffering=0)   # blocks until the reader opens its end (fifo(7))

    def cleanup() -> None:
        try:
            path.unlink()
        except OSError:
            pass
    return stream, cleanup if created else None
