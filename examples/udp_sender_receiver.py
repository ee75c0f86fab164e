"""The classic UDP sender/receiver pair, written once for real and virtual sockets.

Both functions take ``socket_factory``: pass Python's ``socket.socket`` to run them on the
real loopback, or ``host.socket`` to run them on a simulated host. Nothing else changes.

    # real machine (two terminals or two threads)
    receiver(socket.socket, "127.0.0.1")
    sender(socket.socket, "127.0.0.1")

    # simulator
    h2.spawn_with_host(lambda h: receiver(h.socket, "10.0.0.2"))
    h1.spawn_with_host(lambda h: sender(h.socket, "10.0.0.2"))
"""

from __future__ import annotations

from socket import AF_INET, SOCK_DGRAM

PORT = 5005
MESSAGES = (b"hello", b"from the", b"sender")


def receiver(socket_factory, bind_ip: str = "", port: int = PORT, count: int = len(MESSAGES),
             timeout: float | None = 5.0, log=print) -> list[tuple[bytes, tuple[str, int]]]:
    """Receive ``count`` datagrams, answer each with an upper-cased echo, return what came in."""
    got = []
    with socket_factory(AF_INET, SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.bind((bind_ip, port))
        for _ in range(count):
            data, addr = sock.recvfrom(1024)
            log(f"receiver: {data!r} from {addr}")
            got.append((data, addr))
            sock.sendto(data.upper(), addr)
    return got


def sender(socket_factory, dest_ip: str, port: int = PORT, messages=MESSAGES,
           timeout: float = 5.0, log=print) -> list[bytes]:
    """Send each message to ``dest_ip:port`` and wait for its echo; return the echoes."""
    echoes = []
    with socket_factory(AF_INET, SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        for msg in messages:
            sock.sendto(msg, (dest_ip, port))
            data, addr = sock.recvfrom(1024)
            log(f"sender: echo {data!r} from {addr}")
            echoes.append(data)
    return echoes


def _main(argv: list[str]) -> None:
    """``--sim``: the pair on two simulated hosts; otherwise on the real loopback."""
    if "--sim" in argv:
        from netsim import Network
        net = Network(seed=1)
        h1, h2, sw = net.add_host("h1"), net.add_host("h2"), net.add_switch("s1")
        net.link(h1, sw)
        net.link(h2, sw)
        h1.set_ip("10.0.0.1/24")
        h2.set_ip("10.0.0.2/24")
        h2.spawn_with_host(lambda h: receiver(h.socket, "10.0.0.2"))
        h1.spawn_with_host(lambda h: sender(h.socket, "10.0.0.2"), at="1ms")
        net.run()
        return
    import socket
    import threading
    server = threading.Thread(target=receiver, args=(socket.socket, "127.0.0.1"))
    server.start()
    import time
    time.sleep(0.2)          # let the receiver bind before the first datagram
    sender(socket.socket, "127.0.0.1")
    server.join()


if __name__ == "__main__":
    import sys
    _main(sys.argv[1:])
