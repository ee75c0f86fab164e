"""Memory that stays bounded: nothing of a finished connection outlives it.

Before: the TCP tracer kept one record per 4-tuple forever, even with ``Network(trace=False)``
(1.06 KB per connection; 100k spoofed SYNs retained 82 MB). Now a tracer switched off keeps
nothing, ``trace=N`` bounds the tracer as it bounds the trace, and the host's connection
tables give back what a burst of connections took.
"""

from __future__ import annotations

import gc
import socket
import tracemalloc

import pytest

from netsim import Network
from netsim.stack.tcp import Connection
from netsim.stack.tcp_layer import Endpoint
from netsim.wire import ETH_IPV4, Ethernet, IPv4
from netsim.wire.tcp import SYN, TCP


def one_host(trace: bool | int = False) -> tuple[Network, object]:
    net = Network(seed=1, trace=trace)
    h1 = net.add_host("h1")
    return net, h1


def server(host, read: bool = True) -> None:
    lsock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("", 80))
    lsock.listen(128)
    while True:
        conn, _ = lsock.accept()
        if read:
            conn.recv(100)
        conn.close()


def clients(host, n: int, payload: bytes = b"hi") -> None:
    """``n`` short connections over loopback, ten a millisecond."""
    for i in range(n):
        s = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("127.0.0.1", 80))
        if payload:
            s.sendall(payload)
        s.close()
        if i % 10 == 9:
            host.sleep(0.001)


def retained_by(net: Network, host, n: int) -> int:
    """Bytes still allocated after ``n`` connections (SYN, FIN both ways, TIME_WAIT: the
    server closes at once) came and went."""
    host.spawn_with_host(clients, 200, b"")   # warm up: caches, interned strings, tables
    net.run()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        host.spawn_with_host(clients, n, b"")
        net.run()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_20000_short_connections_with_tracing_off_retain_under_2_mb() -> None:
    net, h1 = one_host(trace=False)
    h1.spawn_with_host(server, False)
    retained = retained_by(net, h1, 20_000)
    assert retained < 2_000_000, f"{retained / 1e6:.2f} MB retained"
    assert not h1.tcp.conns and net.tcp_tracer.connections == []


def test_nothing_of_a_closed_connection_stays_reachable() -> None:
    def count() -> tuple[int, int]:
        gc.collect()
        objects = gc.get_objects()
        return (sum(isinstance(o, Connection) for o in objects),
                sum(isinstance(o, Endpoint) and o.waiters.kernel is net.kernel for o in objects))
    net, h1 = one_host(trace=False)
    h1.spawn_with_host(server)
    before = count()   # (other tests' networks may still hold theirs)
    h1.spawn_with_host(clients, 500)
    net.run()
    assert count() == (before[0], 0)
    assert net.tcp_tracer.connections == [] and net.tcp_tracer.items == 0


def test_a_syn_flood_with_tracing_off_leaves_nothing_behind() -> None:
    # SYN cookies answer the flood without state. Before, each SYN left a tracer record
    # forever. (The wire layer's address caches are bounded on their own: not counted.)
    net = Network(seed=1, trace=False)
    srv, attacker = net.add_host("srv"), net.add_host("attacker")
    net.link(srv, attacker)
    srv.set_ip("10.0.0.1/24", gateway="10.0.0.2")   # the SYN,ACKs go to the attacker's MAC
    attacker.set_ip("10.0.0.2/24")
    srv.spawn_with_host(server)
    net.run(duration="1ms")
    iface = attacker.iface(0)

    def flood(count: int, first: int) -> None:
        for i in range(count):
            src = f"192.168.{(first + i) // 250}.{1 + (first + i) % 250}"
            ip = IPv4(src, "10.0.0.1", 6, TCP(1024 + i, 80, seq=i, flags=SYN, window=1000)
                      .encode(src, "10.0.0.1"))
            frame = Ethernet(srv.iface(0).mac, iface.mac, ETH_IPV4, ip.encode()).encode()
            net.kernel.call_later(i * 20_000, iface.send, frame)
    flood(200, 0)                  # warm up
    net.run()
    gc.collect()
    ours = [tracemalloc.Filter(True, f"*/netsim/{part}/*") for part in ("stack", "trace", "sim")]
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot().filter_traces(ours)
        flood(5_000, 200)
        net.run()
        gc.collect()
        after = tracemalloc.take_snapshot().filter_traces(ours)
    finally:
        tracemalloc.stop()
    retained = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert srv.tcp.counters["syn_cookies_sent"] > 4_900
    assert retained < 100_000, f"{retained} bytes retained by 5,000 spoofed SYNs"


def test_trace_n_bounds_the_tcp_tracer_too() -> None:
    net, h1 = one_host(trace=1_000)
    h1.spawn_with_host(server)
    h1.spawn_with_host(clients, 300)
    net.run()
    tracer = net.tcp_tracer
    kept = sum(len(c.items) for c in tracer.connections)
    assert kept == tracer.items <= 1_000 and tracer.forgotten > 0
    assert len(tracer.connections) < 300     # late events do not bring forgotten ones back
    # the newest connection is whole: its ladder runs from the SYN to TIME_WAIT's end
    newest = tracer.connections[-1]
    assert newest.ladder().rows[0].flags == "SYN" and newest.states["h1:80"] == "CLOSED"


def test_one_connection_longer_than_the_limit_keeps_its_newest_rows() -> None:
    net, h1 = one_host(trace=200)

    def sink(host) -> None:
        lsock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("", 80))
        lsock.listen()
        conn, _ = lsock.accept()
        while conn.recv(65536):
            pass
        conn.close()
    h1.spawn_with_host(sink)
    h1.spawn_with_host(clients, 1, b"x" * 2_000_000)   # some 1,400 segments each way
    net.run()
    tracer = net.tcp_tracer
    assert tracer.items <= 200 and tracer.forgotten > 1_000
    (conn,) = tracer.connections
    ladder = conn.ladder()
    assert ladder.rows[-1].flags.startswith("ACK") and "FIN" in " ".join(
        r.flags for r in ladder.rows)
    assert ladder.text()  # still renders
