"""The learning switch: flooding, learning, filtering, aging, store-and-forward."""

from __future__ import annotations

import pytest

from netsim import Network
from netsim.devices import Switch
from tests.kits.l2 import BROADCAST, add_raw, eth_frame


def star(n: int = 3, **switch_opts):
    net = Network(seed=7)
    sw = net.add_switch("s1", **switch_opts)
    hosts = add_raw(net, *(f"h{i + 1}" for i in range(n)))
    for h in hosts:
        net.link(h, sw, bandwidth="100Mbps", delay="1us")
    return net, sw, hosts


def test_switch_floods_unknown_unicast_then_learns():
    net, sw, (h1, h2, h3) = star()
    h1.send_to(h2.mac, b"first")
    net.run()
    # Nobody knew h2 yet: the frame was flooded to h2 and h3.
    assert h2.payloads()[0].startswith(b"first")
    assert h3.payloads()[0].startswith(b"first")
    assert sw.flooded == 1 and sw.forwarded == 0
    assert sw.mac_table().port_of(h1.mac) == "eth0"
    h2.send_to(h1.mac, b"reply")
    net.run()
    # h1 is known: the reply goes to h1 only.
    assert h1.payloads()[0].startswith(b"reply")
    assert len(h3.received) == 1
    assert sw.forwarded == 1
    h1.send_to(h2.mac, b"second")
    net.run()
    assert len(h3.received) == 1 and len(h2.received) == 2
    assert sw.forwarded == 2
    notes = [e.note for e in net.trace if e.node == "s1" and e.kind == "rx"]
    assert notes[0] == f"learned {h1.mac} on port eth0"
    assert notes[1] == f"learned {h2.mac} on port eth1"
    assert notes[2] is None
    flood_notes = [e.note for e in net.trace if e.node == "s1" and e.kind == "tx"][:2]
    assert flood_notes == ["flooded: unknown unicast"] * 2


def test_switch_floods_broadcast_with_comment_and_never_learns_group_source():
    net, sw, (h1, h2, h3) = star()
    h1.send_to(BROADCAST, b"hello all")
    # A frame with a multicast source address must not enter the table.
    h2.interfaces[0].send(eth_frame(h1.mac, "01:00:5e:00:00:01"))
    net.run()
    assert len(h2.received) == 1 and len(h3.received) == 1
    tx_notes = {e.note for e in net.trace if e.node == "s1" and e.kind == "tx"}
    assert "flooded: broadcast" in tx_notes
    assert [e.mac for e in sw.mac_table()] == [h1.mac]


def test_switch_filters_frame_for_ingress_port():
    net = Network(seed=1)
    sw = net.add_switch("s1")
    hub = net.add_hub("hub1")
    a, b, c = add_raw(net, "a", "b", "c")
    net.link(a, hub)
    net.link(b, hub)
    net.link(sw, hub)          # switch eth0 faces the hub
    net.link(c, sw)            # switch eth1
    a.send_to(BROADCAST, b"a is here")
    b.send_to(BROADCAST, b"b is here")
    net.run()
    assert sw.mac_table().port_of(a.mac) == sw.mac_table().port_of(b.mac) == "eth0"
    c_before = len(c.received)
    a.send_to(b.mac, b"local")
    net.run()
    assert b.payloads()[-1].startswith(b"local")
    assert len(c.received) == c_before
    assert sw.filtered == 1
    filtered = [e for e in net.trace if e.node == "s1" and e.note and "filtered" in e.note]
    assert filtered and filtered[-1].kind == "rx"


def test_switch_entry_ages_out_and_floods_again():
    net, sw, (h1, h2, h3) = star(aging="10s")
    h2.send_to(BROADCAST, b"h2 hello")
    net.run()
    h1.send_to(h2.mac, b"known")
    net.run()
    assert len(h3.received) == 0 + 1  # only the broadcast
    net.run(duration="9s")
    h1.send_to(h2.mac, b"still known")
    net.run()
    assert len(h3.received) == 1
    assert sw.mac_table().port_of(h2.mac) == "eth1"
    net.run(duration="11s")
    # h2 has been silent for more than 10 s: its entry is gone and the switch floods.
    assert sw.mac_table().port_of(h2.mac) is None
    h1.send_to(h2.mac, b"forgotten")
    net.run()
    assert h3.payloads()[-1].startswith(b"forgotten")
    assert sw.flooded == 2


def test_switch_forwards_after_latency_not_inside_receive():
    net, sw, (h1, h2, _h3) = star(latency="5us")
    h2.send_to(BROADCAST)
    net.run()
    start = net.now
    h1.send_to(h2.mac)
    net.run()
    # 60-byte frame + 24 bytes of preamble/FCS/gap at 100 Mb/s = 6.72 us per hop, 1 us cable.
    rx_switch = [e for e in net.trace if e.node == "s1" and e.kind == "rx"][-1]
    tx_switch = [e for e in net.trace if e.node == "s1" and e.kind == "tx"][-1]
    assert rx_switch.time_ns == start + 6720 + 1000
    assert tx_switch.time_ns == rx_switch.time_ns + 5000
    assert h2.received[-1][0] == tx_switch.time_ns + 6720 + 1000


def test_switch_output_queue_full_counts_drops():
    net = Network(seed=1)
    sw = net.add_switch("s1", latency=0)
    senders = add_raw(net, "a", "b", "c")
    (sink,) = add_raw(net, "sink")
    for h in senders:
        net.link(h, sw, bandwidth="100Mbps")
    net.link(sw, sink, bandwidth="10Mbps", queue=4)
    sink.send_to(BROADCAST)
    net.run()
    for _ in range(10):
        for h in senders:
            h.send_to(sink.mac, size=1000)
    net.run()
    stats = sw.stats()
    assert stats["dropped"] > 0
    assert len(sink.received) - 0 + stats["dropped"] == 30


def test_mac_table_prints_as_a_table():
    net, sw, (h1, _h2, _h3) = star()
    h1.send_to(BROADCAST)
    net.run()
    text = str(sw.mac_table())
    assert "MAC table of s1" in text and h1.mac in text and "eth0" in text
    mac, port, age = sw.mac_table()[0]
    assert (mac, port) == (h1.mac, "eth0") and age >= 0


def test_switch_rejects_bad_aging():
    with pytest.raises(ValueError):
        Switch(Network(), "s9", aging="forever")


def test_a_cable_closing_a_loop_of_switches_is_refused_with_the_loop_named():
    import pytest

    from netsim import Network
    net = Network()
    s1, s2, s3 = net.add_switch("s1"), net.add_switch("s2"), net.add_switch("s3")
    net.link(s1, s2)
    net.link(s2, s3)
    with pytest.raises(ValueError, match="s3 - s2 - s1 - s3: a loop of switches"):
        net.link(s3, s1)
    net.link(s3, s1, allow_loop=True)  # explicitly allowed
