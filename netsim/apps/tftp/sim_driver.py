"""TFTP on a simulated host: blocking-style task code over ``host.socket(AF_INET, SOCK_DGRAM)``.

Runs the same sans-I/O sessions and the same blocking loop (:mod:`netsim.apps.tftp.blocking`) as
the OS client; only the socket factory and the clock (``host.kernel.now``, int ns) differ::

    files = {"boot.img": b"..."}
    server.spawn_with_host(tftp_sim.serve, files)               # a task on the server host
    data, stats = tftp_sim.get(client, "10.0.0.1", "boot.img")   # inside a client task

The server is the classic concurrent one: a loop on port 69 that spawns one task (with its own
socket, its transfer ID) per request. ``root`` is either a directory on the real file system
(names checked by :mod:`netsim.apps.tftp.paths`) or a dict name -> bytes kept in memory (uploads
are stored into it when ``allow_write``).

The host object needs: ``socket(family, type)`` returning a Python-socket-shaped object
(``bind``, ``sendto``, ``recvfrom``, ``settimeout`` raising ``TimeoutError``, ``close``),
``kernel.now`` and ``spawn(fn, *args)``.
"""

from __future__ import annotations

import io
import logging
import os
import socket as _socket
from collections.abc import MutableMapping
from typing import Any

from netsim.apps.tftp import options as opt
from netsim.apps.tftp.blocking import TftpError, run_session
from netsim.apps.tftp.paths import Refused, parse_request, resolve
from netsim.apps.tftp.session import (
    Session,
    Stats,
    client_read,
    client_write,
    server_read,
    server_write,
)
from netsim.wire import tftp

__all__ = ["serve", "get", "put", "TftpError"]

AF_INET, SOCK_DGRAM = _socket.AF_INET, _socket.SOCK_DGRAM
log = logging.getLogger("netsim.tftp.sim")


def _clock(host: Any):
    kernel = host.kernel
    return lambda: kernel.now


def _udp(host: Any, port: int = 0) -> Any:
    sock = host.socket(AF_INET, SOCK_DGRAM)
    sock.bind(("", port))
    return sock


def get(host: Any, server_ip: str, filename: str, *, port: int = 69, mode: str = "octet",
        blksize: int | None = None, windowsize: int | None = None, timeout: float = 1.0,
        max_retries: int = 5, dally: float | None = 1.0) -> tuple[bytes, Stats]:
    """Download ``filename`` from ``server_ip`` (call from a task on ``host``).

    Args:
        host: the simulated host running this task.
        server_ip: the server's address.
        filename: the remote name.
        port: the server port.
        mode: "octet" or "netascii".
        blksize: ask for this block size (None: no option).
        windowsize: ask for this window (None: no option).
        timeout: first retransmission timeout, seconds of virtual time.
        max_retries: retransmissions before giving up.
        dally: seconds to linger after the final ACK (None: none).

    Returns:
        (the file's bytes, the statistics).

    Raises:
        TftpError: the transfer failed.
    """
    asked = opt.build_request_options(
        blksize=blksize, windowsize=windowsize,
        tsize=0 if mode == "octet" and (blksize or windowsize) else None)
    sink = io.BytesIO()
    sock = _udp(host)
    try:
        session = client_read(filename, sink, (server_ip, port), mode=mode, options=asked,
                              timeout=timeout, max_retries=max_retries, dally=dally)
        stats = run_session(session, sock, _clock(host))
    finally:
        sock.close()
    return sink.getvalue(), stats


def put(host: Any, server_ip: str, filename: str, data: bytes, *, port: int = 69,
        mode: str = "octet", blksize: int | None = None, windowsize: int | None = None,
        timeout: float = 1.0, max_retries: int = 5) -> Stats:
    """Upload ``data`` as ``filename`` (call from a task on ``host``); arguments as for get.

    Returns:
        The statistics.

    Raises:
        TftpError: the transfer failed.
    """
    asked = opt.build_request_options(
        blksize=blksize, windowsize=windowsize,
        tsize=len(data) if mode == "octet" and (blksize or windowsize) else None)
    sock = _udp(host)
    try:
        session = client_write(filename, io.BytesIO(data), (server_ip, port), mode=mode,
                               options=asked, timeout=timeout, max_retries=max_retries)
        return run_session(session, sock, _clock(host))
    finally:
        sock.close()


