"""TFTP on a simulated host: blocking-style task code over ``host.socket(AF_INET, SOCK_DGRAM)``.

Runs the same sans-I/O sessions and the same blocking loop (:mod:`netsim.apps.tftp.blocking`) as
the OS client; only the socket factory and the clock (``host.kernel.now``, int ns) differ::

    files = {"boot.img": b"..."}
    server.spawn_with_host(tftp_sim.serve, files)               # a task on the server host
    data, stats = tftp_sim.get(client, "10.0.0.1", "boot.img")   # inside a client task
    tftp_sim.put(client, ("10.0.0.1", 6969), b"...", "up.bin")   # another port, from memory

The server is the classic concurrent one: a loop on port 69 that spawns one task (with its own
socket, its transfer ID) per request. ``root`` is either a directory on the real file system
(names checked by :mod:`netsim.apps.tftp.paths`) or a dict name -> bytes kept in memory (uploads
are stored into it when ``allow_write``).

An upload is committed *before* its final ACK goes out, as the real-socket server does: into the
dict, or on disk through :class:`netsim.apps.tftp.server_files.Upload` (a temporary file of its
own in the target's directory, linked into place). If that fails the client gets an ERROR
instead of the ACK; an ``OSError`` while the data arrives ends the transfer with an ERROR too,
and what was staged is removed.

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
from netsim.apps.tftp.client import Local, Time, TransferResult, download, upload
from netsim.apps.tftp.paths import Refused, parse_request, resolve
from netsim.apps.tftp.server_files import Identity, Upload, error_for
from netsim.apps.tftp.session import Session, server_read, server_write
from netsim.sim.units import parse_time
from netsim.wire import tftp

__all__ = ["serve", "get", "put", "TftpError", "TransferResult"]

AF_INET, SOCK_DGRAM = _socket.AF_INET, _socket.SOCK_DGRAM
log = logging.getLogger("netsim.tftp.sim")


def _clock(host: Any):
    kernel = host.kernel
    return lambda: kernel.now


def _udp(host: Any, port: int = 0) -> Any:
    sock = host.socket(AF_INET, SOCK_DGRAM)
    sock.bind(("", port))
    return sock


def get(host: Any, server: str | tuple[str, int], remote: str | bytes, local: Local = None, *,
        mode: str = "octet", blksize: int | None = None, windowsize: int | None = None,
        timeout: Time = 1.0, max_retries: int = 5, timeout_option: Time | None = None,
        tsize: bool = True, fallback: bool = True, dally: Time | None = 1.0) -> TransferResult:
    """Download ``remote`` from ``server`` (call from a task on ``host``).

    After ``host``, the arguments and the result are those of
    :func:`netsim.apps.tftp.os_driver.get` (a test checks that the signatures match); times
    are virtual.

    Args:
        host: the simulated host running this task.
        server: the server's address (port 69), or an ``(address, port)`` pair.
        remote: the file name on the server.
        local: a path, a binary file object, or None to keep the data in memory.
        mode, blksize, windowsize, timeout, max_retries, timeout_option, tsize, fallback,
            dally: as for :func:`netsim.apps.tftp.os_driver.get`.

    Returns:
        A :class:`~netsim.apps.tftp.client.TransferResult`: ``(data, stats)``.

    Raises:
        TftpError: the transfer failed.
    """
    sock = _udp(host)
    try:
        return download(sock, _clock(host), _address(server), remote, local, mode=mode,
                        blksize=blksize, windowsize=windowsize, timeout=timeout,
                        max_retries=max_retries, timeout_option=timeout_option, tsize=tsize,
                        fallback=fallback, dally=dally)
    finally:
        sock.close()


def put(host: Any, server: str | tuple[str, int], local: Local, remote: str | bytes | None = None, *,
        mode: str = "octet", blksize: int | None = None, windowsize: int | None = None,
        timeout: Time = 1.0, max_retries: int = 5, timeout_option: Time | None = None,
        tsize: bool = True, fallback: bool = True) -> TransferResult:
    """Upload ``local`` (a path, a binary file object or bytes) as ``remote`` (call from a
    task on ``host``); after ``host``, arguments and result as for
    :func:`netsim.apps.tftp.os_driver.put`.

    Raises:
        TftpError: the transfer failed.
    """
    sock = _udp(host)
    try:
        return upload(sock, _clock(host), _address(server), local, remote, mode=mode,
                      blksize=blksize, windowsize=windowsize, timeout=timeout,
                      max_retries=max_retries, timeout_option=timeout_option, tsize=tsize,
                      fallback=fallback)
    finally:
        sock.close()


def _address(server: str | tuple[str, int]) -> tuple[str, int]:
    return (server, 69) if isinstance(server, str) else (server[0], server[1])


def serve(host: Any, root: str | os.PathLike[str] | MutableMapping[str, bytes], *,
          port: int = 69, allow_write: bool = False, allow_overwrite: bool = False,
          max_blksize: int = opt.MAX_BLKSIZE, max_windowsize: int = 64, timeout: Time = 1.0,
          max_retries: int = 5, dally: Time | None = 1.0, max_file_size: int | None = None,
          max_requests: int | None = None, completed: list | None = None) -> None:
    """Serve TFTP on ``host`` (run as a task; loops until ``max_requests`` have been accepted).

    Args:
        host: the simulated host.
        root: a directory path, or a dict name -> bytes served from memory.
        port: the well-known port to listen on.
        allow_write: accept uploads.
        allow_overwrite: let uploads replace files.
        max_blksize, max_windowsize: the largest values granted.
        timeout, max_retries, dally: session timing; times as for
            :class:`netsim.apps.tftp.os_driver.TftpServer`.
        max_file_size: the largest upload.
        max_requests: stop listening after this many accepted requests (None: forever).
        completed: if given, each finished transfer appends (kind, name, stats, error or None).
    """
    for value in (timeout, dally):  # refused here, not when the first request comes
        if value is not None:
            parse_time(value)
    sock = _udp(host, port)
    active: set[Any] = set()
    accepted = 0
    while max_requests is None or accepted < max_requests:
        payload, addr = sock.recvfrom(65536)
        try:
            req = parse_request(payload)
            if req is None or addr in active:
                continue
            session, commit, upload = _open(req, addr, root, allow_write, allow_overwrite,
                                            max_blksize, max_windowsize, timeout, max_retries,
                                            dally, max_file_size)
        except (Refused, opt.OptionError) as exc:
            _send_error(sock, exc.code, exc.message, addr)
            continue
        except OSError as exc:  # the file system refused: the request fails, the server serves on
            _send_error(sock, tftp.ERR_UNDEFINED, exc.strerror or str(exc), addr)
            continue
        accepted += 1
        active.add(addr)
        host.spawn(_transfer, host, session, addr, commit, active, completed, upload)
    sock.close()


def _send_error(sock: Any, code: int, message: str, addr: Any) -> None:
    try:
        sock.sendto(tftp.Error(code, message).encode(), addr)
    except OSError as exc:
        # A request from a source we cannot answer (port 0, no route back): Linux's sendto
        # fails the same way; the request is dropped and the server keeps serving.
        log.info("%s:%s request not answered: %s", addr[0], addr[1], exc)


def _transfer(host: Any, session: Session, addr: Any, commit: Any, active: set,
              completed: list | None, upload: Upload | None = None) -> None:
    sock = _udp(host)
    error = None
    try:
        run_session(session, sock, _clock(host), commit=commit)
    except TftpError as exc:
        error = exc
    except OSError as exc:
        # Writing the staged upload failed (a full disk), or the client's address cannot be
        # answered (port 0, no route back): tell the client if we can; the transfer fails,
        # never the server.
        code, message = error_for(exc)
        try:
            sock.sendto(tftp.Error(code, message).encode(), session.peer or addr)
            error = TftpError(code, message, sent=True)
        except OSError:
            error = TftpError(code, message, sent=False)
    finally:
        sock.close()
        active.discard(addr)
        if upload is not None and not upload.committed:
            upload.discard()
    kind = "RRQ" if session.is_sender else "WRQ"
    log.info("%s:%s %s %s %s %d bytes %.3f s %d retransmissions", addr[0], addr[1], kind,
             session.filename, "ok" if error is None else f"failed ({error})",
             session.stats.bytes, session.stats.seconds, session.stats.retransmissions)
    if completed is not None:
        completed.append((kind, session.filename, session.stats, error))


def _open(req: tftp.Request, addr: Any, root: Any, allow_write: bool, allow_overwrite: bool,
          max_blksize: int, max_windowsize: int, timeout: Time, max_retries: int,
          dally: Time | None, max_file_size: int | None) -> tuple[Session, Any, Upload | None]:
    """The session for one request, its commit hook (uploads) and the staged upload (disk).

    Raises:
        Refused: the request is refused (the code to send).
        OptionError: bad options.
    """
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
                           max_retries=max_retries), None, None
    if not allow_write:
        raise Refused(tftp.ERR_ACCESS, "writes are not allowed on this server")
    params = opt.negotiate(req, max_blksize=max_blksize, max_windowsize=max_windowsize,
                           max_file_size=max_file_size)
    upload = None
    if in_memory:
        if req.filename in root and not allow_overwrite:
            raise Refused(tftp.ERR_EXISTS, "File already exists")
        sink = io.BytesIO()

        def commit(_: Session) -> None:
            root[req.filename] = sink.getvalue()
    else:
        # Every upload stages into a temporary file of its own (two uploads of one name must
        # not share one), checked and committed exactly as on the real-socket server.
        upload = Upload.begin(resolve(os.fspath(root), req.filename), Identity.current(),
                              allow_overwrite=allow_overwrite, fsync=False, umask=_umask())
        sink, commit = upload.file, lambda _: upload.commit()
    return server_write(req, sink, addr, params, timeout=timeout, max_retries=max_retries,
                        dally=dally, max_bytes=max_file_size), commit, upload


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
