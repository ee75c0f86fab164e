"""The hub and its CSMA/CD collision domain (IEEE 802.3 clause 4)."""

from __future__ import annotations

import random

import pytest

from netsim import Network
from netsim.net.segment import ATTEMPT_LIMIT
from tests.kits.l2 import BROADCAST, add_raw


class ZeroRandom(random.Random):
    """Every backoff draws r = 0, so two colliding stations collide again and again."""

    def randrange(self, *args, **kwargs):
        return 0


def hub_lan(n: int, bandwidth: str = "10Mbps", delay: str = "1us", seed: int = 3, **link):
    net = Network(seed=seed)
    hub = net.add_hub("hub1")
    hosts = add_raw(net, *(f"h{i + 1}" for i in range(n)))
    for h in hosts:
        net.link(h, hub, bandwidth=bandwidth, delay=delay, **link)
    return net, hub, hosts


def offer_load(net, hosts, load: float, duration_s: float, frame_size: int, seed: int) -> int:
    """Schedule Poisson arrivals of frames to random peers so that the total offered load is
    ``load`` times the 10 Mb/s bit rate. Returns the number of frames offered."""
    rnd = random.Random(seed)
    per_host_rate = load * 10e6 / (len(hosts) * frame_size * 8)
    offered = 0
    for h in hosts:
        t = 0.0
        while True:
            t += rnd.expovariate(per_host_rate)
            if t >= duration_s:
                break
            peer = rnd.choice([p for p in hosts if p is not h])
            net.kernel.call_at(round(t * 1e9), h.send_to, peer.mac, b"x" * 28, frame_size)
            offered += 1
    return offered


def test_frame_on_idle_hub_reaches_every_other_port_with_exact_timing():
    net, hub, (h1, h2, h3) = hub_lan(3)
    h1.send_to(h2.mac, b"hi")
    net.run()
    # 60 bytes + 8 preamble + 4 FCS = 576 bit times = 57.6 us at 10 Mb/s; 1 us per cable.
    assert h2.received[0][0] == h3.received[0][0] == 57_600 + 2_000
    kinds = [(e.node, e.iface, e.kind, e.time_ns) for e in net.trace]
    assert kinds[0] == ("h1", "eth0", "tx", 0)
    assert ("hub1", "eth0", "rx", 58_600) in kinds
    assert ("hub1", "eth1", "tx", 58_600) in kinds and ("hub1", "eth2", "tx", 58_600) in kinds
    assert not any(e.node == "hub1" and e.iface == "eth0" and e.kind == "tx" for e in net.trace)
    assert [e.note for e in net.trace if e.node == "hub1" and e.kind == "rx"] == ["repeated to 2 ports"]
    assert hub.repeated == 1 and hub.collisions == 0


def test_station_defers_while_carrier_present_then_waits_interframe_gap():
    net, hub, (h1, h2, _h3) = hub_lan(3)
    h1.send_to(BROADCAST)
    # h2 hears h1 from t = 2 us (two 1 us cables); at 10 us it defers instead of colliding.
    net.kernel.call_at(10_000, h2.send_to, BROADCAST)
    net.run()
    tx = [e for e in net.trace if e.kind == "tx" and e.node == "h2"]
    # h1's signal passes h2 from 2 us to 59.6 us; then 96 bit times (9.6 us) of gap.
    assert tx[0].time_ns == 59_600 + 9_600
    assert hub.collisions == 0 and h2.interfaces[0].collisions == 0


def test_stations_starting_within_propagation_window_collide_and_back_off():
    net, hub, (h1, h2, h3) = hub_lan(3, delay="5us")
    h1.send_to(BROADCAST, b"one")
    net.kernel.call_at(3_000, h2.send_to, BROADCAST, b"two")  # h1's bits reach h2 at 10 us
    net.run()
    assert h1.interfaces[0].collisions >= 1 and h2.interfaces[0].collisions >= 1
    assert hub.collisions >= 2
    # Both frames were eventually delivered, once each, to the bystander.
    assert sorted(p[:3] for p in h3.payloads()) == [b"one", b"two"]
    tx_notes = [e.note for e in net.trace if e.kind == "tx" and e.node in ("h1", "h2")]
    assert all(n and "collision" in n and "backoff k=" in n for n in tx_notes)


