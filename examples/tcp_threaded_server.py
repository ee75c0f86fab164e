"""A thread-per-client TCP server: each accepted connection is served by a new thread.

Written once for real and virtual machines. The server takes two factories:

* ``socket_factory``: ``socket.socket`` on a real machine, ``host.socket`` in the simulator;
* ``start_thread(fn, *args)``: ``lambda fn, *a: threading.Thread(target=fn, args=a).start()``
  on a real machine, ``host.spawn`` in the simulator (a cooperative task that blocks like a
  thread).

    # real machine: python examples/tcp_threaded_server.py
    # simulator:    python examples/tcp_threaded_server.py --sim

Compare with the iterative ``tcp_echo.echo_server``: there the second client waits until the
first one is done; here every client is served at once.
"""

from __future__ import annotations

import sys
from socket import AF_INET, SOCK_STREAM

PORT = 7008


def handle_client(conn, addr, served: list, log=print) -> None:
    """Serve one client: answer every chunk upper-cased until the client closes."""
    total = 0
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data.upper())
            total += len(data)
    log(f"handler: {addr} done, {total} bytes")
    served.append((addr, total))


def threaded_server(socket_factory, start_thread, bind_ip: str = "", port: int = PORT,
                    clients: int = 5, ready=None, log=print) -> list:
    """Accept ``clients`` connections, handing each to a new thread; return the shared list
    the handler threads append ``(client address, bytes)`` to as they finish.

    Args:
        socket_factory: ``socket.socket`` or ``host.socket``.
        start_thread: starts ``fn(*args)`` concurrently (a thread or a simulator task).
        bind_ip: address to listen on ("" for every address).
        port: port (0: ephemeral, reported through ``ready``).
        clients: connections to accept before the listening socket is closed.
        ready: called with the listening address once ``listen()`` returned.
        log: where progress lines go.
    """
    served: list = []
    with socket_factory(AF_INET, SOCK_STREAM) as listener:
        listener.bind((bind_ip, port))
        listener.listen(clients)
        if ready is not None:
            ready(listener.getsockname())
        for _ in range(clients):
            conn, addr = listener.accept()
            log(f"server: connection from {addr}, starting a thread")
            start_thread(handle_client, conn, addr, served, log)
    return served


def upper_client(socket_factory, server_ip: str, port: int = PORT,
                 messages=(b"one", b"two", b"three"), log=print) -> list[bytes]:
    """Send each message, read its upper-cased answer; return the answers."""
    answers = []
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
            answers.append(got)
        log(f"client: {answers}")
    return answers


def _main(argv: list[str]) -> None:
    if "--sim" in argv:
        from netsim import Network
        net = Network(seed=1)
        sw = net.add_switch("s1")
        srv = net.add_host("srv")
        net.link(srv, sw)
        srv.set_ip("10.0.0.100/24")
        srv.spawn_with_host(lambda h: threaded_server(h.socket, h.spawn))
        for i in range(5):
            h = net.add_host(f"c{i}")
            net.link(h, sw)
            h.set_ip(f"10.0.0.{i + 1}/24")
            h.spawn_with_host(lambda h: upper_client(h.socket, "10.0.0.100"), at="1ms")
        net.run()
        return
    import socket
    import threading
    bound = threading.Event()
    where: list = []

    def start_thread(fn, *args):
        threading.Thread(target=fn, args=args).start()

    server = threading.Thread(target=threaded_server,
                              args=(socket.socket, start_thread, "127.0.0.1", 0),
                              kwargs={"ready": lambda a: (where.append(a), bound.set())})
    server.start()
    bound.wait(5)
    clients = [threading.Thread(target=upper_client, args=(socket.socket, "127.0.0.1",
                                                           where[0][1])) for _ in range(5)]
    for t in clients:
        t.start()
    for t in clients + [server]:
        t.join()


if __name__ == "__main__":
    _main(sys.argv[1:])