def serve(host: Any, root: str | os.PathLike[str] | MutableMapping[str, bytes], *,
          port: int = 69, allow_write: bool = False, allow_overwrite: bool = False,
          max_blksize: int = opt.MAX_BLKSIZE, max_windowsize: int = 64, timeout: float = 1.0,
          max_retries: int = 5, dally: float | None = 1.0, max_file_size: int | None = None,
          max_requests: int | None = None, completed: list | None = None) -> None:
    """Serve TFTP on ``host`` (run as a task; loops until ``max_requests`` have been accepted).

    Args:
        host: the simulated host.
        root: a directory path, or a dict name -> bytes served from memory.
        port: the well-known port to listen on.
        allow_write: accept uploads.
        allow_overwrite: let uploads replace files.
        max_blksize, max_windowsize: the largest values granted.
        timeout, max_retries, dally: session timing.
        max_file_size: the largest upload.
        max_requests: stop listening after this many accepted requests (None: forever).
        completed: if given, each finished transfer appends (kind, name, stats, error or None).
    """
    sock = _udp(host, port)
    active: set[Any] = set()
    accepted = 0
    while max_requests is None or accepted < max_requests:
        payload, addr = sock.recvfrom(65536)
        try:
            req = parse_request(payload)
            if req is None or addr in active:
                continue
            session, commit = _open(req, addr, root, allow_write, allow_overwrite, max_blksize,
                                    max_windowsize, timeout, max_retries, dally, max_file_size)
        except (Refused, opt.OptionError) as exc:
            _send_error(sock, exc.code, exc.message, addr)
            continue
        except OSError as exc:  # the file system refused: the request fails, the server serves on
            _send_error(sock, tftp.ERR_UNDEFINED, exc.strerror or str(exc), addr)
            continue
        accepted += 1
        active.add(addr)
        host.spawn(_transfer, host, session, addr, commit, active, completed)
    sock.close()


def _send_error(sock: Any, code: int, message: str, addr: Any) -> None:
    try:
        sock.sendto(tftp.Error(code, message).encode(), addr)
    except OSError as exc:
        # A request from a source we cannot answer (port 0, no route back): Linux's sendto
        # fails the same way; the request is dropped and the server keeps serving.
        log.info("%s:%s request not answered: %s", addr[0], addr[1], exc)


def _transfer(host: Any, session: Session, addr: Any, commit: Any, active: set,
              completed: list | None) -> None:
    sock = _udp(host)
    error = None
    try:
        run_session(session, sock, _clock(host), on_finished=commit)
    except (TftpError, OSError) as exc:
        # OSError: the client's address cannot be answered (port 0, no route back) or the
        # upload could not be stored; the transfer fails, never the server.
        error = exc
    finally:
        sock.close()
        active.discard(addr)
    kind = "RRQ" if session.is_sender else "WRQ"
    log.info("%s:%s %s %s %s %d bytes %.3f s %d retransmissions", addr[0], addr[1], kind,
             session.filename, "ok" if error is None else f"failed ({error})",
             session.stats.bytes, session.stats.seconds, session.stats.retransmissions)
    if completed is not None:
        completed.append((kind, session.filename, session.stats, error))


def _open(req: tftp.Request, addr: Any, root: Any, allow_write: bool, allow_overwrite: bool,
          max_blksize: int, max_windowsize: int, timeout: float, max_retries: int,
          dally: float | None, max_file_size: int | None) -> tuple[Session, Any]:
    in_memory = isinstance(root, MutableMapping)
    if req.opcode == tftp.RRQ:
        if in_memory:
            if req.filename not in root:
                raise Refused(tftp.ERR_NOT_FOUND, "File not found")
            data = root[req.filename]
        else:
            path = resolve(os.fspath(root), req.filename)
            if not os.path.isfile(path):
                raise Refused(tftp.ERR_NOT_FOUND, "File not found")
            with open(path, "rb") as f:
                data = f.read()
        params = opt.negotiate(req, file_size=len(data), max_blksize=max_blksize,
                               max_windowsize=max_windowsize)
        return server_read(req, io.BytesIO(data), addr, params, timeout=timeout,
                           max_retries=max_retries), None
    if not allow_write:
        raise Refused(tftp.ERR_ACCESS, "writes are not allowed on this server")
    path = None if in_memory else resolve(os.fspath(root), req.filename)
    exists = req.filename in root if in_memory else os.path.lexists(path)
    if exists and not allow_overwrite:
        raise Refused(tftp.ERR_EXISTS, "File already exists")
    params = opt.negotiate(req, max_blksize=max_blksize, max_windowsize=max_windowsize,
                           max_file_size=max_file_size)
    sink = io.BytesIO()

    def commit(_: Session) -> None:
        if in_memory:
            root[req.filename] = sink.getvalue()
        else:
            tmp = path + ".part"
            with open(tmp, "wb") as f:
                f.write(sink.getvalue())
            os.replace(tmp, path)

    return server_write(req, sink, addr, params, timeout=timeout, max_retries=max_retries,
                        dally=dally, max_bytes=max_file_size), commit
