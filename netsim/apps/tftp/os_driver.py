"""TFTP on real OS sockets: a blocking client, and the server (:class:`TftpServer`, which
lives in :mod:`netsim.apps.tftp.os_server` and is re-exported here).
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from typing import Any

from netsim.apps.tftp.blocking import TftpError
from netsim.apps.tftp.client import Local, Time, TransferResult, download, upload
from netsim.apps.tftp.os_server import TftpServer

__all__ = ["TftpServer", "TftpError", "TransferResult", "get", "put", "split_hostport"]


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


def get(server: str | tuple[str, int], remote: str | bytes, local: Local = None, *, mode: str = "octet",
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


def put(server: str | tuple[str, int], local: Local, remote: str | bytes | None = None, *,
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
