"""Lab: subnets joined by routers — masks, ARP on each segment, TTL hop by hop, traceroute.

Three subnets in a line, ``h1 - s1 - r1 - s2 - r2 - s3 - h3``, with a bystander on each
switch. A host sends to its own subnet directly and to anything else through its default
gateway; each router looks the destination up (longest prefix match), resolves the next hop
with ARP *on that segment*, decrements the TTL and recomputes the header checksum (RFC 791,
RFC 1812 5.3.1). A broadcast stays on its own segment: routers never forward it (RFC 1812
5.3.5), which is what makes a router the edge of a broadcast domain.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from netsim import AF_INET, SO_BROADCAST, SOCK_DGRAM, SOL_SOCKET, Network

from .params import Param, checked, declare
from .result import LabResult

NAME = "router-subnets"
TITLE = "Routing between subnets: masks, ARP per segment, TTL hop by hop, traceroute"
SUMMARY = "three subnets and two routers: masks, ARP per segment, TTL, traceroute, broadcasts"

PARAMS = declare(
    # Three subnets of 10.0.0.0/8, each with room for a router and two hosts.
    Param("prefix_len", int, 24, min=9, max=28,
          help="prefix length of each subnet (e.g. 24 = 255.255.255.0)"),
    Param("seed", int, 1, min=0, help="random seed"),
)


def _address_class(ip: str) -> str:
    """The pre-CIDR class of an address (RFC 791 3.2), which the prefix length replaced."""
    first = int(ip.split(".")[0])
    for bound, name in ((128, "A"), (192, "B"), (224, "C"), (240, "D (multicast)")):
        if first < bound:
            return name
    return "E (reserved)"


def topology(prefix_len: int = 24, seed: int = 1) -> Network:
    """The three subnets and two routers, addressed and routed, with nothing running yet."""
    if not 9 <= prefix_len <= 28:
        raise ValueError(f"prefix_len must be between 9 and 28 (three subnets of 10.0.0.0/8, "
                         f"each with room for a router and two hosts), got {prefix_len}")
    net = Network(seed=seed)
    base = int(ipaddress.ip_address("10.0.0.0"))
    size = 1 << (32 - prefix_len)
    # The 1st, 2nd and 3rd subnets of that size inside 10.0.0.0/8 (10.0.1.0/24 ... for /24).
    subnets = [ipaddress.ip_network(f"{ipaddress.ip_address(base + k * size)}/{prefix_len}")
               for k in (1, 2, 3)]

    def addr(k: int, n: int) -> str:
        return f"{subnets[k].network_address + n}/{prefix_len}"

    sws = [net.add_switch(f"s{i}") for i in (1, 2, 3)]
    r1, r2 = net.add_router("r1"), net.add_router("r2")
    h1, b1 = net.add_host("h1"), net.add_host("b1")
    b2 = net.add_host("b2")
    h3, b3 = net.add_host("h3"), net.add_host("b3")
    for host, sw in ((h1, sws[0]), (b1, sws[0]), (b2, sws[1]), (h3, sws[2]), (b3, sws[2])):
        net.link(host, sw)
    net.link(r1, sws[0])
    net.link(r1, sws[1])
    net.link(r2, sws[1])
    net.link(r2, sws[2])
    r1.set_ip(addr(0, 1), iface="eth0")
    r1.set_ip(addr(1, 1), iface="eth1")
    r2.set_ip(addr(1, 2), iface="eth0")
    r2.set_ip(addr(2, 1), iface="eth1")
    r1.add_route(str(subnets[2]), via=addr(1, 2).split("/")[0])
    r2.add_route(str(subnets[0]), via=addr(1, 1).split("/")[0])
    gw = [addr(0, 1), addr(1, 1), addr(2, 1)]
    h1.set_ip(addr(0, 10), gateway=gw[0].split("/")[0])
    b1.set_ip(addr(0, 11), gateway=gw[0].split("/")[0])
    b2.set_ip(addr(1, 10), gateway=gw[1].split("/")[0])
    h3.set_ip(addr(2, 10), gateway=gw[2].split("/")[0])
    b3.set_ip(addr(2, 11), gateway=gw[2].split("/")[0])
    return net


def _listen(host, port: int, got: list) -> None:
    s = host.socket(AF_INET, SOCK_DGRAM)
    s.bind(("", port))
    while True:
        data, addr = s.recvfrom(2048)
        got.append((host.name, data.decode(), addr[0]))


def build(prefix_len: int = 24, seed: int = 1) -> tuple[Network, dict]:
    """The lab's network with its programs started (not run): listeners on every host, and
    h1 pinging and tracerouting h3, then sending a limited and a directed broadcast."""
    net = topology(prefix_len, seed)
    h3 = net["h3"]
    info: dict = {"got": [], "outputs": {}}
    got, outputs = info["got"], info["outputs"]
    for host in net.hosts:
        host.spawn_with_host(_listen, 5000, got, name="listener")

    def script(host) -> None:
        outputs["ping"] = host.ping(h3.ip, count=3, interval=0.2)
        outputs["traceroute"] = host.traceroute(h3.ip, timeout=1.0)
        s = host.socket(AF_INET, SOCK_DGRAM)
        s.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)
        s.sendto(b"limited broadcast", ("255.255.255.255", 5000))
        subnet3 = ipaddress.ip_interface(h3.addresses()[0][1]).network
        s.sendto(b"directed broadcast to subnet 3", (str(subnet3.broadcast_address), 5000))
        host.sleep(0.5)

    net["h1"].spawn_with_host(script, at=0.01)
    return net, info


STEP_PARAMS = declare(PARAMS["prefix_len"], PARAMS["seed"])


def scene(prefix_len: int = 24, seed: int = 1) -> Network:
    """What ``netsim step router-subnets`` walks through: :func:`build`'s network, h1 pinging
    and tracerouting h3 and then broadcasting."""
    return build(prefix_len, seed)[0]


def _ping_routes(net: Network, src: str, dst: str) -> dict[int, dict[int, list[str]]]:
    """``{icmp_seq: {8: [nodes the echo request crossed], 0: [the reply's]}}`` from the trace:
    the IP nodes that transmitted each echo, in order, then the node that received it."""
    ip_nodes = {n.name for n in [*net.hosts, *net.routers]}
    routes: dict[int, dict[int, list[str]]] = {}
    for ev in net.trace:
        if ev.node not in ip_nodes or ev.kind not in ("tx", "rx") or ev.frame is None:
            continue
        f = ev.decoded
        if f.icmp is None or f.icmp.type not in (0, 8) or f.ip is None:
            continue
        want = (src, dst) if f.icmp.type == 8 else (dst, src)
        if (f.ip.src, f.ip.dst) != want:
            continue
        hops = routes.setdefault(f.icmp.seq, {}).setdefault(f.icmp.type, [])
        # A node shows up once: when it sent the datagram on, or (the last) when it got it.
        if ev.kind == "tx" or (f.ip.dst in _addresses(net, ev.node) and ev.node not in hops):
            if not hops or hops[-1] != ev.node:
                hops.append(ev.node)
    return routes


def _route_summary(routes: dict[int, dict[int, list[str]]]) -> str:
    """'requests: h1 > r1 > r2 > h3 (icmp_seq 1, 2, 3); replies: ...', one entry per path."""
    if not routes:
        return "no echo on the wire"
    parts = []
    for kind, label in ((8, "requests"), (0, "replies")):
        paths: dict[str, list[int]] = {}
        for seq, r in sorted(routes.items()):
            paths.setdefault(" > ".join(r.get(kind, [])) or "never sent", []).append(seq)
        parts.append(f"{label}: " + ", ".join(
            f"{p} (icmp_seq {', '.join(map(str, seqs))})" for p, seqs in paths.items()))
    return "; ".join(parts)


def _addresses(net: Network, node: str) -> set[str]:
    return {cidr.split("/")[0] for _ifname, cidr in net[node].addresses()}


@checked(PARAMS)
def run(prefix_len: int = 24, seed: int = 1, out: Path | str | None = None, jobs: int | None = None,
        progress: bool = True) -> LabResult:
    out = Path(out) if out is not None else Path("captures") / NAME
    out.mkdir(parents=True, exist_ok=True)
    result = LabResult(NAME, TITLE, {"prefix_len": prefix_len, "seed": seed})
    net, info = build(prefix_len, seed)
    h3 = net["h3"]
    got, outputs = info["got"], info["outputs"]

    t = result.table("Addresses: the mask splits an address into network and host parts",
                     ["node", "iface", "address", "mask", "network", "broadcast", "old class"])
    for node in [*net.hosts, *net.routers]:
        for ifname, cidr in node.addresses():
            itf = ipaddress.ip_interface(cidr)
            t.add(node.name, ifname, str(itf.ip), str(itf.netmask), str(itf.network),
                  str(itf.network.broadcast_address), _address_class(str(itf.ip)))

    rt = result.table("Routing tables: the most specific matching prefix wins (RFC 1812 5.2.4.3)",
                      ["node", "destination", "next hop", "iface", "kind"])
    for node in (net["h1"], *net.routers, h3):
        for route in node.routes():
            rt.add(node.name, route.prefix, route.via or "direct", route.iface, route.kind)

    # Every IP node's interfaces (not the switches': they would repeat each frame): the
    # traceroute probes that die at r1 and r2 are there, commented "TTL exceeded".
    path = out / "router-subnets.pcapng"
    with net.capture(path, interfaces=[n.name for n in [*net.hosts, *net.routers]]):
        net.run(until="10s")
    result.captures.append(path)
    result.texts.append(("ping h1 -> h3", str(outputs.get("ping"))))
    result.texts.append(("traceroute h1 -> h3", str(outputs.get("traceroute"))))

    # TTL of the first echo request as seen on each segment, and ARP traffic per segment.
    segments = [("subnet 1 (h1's wire)", "h1", "eth0", "out"), ("subnet 2 (r1 -> r2)", "r1", "eth1", "out"),
                ("subnet 3 (h3's wire)", "h3", "eth0", "in")]
    tt = result.table("The first echo request, hop by hop", ["segment", "TTL", "IPv4 checksum"])
    ttls = []
    for label, node, ifname, direction in segments:
        kind = "tx" if direction == "out" else "rx"
        ev = next((e for e in net.trace if e.node == node and e.iface == ifname and e.kind == kind
                   and e.decoded.icmp is not None and e.decoded.icmp.type == 8), None)
        if ev is None:
            tt.add(label, "-", "-")
            continue
        ip = ev.decoded.ip
        ttls.append(ip.ttl)
        tt.add(label, ip.ttl, f"0x{ip.checksum:04x} ({'good' if ip.checksum_ok else 'BAD'})")
    at = result.table("ARP requests: each router resolves its own next hop",
                      ["sent on", "who asked", "for"])
    ip_nodes = {n.name for n in [*net.hosts, *net.routers]}
    for ev in net.trace:
        if (ev.kind == "tx" and ev.node in ip_nodes and ev.frame is not None
                and ev.frame[12:14] == b"\x08\x06"):
            arp = ev.decoded.arp
            if arp.op == 1:
                at.add(f"{ev.node}-{ev.iface}", arp.spa, arp.tpa)

    routes = _ping_routes(net, net["h1"].ip, h3.ip)
    pt = result.table("The route each ping took (the IP nodes that sent it, in order)",
                      ["icmp_seq", "echo request", "echo reply"])
    for seq in sorted(routes):
        pt.add(seq, " > ".join(routes[seq].get(8, [])) or "-",
               " > ".join(routes[seq].get(0, [])) or "-")

    bt = result.table("Who received the broadcasts h1 sent", ["message", "received by"])
    for msg in ("limited broadcast", "directed broadcast to subnet 3"):
        bt.add(msg, ", ".join(sorted(n for n, m, _ in got if m == msg)) or "nobody")

    ping = outputs.get("ping")
    result.check("ping h1 -> h3 across two routers", bool(ping) and ping.ok,
                 f"{ping.received}/{ping.sent} replies" if ping else "ping did not run")
    there, back = ["h1", "r1", "r2", "h3"], ["h3", "r2", "r1", "h1"]
    result.check("every echo request goes h1 > r1 > r2 > h3, every reply the reverse way",
                 bool(routes) and all(r.get(8) == there and r.get(0) == back
                                      for r in routes.values()),
                 _route_summary(routes))
    result.check("TTL drops by one at each router", ttls == [64, 63, 62],
                 f"TTL on the three segments: {ttls}")
    tr = outputs.get("traceroute")
    path_ips = tr.path if tr else []
    result.check("traceroute lists r1, r2, then h3", len(path_ips) == 3 and path_ips[-1] == h3.ip,
                 f"hops: {path_ips}")
    limited = {n for n, m, _ in got if m == "limited broadcast"} - {"h1"}  # h1 hears its own
    result.check("a broadcast stops at the router", limited == {"b1"},
                 f"limited broadcast from h1 reached: {sorted(limited) or 'nobody'} besides h1 "
                 "(b1 shares h1's subnet; b2, h3, b3 are behind routers)")
    directed = {n for n, m, _ in got if m.startswith("directed")}
    result.check("routers do not forward directed broadcasts (RFC 2644)", not directed,
                 f"directed broadcast to subnet 3 reached: {sorted(directed) or 'nobody'}")
    return result
