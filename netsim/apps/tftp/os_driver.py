"""TFTP on real OS sockets: a blocking client, and the server (:class:`TftpServer`, which
lives in :mod:`netsim.apps.tftp.os_server` and is re-exported here).
"""

from __future__ import annotations

import io
import os
import socket
import struct
import sys
import tempfile
import time
from typing import Any, BinaryIO

from netsim.apps.tftp import options as opt
from netsim.apps.tftp.blocking import TftpError, run_session
from netsim.apps.tftp.os_server import TftpServer
from netsim.apps.tftp.session import Session, Stats, client_read, client_write

__all__ = ["TftpServer", "TftpError", "get", "put", "split_hostport"]


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


def _client_socket(host: str, port: int) -> tuple[socket.socket, tuple[Any, ...]]:
    family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    sock = _CLIENT_SOCKET(family, socket.SOCK_DGRAM)
    sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
    return sock, sockaddr[:2]


def _options(blksize: int | None, windowsize: int | None, timeout_opt: int | None,
             tsize: int | None) -> tuple[tuple[str, str], ...]:
    return opt.build_request_options(blksize=blksize, windowsize=windowsize, timeout=timeout_opt,
                                     tsize=tsize)


def get(host: str, port: int, remote: str, local: str | os.PathLike[str] | BinaryIO | None = None,
        *, blksize: int | None = None, windowsize: int | None = None, mode: str = "octet",
        timeout: float = 1.0, max_retries: int = 5, timeout_option: int | None = None,
        tsize: bool = True, fallback: bool = True, dally: float | None = 1.0) -> Stats:
    """Download ``remote`` from a TFTP server.

    Args:
        host: server name or address.
        port: server port (69 is the standard one).
        remote: the file name on the server.
        local: a path (written to a temporary name, renamed on success, removed on failure),
            a binary file object, or None for the basename of ``remote``.
        blksize: ask for this block size (RFC 2348); None asks for none.
        windowsize: ask for this window (RFC 7440); None asks for none.
        mode: "octet" or "netascii".
        timeout: first retransmission timeout in seconds.
        max_retries: retransmissions before giving up.
        timeout_option: also ask the server for this timeout (RFC 2349).
        tsize: ask for the transfer size (RFC 2349; only when some other option is asked).
        fallback: retry without options if the server answers ERROR 8.
        dally: seconds to linger after the final ACK to re-ACK a repeated last DATA
            (RFC 1350; None or 0 returns at once).

    Returns:
        The transfer statistics.

    Raises:
        TftpError: the server refused or the transfer failed.
        OSError: a local file or socket problem.
    """
    want_tsize = 0 if tsize and mode == "octet" and (blksize or windowsize or timeout_option) \
        else None
    asked = _options(blksize, windowsize, timeout_option, want_tsize)
    if local is None:
        local = os.path.basename(remote.replace("\\", "/")) or "download"
    sock, server = _client_socket(host, port)
    try:
        if hasattr(local, "write"):
            session = client_read(remote, local, server, mode=mode, options=asked,
                                  fallback=fallback, timeout=timeout, max_retries=max_retries,
                                  dally=dally)
            return run_session(session, sock, time.monotonic_ns)
        return _get_to_path(os.fspath(local), remote, server, sock, mode, asked, fallback,
                            timeout, max_retries, dally)
    finally:
        sock.close()


def _get_to_path(path: str, remote: str, server: Any, sock: socket.socket, mode: str,
                 asked: tuple, fallback: bool, timeout: float, max_retries: int,
                 dally: float | None) -> Stats:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".part")
    f = io.BufferedWriter(io.FileIO(fd, "wb"), buffer_size=1 << 16)

    def commit(_: Session) -> None:
        f.close()
        os.replace(tmp, path)

    session = client_read(remote, f, server, mode=mode, options=asked, fallback=fallback,
                          timeout=timeout, max_retries=max_retries, dally=dally)
    try:
        return run_session(session, sock, time.monotonic_ns, on_finished=commit)
    finally:
        if not f.closed:
            f.close()
        if os.path.exists(tmp):
            os.unlink(tmp)


def put(host: str, port: int, local: str | os.PathLike[str] | BinaryIO, remote: str | None = None,
        *, blksize: int | None = None, windowsize: int | None = None, mode: str = "octet",
        timeout: float = 1.0, max_retries: int = 5, timeout_option: int | None = None,
        tsize: bool = True, fallback: bool = True) -> Stats:
    """Upload ``local`` (a path or a binary file object) as ``remote``.

    Args:
        host: server name or address.
        port: server port.
        local: the path or file object to send.
        remote: the name on the server (default: the basename of ``local``).
        blksize, windowsize, mode, timeout, max_retries, timeout_option, fallback: as for
            :func:`get`.
        tsize: tell the server the size (octet mode, only when some other option is asked).

    Returns:
        The transfer statistics.

    Raises:
        TftpError: the server refused or the transfer failed.
        OSError: a local file or socket problem.
    """
    opened = None
    if hasattr(local, "read"):
        f, size = local, None
        if remote is None:
            raise ValueError("put() from a file object needs a remote name")
    else:
        path = os.fspath(local)
        f = opened = open(path, "rb")  # noqa: SIM115 - closed below
        size = os.fstat(f.fileno()).st_size
        remote = remote or os.path.basename(path)
    want_tsize = size if tsize and mode == "octet" and (blksize or windowsize or timeout_option) \
        else None
    asked = _options(blksize, windowsize, timeout_option, want_tsize)
    sock, server = _client_socket(host, port)
    try:
        session = client_write(remote, f, server, mode=mode, options=asked, fallback=fallback,
                               timeout=timeout, max_retries=max_retries)
        return run_session(session, sock, time.monotonic_ns)
    finally:
        sock.close()
        if opened is not None:
            opened.close()
