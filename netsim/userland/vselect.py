"""``select`` for programs on virtual hosts: ``select.select`` and ``select.poll``.

A socket of the host stack can only be waited on through a blocking call, so readiness comes
from a one-item *read-ahead* (:class:`Pump`): to ask whether a socket is readable we try a
non-blocking read (exact: it sees exactly what is queued now) and keep what it got; to wait
for several sockets at once, each gets a helper task doing one blocking read, and the first
to get something wakes the waiting thread. Later ``recv``/``accept`` calls take the item
read ahead first, so bytes, datagrams and connections keep their order. The read-ahead holds
at most one segment's worth (64 KiB), one datagram, or one accepted connection.

Sockets are always reported writable (a send that finds the buffer full blocks instead);
``selectors`` is the stdlib module itself, loaded fresh on top of this one (its default
selector is then ``PollSelector``).
"""

from __future__ import annotations

import errno
import os
import select as _real
import types
from collections import deque
from typing import TYPE_CHECKING, Any

from . import sched
from .errors import NotVirtualisedError

if TYPE_CHECKING:
    from .process import VProcess
    from .vsocket import Shared

__all__ = ["Pump", "make_module"]

SOCK_DGRAM = 2
_EOF = ("eof", b"")


class Pump:
    """The read-ahead of one socket of the host stack (shared by all its descriptors)."""

    def __init__(self, shared: Shared, host: Any):
        self.shared = shared
        self.host = host
        self.items: deque = deque()
        self.running = False
        self.watchers: list[sched.VThread] = []

    def active(self) -> bool:
        return bool(self.items) or self.running

    def _kind(self) -> str:
        if self.shared.listening:
            return "accept"
        return "dgram" if int(self.shared.sock.type) == SOCK_DGRAM else "stream"

    def _read(self, u: Any) -> tuple:
        kind = self._kind()
        if kind == "accept":
            return ("conn", u.accept())
        if kind == "dgram":
            return ("dgram", u.recvfrom(65535))
        data = u.recv(65536)
        return ("data", data) if data else _EOF

    def ready(self) -> bool:
        """True when a read would not block (probing without blocking if nothing is held)."""
        if self.items:
            return True
        u = self.shared.sock
        if getattr(u, "closed", False):
            return True
        saved = u.gettimeout()
        u.settimeout(0.0)
        try:
            self.items.append(self._read(u))
        except BlockingIOError:
            return False
        except OSError as exc:
            self.items.append(("error", exc))
        finally:
            u.settimeout(saved)
        return True

    def start(self) -> None:
        """Have a helper task wait for the next item (at most one outstanding)."""
        if not self.items and not self.running:
            self.running = True
            self.host.kernel.spawn(self._run, name=f"select read-ahead on {self.host.name}",
                                   node=self.host)

    def _run(self) -> None:
        u = self.shared.sock
        try:
            u.settimeout(None)
            item = self._read(u)
        except OSError as exc:
            item = ("error", exc)
        except BaseException as exc:  # noqa: BLE001 - a helper task must not stop the kernel
            item = ("error", OSError(errno.EIO, str(exc)))
        self.running = False
        self.items.append(item)
        watchers, self.watchers = self.watchers, []
        for vt in watchers:
            vt.proc.kernel.wake(vt.task, None)

    def take(self, sock: Any, op: str, bufsize: int = 0) -> Any:
        """What ``op`` ("recv", "recvfrom", "accept") returns, from the read-ahead."""
        vt = sched.current()
        timeout = sock.gettimeout()
        kernel = self.host.kernel
        deadline = None if not timeout else kernel.now + round(timeout * 1e9)
        while not self.ready():
            if timeout == 0.0:
                raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
            self.start()
            self.watchers.append(vt)
            try:
                remaining = None if deadline is None else max(0, deadline - kernel.now)
                kernel.block(f"{op} on {self.host.name}", remaining)
            finally:
                if vt in self.watchers:
                    self.watchers.remove(vt)
            if sock.fileno() < 0:
                raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        kind, value = self.items[0]
        if kind == "eof":
            return b"" if op == "recv" else (b"", None)
        self.items.popleft()
        if kind == "error":
            raise value
        if kind == "data":
            if bufsize < len(value):
                self.items.appendleft(("data", value[bufsize:]))
                value = value[:bufsize]
            return value if op == "recv" else (value, None)
        if kind == "dgram":
            data, addr = value
            return data[:bufsize] if op == "recv" else (data[:bufsize], addr)
        return value


def pump_of(sock: Any) -> Pump:
    shared = sock._shared
    if shared.pump is None:
        shared.pump = Pump(shared, sock._proc.host)
    return shared.pump


