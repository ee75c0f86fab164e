"""A careless topology or a hostile peer never aborts the simulation.

Each test is one classic case: a forgotten gateway, a spoofed source that makes a server
answer itself, a zero-time loop, an oversized reassembly, two TCP ends that ACK each other's
unacceptable segments forever.
"""

from __future__ import annotations

import socket
import struct

import pytest

from netsim import Network
from netsim.sim.kernel import LivelockError
from netsim.wire import ETH_IPV4, UDP, Ethernet, IPv4
from netsim.wire.tcp import SYN, TCP


def pair(seed: int = 1) -> tuple[Network, object, object]:
    """h1 (10.0.0.1) -- h2 (10.0.0.2) on one cable."""
    net = Network(seed=seed)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    net.link(h1, h2)
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    return net, h1, h2


def _inject(net: Network, host, frame_ip: IPv4, at_ns: int | None = None) -> None:
    """Deliver ``frame_ip`` to ``host``'s eth0 as if it came from the wire."""
    iface = host.iface(0)
    frame = Ethernet(iface.mac, "02:00:00:00:00:99", ETH_IPV4, frame_ip.encode()).encode()
    net.kernel.call_at(net.now if at_ns is None else at_ns, iface.deliver, frame)


def _udp(src: str, dst: str, sport: int, dport: int, data: bytes) -> IPv4:
    return IPv4(src, dst, 17, UDP(sport, dport, data).encode(src, dst))


def _udp_echo(host, port: int, seen: list, answer: bool = True) -> None:
    sock = host.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("", port))
    while True:
        data, addr = sock.recvfrom(2048)
        seen.append(addr)
        if answer:
            sock.sendto(data, addr)


# -- a forgotten gateway ---------------------------------------------------------------------

def test_echo_request_from_a_subnet_with_no_route_back_times_out_and_run_returns() -> None:
    net = Network(seed=1)
    h1, h2, r1 = net.add_host("h1"), net.add_host("h2"), net.add_router("r1")
    net.link(h1, r1)
    net.link(r1, h2)
    h1.set_ip("10.0.0.1/24")                        # no gateway: no route back to 10.0.1.0/24
    r1.set_ip("10.0.0.254/24", iface="eth0")
    r1.set_ip("10.0.1.254/24", iface="eth1")
    h2.set_ip("10.0.1.2/24", gateway="10.0.1.254")
    result = h2.ping("10.0.0.1", count=3, timeout=0.5)
    net.run()
    assert result.received == 0 and result.sent == 3
    assert h1.stats()["icmp_replies_unroutable"] == 3
    drops = [ev.note for ev in net.trace if ev.node == "h1" and ev.kind == "drop"]
    assert drops and all("echo reply to 10.0.1.2 dropped" in n and "no route back" in n
                         for n in drops)
    # the capture comment of each echo request at h1 says why no reply left
    notes = [ev.note for ev in net.trace if ev.node == "h1" and ev.kind == "rx"
             and ev.decoded.icmp is not None]
    assert len(notes) == 3 and all("Network is unreachable" in n for n in notes)


# -- martian sources -------------------------------------------------------------------------

@pytest.mark.parametrize("src,why", [
    ("10.0.0.2", "one of our own addresses"),
    ("255.255.255.255", "a broadcast address"),
    ("10.0.0.255", "a broadcast address"),
    ("0.0.0.0", "0.0.0.0 to a unicast"),
    ("127.0.0.1", "a loopback address"),
    ("224.0.0.1", "a multicast"),
])
def test_a_martian_source_is_dropped_before_any_socket_sees_it(src: str, why: str) -> None:
    # The spoofed echo-to-itself: source = the server's own address and port would make the
    # echo server answer itself forever at one instant.
    net, h1, h2 = pair()
    seen: list = []
    h2.spawn_with_host(_udp_echo, 7, seen)
    net.run(duration="1ms")
    _inject(net, h2, _udp(src, "10.0.0.2", 7, 7, b"loop"))
    net.run()                                          # returns: nothing loops
    assert seen == []
    assert h2.stats()["martian_sources"] == 1
    drop = [ev.note for ev in net.trace if ev.node == "h2" and ev.kind == "drop"]
    assert len(drop) == 1 and drop[0].startswith(f"martian source {src} ({why}")


