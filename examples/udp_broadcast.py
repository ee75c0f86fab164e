"""The classic UDP broadcast sender and listener (SO_BROADCAST), for real or virtual sockets.

``socket_factory`` is ``socket.socket`` on a real machine or ``host.socket`` on a simulated
host. Without SO_BROADCAST the sender's ``sendto`` raises ``PermissionError`` (EACCES), as on
Linux.
"""

from __future__ import annotations

from socket import AF_INET, SO_BROADCAST, SO_REUSEADDR, SOCK_DGRAM, SOL_SOCKET

PORT = 37020


def broadcast_sender(socket_factory, message: bytes = b"anyone there?", port: int = PORT,
                     address: str = "<broadcast>", use_so_broadcast: bool = True) -> int:
    """Broadcast ``message`` once; returns the bytes sent."""
    with socket_factory(AF_INET, SOCK_DGRAM) as sock:
        if use_so_broadcast:
            sock.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)
        return sock.sendto(message, (address, port))


def broadcast_listener(socket_factory, port: int = PORT, timeout: float | None = 5.0,
                       log=print) -> tuple[bytes, tuple[str, int]] | None:
    """Wait for one broadcast on ``port``; returns ``(data, sender)`` or None on timeout."""
    with socket_factory(AF_INET, SOCK_DGRAM) as sock:
        sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        sock.settimeout(timeout)
        sock.bind(("", port))
        try:
            data, addr = sock.recvfrom(1024)
        except TimeoutError:
            log("listener: nothing heard")
            return None
        log(f"listener: {data!r} from {addr}")
        return data, addr
