"""ARP (RFC 826): request and reply, the cache, queueing while resolving, failure, timeouts."""

from __future__ import annotations

import errno

import pytest

from netsim import AF_INET, SOCK_DGRAM
from netsim.wire.arp import ARP_REPLY, ARP_REQUEST
from tests.kits.stack import frames, lan, pair


def send_udp(host, dst, payloads, port=9000):
    def prog(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        for p in payloads:
            s.sendto(p, (dst, port))
    host.spawn_with_host(prog)


def test_arp_request_is_broadcast_and_the_reply_fills_both_caches():
    net, h1, h2 = pair()
    send_udp(h1, "10.0.0.2", [b"x"])
    net.run()
    sent = frames(net, "tx", "h1")
    assert sent[0][1].arp.op == ARP_REQUEST
    assert sent[0][1].eth.dst == "ff:ff:ff:ff:ff:ff"
    assert sent[0][1].arp.summary() == "Who has 10.0.0.2? Tell 10.0.0.1"
    reply = frames(net, "tx", "h2")[0][1]
    assert reply.arp.op == ARP_REPLY and reply.eth.dst == h1.interfaces[0].mac
    assert [(e.ip, e.mac) for e in h1.arp_table()] == [("10.0.0.2", h2.interfaces[0].mac)]
    # the target learns the requester from the request itself (RFC 826 merge)
    assert [(e.ip, e.mac) for e in h2.arp_table()] == [("10.0.0.1", h1.interfaces[0].mac)]


def test_a_cached_neighbour_needs_no_second_request():
    net, h1, h2 = pair()
    send_udp(h1, "10.0.0.2", [b"a"])
    net.run()
    send_udp(h1, "10.0.0.2", [b"b"])
    net.run()
    assert h1.stats()["arp_requests_sent"] == 1
    assert h2.stats()["udp_rx"] == 2


def test_several_packets_wait_for_one_reply_and_leave_in_order():
    net, h1, h2 = pair()
    got = []

    def server(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", 9000))
        for _ in range(3):
            got.append(s.recv(100))

    h2.spawn_with_host(server)
    send_udp(h1, "10.0.0.2", [b"one", b"two", b"three"])
    net.run()
    assert got == [b"one", b"two", b"three"]
    assert h1.stats()["arp_requests_sent"] == 1
    notes = [ev.note for ev in net.trace if ev.kind == "arp" and ev.node == "h1"]
    assert "ARP request queued 3 packets for 10.0.0.2" in notes
    assert any("sent 3 queued packets" in n for n in notes)
    request = frames(net, "tx", "h1")[0][0]
    assert request.note == "ARP request 1/3: queued 1 packet"


def test_unanswered_arp_retries_three_times_then_reports_host_unreachable():
    net, h1, h2 = pair()
    seen = {}

    def prog(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.connect(("10.0.0.99", 9000))
        s.send(b"hello?")
        s.settimeout(10)
        with pytest.raises(OSError) as info:
            s.recv(100)
        seen["errno"] = info.value.errno
        seen["time"] = h.now

    h1.spawn_with_host(prog)
    net.run()
    assert seen["errno"] == errno.EHOSTUNREACH
    requests = [ev.time_ns for ev, f in frames(net, "tx", "h1") if f.arp is not None]
    assert requests == [0, 1_000_000_000, 2_000_000_000]
    assert seen["time"] == 3_000_000_000
    assert h1.stats()["arp_failures"] == 1


def test_unconnected_socket_is_not_told_of_arp_failure_like_linux():
    net, h1, h2 = pair()
    outcome = []

    def prog(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.sendto(b"x", ("10.0.0.99", 9000))
        s.settimeout(5)
        try:
            s.recvfrom(10)
        except TimeoutError:
            outcome.append("timeout")

    h1.spawn_with_host(prog)
    net.run()
    assert outcome == ["timeout"]


def test_arp_entry_expires_after_its_timeout():
    net, h1, h2 = pair()
    send_udp(h1, "10.0.0.2", [b"a"])
    net.run()
    h1.sleep(61)
    assert h1.arp_table() == []
    send_udp(h1, "10.0.0.2", [b"b"])
    net.run()
    assert h1.stats()["arp_requests_sent"] == 2


def test_bystanders_do_not_learn_from_requests_for_someone_else():
    net, sw, (h1, h2, h3) = lan(3)
    send_udp(h1, "10.0.0.2", [b"x"])
    net.run()
    assert h3.arp_table() == []
    assert h3.stats()["arp_rx"] == 1


def test_hub_delivers_unicast_everywhere_and_other_nics_drop_it():
    net, hub, (h1, h2, h3) = lan(3, device="hub")
    result = h1.ping("10.0.0.2", count=2)
    assert result.received == 2
    assert h3.stats()["not_for_me"] >= 4  # 2 requests + 2 replies (+ ARP reply)
    notes = [ev.note for ev in net.trace if ev.node == "h3" and ev.kind == "rx"]
    assert "not for me: dropped by the NIC" in notes


def test_gratuitous_arp_moves_a_cached_address_to_a_new_mac():
    from netsim.wire.arp import ARP
    from netsim.wire.ethernet import ETH_ARP, Ethernet

    net, sw, (h1, h2, h3) = lan(3)
    send_udp(h1, "10.0.0.2", [b"x"])
    net.run()
    new_mac = h3.interfaces[0].mac
    garp = ARP(ARP_REQUEST, new_mac, "10.0.0.2", "00:00:00:00:00:00", "10.0.0.2")
    h3.interfaces[0].send(Ethernet("ff:ff:ff:ff:ff:ff", new_mac, ETH_ARP, garp.encode()).encode())
    net.run()
    assert [(e.ip, e.mac) for e in h1.arp_table()] == [("10.0.0.2", new_mac)]
