"""Topologies for the host-stack tests: two hosts on a cable, a switched LAN, three subnets."""

from __future__ import annotations

from netsim import Network
from netsim.wire.frame import decode_frame


def pair(seed: int = 1, **link):
    """h1 (10.0.0.1) -- h2 (10.0.0.2) on one cable."""
    net = Network(seed=seed)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    net.link(h1, h2, **link)
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    return net, h1, h2


def lan(n: int = 3, seed: int = 1, device: str = "switch"):
    """h1..hn on one switch (or hub), 10.0.0.1..n/24."""
    net = Network(seed=seed)
    box = net.add_switch("s1") if device == "switch" else net.add_hub("hub1")
    hosts = [net.add_host(f"h{i + 1}") for i in range(n)]
    for i, h in enumerate(hosts):
        net.link(h, box)
        h.set_ip(f"10.0.0.{i + 1}/24")
    return net, box, hosts


def three_subnets(seed: int = 1, **link):
    """h1 10.0.0.1 -- r1 -- 10.0.1.0/24 -- r2 -- h2 10.0.2.1, with h3 10.0.2.2 next to h2.

    r2's LAN side is a switch so that broadcasts there reach two hosts.
    """
    net = Network(seed=seed)
    h1, h2, h3 = net.add_host("h1"), net.add_host("h2"), net.add_host("h3")
    r1, r2 = net.add_router("r1"), net.add_router("r2")
    sw = net.add_switch("s2")
    net.link(h1, r1, **link)
    net.link(r1, r2, **link)
    net.link(r2, sw, **link)
    net.link(h2, sw, **link)
    net.link(h3, sw, **link)
    h1.set_ip("10.0.0.1/24", gateway="10.0.0.254")
    r1.set_ip("10.0.0.254/24", iface="eth0")
    r1.set_ip("10.0.1.1/24", iface="eth1")
    r2.set_ip("10.0.1.2/24", iface="eth0")
    r2.set_ip("10.0.2.254/24", iface="eth1")
    h2.set_ip("10.0.2.1/24", gateway="10.0.2.254")
    h3.set_ip("10.0.2.2/24", gateway="10.0.2.254")
    r1.add_route("10.0.2.0/24", via="10.0.1.2")
    r2.add_route("10.0.0.0/24", via="10.0.1.1")
    return net, (h1, h2, h3), (r1, r2)


def frames(net, kind: str = "rx", node: str | None = None):
    """Decoded frames of the trace: list of (event, Frame)."""
    return [(ev, decode_frame(ev.frame)) for ev in net.trace
            if ev.frame is not None and ev.kind == kind and (node is None or ev.node == node)]
