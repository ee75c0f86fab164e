"""The TCP example programs run unchanged on real loopback sockets and on virtual hosts."""

from __future__ import annotations

import importlib.util
import socket
import threading
from pathlib import Path

import pytest

from netsim import Network

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quiet(*_):
    pass


def star(n_clients: int, seed: int = 1):
    """A server 10.0.0.100 and clients c0.. (10.0.0.1..) on one switch."""
    net = Network(seed=seed)
    sw = net.add_switch("s1")
    srv = net.add_host("srv")
    net.link(srv, sw)
    srv.set_ip("10.0.0.100/24")
    clients = []
    for i in range(n_clients):
        h = net.add_host(f"c{i}")
        net.link(h, sw)
        h.set_ip(f"10.0.0.{i + 1}/24")
        clients.append(h)
    return net, srv, clients


def real_loopback_or_skip():
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind(("127.0.0.1", 0))
    except OSError as exc:  # pragma: no cover - sandbox without loopback
        pytest.skip(f"no loopback TCP here: {exc}")
    finally:
        probe.close()


class RealThreads:
    """``start_thread`` for real machines; remembers the threads so a test can join them."""

    def __init__(self):
        self.threads: list[threading.Thread] = []

    def __call__(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        self.threads.append(t)
        t.start()


def run_real_server(target, *args, **kwargs):
    """Start a server function in a thread with port 0; return (thread, port, result box)."""
    bound = threading.Event()
    where, box = [], {}

    def ready(addr):
        where.append(addr)
        bound.set()

    def body():
        box["result"] = target(*args, ready=ready, log=quiet, **kwargs)

    t = threading.Thread(target=body, daemon=True)
    t.start()
    assert bound.wait(5), "the server never listened"
    return t, where[0][1], box


# -- iterative echo server ---------------------------------------------------------------------

def test_echo_example_runs_on_real_loopback_sockets():
    """RFC 9293 3.9.1 (the user calls OPEN, SEND, RECEIVE, CLOSE; here Berkeley sockets): the echo
    example runs on the operating system's TCP."""
    real_loopback_or_skip()
    ex = load("tcp_echo")
    t, port, box = run_real_server(ex.echo_server, socket.socket, "127.0.0.1", 0, clients=2)
    for _ in range(2):
        assert ex.echo_client(socket.socket, "127.0.0.1", port, log=quiet) == list(ex.MESSAGES)
    t.join(5)
    assert [n for _, n in box["result"]] == [sum(map(len, ex.MESSAGES))] * 2


def test_echo_example_runs_on_the_simulator_with_only_the_socket_factory_changed():
    """RFC 9293 3.9.1 (the same user calls): the echo example runs on the simulated TCP with only
    the socket factory changed."""
    ex = load("tcp_echo")
    net, srv, clients = star(2)
    server = srv.spawn_with_host(lambda h: ex.echo_server(h.socket, clients=2, log=quiet))
    tasks = [c.spawn_with_host(lambda h: ex.echo_client(h.socket, "10.0.0.100", log=quiet),
                               at="1ms") for c in clients]
    net.run()
    assert [t.result for t in tasks] == [list(ex.MESSAGES)] * 2
    assert sorted(a[0] for a, _ in server.result) == ["10.0.0.1", "10.0.0.2"]
    assert net.blocked_tasks() == []


# -- thread-per-client server ------------------------------------------------------------------

def test_threaded_server_runs_on_real_loopback_with_threading():
    """RFC 9293 3.4 (a connection is identified by its socket pair, so one listening port serves
    many): the threaded server runs on the operating system's TCP."""
    real_loopback_or_skip()
    ex = load("tcp_threaded_server")
    start_thread = RealThreads()
    t, port, box = run_real_server(ex.threaded_server, socket.socket, start_thread,
                                   "127.0.0.1", 0, clients=5)
    answers: list = []
    clients = [threading.Thread(target=lambda: answers.append(
        ex.upper_client(socket.socket, "127.0.0.1", port, log=quiet)), daemon=True)
        for _ in range(5)]
    for c in clients:
        c.start()
    for c in clients:
        c.join(5)
    t.join(5)
    for handler in start_thread.threads:
        handler.join(5)
    assert answers == [[b"ONE", b"TWO", b"THREE"]] * 5
    assert len(start_thread.threads) == 5
    assert sorted(n for _, n in box["result"]) == [11] * 5


def test_threaded_server_serves_five_simulated_clients_concurrently_with_host_spawn():
    """RFC 9293 3.10.7.2 (each SYN to the listener starts its own connection) and 3.10.7.4 (eighth
    check: each client's FIN moves its connection to CLOSE_WAIT): five clients are served
    concurrently."""
    ex = load("tcp_threaded_server")
    net, srv, clients = star(5)
    server = srv.spawn_with_host(lambda h: ex.threaded_server(h.socket, h.spawn, clients=5,
                                                              log=quiet))
    tasks = [c.spawn_with_host(lambda h: ex.upper_client(h.socket, "10.0.0.100", log=quiet),
                               at="1ms") for c in clients]
    net.run()
    assert [t.result for t in tasks] == [[b"ONE", b"TWO", b"THREE"]] * 5
    assert sorted(a[0] for a, _ in server.result) == [f"10.0.0.{i}" for i in range(1, 6)]
    assert net.blocked_tasks() == []
    handlers = [ev for ev in net.trace if ev.kind == "state" and ev.node == "srv"
                and "ESTABLISHED -> CLOSE_WAIT" in ev.note]
    assert len(handlers) == 5


def _makespan(threaded: bool) -> int:
    """Virtual ns until the last of five clients got its answers (same seed, same network)."""
    echo, thr = load("tcp_echo"), load("tcp_threaded_server")
    net, srv, clients = star(5)
    if threaded:
        srv.spawn_with_host(lambda h: thr.threaded_server(h.socket, h.spawn, clients=5, log=quiet))
    else:
        srv.spawn_with_host(lambda h: echo.echo_server(h.socket, port=thr.PORT, clients=5,
                                                       log=quiet))
    finished = []

    def client(h):
        thr.upper_client(h.socket, "10.0.0.100", messages=(b"a",) * 20, log=quiet)
        finished.append(h.now)

    for c in clients:
        c.spawn_with_host(client, at="1ms")
    net.run()
    assert len(finished) == 5
    return max(finished)


def test_thread_per_client_server_finishes_five_clients_sooner_than_the_iterative_one():
    """RFC 9293 3.4 (connections are told apart by socket pairs, so they can progress at once): a
    thread per connection finishes five clients in less than half the time of the iterative
    server."""
    # The iterative server answers the next client only after the previous one hung up.
    assert _makespan(threaded=True) * 2 < _makespan(threaded=False)
