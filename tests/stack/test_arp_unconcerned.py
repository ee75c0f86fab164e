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


def _counted(host, frame, iface=0):
    before = dict(host.counters)
    note = host.receive(host.interfaces[iface], frame)
    return note, {k: v - before[k] for k, v in host.counters.items() if v != before[k]}


def test_one_flooded_frame_object_is_judged_per_receiver():
    # A flood hands the same bytes object to every port; its addresses are read once, but
    # each receiver decides for itself (Host.receive's shortcut, ArpLayer.holds)
    _net, a, b = lan()
    frame = Ethernet("ff:ff:ff:ff:ff:ff", OTHER_MAC, ETH_ARP,
                     request("10.0.0.7", "10.0.0.2")).encode()
    assert _counted(a, frame) == (None, {"frames_rx": 1, "arp_rx": 1})
    note, changed = _counted(b, frame)                    # b is the target: it answers
    assert note == "ARP reply sent to 10.0.0.7" and changed["arp_replies_sent"] == 1
    assert ("eth0", "10.0.0.7") in b.arp.cache and ("eth0", "10.0.0.7") not in a.arp.cache
    # now a knows the sender too (b does): the same object takes the full path at b
    assert _counted(a, frame) == (None, {"frames_rx": 1, "arp_rx": 1})
    assert _counted(b, frame)[0] == "ARP reply sent to 10.0.0.7"
    # a mutable frame with the same bytes is never remembered, and decides the same
    assert _counted(a, bytearray(frame)) == (None, {"frames_rx": 1, "arp_rx": 1})


def test_a_request_for_the_routers_other_interface_is_unconcerned_on_this_one():
    # The shortcut tests the target against all the node's addresses; ArpLayer.unconcerned
    # compares the receiving interface's only, and the full path must agree with it
    net = Network(seed=1)
    r = net.add_router("r1")
    s1, s2 = net.add_switch("s1"), net.add_switch("s2")
    net.link(r, s1)
    net.link(r, s2)
    r.set_ip("10.0.1.1/24", iface="eth0")
    r.set_ip("10.0.2.1/24", iface="eth1")
    frame = Ethernet("ff:ff:ff:ff:ff:ff", OTHER_MAC, ETH_ARP,
                     request("10.0.1.7", "10.0.2.1")).encode()
    assert _counted(r, frame, iface=0) == (None, {"frames_rx": 1, "arp_rx": 1})
    assert not any(key[1] == "10.0.1.7" for key in r.arp.cache)
    frame = Ethernet("ff:ff:ff:ff:ff:ff", OTHER_MAC, ETH_ARP,
                     request("10.0.1.7", "10.0.1.1")).encode()
    assert _counted(r, frame, iface=0)[0] == "ARP reply sent to 10.0.1.7"
