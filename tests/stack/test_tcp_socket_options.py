"""Socket options that reach the TCP core, on virtual hosts, as Linux answers them:
TCP_CONGESTION, SO_KEEPALIVE with TCP_KEEPIDLE/INTVL/CNT, SO_RCVBUF, and what a tracer or
a lab can watch (``tcp_info()``, ``host.tcp.on_congestion``). Also the host sysctls."""

from __future__ import annotations

import errno
import socket as pysocket

import pytest

from netsim import AF_INET, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET, Network
from netsim.wire.frame import decode_frame

IPPROTO_TCP = pysocket.IPPROTO_TCP
S = 1_000_000_000


def lan():
    net = Network(seed=1)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    sw = net.add_switch("s1")
    l1 = net.link(h1, sw)
    net.link(h2, sw)
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    return net, h1, h2, l1


def sink(h, port=7, read=True):
    s = h.socket(AF_INET, SOCK_STREAM)
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    s.bind(("", port))
    s.listen()
    conn, _ = s.accept()
    total = 0
    while read and (data := conn.recv(65536)):
        total += len(data)
    return conn, total


def syns(net, node):
    out = []
    for ev in net.trace:
        if ev.node == node and ev.kind == "tx" and ev.frame is not None:
            tcp = decode_frame(ev.frame).tcp
            if tcp is not None and tcp.flags & 0x02:
                out.append(tcp)
    return out


def test_tcp_congestion_is_set_and_read_back_as_on_linux():
    net, h1, h2, _ = lan()

    def prog(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        default = s.getsockopt(IPPROTO_TCP, pysocket.TCP_CONGESTION, 16)
        s.setsockopt(IPPROTO_TCP, pysocket.TCP_CONGESTION, b"reno")
        with pytest.raises(OSError) as bad:
            s.setsockopt(IPPROTO_TCP, pysocket.TCP_CONGESTION, b"bbr")
        return default, s.getsockopt(IPPROTO_TCP, pysocket.TCP_CONGESTION, 16), bad.value.errno

    task = h1.spawn_with_host(prog)
    net.run()
    default, now, bad = task.result
    assert default == b"cubic" + bytes(11)
    assert now == b"reno" + bytes(12)
    assert bad == errno.ENOENT  # Linux: no such module


def test_established_tcp_congestion_switches_a_live_connection_and_tcp_info_shows_it():
    net, h1, h2, _ = lan()
    h2.spawn_with_host(sink)

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 7))
        c.sendall(bytes(100_000))
        before = c.tcp_info()
        c.setsockopt(IPPROTO_TCP, pysocket.TCP_CONGESTION, b"newreno")
        after = c.tcp_info()
        c.close()
        return before, after

    task = h1.spawn_with_host(client, at="1ms")
    net.run()
    before, after = task.result
    assert before["tcpi_congestion"] == "cubic" and after["tcpi_congestion"] == "newreno"
    assert after["tcpi_snd_cwnd"] >= 10 and after["tcpi_options"] == 7  # TS, SACK, WS
    assert 0 < after["tcpi_rtt"] < 10_000  # microseconds, a LAN


def test_on_congestion_hook_records_cwnd_with_times():
    net, h1, h2, _ = lan()
    seen = []
    h2.spawn_with_host(sink)

    def client(h):
        h.tcp.on_congestion = lambda label, ev: seen.append((label, ev))
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 7))
        c.sendall(bytes(200_000))
        c.close()

    h1.spawn_with_host(client, at="1ms")
    net.run()
    assert seen and all(label.startswith("h1:") for label, _ in seen)
    times = [ev.time for _, ev in seen]
    assert times == sorted(times)
    cwnds = [ev.cwnd for _, ev in seen]
    assert cwnds[0] == 14480 and max(cwnds) > cwnds[0]  # IW10 (MSS 1448), then slow start


