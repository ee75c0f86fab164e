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


def _main(argv: list[str]) -> None:
    """``--sim``: one sender and three listeners on a simulated switch (the real-socket
    version needs two machines on one LAN: run broadcast_listener on one, the sender on the
    other)."""
    if "--sim" not in argv:
        print("run with --sim for the simulated LAN, or import the two functions")
        return
    from netsim import Network
    net = Network(seed=1)
    sw = net.add_switch("s1")
    hosts = [net.add_host(f"h{i + 1}") for i in range(4)]
    for i, h in enumerate(hosts):
        net.link(h, sw)
        h.set_ip(f"10.0.0.{i + 1}/24")
    for h in hosts[1:]:
        h.spawn_with_host(lambda h: broadcast_listener(h.socket))
    hosts[0].spawn_with_host(lambda h: broadcast_sender(h.socket), at="1ms")
    net.run()


if __name__ == "__main__":
    import sys
    _main(sys.argv[1:])