def test_a_booting_host_may_send_from_0_0_0_0_to_the_limited_broadcast() -> None:
    # RFC 1122 3.2.1.3 / DHCP: 0.0.0.0 is a legal source towards 255.255.255.255 only.
    net, h1, h2 = pair()
    seen: list = []
    h2.spawn_with_host(_udp_echo, 67, seen, False)
    net.run(duration="1ms")
    _inject(net, h2, _udp("0.0.0.0", "255.255.255.255", 68, 67, b"discover"))
    net.run(duration="10ms")
    assert seen == [("0.0.0.0", 68)]
    assert h2.stats()["martian_sources"] == 0


# -- zero-time loops -------------------------------------------------------------------------

def _echo_each_other(host, port: int, peer: int, first: bool) -> None:
    sock = host.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    if first:
        sock.sendto(b"ping", ("127.0.0.1", peer))
    while True:
        data, addr = sock.recvfrom(100)
        sock.sendto(data, addr)


def test_a_zero_time_loop_stops_with_an_error_naming_the_loop() -> None:
    net, h1, _ = pair()
    net.kernel.livelock_limit = 20_000
    h1.spawn_with_host(_echo_each_other, 5000, 5001, False, name="echo-a")
    h1.spawn_with_host(_echo_each_other, 5001, 5000, True, name="echo-b")
    with pytest.raises(LivelockError) as info:
        net.run()
    err = info.value
    assert err.time_ns == 0 and err.events > 20_000
    text = str(err)
    for part in ("task 'echo-a' on h1", "task 'echo-b' on h1", "Host._deliver_local on h1",
                 "livelock_limit"):
        assert part in text
    assert {what for what, _ in err.loop} == {"task 'echo-a' on h1", "task 'echo-b' on h1",
                                              "Host._deliver_local on h1"}


def test_many_events_spread_over_time_are_not_a_livelock() -> None:
    net, h1, _ = pair()
    net.kernel.livelock_limit = 1_000
    ticks = []

    def busy(host) -> None:
        for i in range(20_000):        # 20 events per instant, 1,000 instants
            if i % 20 == 0:
                host.sleep("1us")
            ticks.append(i)
    h1.spawn_with_host(busy)
    net.run()
    assert len(ticks) == 20_000


def test_the_livelock_check_can_be_switched_off() -> None:
    net, h1, _ = pair()
    net.kernel.livelock_limit = None
    rounds: list = []

    def counting(host, port: int, peer: int, first: bool) -> None:
        sock = host.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", port))
        if first:
            sock.sendto(b"ping", ("127.0.0.1", peer))
        while True:
            data, addr = sock.recvfrom(100)
            rounds.append(port)
            sock.sendto(data, addr)
    h1.spawn_with_host(counting, 5000, 5001, False)
    h1.spawn_with_host(counting, 5001, 5000, True)
    net.kernel.run(stop=lambda: len(rounds) > 100_000)   # 300,000 events at t=0, no error
    assert net.now == 0


# -- IP reassembly ---------------------------------------------------------------------------

def test_fragments_of_a_datagram_beyond_65535_bytes_are_dropped() -> None:
    # The "ping of death": offsets that make the datagram longer than IPv4 can describe.
    net, h1, h2 = pair()
    payload = b"x" * 1480
    offsets = list(range(0, 65528, 1480))
    for n, off in enumerate(offsets):
        last = n == len(offsets) - 1
        _inject(net, h2, IPv4("10.0.0.1", "10.0.0.2", 1, payload, ident=7, mf=not last,
                              frag_offset=off), at_ns=1000 * (n + 1))
    net.run()
    stats = h2.stats()
    assert stats["reassembly_oversize"] == 1 and stats["reassembled"] == 0


