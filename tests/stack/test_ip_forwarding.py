"""IPv4 across switches and routers: ping, traceroute, TTL, ICMP errors, broadcasts, checksums."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim import AF_INET, SO_BROADCAST, SOCK_DGRAM, SOL_SOCKET
from netsim.stack.ipv4 import decrement_ttl
from netsim.wire import ipv4 as wip
from netsim.wire.ethernet import ETH_IPV4, Ethernet
from netsim.wire.icmp import ICMP
from tests.kits.stack import frames, lan, three_subnets


def send_udp(host, dst, data=b"x", port=9000, broadcast=False):
    def prog(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        if broadcast:
            s.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)
        s.sendto(data, (dst, port))
    host.spawn_with_host(prog)


def listen(host, port, out, timeout=2.0):
    def prog(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", port))
        s.settimeout(timeout)
        try:
            while True:
                out.append(s.recvfrom(65535))
        except TimeoutError:
            pass
    host.spawn_with_host(prog)


def test_ping_across_a_switch():
    net, sw, (h1, h2, h3) = lan(3)
    result = h1.ping("10.0.0.3", count=3)
    assert (result.sent, result.received, result.loss) == (3, 3, 0.0)
    assert all(r.ttl == 64 for r in result.replies)
    assert "3 packets transmitted, 3 received, 0% packet loss" in str(result)


def test_ping_across_two_routers_arrives_with_ttl_62():
    net, (h1, h2, h3), (r1, r2) = three_subnets()
    result = h1.ping("10.0.2.1", count=4)
    assert result.received == 4
    assert [r.ttl for r in result.replies] == [62] * 4
    assert str(result).splitlines()[1].startswith("64 bytes from 10.0.2.1: icmp_seq=1 ttl=62 time=")


def test_traceroute_lists_each_router_then_the_destination():
    net, (h1, h2, h3), (r1, r2) = three_subnets()
    result = h1.traceroute("10.0.2.1", probes=2)
    assert result.path == ["10.0.0.254", "10.0.1.2", "10.0.2.1"]
    assert result.reached
    text = str(result).splitlines()
    assert text[0] == "traceroute to 10.0.2.1 (10.0.2.1), 30 hops max, 60 byte packets"
    assert text[1].startswith(" 1  r1 (10.0.0.254)  ")
    assert text[3].startswith(" 3  h2 (10.0.2.1)  ")
    probes = [f.udp.dport for _, f in frames(net, "tx", "h1") if f.udp is not None]
    assert probes == [33434, 33435, 33436, 33437, 33438, 33439]


def test_ttl_drops_by_one_per_router_and_checksums_stay_valid():
    net, (h1, h2, h3), (r1, r2) = three_subnets()
    send_udp(h1, "10.0.2.1")
    net.run()
    seen = {(ev.node, ev.iface): (f.ip.ttl, f.ip.checksum_ok) for ev, f in frames(net, "rx")
            if f.ip is not None and f.udp is not None}
    assert seen[("r1", "eth0")] == (64, True)
    assert seen[("r2", "eth0")] == (63, True)
    assert seen[("h2", "eth0")] == (62, True)
    notes = [ev.note for ev, f in frames(net, "rx", "r1") if f.udp is not None]
    assert notes == ["forwarded to eth1 via 10.0.1.2, TTL 64 -> 63"]


def test_time_exceeded_comes_from_the_router_where_ttl_runs_out():
    net, (h1, h2, h3), (r1, r2) = three_subnets()
    result = h1.ping("10.0.2.1", count=1, ttl=2)
    assert result.received == 0
    assert [(e.src, e.message) for e in result.errors] == [("10.0.1.2", "Time to live exceeded")]
    assert "From 10.0.1.2 icmp_seq=1 Time to live exceeded" in str(result)
    assert "TTL exceeded" in [ev.note for ev in net.trace if ev.node == "r2" and ev.kind == "rx"]
    assert r2.stats()["ttl_exceeded"] == 1


def test_no_route_gives_network_unreachable_from_the_router():
    net, (h1, h2, h3), (r1, r2) = three_subnets()
    result = h1.ping("10.9.9.9", count=1)
    assert [(e.src, e.message) for e in result.errors] == [("10.0.0.254", "Destination Net Unreachable")]
    assert "no route to 10.9.9.9" in [ev.note for ev in net.trace if ev.node == "r1"]


def test_router_answers_ping_on_its_far_interface():
    net, (h1, h2, h3), (r1, r2) = three_subnets()
    assert h1.ping("10.0.1.2", count=1).replies[0].ttl == 63


def test_limited_broadcast_reaches_the_lan_but_stops_at_the_router():
    net, (h1, h2, h3), (r1, r2) = three_subnets()
    got = []
    listen(h3, 5000, got)
    send_udp(h2, "255.255.255.255", b"hi all", 5000, broadcast=True)
    net.run()
    assert [(d, a[0]) for d, a in got] == [(b"hi all", "10.0.2.1")]
    assert [ev.note for ev in net.trace if ev.node == "r2" and ev.kind == "rx"
            and ev.frame and b"hi all" in ev.frame] == ["broadcast not forwarded; no socket on "
                                                         "port 5000 (broadcast: no ICMP error)"]
    assert not [ev for ev in net.trace if ev.node == "r1" and ev.kind == "rx"
                and ev.frame and b"hi all" in ev.frame]


def test_directed_broadcast_reaches_every_host_of_the_subnet():
    net, (h1, h2, h3), (r1, r2) = three_subnets()
    got = []
    listen(h3, 5000, got)
    send_udp(h2, "10.0.2.255", b"subnet", 5000, broadcast=True)
    net.run()
    assert [d for d, _ in got] == [b"subnet"]
    eth = [f.eth.dst for _, f in frames(net, "tx", "h2") if f.udp is not None]
    assert eth == ["ff:ff:ff:ff:ff:ff"]


def test_remote_directed_broadcast_is_not_forwarded_onto_its_subnet():
    net, (h1, h2, h3), (r1, r2) = three_subnets()
    got = []
    listen(h3, 5000, got)
    send_udp(h1, "10.0.2.255", b"from afar", 5000, broadcast=True)
    net.run()
    assert got == []
    assert r1.stats()["forwarded"] == 1
    assert r2.stats()["broadcast_not_forwarded"] == 1


def test_bad_ip_checksum_is_dropped_and_counted():
    net, sw, (h1, h2) = lan(2)
    h1.ping("10.0.0.2", count=1)  # fill the ARP caches
    echo = ICMP.echo_request(1, 1, b"").encode()
    good = wip.IPv4("10.0.0.1", "10.0.0.2", 1, echo).encode()
    bad = good[:10] + bytes([good[10] ^ 0xFF]) + good[11:]
    frame = Ethernet(h2.interfaces[0].mac, h1.interfaces[0].mac, ETH_IPV4, bad).encode()
    before = h2.stats()["icmp_echo_replies"]
    h1.interfaces[0].send(frame)
    net.run()
    assert h2.stats()["bad_ip_checksum"] == 1
    assert h2.stats()["icmp_echo_replies"] == before
    assert "bad IPv4 checksum: dropped" in [ev.note for ev in net.trace if ev.node == "h2"]


def test_big_datagram_is_fragmented_and_reassembled():
    net, sw, (h1, h2) = lan(2)
    got = []
    listen(h2, 7000, got)
    payload = bytes(range(256)) * 16  # 4096 bytes
    send_udp(h1, "10.0.0.2", payload, 7000)
    net.run()
    assert got == [(payload, got[0][1])]
    assert h1.stats()["fragments_tx"] == 3
    assert h2.stats()["reassembled"] == 1


def test_router_fragments_for_a_smaller_next_hop_mtu():
    net, (h1, h2, h3), (r1, r2) = three_subnets()
    net.links[1].mtu = 576
    got = []
    listen(h2, 7000, got)
    send_udp(h1, "10.0.2.1", b"z" * 1400, 7000)
    net.run()
    assert [d for d, _ in got] == [b"z" * 1400]
    assert r1.stats()["fragments_tx"] == 3


@settings(max_examples=200, deadline=None)
@given(ttl=st.integers(1, 255), ident=st.integers(0, 0xFFFF), tos=st.integers(0, 255),
       payload=st.binary(max_size=40), options=st.sampled_from([b"", b"\x01\x01\x01\x00"]))
def test_incremental_ttl_update_equals_a_full_recompute(ttl, ident, tos, payload, options):
    raw = wip.IPv4("10.1.2.3", "192.168.9.8", 17, payload, ttl=ttl, ident=ident, tos=tos,
                   options=options).encode()
    expect = wip.IPv4("10.1.2.3", "192.168.9.8", 17, payload, ttl=ttl - 1, ident=ident, tos=tos,
                      options=options).encode()
    assert decrement_ttl(raw) == expect
    assert wip.decode(decrement_ttl(raw)).checksum_ok
