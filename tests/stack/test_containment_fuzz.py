"""Containment: nothing a network sends can make ``net.run()`` raise.

A live network of every device kind (hosts, a router, a switch, a hub, a host with no gateway)
runs servers (TCP, UDP echo, TFTP) and clients; the frames it exchanged become the seeds of a
seeded mutator that flips, overwrites, truncates and extends bytes and then recomputes the
IPv4 header checksum and the ICMP/UDP/TCP checksum, so the mutants get past the checksum
checks and reach the protocol code. 100,000 of them are delivered to every kind of interface
(host, router, switch port; sent onto the hub's shared wire) while the servers run; every
exception a frame causes would come out of ``run()``.
"""

from __future__ import annotations

import random
import socket
import struct

from netsim import Network
from netsim.apps.tftp import sim_driver as tftp_sim
from netsim.wire.checksum import internet_checksum, pseudo_header_sum

FRAMES = 100_000
SPACING_NS = 20_000   # 20 us between injected frames: 100k frames in 2 s of virtual time

# Source and destination addresses a mutant may carry: real hosts, the router, broadcasts,
# 0.0.0.0, loopback, multicast and an address of a subnet nobody routes back to.
ADDRESSES = ["10.0.0.1", "10.0.0.2", "10.0.0.5", "10.0.0.254", "10.0.1.3", "10.0.1.4",
             "10.0.1.254", "10.0.0.255", "10.0.1.255", "255.255.255.255", "0.0.0.0",
             "127.0.0.1", "224.0.0.1", "192.168.7.7"]
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF]


def build() -> tuple[Network, dict]:
    """s1 (switch): h1 servers, h2 clients, h5 without a gateway, r1; hub1: h3 server, h4."""
    net = Network(seed=7, trace=False)
    s1, hub = net.add_switch("s1"), net.add_hub("hub1")
    h1, h2, h5 = net.add_host("h1"), net.add_host("h2"), net.add_host("h5")
    h3, h4 = net.add_host("h3"), net.add_host("h4")
    r1 = net.add_router("r1")
    for h in (h1, h2, h5, r1):
        net.link(h, s1)
    for h in (h3, h4):
        net.link(h, hub)
    net.link(r1, hub)
    h1.set_ip("10.0.0.1/24", gateway="10.0.0.254")
    h2.set_ip("10.0.0.2/24", gateway="10.0.0.254")
    h5.set_ip("10.0.0.5/24")  # the forgotten gateway
    r1.set_ip("10.0.0.254/24", iface="eth0")
    r1.set_ip("10.0.1.254/24", iface="eth1")
    h3.set_ip("10.0.1.3/24", gateway="10.0.1.254")
    h4.set_ip("10.0.1.4/24", gateway="10.0.1.254")
    return net, {"h1": h1, "h2": h2, "h3": h3, "h4": h4, "h5": h5, "r1": r1, "s1": s1,
                 "hub1": hub}


# -- robust servers and clients (they report errors, as a careful program does) -------------

def tcp_echo_server(host, port: int) -> None:
    lsock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("", port))
    lsock.listen(16)
    while True:
        conn, _ = lsock.accept()
        host.spawn(_echo_conn, conn)


def _echo_conn(conn) -> None:
    conn.settimeout(5)
    try:
        while data := conn.recv(4096):
            conn.sendall(data)
    except OSError:
        pass
    finally:
        conn.close()


def udp_echo_server(host, port: int) -> None:
    sock = host.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("", port))
    while True:
        try:
            data, addr = sock.recvfrom(65535)
            sock.sendto(data, addr)
        except OSError:
            pass  # an unroutable or port-0 source: Linux's sendto fails the same way


def clients(host, targets: list[str], rounds: int) -> None:
    for i in range(rounds):
        for target in targets:
            try:
                with host.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.settimeout(2)
                    s.connect((target, 7))
                    s.sendall(b"hello %d" % i)
                    s.recv(100)
            except OSError:
                pass
            try:
                with host.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.settimeout(0.5)
                    u.sendto(b"x" * (i * 300 % 3000), (target, 7))
                    u.recvfrom(4000)
            except OSError:
                pass
            host.ping(target, count=1, timeout=0.2)
            if i % 5 == 0:
                try:
                    host.traceroute(target, max_hops=3, timeout=0.1)
                except OSError:
                    pass
        try:
            tftp_sim.put(host, "10.0.0.1", f"up{i}.bin", bytes(range(256)) * 5, timeout=0.2,
                         max_retries=2)
            tftp_sim.get(host, "10.0.0.1", "boot.img", blksize=700, timeout=0.2, max_retries=2)
        except (tftp_sim.TftpError, OSError):
            pass
        host.sleep(0.05)


