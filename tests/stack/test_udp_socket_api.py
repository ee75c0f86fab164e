"""UDP sockets behave like Python's socket module: results, options and the exact errors."""

from __future__ import annotations

import errno

import pytest

from netsim import AF_INET, SO_BROADCAST, SO_REUSEADDR, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET
from netsim.stack.ports import EPHEMERAL_HIGH, EPHEMERAL_LOW
from tests.kits.stack import pair, three_subnets


def run(net, host, fn):
    """Run ``fn(host)`` as a task to completion and return its result."""
    return net.kernel.run_blocking(fn, host)


def test_port_unreachable_makes_a_connected_socket_raise_connection_refused():
    net, h1, h2 = pair()

    def prog(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.connect(("10.0.0.2", 9))
        s.send(b"anyone?")
        s.settimeout(1)
        with pytest.raises(ConnectionRefusedError) as info:
            s.recv(10)
        assert info.value.errno == errno.ECONNREFUSED
        assert info.value.strerror == "Connection refused"
        s.send(b"the error was consumed: this send works")
        return True

    assert run(net, h1, prog)
    assert "port unreachable" in [ev.note for ev in net.trace if ev.node == "h2"]


def test_second_bind_to_a_port_raises_eaddrinuse_unless_both_set_so_reuseaddr():
    net, h1, h2 = pair()

    def prog(h):
        a = h.socket(AF_INET, SOCK_DGRAM)
        a.bind(("", 5000))
        b = h.socket(AF_INET, SOCK_DGRAM)
        with pytest.raises(OSError) as info:
            b.bind(("10.0.0.1", 5000))
        assert (info.value.errno, info.value.strerror) == (errno.EADDRINUSE, "Address already in use")
        b.close()
        a.close()
        c, d = h.socket(AF_INET, SOCK_DGRAM), h.socket(AF_INET, SOCK_DGRAM)
        for s in (c, d):
            s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
            s.bind(("", 5000))
        assert c.getsockopt(SOL_SOCKET, SO_REUSEADDR) == 1
        return c.getsockname(), d.getsockname()

    assert run(net, h1, prog) == (("0.0.0.0", 5000), ("0.0.0.0", 5000))


def test_bind_to_a_foreign_address_is_refused():
    net, h1, h2 = pair()

    def prog(h):
        with pytest.raises(OSError) as info:
            h.socket(AF_INET, SOCK_DGRAM).bind(("10.0.0.2", 5000))
        return info.value.errno

    assert run(net, h1, prog) == errno.EADDRNOTAVAIL


def test_broadcast_without_so_broadcast_raises_permission_error():
    net, h1, h2 = pair()

    def prog(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        for dst in ("255.255.255.255", "<broadcast>", "10.0.0.255"):
            with pytest.raises(PermissionError) as info:
                s.sendto(b"x", (dst, 5000))
            assert info.value.errno == errno.EACCES
        s.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)
        return s.sendto(b"x", ("<broadcast>", 5000))

    assert run(net, h1, prog) == 1


def test_recv_timeouts_and_non_blocking_mode():
    net, h1, h2 = pair()

    def prog(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", 5000))
        assert s.gettimeout() is None
        s.settimeout(0.25)
        t0 = h.now
        with pytest.raises(TimeoutError) as info:
            s.recvfrom(100)
        assert str(info.value) == "timed out"
        assert h.now - t0 == 250_000_000
        s.setblocking(False)
        assert s.gettimeout() == 0.0
        with pytest.raises(BlockingIOError) as info2:
            s.recv(100)
        assert info2.value.errno == errno.EAGAIN
        with pytest.raises(ValueError):
            s.settimeout(-1)
        return True

    assert run(net, h1, prog)


def test_closed_socket_raises_ebadf():
    net, h1, h2 = pair()

    def prog(h):
        with h.socket(AF_INET, SOCK_DGRAM) as s:
            s.bind(("", 5000))
            fd = s.fileno()
        assert s.fileno() == -1 and fd >= 3
        for call in (lambda: s.sendto(b"x", ("10.0.0.2", 1)), lambda: s.recv(1),
                     lambda: s.bind(("", 5001))):
            with pytest.raises(OSError) as info:
                call()
            assert (info.value.errno, info.value.strerror) == (errno.EBADF, "Bad file descriptor")
        s.close()  # twice is fine
        # the port is free again
        h.socket(AF_INET, SOCK_DGRAM).bind(("", 5000))
        return True

    assert run(net, h1, prog)


def test_send_errors_match_linux():
    net, h1, h2 = pair()

    def prog(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        with pytest.raises(OSError) as big:
            s.sendto(bytes(65508), ("10.0.0.2", 5000))
        with pytest.raises(OSError) as noroute:
            s.sendto(b"x", ("192.168.1.1", 5000))
        with pytest.raises(OSError) as nodest:
            s.send(b"x")
        with pytest.raises(TypeError):
            s.sendto("text", ("10.0.0.2", 5000))
        with pytest.raises(OverflowError):
            s.sendto(b"x", ("10.0.0.2", 70000))
        assert s.sendto(bytes(65507), ("10.0.0.2", 5000)) == 65507
        return big.value.errno, noroute.value.errno, noroute.value.strerror, nodest.value.errno

    assert run(net, h1, prog) == (errno.EMSGSIZE, errno.ENETUNREACH, "Network is unreachable",
                                  errno.EDESTADDRREQ)


def test_recvfrom_truncates_to_bufsize_and_discards_the_rest():
    net, h1, h2 = pair()

    def server(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", 5000))
        return s.recvfrom(4), s.recvfrom(100)

    task = h2.spawn_with_host(server)

    def client(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.sendto(b"abcdefgh", ("10.0.0.2", 5000))
        s.sendto(b"second", ("10.0.0.2", 5000))

    h1.spawn_with_host(client)
    net.run()
    (first, addr), (second, _) = task.result
    assert (first, second) == (b"abcd", b"second")
    assert addr[0] == "10.0.0.1" and EPHEMERAL_LOW <= addr[1] <= EPHEMERAL_HIGH


def test_ephemeral_ports_come_from_the_seeded_rng():
    def ports(seed):
        net, h1, h2 = pair(seed=seed)

        def prog(h):
            out = []
            for _ in range(3):
                s = h.socket(AF_INET, SOCK_DGRAM)
                s.sendto(b"x", ("10.0.0.2", 5000))
                out.append(s.getsockname()[1])
            return out
        return run(net, h1, prog)

    assert ports(7) == ports(7)
    assert ports(7) != ports(8)
    assert all(EPHEMERAL_LOW <= p <= EPHEMERAL_HIGH for p in ports(7))


def test_connected_socket_only_receives_from_its_peer_and_reports_addresses():
    net, (h1, h2, h3), _ = three_subnets()

    def server(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", 5000))
        s.connect(("10.0.0.1", 6000))
        assert s.getpeername() == ("10.0.0.1", 6000)
        assert s.getsockname() == ("10.0.2.1", 5000)
        s.settimeout(2)
        return s.recvfrom(100)

    task = h2.spawn_with_host(server)

    def sender(h, data, port):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", port))
        s.sendto(data, ("10.0.2.1", 5000))

    h3.spawn_with_host(sender, b"from h3", 6000, at="1ms")
    h1.spawn_with_host(sender, b"from h1", 6000, at="2ms")
    net.run()
    assert task.result == (b"from h1", ("10.0.0.1", 6000))


def test_full_receive_queue_drops_and_counts():
    net, h1, h2 = pair()

    def server(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.setsockopt(SOL_SOCKET, 8, 1024)  # SO_RCVBUF: Linux doubles it to 2304 minimum
        s.bind(("", 5000))
        h.sleep(1)
        got = []
        s.setblocking(False)
        try:
            while True:
                got.append(s.recv(2000))
        except BlockingIOError:
            return got

    task = h2.spawn_with_host(server)

    def client(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        for i in range(20):
            s.sendto(bytes([i]) * 500, ("10.0.0.2", 5000))

    h1.spawn_with_host(client, at="1ms")
    net.run()
    assert len(task.result) < 20
    assert h2.stats()["udp_rcvbuf_drops"] == 20 - len(task.result)


def test_datagram_to_own_address_is_delivered_locally():
    net, h1, h2 = pair()

    def prog(h):
        r = h.socket(AF_INET, SOCK_DGRAM)
        r.bind(("127.0.0.1", 5000))
        r2 = h.socket(AF_INET, SOCK_DGRAM)
        r2.bind(("10.0.0.1", 5000))
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.sendto(b"lo", ("localhost", 5000))
        s.sendto(b"me", ("h1", 5000))
        return r.recvfrom(10)[0], r2.recvfrom(10)[0]

    assert run(net, h1, prog) == (b"lo", b"me")


def test_stream_socket_dispatches_to_tcp():
    net, h1, h2 = pair()
    s = h1.socket(AF_INET, SOCK_STREAM)
    assert type(s).__module__ == "netsim.stack.tcp_socket"


def test_unknown_option_raises_enoprotoopt():
    net, h1, h2 = pair()
    s = h1.socket(AF_INET, SOCK_DGRAM)
    with pytest.raises(OSError) as info:
        s.setsockopt(SOL_SOCKET, 9999, 1)
    assert info.value.errno == errno.ENOPROTOOPT
