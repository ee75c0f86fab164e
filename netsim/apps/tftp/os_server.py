"""The TFTP server on real OS sockets: one thread, one ``epoll``/``selectors`` loop, many sessions.

The server listens on one UDP port (127.0.0.1:6969 by default) and gives each transfer its own
socket on an ephemeral port (its transfer ID, RFC 1350 s4), all multiplexed by one poller in
one thread. Timers are scanned every ``TIMER_SCAN`` seconds, so the per-packet path does no
timer bookkeeping. One log line per transfer (logger ``netsim.tftp``)::

    127.0.0.1:52811 RRQ boot.img ok 1048576 bytes 0.081 s 0 retransmissions

No request can stop it. Every ``OSError`` of a transfer (a file that cannot be read, a full
disk, a name too long, a commit that fails) becomes an ERROR packet with the code
:func:`~netsim.apps.tftp.server_files.error_for` gives (3 disk full, 2 access, 0 with the
reason otherwise); the error is logged, the transfer's socket and files are released, and the
loop goes on. Anything else a transfer raises is logged with its traceback and answered with
ERROR 0, likewise.

Safety: names are bytes, resolved by :mod:`netsim.apps.tftp.paths`; files are opened and
committed by :mod:`netsim.apps.tftp.server_files` (no blocking on FIFOs, mode bits checked for
the serving user, overwrite in place); the server is read-only unless ``allow_write``; an upload
is committed before its final ACK goes out (ERROR instead if that fails); a second upload of a
file while one runs gets ERROR 6; ``max_file_size`` bounds uploads (ERROR 3); transfers are
limited globally and per client address (an upload lingering after its final ACK does not count
against its client); a repeated request from the same (address, port) while its transfer runs
is ignored (the session retransmits by itself).
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import pwd
import select
import selectors
import socket
import threading
import time
from typing import Any, BinaryIO

from netsim.apps.tftp import options as opt
from netsim.apps.tftp.paths import Refused, display_name, parse_request, resolve
from netsim.apps.tftp.server_files import Identity, Upload, error_for, open_for_read
from netsim.apps.tftp.session import Session, Stats, server_read, server_write
from netsim.sim.units import NS_PER_S, parse_time
from netsim.wire import tftp

__all__ = ["TftpServer", "drop_privileges", "user_description"]

log = logging.getLogger("netsim.tftp")

TIMER_SCAN = 0.05          # seconds between timer scans
RECV_SIZE = 65536 + 4
BURST = 64                 # datagrams read from one transfer socket per readiness event
_LISTEN, _WAKE = "listen", "wake"      # poller handlers besides transfers


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class _Transfer:
    """A running server session with its socket, and its file (a download) or upload."""

    __slots__ = ("session", "sock", "client", "kind", "name", "fileobj", "upload", "logged",
                 "seen", "failure", "recvfrom", "sendto", "receive")

    def __init__(self, session: Session, sock: socket.socket, client: Any, kind: str,
                 name: str, fileobj: BinaryIO | None, upload: Upload | None):
        self.session, self.sock, self.client, self.kind = session, sock, client, kind
        self.name, self.fileobj, self.upload, self.logged = name, fileobj, upload, False
        self.seen = session.state
        self.failure: tftp.Error | None = None      # an ERROR the server sent on its own
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
        allow_overwrite: let a WRQ rewrite an existing file, in place (its mode, owner and hard
            links stay), if the serving user may write it.
        max_file_size: largest upload in bytes (None: unlimited).
        max_blksize: largest block size granted.
        max_windowsize: largest window granted.
        timeout: base retransmission timeout in seconds.
        max_retries: retransmissions before a transfer is abandoned.
        max_sessions: concurrent transfers in total (each holds a socket, so uploads lingering
            after their final ACK count here).
        max_per_client: concurrent transfers per client address (not counting uploads that
            linger after their final ACK).
        dally: how long an upload lingers after its final ACK (seconds or "500ms").
        fsync: ``fsync`` an upload (and its directory) before acknowledging its last block.
    """

    def __init__(self, root: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 6969,
                 *, allow_write: bool = False, allow_overwrite: bool = False,
                 max_file_size: int | None = None, max_blksize: int = opt.MAX_BLKSIZE,
                 max_windowsize: int = 64, timeout: float | str = 1.0, max_retries: int = 5,
                 max_sessions: int = 64, max_per_client: int = 8, dally: float | str = 1.0,
                 fsync: bool = True):
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
        self.fsync = fsync
        self.umask = _current_umask()
        self.sock: socket.socket | None = None
        self._poller = _Poller()
        self._transfers: dict[Any, _Transfer] = {}     # by client (address, port)
        self._uploading: dict[Any, _Transfer] = {}     # Upload.keys of uploads not committed
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
                try:
                    if tr.__class__ is _Transfer:
                        pump(tr)
                    elif tr is _LISTEN:
                        self._on_listen()
                    elif tr is _WAKE:
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(64)
                except Exception as exc:     # the last line of defence: a bug is not fatal
                    self._contain(tr, exc)
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
            except OSError:      # drained (BlockingIOError), or an ICMP error surfacing
                return
            try:
                out = receive(payload, addr, clock())
            except Exception as exc:     # the file failed (a full disk...), or a bug: not fatal
                self._abort(tr, exc)
                return
            if session.state is not tr.seen:
                self._changed(tr, out)
                return
            try:
                for data, dest in out:
                    sendto(data, dest)
            except OSError:      # a send that failed is a lost packet: the timer resends
                pass

    def _scan_timers(self, now: int) -> None:
        for tr in list(self._transfers.values()):
            session = tr.session
            deadline = session.next_deadline()
            if deadline is not None and now >= deadline:
                try:
                    self._changed(tr, session.on_timer(now))
                except Exception as exc:
                    self._contain(tr, exc)

    def _contain(self, handler: Any, exc: Exception) -> None:
        """An exception escaped the handling of ``handler``: end that transfer (if it is one)
        with ERROR 0, log the traceback, and serve on."""
        if handler.__class__ is not _Transfer:
            log.error("internal error in the TFTP server loop", exc_info=exc)
            return
        try:
            self._abort(handler, exc)
        except Exception:
            log.exception("internal error while ending the %s of %s", handler.kind, handler.name)
            self._transfers.pop(handler.client, None)
            self._release_keys(handler)
            self._poller.unregister(handler.sock)
            handler.sock.close()

    def _changed(self, tr: _Transfer, out: list[tuple[bytes, Any]]) -> None:
        """The session changed state: commit a finished upload *before* its final ACK goes out
        (ERROR instead if that fails), send, log, and release a transfer that has ended."""
        session = tr.session
        tr.seen = session.state
        upload = tr.upload
        if upload is not None and session.finished and not upload.committed:
            try:
                upload.commit()
            except Exception as exc:      # OSError, Refused (ERROR 6), or a bug
                self._abort(tr, exc)
                return
            self._release_keys(tr)
        self._send(tr, out)
        if session.finished and not tr.logged:
            tr.logged = True
            self._log(tr, "ok")
        if session.closed:
            self._close(tr, "ok" if session.error is None else "failed")

    def _send(self, tr: _Transfer, out: list[tuple[bytes, Any]]) -> None:
        for data, dest in out:
            with contextlib.suppress(OSError):
                tr.sock.sendto(data, dest)

    def _abort(self, tr: _Transfer, exc: BaseException) -> None:
        """End ``tr`` because of ``exc``: tell the client with an ERROR, log, free everything."""
        if isinstance(exc, Refused):
            code, message = exc.code, exc.message
        elif isinstance(exc, OSError):
            code, message = error_for(exc)
        else:
            log.error("internal error in the %s of %s", tr.kind, tr.name, exc_info=exc)
            code, message = tftp.ERR_UNDEFINED, "internal server error"
        tr.failure = tftp.Error(code, message)
        with contextlib.suppress(OSError):
            tr.sock.sendto(tr.failure.encode(), tr.session.peer or tr.client)
        self._close(tr, "failed")

    # -- requests ----------------------------------------------------------------------------

    def _on_listen(self) -> None:
        assert self.sock is not None
        while True:
            try:
                payload, addr = self.sock.recvfrom(RECV_SIZE)
            except OSError:
                return
            try:
                self._on_request(payload, addr)
            except Refused as exc:
                self._send_error(addr, exc.code, exc.message)
            except opt.OptionError as exc:
                self._send_error(addr, exc.code, exc.message)
            except OSError as exc:
                log.warning("%s:%s request failed: %s", addr[0], addr[1], exc)
                self._send_error(addr, *error_for(exc))
            except Exception:            # a bug must not take the server down with it
                log.exception("internal error handling a request from %s:%s", *addr[:2])
                self._send_error(addr, tftp.ERR_UNDEFINED, "internal server error")

    def _send_error(self, addr: Any, code: int, message: str) -> None:
        assert self.sock is not None
        with contextlib.suppress(OSError):
            self.sock.sendto(tftp.Error(code, message).encode(), addr)

    def _on_request(self, payload: bytes, addr: Any) -> None:
        req = parse_request(payload)
        if req is None or addr in self._transfers:
            return           # an ERROR (never answered), or a repeated request already running
        self._check_limits(addr)
        path = resolve(self.root, req.filename)      # the name's bytes, exactly as sent
        if req.opcode == tftp.RRQ:
            tr = self._open_read(req, path, addr)
        else:
            tr = self._open_write(req, path, addr)
        self._transfers[addr] = tr
        if tr.upload is not None:
            for key in tr.upload.keys:
                self._uploading[key] = tr
        try:
            self._poller.register(tr.sock, tr)
            out = tr.session.start(time.monotonic_ns())   # a download reads its first block
        except Exception as exc:
            self._abort(tr, exc)
            return
        self._send(tr, out)

    def _check_limits(self, addr: Any) -> None:
        if len(self._transfers) >= self.max_sessions:
            raise Refused(tftp.ERR_UNDEFINED, "server busy, try again later")
        host = addr[0]
        # An upload dallying after its final ACK is done for its client (issue 10).
        running = sum(1 for a, tr in self._transfers.items()
                      if a[0] == host and not tr.session.finished)
        if running >= self.max_per_client:
            raise Refused(tftp.ERR_UNDEFINED, "too many transfers from this address")

    def _new_socket(self) -> socket.socket:
        sock = socket.socket(_family(self.host), socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, 0))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def _open_read(self, req: tftp.Request, path: str, addr: Any) -> _Transfer:
        f, size = open_for_read(path, Identity.current())
        try:
            params = opt.negotiate(req, file_size=size, max_blksize=self.max_blksize,
                                   max_windowsize=self.max_windowsize)
            session = server_read(req, f, addr, params, timeout=self.timeout,
                                  max_retries=self.max_retries)
            return _Transfer(session, self._new_socket(), addr, "RRQ", display_name(req.filename),
                             f, None)
        except BaseException:
            f.close()
            raise

    def _open_write(self, req: tftp.Request, path: str, addr: Any) -> _Transfer:
        if not self.allow_write:
            raise Refused(tftp.ERR_ACCESS, "writes are not allowed on this server")
        params = opt.negotiate(req, max_blksize=self.max_blksize,
                               max_windowsize=self.max_windowsize,
                               max_file_size=self.max_file_size)
        if path in self._uploading:
            raise Refused(tftp.ERR_EXISTS, "File is being uploaded by another transfer")
        upload = Upload.begin(path, Identity.current(), allow_overwrite=self.allow_overwrite,
                              fsync=self.fsync, umask=self.umask)
        try:
            if any(key in self._uploading for key in upload.keys):    # a hard link of one
                raise Refused(tftp.ERR_EXISTS, "File is being uploaded by another transfer")
            session = server_write(req, upload.file, addr, params, timeout=self.timeout,
                                   max_retries=self.max_retries, dally=self.dally,
                                   max_bytes=self.max_file_size)
            return _Transfer(session, self._new_socket(), addr, "WRQ", display_name(req.filename),
                             None, upload)
        except BaseException:
            upload.discard()
            raise

    # -- endings -----------------------------------------------------------------------------

    def _release_keys(self, tr: _Transfer) -> None:
        if tr.upload is not None:
            for key in tr.upload.keys:
                if self._uploading.get(key) is tr:
                    del self._uploading[key]

    def _close(self, tr: _Transfer, status: str) -> None:
        if self._transfers.get(tr.client) is tr:
            del self._transfers[tr.client]
        self._release_keys(tr)
        self._poller.unregister(tr.sock)
        tr.sock.close()
        if tr.fileobj is not None:
            with contextlib.suppress(OSError):
                tr.fileobj.close()
        if tr.upload is not None and not tr.upload.committed:
            problem = tr.upload.discard()
            if problem:
                log.warning("%s:%s WRQ %s: %s", *tr.client[:2], tr.name, problem)
        if not tr.logged:
            tr.logged = True
            err = tr.failure or tr.session.error
            self._log(tr, f"{status}" + (f" (error {err.code}: {err.message})" if err else ""))

    def _log(self, tr: _Transfer, status: str) -> None:
        st = tr.session.stats
        end = st.ended_ns or time.monotonic_ns()
        secs = (end - (st.started_ns or end)) / NS_PER_S
        host, port = tr.client[:2]
        log.info("%s:%s %s %s %s %d bytes %.3f s %d retransmissions", host, port, tr.kind,
                 tr.name, status, st.bytes, secs, st.retransmissions)
        self.completed.append((tr.kind, tr.name, st, status))


def drop_privileges(user: str) -> tuple[int, int]:
    """Become ``user`` (its uid, primary gid and supplementary groups), for good.

    Call it after binding the well-known port, as ``in.tftpd -u`` does: port 69 needs root,
    serving files should not. Root's saved set-user-ID goes too, so it cannot be taken back.

    Args:
        user: a user name from the password database.

    Returns:
        The (uid, gid) now in force.

    Raises:
        KeyError: no such user.
        PermissionError: the process is not root and is not already that user.
    """
    pw = pwd.getpwnam(user)
    if os.geteuid() != 0:
        if os.geteuid() == pw.pw_uid:
            return pw.pw_uid, os.getegid()
        raise PermissionError(f"only root can become {user!r} (this process is uid "
                              f"{os.geteuid()})")
    os.setgroups(os.getgrouplist(pw.pw_name, pw.pw_gid))
    os.setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid)
    os.setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid)
    return pw.pw_uid, pw.pw_gid


def user_description(uid: int, gid: int) -> str:
    """``"nobody (uid 65534, gid 65534 nogroup)"``, for the start-up line."""
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return f"{name} (uid {uid}, gid {gid} {group})"