def _socket_of(proc: VProcess, obj: Any) -> tuple[Any, int]:
    fd = obj if isinstance(obj, int) else obj.fileno()
    if not isinstance(fd, int):
        raise TypeError("argument must be an int, or have a fileno() method.")
    if fd < 0:
        raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
    sock = proc.lookup_fd(fd)
    if sock is None:
        raise NotVirtualisedError(f"select on descriptor {fd}",
                                  "only the program's virtual sockets can be waited on")
    return sock, fd


def wait_ready(proc: VProcess, reads: list, writes: list, timeout: float | None) -> tuple[list, list]:
    """Indices of ``reads`` that are readable and of ``writes`` that are writable; waits up to
    ``timeout`` seconds (None: forever) for at least one."""
    vt = sched.current()
    kernel = proc.kernel
    deadline = None if timeout is None else kernel.now + round(timeout * 1e9)
    while True:
        r = [i for i, s in enumerate(reads) if pump_of(s).ready()]
        w = list(range(len(writes)))
        if r or w or (deadline is not None and kernel.now >= deadline):
            return r, w
        pumps = [pump_of(s) for s in reads]
        for p in pumps:
            p.start()
            p.watchers.append(vt)
        fds = ", ".join(str(s.fileno()) for s in reads)
        try:
            kernel.block(f"select() on fds {fds}",
                         None if deadline is None else max(0, deadline - kernel.now))
        except TimeoutError:
            return [], []
        finally:
            for p in pumps:
                if vt in p.watchers:
                    p.watchers.remove(vt)


class _Poll:
    """``select.poll()`` over virtual sockets."""

    def __init__(self, proc: VProcess):
        self._proc = proc
        self._fds: dict[int, int] = {}

    def register(self, fd: Any, eventmask: int = _real.POLLIN | _real.POLLPRI | _real.POLLOUT) -> None:
        _, number = _socket_of(self._proc, fd)
        self._fds[number] = eventmask

    def modify(self, fd: Any, eventmask: int) -> None:
        number = fd if isinstance(fd, int) else fd.fileno()
        if number not in self._fds:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
        self._fds[number] = eventmask

    def unregister(self, fd: Any) -> None:
        del self._fds[fd if isinstance(fd, int) else fd.fileno()]

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        """Ready descriptors as ``(fd, events)``; ``timeout`` in milliseconds (None/-1: forever)."""
        if timeout is not None and timeout < 0:
            timeout = None
        entries = [(fd, mask, self._proc.lookup_fd(fd)) for fd, mask in self._fds.items()]
        out = [(fd, _real.POLLNVAL) for fd, _, s in entries if s is None]
        entries = [e for e in entries if e[2] is not None]
        if out:
            return out
        reads = [e for e in entries if e[1] & (_real.POLLIN | _real.POLLPRI)]
        writes = [e for e in entries if e[1] & _real.POLLOUT]
        r, w = wait_ready(self._proc, [e[2] for e in reads], [e[2] for e in writes],
                          None if timeout is None else timeout / 1000)
        events: dict[int, int] = {}
        for i in r:
            events[reads[i][0]] = events.get(reads[i][0], 0) | _real.POLLIN
        for i in w:
            events[writes[i][0]] = events.get(writes[i][0], 0) | _real.POLLOUT
        return list(events.items())


def make_module(proc: VProcess) -> types.ModuleType:
    m = types.ModuleType("select", _real.__doc__)
    m.__dict__.update({k: v for k, v in _real.__dict__.items()
                       if k.startswith("POLL") or k in ("PIPE_BUF",)})
    m.error = OSError

    def select(rlist: Any, wlist: Any, xlist: Any, timeout: float | None = None) -> tuple:
        """Wait until some of ``rlist`` are readable or ``wlist`` writable (sockets only)."""
        if timeout is not None:
            if not isinstance(timeout, (int, float)):
                raise TypeError("timeout must be a float or None")
            if timeout < 0:
                raise ValueError("timeout must be non-negative")
        rlist, wlist, xlist = list(rlist), list(wlist), list(xlist)
        reads = [_socket_of(proc, o)[0] for o in rlist]
        writes = [_socket_of(proc, o)[0] for o in wlist]
        for o in xlist:
            _socket_of(proc, o)
        r, w = wait_ready(proc, reads, writes, timeout)
        return [rlist[i] for i in r], [wlist[i] for i in w], []

    m.select = select
    # a class, as select.poll is a type: selectors stores it as a class attribute and calls it
    m.poll = type("poll", (_Poll,), {"__init__": lambda self: _Poll.__init__(self, proc),
                                     "__module__": "select"})
    return m