def test_hub_drops_after_16_collisions():
    net, hub, (h1, h2, h3) = hub_lan(3)
    net.kernel.rng = ZeroRandom(0)
    h1.send_to(h3.mac, b"doomed")
    h2.send_to(h3.mac, b"doomed too")
    net.run()
    assert h3.received == []
    for h in (h1, h2):
        iface = h.interfaces[0]
        assert iface.collisions == ATTEMPT_LIMIT == 16
        assert iface.drops == 1 and iface.tx_frames == 0
    drops = [e for e in net.trace if e.kind == "drop"]
    assert [e.note for e in drops] == ["dropped: 16 collisions"] * 2
    assert hub.segment.excessive_collisions == 2
    assert hub.collisions == 32


def test_queue_behind_collisions_is_sent_after_drop():
    net, hub, (h1, h2, h3) = hub_lan(3)
    net.kernel.rng = ZeroRandom(0)
    h1.send_to(h3.mac, b"doomed")
    h2.send_to(h3.mac, b"doomed")
    h1.send_to(h3.mac, b"next")   # queued behind h1's doomed frame
    net.run()
    assert [p[:4] for p in h3.payloads()] == [b"next"]


def test_station_transmit_queue_drops_tail():
    net, hub, (h1, h2) = hub_lan(2, queue=3)
    for i in range(6):
        h1.send_to(h2.mac, bytes([i]))
    net.run()
    # one frame on the wire, three waiting, two dropped.
    assert [p[0] for p in h2.payloads()] == [0, 1, 2, 3]
    assert h1.interfaces[0].drops == 2
    assert [e.note for e in net.trace if e.kind == "drop"] == ["dropped: queue full"] * 2


def test_bystander_on_hub_sees_all_traffic():
    net, hub, (h1, h2, spy) = hub_lan(3, bandwidth="100Mbps")
    for i in range(5):
        h1.send_to(h2.mac, b"to h2 %d" % i)
        h2.send_to(h1.mac, b"to h1 %d" % i)
    net.run()
    assert len(spy.received) == 10
    assert all(f[0:6] != bytes.fromhex(spy.mac.replace(":", "")) for _, _, f in spy.received)


def test_bystander_on_switch_sees_only_first_flood_and_broadcasts():
    net = Network(seed=3)
    sw = net.add_switch("s1")
    h1, h2, spy = add_raw(net, "h1", "h2", "spy")
    for h in (h1, h2, spy):
        net.link(h, sw)
    h1.send_to(h2.mac, b"first")    # unknown unicast: flooded, the spy sees it
    net.run()
    for i in range(5):
        h2.send_to(h1.mac, b"to h1 %d" % i)
        h1.send_to(h2.mac, b"to h2 %d" % i)
    h1.send_to(BROADCAST, b"everyone")
    net.run()
    assert [p.rstrip(b"\0") for p in spy.payloads()] == [b"first", b"everyone"]
    assert len(h2.received) == 7 and len(h1.received) == 5


def test_collisions_grow_with_offered_load():
    # Loads below saturation (about 0.9 for 128-byte frames once gaps are counted). Past it the
    # 802.3 "capture effect" sets in: the last winner keeps its attempt count at 0 and wins
    # again and again, so collisions per frame fall while the losers' backoffs grow.
    loads = (0.05, 0.2, 0.4, 0.7)
    collisions = []
    for load in loads:
        net, hub, hosts = hub_lan(8, seed=12)
        offered = offer_load(net, hosts, load, 0.05, 128, seed=12)
        net.run()
        collisions.append(hub.collisions)
        sent = sum(h.interfaces[0].tx_frames for h in hosts)
        dropped = sum(h.interfaces[0].drops for h in hosts)
        assert sent + dropped == offered
        # every frame that made it out reached all 7 other stations
        assert sum(len(h.received) for h in hosts) == 7 * sent
    assert collisions == sorted(collisions) and len(set(collisions)) == len(loads)
    assert collisions[-1] > 5 * collisions[1] > 0

    # The same offered load through a switch: full duplex, no collision domain.
    net = Network(seed=11)
    sw = net.add_switch("s1")
    hosts = add_raw(net, *(f"h{i + 1}" for i in range(8)))
    for h in hosts:
        net.link(h, sw, bandwidth="10Mbps", delay="1us")
    offer_load(net, hosts, 0.7, 0.05, 128, seed=12)
    net.run()
    assert sum(i.collisions for i in net.interfaces()) == 0