def test_keepalive_probes_an_idle_connection_and_times_out_a_dead_peer():
    net, h1, h2, l1 = lan()
    box = {}

    def server(h):
        conn, _ = sink(h, read=False)
        box["server"] = conn
        h.sleep(3600)

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.setsockopt(SOL_SOCKET, pysocket.SO_KEEPALIVE, 1)
        c.setsockopt(IPPROTO_TCP, pysocket.TCP_KEEPIDLE, 30)
        c.setsockopt(IPPROTO_TCP, pysocket.TCP_KEEPINTVL, 10)
        c.setsockopt(IPPROTO_TCP, pysocket.TCP_KEEPCNT, 3)
        assert c.getsockopt(IPPROTO_TCP, pysocket.TCP_KEEPIDLE) == 30
        c.connect(("10.0.0.2", 7))
        h.sleep(100)  # probes answered: the connection stays up
        alive = c.state
        l1.drop_when(lambda f: True, count=10**6)  # the path dies
        with pytest.raises(TimeoutError) as info:
            c.recv(10)
        return alive, info.value.errno, h.now

    h2.spawn_with_host(server)
    task = h1.spawn_with_host(client, at="1ms")
    net.run(until=3000 * S)
    alive, code, t = task.result
    assert alive == "ESTABLISHED" and code == errno.ETIMEDOUT
    assert h1.tcp.conns == {}  # reset and gone
    # the last probe answered was at 90 s: 120 s idle, then 3 probes 10 s apart
    assert 130 * S < t < 160 * S


def test_keepalive_is_off_by_default():
    net, h1, h2, _ = lan()
    h2.spawn_with_host(sink, 7, False)

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 7))
        h.sleep(8000)  # more than Linux's 7200 s idle time
        return c.getsockopt(SOL_SOCKET, pysocket.SO_KEEPALIVE), c.state

    task = h1.spawn_with_host(client, at="1ms")
    net.run(until=9000 * S)
    assert task.result == (0, "ESTABLISHED")
    sent = [ev for ev in net.trace if ev.node == "h1" and ev.kind == "tx" and ev.frame]
    assert max(ev.time for ev in sent) < S  # nothing after the handshake


def test_so_rcvbuf_doubles_and_offers_the_value_as_window():
    net, h1, h2, _ = lan()

    def prog(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        default = s.getsockopt(SOL_SOCKET, pysocket.SO_RCVBUF)
        s.setsockopt(SOL_SOCKET, pysocket.SO_RCVBUF, 4000)
        return default, s.getsockopt(SOL_SOCKET, pysocket.SO_RCVBUF)

    task = h1.spawn_with_host(prog)
    net.run()
    assert task.result == (131072, 8000)  # Linux doubles the value


def test_syn_carries_linux_options_and_host_sysctls_switch_them_off():
    net, h1, h2, _ = lan()
    h2.spawn_with_host(sink)
    h2.spawn_with_host(sink, 8)

    def client(h, port):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", port))
        c.close()

    h1.spawn_with_host(client, 7, at="1ms")
    net.run(until=S)
    h1.tcp.config.sysctl("net.ipv4.tcp_timestamps", 0)
    h1.tcp.config.sysctl("net.ipv4.tcp_sack", 0)
    h1.spawn_with_host(client, 8, at=2 * S)
    net.run()
    first, second = syns(net, "h1")
    assert [n for n, _ in first.options] == ["MSS", "SAckOK", "Timestamp", "NOP", "WScale"]
    assert [n for n, _ in second.options] == ["MSS", "NOP", "WScale"]
    reply = [s for s in syns(net, "h2")][0]
    assert [n for n, _ in reply.options] == ["MSS", "SAckOK", "Timestamp", "NOP", "WScale"]


def test_time_wait_server_takes_a_new_syn_for_the_same_address_pair_at_once():
    # The server closes first, so its side of the first connection is in TIME_WAIT when
    # the client reconnects from the same port: RFC 6191 lets the listener take the SYN
    # (its TSval is newer) instead of answering with a challenge ACK and a RST.
    net, h1, h2, _ = lan()

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 7))
        s.listen()
        for _ in range(2):
            conn, _ = s.accept()
            conn.close()

    def client(h):
        times = []
        for _ in range(2):
            c = h.socket(AF_INET, SOCK_STREAM)
            c.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
            c.bind(("", 40000))
            t0 = h.now
            c.connect(("10.0.0.2", 7))
            times.append(h.now - t0)
            assert c.recv(10) == b""
            c.close()
            h.sleep(1)
        return times

    h2.spawn_with_host(server)
    task = h1.spawn_with_host(client, at="1ms")
    net.run()
    first, second = task.result
    assert second < 2 * first  # one round trip, no RST detour
    resets = [ev for ev in net.trace if ev.kind == "tx" and ev.frame
              and (t := decode_frame(ev.frame).tcp) is not None and t.flags & 0x04]
    assert resets == []
