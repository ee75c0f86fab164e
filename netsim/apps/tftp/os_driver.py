"""TFTP on real OS sockets: a ``selectors`` server running many sessions, and a blocking client.

The server listens on one UDP port (127.0.0.1:6969 by default) and gives each transfer its own
socket on an ephemeral port (its transfer ID, RFC 1350 s4), all multiplexed by one selector in
one thread. Timers are scanned every ``TIMER_SCAN`` seconds, so the per-packet path does no
timer bookkeeping. One log line per transfer (logger ``netsim.tftp``)::

    127.0.0.1:52811 RRQ boot.img ok 1048576 bytes 0.081 s 0 retransmissions

Safety: names are resolved by :mod:`netsim.apps.tftp.paths`; the server is read-only unless
``allow_write``; an upload never replaces a file unless ``allow_overwrite``; uploads go to a
temporary name and are renamed into place only when complete; ``max_file_size`` bounds uploads
(ERROR 3); sessions are limited globally and per client address; a repeated request from the
same (address, port) while its transfer runs is ignored (the session retransmits by itself).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import selectors
import socket
import stat
import struct
import sys
import tempfile
import threading
import time
from typing import Any, BinaryIO

from netsim.apps.tftp import options as opt
from netsim.apps.tftp.blocking import TftpError
from netsim.apps.tftp.client import Local, Time, TransferResult, download, upload
from netsim.apps.tftp.paths import Refused, parse_request, resolve
from netsim.apps.tftp.session import Session, Stats, server_read, server_write
from netsim.sim.units import NS_PER_S, parse_time
from netsim.wire import tftp

__all__ = ["TftpServer", "TftpError", "TransferResult", "get", "put", "split_hostport"]

log = logging.getLogger("netsim.tftp")

TIMER_SCAN = 0.05          # seconds between timer scans
RECV_SIZE = 65536 + 4
FILE_BUFFER = 1 << 18      # read-ahead for files being served
BURST = 64                 # datagrams read from one transfer socket per readiness event
_LISTEN, _WAKE = "listen", "wake"      # poller handlers besides transfers


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class _Transfer:
    """A running server session with its socket and, for uploads, the temporary file."""

    __slots__ = ("session", "sock", "client", "kind", "path", "fileobj", "tmp", "logged", "seen",
                 "recvfrom", "sendto", "receive")

    def __init__(self, session: Session, sock: socket.socket, client: Any, kind: str,
                 path: str, fileobj: BinaryIO, tmp: str | None):
        self.session, self.sock, self.client, self.kind = session, sock, client, kind
        self.path, self.fileobj, self.tmp, self.logged = path, fileobj, tmp, False
        self.seen = session.state
        # Bound once: the per-packet loop calls these tens of thousands of times a second.
        self.recvfrom, self.sendto, self.receive = sock.recvfrom, sock.sendto, session.receive


class _Poller:
    """Read readiness by file descriptor: ``epoll`` where the OS has it (one call returns plain
    ``(fd, events)`` pairs, no key objects), else the portable ``selectors`` module.

    ``handlers`` maps each registered fd to the object the server dispatches on.
    """

    __slots__ = ("handlers", "_epoll", "_sel", "poll")

    def __init__(self) -> None:
        self.handlers: dict[int, Any] = {}
        self._epoll = select.epoll() if hasattr(select, "epoll") else None
        self._sel = None if self._epoll is not None else selectors.DefaultSelector()
        self.poll = self._epoll.poll if self._epoll is not None else self._select

    def _select(self, timeout: float | None = None) -> list[tuple[int, int]]:
        assert self._sel is not None
        return [(key.fd, ev) for key, ev in self._sel.select(timeout)]

    def register(self, sock: socket.socket, handler: Any) -> None:
        fd = sock.fileno()
        if self._epoll is not None:
            self._epoll.register(fd, select.EPOLLIN)
        else:
            assert self._sel is not None
            self._sel.register(fd, selectors.EVENT_READ)
        self.handlers[fd] = handler

    def unregister(self, sock: socket.socket) -> None:
        fd = sock.fileno()
        if self.handlers.pop(fd, None) is None:
            return
        with contextlib.suppress(KeyError, ValueError, OSError):
            if self._epoll is not None:
                self._epoll.unregister(fd)
            else:
                assert self._sel is not None
                self._sel.unregister(fd)

    def close(self) -> None:
        self.handlers.clear()
        if self._epoll is not None:
            self._epoll.close()
        else:
            assert self._sel is not None
            self._sel.close()


class TftpServer:
    """A TFTP server on real sockets.

    Args:
        root: directory to serve.
        host: address to bind (default loopback only).
        port: UDP port (0 picks a free one; see ``address`` after ``bind``).
        allow_write: accept WRQs.
        allow_overwrite: let a WRQ replace an existing file.
        max_file_size: largest upload in bytes (None: unlimited).
        max_blksize: largest block size granted.
        max_windowsize: largest window granted.
        timeout: base retransmission timeout: seconds, or a string such as "500ms"
            (:func:`netsim.sim.units.parse_time`).
        max_retries: retransmissions before a transfer is abandoned.
        max_sessions: concurrent transfers in total.
        max_per_client: concurrent transfers per client address.
        dally: how long an upload lingers after its final ACK, as ``timeout``.

    Raises:
        NotADirectoryError: ``root`` is not a directory.
        ValueError: a time parse_time refuses.
    """

    def __init__(self, root: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 6969,
                 *, allow_write: bool = False, allow_overwrite: bool = False,
                 max_file_size: int | None = None, max_blksize: int = opt.MAX_BLKSIZE,
                 max_windowsize: int = 64, timeout: Time = 1.0, max_retries: int = 5,
                 max_sessions: int = 64, max_per_client: int = 8, dally: Time | None = 1.0):
        self.root = os.path.realpath(os.fspath(root))
        if not os.path.isdir(self.root):
            raise NotADirectoryError(f"TFTP root {self.root!r} is not a directory")
        for value in (timeout, dally):  # refused here, not when the first request comes
            if value is not None:
                parse_time(value)
        self.host, self.port = host, port
        self.allow_write, self.allow_overwrite = allow_write, allow_overwrite
        self.max_file_size, self.max_blksize = max_file_size, max_blksize
        self.max_windowsize, self.timeout, self.max_retries = max_windowsize, timeout, max_retries
        self.max_sessions, self.max_per_client, self.dally = max_sessions, max_per_client, dally
        self.sock: socket.socket | None = None
        self._poller = _Poller()
        self._transfers: dict[Any, _Transfer] = {}     # by client (address, port)
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None
        self.completed: list[tuple[str, str, Stats | None, str]] = []   # (kind, file, stats, status)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port)."""
        assert self.sock is not None, "call bind() first"
        return self.sock.getsockname()[:2]

    def bind(self) -> TftpServer:
        """Create and bind the listening socket. Returns self."""
        if self.sock is None:
            self.sock = socket.socket(_family(self.host), socket.SOCK_DGRAM)
            self.sock.bind((self.host, self.port))
            self.sock.setblocking(False)
            self._poller.register(self.sock, _LISTEN)
            self._wake_r.setblocking(False)
            self._poller.register(self._wake_r, _WAKE)
        return self

    def start(self) -> TftpServer:
        """Bind and serve in a background thread. Returns self."""
        self.bind()
        self._thread = threading.Thread(target=self.serve_forever, name="tftp-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, abandon running transfers (removing partial uploads), close sockets."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        for tr in list(self._transfers.values()):
            self._close(tr, "aborted")
        for s in (self.sock, self._wake_r, self._wake_w):
            if s is not None:
                self._poller.unregister(s)
                s.close()
        self.sock = None
        self._poller.close()

    def __enter__(self) -> TftpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the loop --------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Serve until ``stop()``; the whole server runs in the calling thread."""
        self.bind()
        poll, handlers, clock = self._poller.poll, self._poller.handlers, time.monotonic_ns
        stopped, transfers, pump = self._stop.is_set, self._transfers, self._pump
        scan_every = int(TIMER_SCAN * NS_PER_S)
        next_scan = clock() + scan_every
        while not stopped():
            # With no transfer running there is no timer to scan: sleep until a packet comes.
            for fd, _ in poll(TIMER_SCAN if transfers else None):
                tr = handlers.get(fd)
                if tr.__class__ is _Transfer:
                    pump(tr)
                elif tr is _LISTEN:
                    self._on_listen()
                elif tr is _WAKE:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(64)
            # Timers are looked at only every TIMER_SCAN: the per-packet path never does.
            now = clock()
            if now >= next_scan:
                next_scan = now + scan_every
                self._scan_timers(now)

    def _pump(self, tr: _Transfer) -> None:
        """Handle the datagrams waiting on one transfer's socket, at most ``BURST`` of them.

        In lock-step the peer's next ACK is often queued by the time our DATA is sent (the
        client runs while we do), so reading on until the socket is empty saves a poll call
        per packet; the cap keeps one fast transfer from starving the others.
        """
        recvfrom, sendto, receive, session = tr.recvfrom, tr.sendto, tr.receive, tr.session
        clock = time.monotonic_ns
        for _ in range(BURST):
            try:
                payload, addr = recvfrom(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:      # e.g. ICMP port unreachable surfacing on Linux
                return
            try:
                for data, dest in receive(payload, addr, clock()):
                    sendto(data, dest)
            except OSError:      # a send that failed is a lost packet: the timer resends
                pass
            if session.state is not tr.seen:
                self._after_change(tr)
                return

    def _scan_timers(self, now: int) -> None:
        for tr in list(self._transfers.values()):
            session = tr.session
            deadline = session.next_deadline()
            if deadline is not None and now >= deadline:
                for data, dest in session.on_timer(now):
                    with contextlib.suppress(OSError):
                        tr.sock.sendto(data, dest)
                self._after_change(tr)

    def _after_change(self, tr: _Transfer) -> None:
        session = tr.session
        tr.seen = session.state
        if session.finished and not tr.logged:
            self._complete(tr)
        if session.closed:
            self._close(tr, "ok" if session.error is None else "failed")

    # -- requests ----------------------------------------------------------------------------

    def _on_listen(self) -> None:
        assert self.sock is not None
        while True:
            try:
                payload, addr = self.sock.recvfrom(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                self._on_request(payload, addr)
            except Refused as exc:
                self._send_error(addr, exc.code, exc.message)

    def _send_error(self, addr: Any, code: int, message: str) -> None:
        assert self.sock is not None
        with contextlib.suppress(OSError):
            self.sock.sendto(tftp.Error(code, message).encode(), addr)

    def _on_request(self, payload: bytes, addr: Any) -> None:
        req = parse_request(payload)
        if req is None or addr in self._transfers:
            return           # an ERROR (never answered), or a repeated request already running
        if len(self._transfers) >= self.max_sessions:
            raise Refused(tftp.ERR_UNDEFINED, "server busy, try again later")
        if sum(1 for a in self._transfers if a[0] == addr[0]) >= self.max_per_client:
            raise Refused(tftp.ERR_UNDEFINED, "too many transfers from this address")
        path = resolve(self.root, req.filename)
        try:
            if req.opcode == tftp.RRQ:
                tr = self._open_read(req, path, addr)
            else:
                tr = self._open_write(req, path, addr)
        except opt.OptionError as exc:
            raise Refused(exc.code, exc.message) from None
        self._transfers[addr] = tr
        self._poller.register(tr.sock, tr)
        for data, dest in tr.session.start(time.monotonic_ns()):
            tr.sock.sendto(data, dest)

    def _new_socket(self) -> socket.socket:
        sock = socket.socket(_family(self.host), socket.SOCK_DGRAM)
        sock.bind((self.host, 0))
        sock.setblocking(False)
        return sock

    def _open_read(self, req: tftp.Request, path: str, addr: Any) -> _Transfer:
        try:
            # A 256 KiB buffer: one read() system call per ~500 blocks of 512 bytes, not per 16.
            f = open(path, "rb", buffering=FILE_BUFFER)  # noqa: SIM115 - closed by _close
        except FileNotFoundError:
            raise Refused(tftp.ERR_NOT_FOUND, "File not found") from None
        except OSError:
            raise Refused(tftp.ERR_ACCESS, "cannot open file") from None
        st = os.fstat(f.fileno())
        if not _is_regular(st.st_mode):
            f.close()
            raise Refused(tftp.ERR_ACCESS, "not a regular file")
        try:
            params = opt.negotiate(req, file_size=st.st_size, max_blksize=self.max_blksize,
                                   max_windowsize=self.max_windowsize)
        except opt.OptionError:
            f.close()
            raise
        session = server_read(req, f, addr, params, timeout=self.timeout,
                              max_retries=self.max_retries)
        return _Transfer(session, self._new_socket(), addr, "RRQ", path, f, None)

    def _open_write(self, req: tftp.Request, path: str, addr: Any) -> _Transfer:
        if not self.allow_write:
            raise Refused(tftp.ERR_ACCESS, "writes are not allowed on this server")
        if os.path.lexists(path):
            if not self.allow_overwrite:
                raise Refused(tftp.ERR_EXISTS, "File already exists")
            if not os.path.isfile(path):
                raise Refused(tftp.ERR_ACCESS, "not a regular file")
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            raise Refused(tftp.ERR_NOT_FOUND, "directory does not exist")
        params = opt.negotiate(req, max_blksize=self.max_blksize,
                               max_windowsize=self.max_windowsize,
                               max_file_size=self.max_file_size)
        try:
            fd, tmp = tempfile.mkstemp(dir=parent, prefix=".tftp-", suffix=".part")
        except OSError:
            raise Refused(tftp.ERR_ACCESS, "cannot create file") from None
        f = os.fdopen(fd, "wb")
        session = server_write(req, f, addr, params, timeout=self.timeout,
                               max_retries=self.max_retries, dally=self.dally,
                               max_bytes=self.max_file_size)
        return _Transfer(session, self._new_socket(), addr, "WRQ", path, f, tmp)

    # -- endings -----------------------------------------------------------------------------

    def _complete(self, tr: _Transfer) -> None:
        """All data moved: commit an upload now (even while the session dallies)."""
        tr.logged = True
        if tr.tmp is not None:
            tr.fileobj.close()
            if not self.allow_overwrite and os.path.lexists(tr.path):
                os.unlink(tr.tmp)      # someone else created it meanwhile: do not clobber
                tr.tmp = None
                self._log(tr, "failed (file appeared meanwhile)")
                return
            os.replace(tr.tmp, tr.path)
            tr.tmp = None
        self._log(tr, "ok")

    def _close(self, tr: _Transfer, status: str) -> None:
        self._transfers.pop(tr.client, None)
        self._poller.unregister(tr.sock)
        tr.sock.close()
        with contextlib.suppress(OSError):
            tr.fileobj.close()
        if tr.tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tr.tmp)
            tr.tmp = None
        if not tr.logged:
            tr.logged = True
            err = tr.session.error
            self._log(tr, f"{status}" + (f" (error {err.code}: {err.message})" if err else ""))

    def _log(self, tr: _Transfer, status: str) -> None:
        st = tr.session.stats
        end = st.ended_ns or time.monotonic_ns()
        secs = (end - (st.started_ns or end)) / NS_PER_S
        host, port = tr.client[:2]
        log.info("%s:%s %s %s %s %d bytes %.3f s %d retransmissions", host, port, tr.kind,
                 tr.session.filename, status, st.bytes, secs, st.retransmissions)
        self.completed.append((tr.kind, tr.session.filename, st, status))


def _is_regular(mode: int) -> bool:
    return stat.S_ISREG(mode)


# -- the blocking client ---------------------------------------------------------------------


def split_hostport(text: str, default_port: int = 69) -> tuple[str, int]:
    """Split ``"host"``, ``"host:port"`` or ``"[v6]:port"`` into (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, default_port


class _KernelTimeoutSocket(socket.socket):
    """A blocking UDP socket whose ``settimeout`` sets the kernel's ``SO_RCVTIMEO``.

    Python's own socket timeout polls before every receive (two system calls per datagram);
    with ``SO_RCVTIMEO`` the receive itself waits, and raises ``BlockingIOError`` when the time
    is up (:func:`~netsim.apps.tftp.blocking.run_session` treats it as a timeout). Linux only,
    where the ``struct timeval`` layout is two native longs.
    """

    __slots__ = ()

    def settimeout(self, value: float | None) -> None:
        """Set the receive timeout in seconds (None: wait forever)."""
        usec = 0 if value is None else max(1, int(value * 1_000_000))
        self.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                        _TIMEVAL.pack(usec // 1_000_000, usec % 1_000_000))


_TIMEVAL = struct.Struct("@ll")
_CLIENT_SOCKET = _KernelTimeoutSocket if sys.platform.startswith("linux") else socket.socket


def _client_socket(server: str | tuple[str, int]) -> tuple[socket.socket, tuple[Any, ...]]:
    host, port = (server, 69) if isinstance(server, str) else server
    family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    sock = _CLIENT_SOCKET(family, socket.SOCK_DGRAM)
    sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
    return sock, sockaddr[:2]


def get(server: str | tuple[str, int], remote: str, local: Local = None, *, mode: str = "octet",
        blksize: int | None = None, windowsize: int | None = None, timeout: Time = 1.0,
        max_retries: int = 5, timeout_option: Time | None = None, tsize: bool = True,
        fallback: bool = True, dally: Time | None = 1.0) -> TransferResult:
    """Download ``remote`` from a TFTP server.

    The simulator's :func:`netsim.apps.tftp.sim_driver.get` takes the same arguments after
    the simulated host it runs on, and returns the same result.

    Args:
        server: the server's name or address (port 69), or a ``(host, port)`` pair.
        remote: the file name on the server.
        local: a path (written to a temporary name, renamed on success, removed on failure),
            a binary file object, or None to keep the data in memory (``result.data``).
        mode: "octet" or "netascii".
        blksize: ask for this block size (RFC 2348); None asks for none.
        windowsize: ask for this window (RFC 7440); None asks for none.
        timeout: first retransmission timeout: seconds, or a string such as "500ms"
            (:func:`netsim.sim.units.parse_time`).
        max_retries: retransmissions before giving up.
        timeout_option: also ask the server for this timeout (RFC 2349: whole seconds).
        tsize: ask for the transfer size (RFC 2349; only when some other option is asked).
        fallback: retry without options if the server answers ERROR 8.
        dally: how long to linger after the final ACK to re-ACK a repeated last DATA
            (RFC 1350), as ``timeout``; None or 0 returns at once.

    Returns:
        A :class:`~netsim.apps.tftp.client.TransferResult`: the data (when ``local`` is None)
        and the transfer statistics.

    Raises:
        TftpError: the server refused or the transfer failed.
        ValueError: a time parse_time refuses.
        OSError: a local file or socket problem.
    """
    sock, address = _client_socket(server)
    try:
        return download(sock, time.monotonic_ns, address, remote, local, mode=mode,
                        blksize=blksize, windowsize=windowsize, timeout=timeout,
                        max_retries=max_retries, timeout_option=timeout_option, tsize=tsize,
                        fallback=fallback, dally=dally)
    finally:
        sock.close()


def put(server: str | tuple[str, int], local: Local, remote: str | None = None, *,
        mode: str = "octet", blksize: int | None = None, windowsize: int | None = None,
        timeout: Time = 1.0, max_retries: int = 5, timeout_option: Time | None = None,
        tsize: bool = True, fallback: bool = True) -> TransferResult:
    """Upload ``local`` (a path, a binary file object or bytes) as ``remote``.

    The simulator's :func:`netsim.apps.tftp.sim_driver.put` takes the same arguments after
    the simulated host it runs on, and returns the same result.

    Args:
        server: as for :func:`get`.
        local: the path, file object or bytes to send.
        remote: the name on the server (default: the basename of a ``local`` path; required
            for a file object or bytes).
        mode, blksize, windowsize, timeout, max_retries, timeout_option, fallback: as for
            :func:`get`.
        tsize: tell the server the size (octet mode, a path or bytes, only when some other
            option is asked).

    Returns:
        A :class:`~netsim.apps.tftp.client.TransferResult` (``data`` is None).

    Raises:
        TftpError: the server refused or the transfer failed.
        ValueError: no remote name, or a time parse_time refuses.
        OSError: a local file or socket problem.
    """
    sock, address = _client_socket(server)
    try:
        return upload(sock, time.monotonic_ns, address, local, remote, mode=mode,
                      blksize=blksize, windowsize=windowsize, timeout=timeout,
                      max_retries=max_retries, timeout_option=timeout_option, tsize=tsize,
                      fallback=fallback)
    finally:
        sock.close()