# -- ACK storms ------------------------------------------------------------------------------

def test_a_stale_half_open_connection_does_not_start_an_ack_storm() -> None:
    # h1 closed first and sits in TIME_WAIT; a delayed SYN on the same 4-tuple makes h2 open a
    # half-open child. Each end finds the other's segments unacceptable and answers with an
    # ACK: without Linux's 500 ms limit (tcp_invalid_ratelimit) they ACK each other forever.
    net, h1, h2 = pair()
    ports = []

    def server(host) -> None:
        lsock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("", 7))
        lsock.listen(4)
        conn, _ = lsock.accept()
        conn.recv(10)
        host.sleep(0.01)
        conn.close()
        lsock.accept()

    def client(host) -> None:
        s = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("10.0.0.2", 7))
        ports.append(s.getsockname()[1])
        s.sendall(b"hi")
        s.close()
    h2.spawn_with_host(server)
    h1.spawn_with_host(client)
    net.run(duration="0.1s")
    assert h1.tcp.conns and next(iter(h1.tcp.conns.values())).conn.state.value == "TIME_WAIT"
    syn = TCP(ports[0], 7, seq=123456, flags=SYN, window=1000)
    _inject(net, h2, IPv4("10.0.0.1", "10.0.0.2", 6, syn.encode("10.0.0.1", "10.0.0.2")))
    before = h1.tcp.counters["segments_out"] + h2.tcp.counters["segments_out"]
    net.run(duration="3s")
    sent = h1.tcp.counters["segments_out"] + h2.tcp.counters["segments_out"] - before
    # the SYN,ACK and its retransmissions, one answering ACK each, at most two ACKs a second
    assert sent < 30, sent
    net.run()                           # and the network goes idle


def test_challenge_acks_are_limited_to_one_per_half_second() -> None:
    net, h1, h2 = pair()
    got = []

    def server(host) -> None:
        lsock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("", 7))
        lsock.listen(4)
        conn, addr = lsock.accept()
        got.append(addr)
        conn.recv(10)

    def client(host) -> None:
        s = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("10.0.0.2", 7))
        host.sleep(10)
    h2.spawn_with_host(server)
    h1.spawn_with_host(client)
    net.run(duration="0.1s")
    port = got[0][1]
    before = h2.tcp.counters["segments_out"]
    for i in range(100):  # 100 SYNs in 100 ms in ESTABLISHED: RFC 5961 4.2 challenge ACKs
        syn = TCP(port, 7, seq=999 + i, flags=SYN, window=1000)
        _inject(net, h2, IPv4("10.0.0.1", "10.0.0.2", 6, syn.encode("10.0.0.1", "10.0.0.2")),
                at_ns=net.now + 1_000_000 * (i + 1))
    net.run(duration="0.2s")
    assert h2.tcp.counters["segments_out"] - before == 1


# -- the servers a topology file can start ---------------------------------------------------

def test_the_topology_echo_servers_survive_a_reset_and_an_unanswerable_source() -> None:
    from netsim.topo.programs import PROGRAMS
    net, h1, h2 = pair()
    lines: list[str] = []
    h2.spawn_with_host(PROGRAMS["tcp_echo_server"].fn, lines.append, port=7)
    h2.spawn_with_host(PROGRAMS["udp_echo_server"].fn, lines.append, port=7)

    def rude_client(host) -> None:
        s = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("10.0.0.2", 7))
        s.sendall(b"x" * 100_000)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()                                    # RST while the server echoes
    h1.spawn_with_host(rude_client, at="1ms")
    _inject(net, h2, _udp("10.0.0.1", "10.0.0.2", 0, 7, b"from port 0"), at_ns=5_000_000)
    net.run(duration="2s")
    assert any("connection lost: Connection reset by peer" in line for line in lines)
    assert any(line.startswith("cannot answer 10.0.0.1:0") for line in lines)
