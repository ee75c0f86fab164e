"""NetworkStats: one snapshot of interface, device and link counters."""

from __future__ import annotations

import json

from netsim import Network
from netsim.trace.stats import NetworkStats
from tests.kits.l2 import BROADCAST, add_raw


def build():
    net = Network(seed=1)
    sw, hub = net.add_switch("s1"), net.add_hub("hub1")
    h1, h2, h3 = add_raw(net, "h1", "h2", "h3")
    net.link(h1, sw)
    net.link(sw, hub)
    net.link(h2, hub)
    net.link(h3, hub)
    h1.send_to(BROADCAST)
    h2.send_to(h1.mac)
    h3.send_to(h1.mac)
    net.run()
    return net


def test_stats_collect_interface_device_and_link_counters():
    net = build()
    stats = NetworkStats.collect(net)
    assert stats.interfaces["h1-eth0"]["tx_frames"] == 1
    assert stats.interfaces["h1-eth0"]["rx_frames"] == 2
    assert stats.devices["s1"]["kind"] == "switch"
    assert stats.devices["s1"]["flooded"] == 1 and stats.devices["s1"]["forwarded"] == 2
    assert stats.devices["hub1"]["repeated"] == 3
    assert stats.devices["hub1"]["collisions"] == stats.totals()["collisions"]
    assert stats.links["h1-eth0->s1-eth0"]["frames"] == 1
    assert "h2-eth0->hub1" in stats.links   # hub stations appear once although the segment is shared
    assert stats.totals()["tx_frames"] == sum(i["tx_frames"] for i in stats.interfaces.values())


def test_stats_render_as_readable_table_and_dict():
    net = build()
    stats = net.stats()
    text = str(stats)
    assert "interfaces" in text and "switches" in text and "hubs" in text
    assert "h1-eth0" in text and "forwarded" in text and "repeated" in text
    row = next(line for line in text.splitlines() if line.startswith("s1 "))
    assert row.split()[1:4] == ["2", "1", "0"]   # forwarded flooded filtered
    json.dumps(stats.to_dict())
    assert stats.to_dict()["devices"]["s1"]["forwarded"] == 2


def test_stats_snapshot_does_not_move_with_later_traffic():
    net = build()
    stats = net.stats()
    net.nodes["h1"].send_to(BROADCAST)
    net.run()
    assert stats.interfaces["h1-eth0"]["tx_frames"] == 1