def test_cascaded_hubs_share_one_collision_domain():
    net = Network(seed=2)
    a, b = net.add_hub("hubA"), net.add_hub("hubB")
    h1, h2, h3 = add_raw(net, "h1", "h2", "h3")
    net.link(h1, a, bandwidth="10Mbps")
    net.link(a, b, bandwidth="10Mbps", delay="2us")
    net.link(h2, b, bandwidth="10Mbps")
    net.link(h3, b, bandwidth="10Mbps")
    assert a.segment is b.segment
    h1.send_to(BROADCAST, b"from A")
    h2.send_to(BROADCAST, b"from B")
    net.run()
    assert a.collisions + b.collisions >= 2
    assert h1.interfaces[0].collisions >= 1 and h2.interfaces[0].collisions >= 1
    assert sorted(p[:6] for p in h3.payloads()) == [b"from A", b"from B"]
    # h1's frame enters hubB through its uplink port (eth0), 1 + 2 us after the end at hubA.
    a_in = [e for e in net.trace if e.node == "hubA" and e.kind == "rx" and e.iface == "eth0"][0]
    b_in = [e for e in net.trace if e.node == "hubB" and e.kind == "rx" and e.iface == "eth0"][0]
    assert b_in.time_ns == a_in.time_ns + 2_000 and b_in.frame == a_in.frame


def test_hubs_merged_after_stations_attached():
    net = Network(seed=2)
    a, b = net.add_hub("hubA"), net.add_hub("hubB")
    h1, h2 = add_raw(net, "h1", "h2")
    net.link(h1, a)
    net.link(h2, b)
    assert a.segment is not b.segment
    net.link(b, a)
    assert a.segment is b.segment and h1.interfaces[0].medium is h2.interfaces[0].medium
    h1.send_to(h2.mac, b"across")
    net.run()
    assert h2.payloads()[0].startswith(b"across")


def test_loop_of_hubs_is_refused():
    net = Network()
    a, b = net.add_hub("hubA"), net.add_hub("hubB")
    net.link(a, b)
    with pytest.raises(ValueError, match="loop"):
        net.link(b, a)


def test_hub_refuses_mixed_rates_and_reordering():
    net, hub, _ = hub_lan(1)
    (x,) = add_raw(net, "x")
    with pytest.raises(ValueError, match="bit/s"):
        net.link(x, hub, bandwidth="100Mbps")
    (y,) = add_raw(net, "y")
    with pytest.raises(ValueError, match="reorder"):
        net.link(y, hub, bandwidth="10Mbps", reorder=0.1)


def test_switch_port_on_a_hub_is_a_station():
    net = Network(seed=4)
    hub, sw = net.add_hub("hub1"), net.add_switch("s1")
    h1, h2, far = add_raw(net, "h1", "h2", "far")
    net.link(h1, hub)
    net.link(h2, hub)
    net.link(sw, hub)
    net.link(far, sw)
    far.send_to(BROADCAST, b"from far")
    h1.send_to(BROADCAST, b"from h1")
    net.run()
    assert [p[:8] for p in h2.payloads()] == [b"from h1\0", b"from far"] or \
        sorted(p[:8] for p in h2.payloads()) == [b"from far", b"from h1\0"]
    assert far.payloads()[0].startswith(b"from h1")
    assert sw.interfaces[0].tx_frames == 1   # the switch's port sent onto the hub once


def test_loss_on_a_station_cable_spoils_only_its_copies():
    net, hub, (h1, h2, h3) = hub_lan(3, bandwidth="100Mbps")
    (lossy,) = add_raw(net, "lossy")
    net.link(lossy, hub, bandwidth="100Mbps", loss=0.5)
    for i in range(200):
        net.kernel.call_at(i * 100_000, h1.send_to, BROADCAST, bytes([i % 256]))
    net.run()
    assert len(h2.received) == len(h3.received) == 200
    assert 60 < len(lossy.received) < 140
    assert hub.segment.stats()["lossy-eth0->hub1"]["lost"] == 200 - len(lossy.received)
