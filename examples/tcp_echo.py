"""The classic TCP echo server and client, written once for real and virtual sockets.

Both functions take ``socket_factory``: pass Python's ``socket.socket`` to run them on the
real loopback, or ``host.socket`` to run them on a simulated host. Nothing else changes.

    # real machine: python examples/tcp_echo.py
    threading.Thread(target=echo_server, args=(socket.socket, "127.0.0.1", 7007)).start()
    echo_client(socket.socket, "127.0.0.1", 7007)

    # simulator: python examples/tcp_echo.py --sim
    h2.spawn_with_host(lambda h: echo_server(h.socket, "", 7007))
    h1.spawn_with_host(lambda h: echo_client(h.socket, "10.0.0.2", 7007), at="1ms")

The server is *iterative*: it serves one client from accept() to close() before it accepts the
next, so a second client waits (its handshake completes in the kernel's backlog, but nobody
reads its data). ``tcp_threaded_server.py`` is the concurrent version.
"""

from __future__ import annotations

import sys
from socket import AF_INET, SOCK_STREAM

PORT = 7007
MESSAGES = (b"hello", b"echo me back", b"bye")


def echo_server(socket_factory, bind_ip: str = "", port: int = PORT, clients: int = 1,
                ready=None, log=print) -> list[tuple[tuple[str, int], int]]:
    """Accept ``clients`` connections one after another and echo each one until EOF.

    Args:
        socket_factory: ``socket.socket`` or ``host.socket``.
        bind_ip: address to listen on ("" for every address).
        port: port to listen on (0: an ephemeral port, reported through ``ready``).
        clients: how many connections to serve before returning.
        ready: called with the listening address once ``listen()`` returned.
        log: where progress lines go.

    Returns:
        ``[(client address, bytes echoed)]`` in the order the clients were served.
    """
    served = []
    with socket_factory(AF_INET, SOCK_STREAM) as listener:
        listener.bind((bind_ip, port))
        listener.listen(5)
        if ready is not None:
            ready(listener.getsockname())
        for _ in range(clients):
            conn, addr = listener.accept()
            log(f"server: connection from {addr}")
            total = 0
            with conn:
                while True:
                    data = conn.recv(1024)
                    if not data:          # b"": the client closed its side (FIN)
                        break
                    conn.sendall(data)
                    total += len(data)
            log(f"server: {addr} done, {total} bytes echoed")
            served.append((addr, total))
    return served


def echo_client(socket_factory, server_ip: str, port: int = PORT, messages=MESSAGES,
                log=print) -> list[bytes]:
    """Connect, send each message and read back its echo; return the echoes.

    TCP is a byte stream: one ``recv`` may return part of a message, so the client reads
    until it has as many bytes as it sent.
    """
    echoes = []
    with socket_factory(AF_INET, SOCK_STREAM) as sock:
        sock.connect((server_ip, port))
        for msg in messages:
            sock.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = sock.recv(1024)
                if not chunk:
                    raise ConnectionError("server closed the connection early")
                got += chunk
            log(f"client: echo {got!r}")
            echoes.append(got)
    return echoes


def _main(argv: list[str]) -> None:
    if "--sim" in argv:
        from netsim import Network
        net = Network(seed=1)
        h1, h2, sw = net.add_host("h1"), net.add_host("h2"), net.add_switch("s1")
        net.link(h1, sw)
        net.link(h2, sw)
        h1.set_ip("10.0.0.1/24")
        h2.set_ip("10.0.0.2/24")
        h2.spawn_with_host(lambda h: echo_server(h.socket))
        h1.spawn_with_host(lambda h: echo_client(h.socket, "10.0.0.2"), at="1ms")
        net.run()
        print(net.tcp_tracer.connections[0].ladder().text())
        return
    import socket
    import threading
    bound = threading.Event()
    where: list = []
    server = threading.Thread(target=echo_server, args=(socket.socket, "127.0.0.1", 0),
                              kwargs={"ready": lambda a: (where.append(a), bound.set())})
    server.start()
    bound.wait(5)
    echo_client(socket.socket, "127.0.0.1", where[0][1])
    server.join()


if __name__ == "__main__":
    _main(sys.argv[1:])
