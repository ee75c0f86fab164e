"""ArpLayer.unconcerned (issue 16): the early drop of ARP packets for someone else must decide
exactly as the full RFC 826 reception would, and count them the same."""

from __future__ import annotations

from netsim import Network
from netsim.wire.arp import ARP, ARP_REQUEST
from netsim.wire.ethernet import ETH_ARP, Ethernet

OTHER_MAC = "02:00:00:00:99:99"


def lan():
    net = Network(seed=1)
    sw = net.add_switch("s1")
    a, b = net.add_host("a"), net.add_host("b")
    net.link(a, sw)
    net.link(b, sw)
    a.set_ip("10.0.0.1/24")
    b.set_ip("10.0.0.2/24")
    return net, a, b


def request(spa: str, tpa: str, sha: str = OTHER_MAC) -> bytes:
    return ARP(ARP_REQUEST, sha, spa, "00:00:00:00:00:00", tpa).encode()


def test_for_someone_else_from_a_stranger_is_dropped_and_counted():
    _net, a, _b = lan()
    iface = a.interfaces[0]
    before = a.counters["arp_rx"]
    assert a.arp.unconcerned(iface, request("10.0.0.7", "10.0.0.9"))
    assert a.counters["arp_rx"] == before + 1
    assert ("eth0", "10.0.0.7") not in a.arp.cache


def test_for_us_from_a_known_sender_or_malformed_takes_the_full_path():
    net, a, b = lan()
    assert a.ping("10.0.0.2", count=1).received == 1      # a now caches b
    iface = a.interfaces[0]
    before = a.counters["arp_rx"]
    assert not a.arp.unconcerned(iface, request("10.0.0.7", "10.0.0.1"))   # target is a
    assert not a.arp.unconcerned(iface, request("10.0.0.2", "10.0.0.9"))   # sender is cached
    assert not a.arp.unconcerned(iface, request("10.0.0.7", "10.0.0.9")[:27])  # too short
    bad = bytearray(request("10.0.0.7", "10.0.0.9"))
    bad[4] = 8                                                               # hlen 8
    assert not a.arp.unconcerned(iface, bytes(bad))
    assert a.counters["arp_rx"] == before                 # the full path does the counting


def test_a_broadcast_from_a_cached_sender_still_moves_its_entry():
    # RFC 826 merge: any ARP packet refreshes an existing entry, even one for someone else
    net, a, b = lan()
    assert a.ping("10.0.0.2", count=1).received == 1
    frame = Ethernet("ff:ff:ff:ff:ff:ff", OTHER_MAC, ETH_ARP,
                     request("10.0.0.2", "10.0.0.9")).encode()
    note = a.receive(a.interfaces[0], frame)
    assert note is None
    assert a.arp.cache[("eth0", "10.0.0.2")][0] == OTHER_MAC


def test_a_broadcast_for_someone_else_gives_no_note_and_learns_nothing():
    _net, a, _b = lan()
    frame = Ethernet("ff:ff:ff:ff:ff:ff", OTHER_MAC, ETH_ARP,
                     request("10.0.0.7", "10.0.0.9")).encode()
    before = dict(a.counters)
    assert a.receive(a.interfaces[0], frame) is None
    changed = {k: a.counters[k] - before.get(k, 0) for k in a.counters if a.counters[k] != before.get(k, 0)}
    assert changed == {"frames_rx": 1, "arp_rx": 1}
    assert ("eth0", "10.0.0.7") not in a.arp.cache
