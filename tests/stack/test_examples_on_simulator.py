"""The classic programs in examples/ run unchanged on real sockets and on virtual hosts."""

from __future__ import annotations

import importlib.util
import socket
import threading
from pathlib import Path

import pytest

from tests.kits.stack import lan, three_subnets

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quiet(*_):
    pass


def test_udp_pair_runs_on_the_simulator_with_only_the_socket_factory_changed():
    ex = load("udp_sender_receiver")
    net, sw, (h1, h2) = lan(2)
    rx = h2.spawn_with_host(lambda h: ex.receiver(h.socket, "", log=quiet))
    tx = h1.spawn_with_host(lambda h: ex.sender(h.socket, "10.0.0.2", log=quiet), at="1ms")
    net.run()
    assert tx.result == [m.upper() for m in ex.MESSAGES]
    assert [d for d, _ in rx.result] == list(ex.MESSAGES)
    assert {a[0] for _, a in rx.result} == {"10.0.0.1"}


def test_udp_pair_crosses_two_routers_unchanged():
    ex = load("udp_sender_receiver")
    net, (h1, h2, h3), _ = three_subnets()
    h2.spawn_with_host(lambda h: ex.receiver(h.socket, log=quiet))
    tx = h1.spawn_with_host(lambda h: ex.sender(h.socket, "h2", log=quiet), at="1ms")
    net.run()
    assert tx.result == [m.upper() for m in ex.MESSAGES]


class _BindSignal:
    """A real socket that sets an event once bound (so the test knows the receiver is ready)."""

    def __init__(self, sock, bound: threading.Event):
        self._sock, self._bound = sock, bound

    def bind(self, address):
        self._sock.bind(address)
        self._bound.set()

    def __getattr__(self, name):
        return getattr(self._sock, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._sock.close()


def test_udp_pair_runs_on_real_loopback_sockets():
    ex = load("udp_sender_receiver")
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind(("127.0.0.1", 0))
    except OSError as exc:  # pragma: no cover - sandbox without loopback
        pytest.skip(f"no loopback UDP here: {exc}")
    port = probe.getsockname()[1]
    probe.close()
    bound = threading.Event()
    out = {}

    def factory(*args):
        return _BindSignal(socket.socket(*args), bound)

    t = threading.Thread(target=lambda: out.setdefault(
        "rx", ex.receiver(factory, "127.0.0.1", port, log=quiet)))
    t.start()
    assert bound.wait(5)
    echoes = ex.sender(socket.socket, "127.0.0.1", port, log=quiet)
    t.join(5)
    assert echoes == [m.upper() for m in ex.MESSAGES]
    assert [d for d, _ in out["rx"]] == list(ex.MESSAGES)


def test_broadcast_example_reaches_every_host_on_the_lan():
    ex = load("udp_broadcast")
    net, sw, hosts = lan(4)
    listeners = [h.spawn_with_host(lambda h: ex.broadcast_listener(h.socket, log=quiet))
                 for h in hosts[1:]]
    hosts[0].spawn_with_host(lambda h: ex.broadcast_sender(h.socket), at="1ms")
    net.run()
    assert [t.result[0] for t in listeners] == [b"anyone there?"] * 3
    assert {t.result[1][0] for t in listeners} == {"10.0.0.1"}


def test_broadcast_example_without_so_broadcast_is_refused_like_linux():
    ex = load("udp_broadcast")
    net, sw, hosts = lan(2)
    task = hosts[0].spawn_with_host(lambda h: ex.broadcast_sender(h.socket, use_so_broadcast=False))
    with pytest.raises(PermissionError):
        net.run()
    assert task.done