def start(net: Network, nodes: dict, rounds: int) -> None:
    files = {"boot.img": bytes(range(256)) * 20}
    for name in ("h1", "h3"):
        nodes[name].spawn_with_host(tcp_echo_server, 7)
        nodes[name].spawn_with_host(udp_echo_server, 7)
    nodes["h1"].spawn(tftp_sim.serve, nodes["h1"], files, allow_write=True,
                      allow_overwrite=True, timeout=0.2, max_retries=2)
    nodes["h2"].spawn_with_host(clients, ["10.0.0.1", "10.0.1.3"], rounds)
    nodes["h4"].spawn_with_host(clients, ["10.0.1.3", "10.0.0.1"], rounds)
    nodes["h5"].spawn_with_host(clients, ["10.0.0.1"], max(1, rounds // 2))


# -- the mutator -----------------------------------------------------------------------------

def fix_checksums(buf: bytearray) -> None:
    """Recompute the IPv4 header checksum and the transport checksum of a mutated frame."""
    if len(buf) < 34 or buf[12:14] != b"\x08\x00":
        return
    ihl = (buf[14] & 0x0F) * 4
    if ihl < 20 or len(buf) < 14 + ihl:
        return
    buf[24:26] = b"\0\0"
    buf[24:26] = internet_checksum(bytes(buf[14:14 + ihl])).to_bytes(2, "big")
    total = int.from_bytes(buf[16:18], "big")
    end = min(len(buf), 14 + max(total, ihl))
    seg = buf[14 + ihl:end]
    frag = int.from_bytes(buf[20:22], "big") & 0x3FFF
    if frag & 0x1FFF:
        return  # a later fragment carries no transport header
    proto = buf[23]
    src, dst = bytes(buf[26:30]), bytes(buf[30:34])
    at = {1: 2, 6: 16, 17: 6}.get(proto)
    if at is None or len(seg) < at + 2:
        return
    seg[at:at + 2] = b"\0\0"
    if proto == 1:
        ck = internet_checksum(bytes(seg))
    else:
        ck = internet_checksum(bytes(seg), pseudo_header_sum(src, dst, proto, len(seg)))
        if proto == 17 and ck == 0:
            ck = 0xFFFF
    seg[at:at + 2] = ck.to_bytes(2, "big")
    buf[14 + ihl:end] = seg


def mutate(rng: random.Random, seed: bytes, dst_mac: bytes, dst_ip: str | None) -> bytes:
    """One mutant of ``seed``: aimed at ``dst_mac`` (or broadcast), often at ``dst_ip``, with
    1-3 changes that favour the headers (where the protocol decisions are made)."""
    buf = bytearray(seed)
    r = rng.random()
    if r < 0.8:
        buf[0:6] = dst_mac
    elif r < 0.9:
        buf[0:6] = b"\xff" * 6
    ihl = 20
    if len(buf) >= 34 and buf[12:14] == b"\x08\x00":
        ihl = max(20, (buf[14] & 0x0F) * 4)
        if dst_ip is not None and rng.random() < 0.3:
            buf[30:34] = socket.inet_aton(dst_ip)
        if rng.random() < 0.15:
            buf[26:30] = socket.inet_aton(rng.choice(ADDRESSES))
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        how = rng.random()
        l4 = 14 + ihl
        if how < 0.45 and len(buf) > l4:
            # the transport header: ports, flags, sequence numbers, options, lengths
            i = rng.randrange(l4, min(len(buf), l4 + 40))
            buf[i] = rng.choice(INTERESTING) if rng.random() < 0.3 else rng.randrange(256)
        elif how < 0.65 and len(buf) > 14:
            i = rng.randrange(14, min(len(buf), l4))
            buf[i] = rng.choice(INTERESTING) if rng.random() < 0.3 else rng.randrange(256)
        elif how < 0.75 and buf:
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif how < 0.82 and len(buf) > 14:
            del buf[rng.randrange(14, len(buf)):]
        elif how < 0.89:
            buf += rng.randbytes(rng.randrange(1, 64))
        elif len(buf) > 20:
            i = rng.randrange(14, len(buf) - 2)
            struct.pack_into("!H", buf, i, rng.choice((0, 1, 0x7FFF, 0xFFFF, len(buf))))
    if rng.random() < 0.97:
        fix_checksums(buf)
    return bytes(buf)


def collect_seeds(net: Network) -> list[bytes]:
    seen: dict[bytes, None] = {}

    def tap(iface, time_ns, frame, direction, comment) -> None:
        if direction == "in" and len(seen) < 5000:
            seen.setdefault(frame, None)
    for iface in net.interfaces():
        if iface.node.kind in ("host", "router"):  # what the stacks received
            iface.taps.append(tap)
    return seen  # filled while the network runs


def test_mutated_frames_never_raise_out_of_run() -> None:
    net, nodes = build()
    seeds = collect_seeds(net)
    start(net, nodes, rounds=40)
    net.run(duration="1s")
    corpus = list(seeds)
    assert len(corpus) > 200, "the legitimate traffic should have produced a varied corpus"
    rng = random.Random(1)
    targets = []
    for name in ("h1", "h3", "h5", "r1", "s1"):
        node = nodes[name]
        for iface in node.interfaces:
            addr = node.interface_address(iface) if hasattr(node, "interface_address") else None
            targets.append((iface.deliver, iface.mac_bytes, addr.ip if addr else None))
    # h4's NIC puts mutants onto the hub's shared wire (CSMA/CD, repeated to h3 and r1)
    targets.append((nodes["h4"].iface(0).send, nodes["h3"].iface(0).mac_bytes, "10.0.1.3"))
    kernel = net.kernel
    t = kernel.now
    for _ in range(FRAMES):
        fn, mac, ip = rng.choice(targets)
        t += SPACING_NS
        kernel.call_at(t, fn, mutate(rng, rng.choice(corpus), mac, ip))
    before = {name: dict(nodes[name].stats()) for name in ("h1", "h3", "r1")}
    tcp_before = nodes["h1"].tcp.counters["segments_in"] + nodes["h3"].tcp.counters["segments_in"]
    net.run(duration="10s")
    # The mutants reached every layer, not just the NIC filters and the checksum checks.
    grew = {key: sum(nodes[n].stats()[key] - before[n][key] for n in before)
            for key in ("arp_rx", "icmp_rx", "udp_rx", "forwarded", "fragments_rx",
                        "martian_sources", "icmp_errors_sent")}
    assert all(v > 100 for v in grew.values()), grew
    tcp_in = nodes["h1"].tcp.counters["segments_in"] + nodes["h3"].tcp.counters["segments_in"]
    assert tcp_in - tcp_before > 1000
