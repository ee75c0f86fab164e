"""Karn's rule (RFC 6298 3) across a long fast recovery: a segment sent above a hole is
acknowledged only when the hole's retransmission arrives, so its ACK times the recovery, not
the path. Without SACK, NewReno (RFC 6582) repairs one hole per round trip; after a slow-start
overshoot at a drop-tail queue that takes seconds, and the RTO must not come out of it
inflated to seconds."""

from __future__ import annotations

import socket

import pytest

from netsim import AF_INET, SOCK_STREAM, Network

BASE_RTT_NS = 80_000_000          # 2 x 40 ms on the bottleneck
QUEUE = 34                        # frames; at 10 Mb/s each waits 1.2 ms more


def overshoot(timestamps: int):
    net = Network(seed=1)
    h1, r1, h2 = net.add_host("h1"), net.add_router("r1"), net.add_host("h2")
    net.link(h1, r1, bandwidth="1Gbps")
    net.link(r1, h2, bandwidth="10Mbps", delay="40ms", queue=QUEUE)
    h1.set_ip("10.0.1.2/24", gateway="10.0.1.1")
    r1.set_ip("10.0.1.1/24", iface="eth0")
    r1.set_ip("10.0.2.1/24", iface="eth1")
    h2.set_ip("10.0.2.2/24", gateway="10.0.2.1")
    for h in (h1, h2):
        cfg = h.tcp.config
        cfg.sack, cfg.timestamps = False, timestamps
        cfg.sysctl("net.ipv4.tcp_rmem", "4096 320000 320000")   # a window of ~110 segments
        cfg.sysctl("net.ipv4.tcp_wmem", "4096 1000000 1000000")
    updates = []
    h1.tcp.on_congestion = lambda label, u: updates.append(u)

    def server(host):
        s = host.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 5001))
        s.listen(1)
        c, _ = s.accept()
        while c.recv(65536):
            pass

    def client(host):
        c = host.socket(AF_INET, SOCK_STREAM)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"newreno")
        c.connect(("10.0.2.2", 5001))
        c.sendall(b"x" * 2_500_000)
        c.close()

    h2.spawn_with_host(server)
    h1.spawn_with_host(client, at="10ms")
    net.run(until=4)
    return updates


@pytest.mark.parametrize("timestamps", [0, 1])
def test_a_long_newreno_recovery_gives_no_rtt_sample_longer_than_the_path(timestamps):
    updates = overshoot(timestamps)
    recoveries = [u for u in updates if u.ca_state == "recovery"]
    assert recoveries, "no fast recovery: the scenario lost nothing"
    span = max(u.time for u in recoveries) - min(u.time for u in recoveries)
    assert span > 10 * BASE_RTT_NS          # one hole per round trip: a long recovery
    start = min(u.time for u in recoveries)
    worst = max(u.rtt for u in updates if u.time >= start)
    # The longest honest sample: the base RTT plus a full queue (34 x 1.2 ms) and slack.
    assert worst < 2 * BASE_RTT_NS, f"an RTT sample of {worst / 1e6:.0f} ms"
    assert max(u.rto for u in updates if u.time >= start) < 1e9
