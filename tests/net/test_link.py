"""The full-duplex link: serialisation, propagation, drop-tail queue, loss."""

from __future__ import annotations

import pytest

from netsim import Network
from netsim.net import WIRE_OVERHEAD, Link
from tests.kits.l2 import add_raw


def pair(**link):
    net = Network(seed=9)
    a, b = add_raw(net, "a", "b")
    medium = net.link(a, b, **link)
    return net, a, b, medium


def test_link_serialisation_and_propagation_delay():
    net, a, b, link = pair(bandwidth="10Mbps", delay="50us")
    a.send_to(b.mac, size=1000)
    a.send_to(b.mac, size=100)
    net.run()
    # (1000 + 24) bytes * 8 / 10 Mb/s = 819.2 us on the wire, then 50 us of cable.
    first = (1000 + WIRE_OVERHEAD) * 8 * 100
    second = (100 + WIRE_OVERHEAD) * 8 * 100
    assert [t for t, _, _ in b.received] == [first + 50_000, first + second + 50_000]
    tx = [e.time_ns for e in net.trace if e.kind == "tx"]
    assert tx == [0, first]          # the second frame waited for the first to leave
    assert isinstance(link, Link)


def test_link_directions_are_independent():
    net, a, b, _ = pair(bandwidth="100Mbps", delay="1us")
    a.send_to(b.mac)
    b.send_to(a.mac)
    net.run()
    assert a.received[0][0] == b.received[0][0] == (60 + WIRE_OVERHEAD) * 80 + 1000


def test_link_queue_full_drops_tail():
    net, a, b, link = pair(bandwidth="1Mbps", queue=3)
    for i in range(8):
        a.send_to(b.mac, bytes([i]))
    net.run()
    # one frame on the wire, three queued; the last four are dropped at the tail.
    assert [p[0] for p in b.payloads()] == [0, 1, 2, 3]
    assert a.interfaces[0].drops == 4
    assert link.stats()["a-eth0->b-eth0"]["queue_drops"] == 4
    assert [e.note for e in net.trace if e.kind == "drop"] == ["dropped: queue full"] * 4


def test_link_loss_statistics_match_probability():
    net, a, b, link = pair(bandwidth="100Mbps", loss=0.25)
    n = 2000
    for i in range(n):
        net.kernel.call_at(i * 10_000, a.send_to, b.mac)
    net.run()
    stats = link.stats()["a-eth0->b-eth0"]
    assert stats["frames"] == n
    assert stats["lost"] + len(b.received) == n
    assert 0.20 < stats["lost"] / n < 0.30
    lost_notes = [e for e in net.trace if e.kind == "tx" and e.note == "lost on link"]
    assert len(lost_notes) == stats["lost"]


def test_link_mtu_drops_oversized_frames():
    net, a, b, _ = pair(mtu=500)
    a.send_to(b.mac, size=600)
    net.run()
    assert b.received == [] and a.interfaces[0].drops == 1


def test_link_rejects_bad_probability():
    with pytest.raises(ValueError, match="probability"):
        pair(loss=1.5)
