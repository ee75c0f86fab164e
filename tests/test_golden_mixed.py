"""Golden capture of a mixed scene (issue 16): speed work must not alter one capture byte.

A hub segment (h1, h2) and a switch (h3, h4) joined by a router; UDP echo, a TCP transfer
over a 5% lossy cable (so retransmissions and their timers are in the capture), a TFTP
download across the router and pings. The sha256 of the pcapng bytes is stored here: a
change to the kernel, the links, the devices or the stacks that moves one event shows up as
a different digest. The same seed must give the same bytes twice in one process too (no
state leaks from one Network to the next).
"""

from __future__ import annotations

import hashlib

from netsim import AF_INET, SOCK_DGRAM, SOCK_STREAM, Network
from netsim.apps.tftp import sim_driver as tftp_sim

# Recorded before the issue-16 speed work (branch i16a, on top of 1798daa).
GOLDEN_SHA256 = "7db856ed03cede9b2836415624a5c524a47b4c51dfa8a6d4449b48021be3d400"
FILE = bytes(range(256)) * 9 + b"tail"          # 2308 bytes: four full 512-byte blocks + 260
BULK = bytes(range(251)) * 200                  # 50,200 bytes of TCP, about 35 segments


def scene(path, seed: int = 7) -> dict:
    net = Network(seed=seed)
    hub, sw, r1 = net.add_hub("hub1"), net.add_switch("s1"), net.add_router("r1")
    h1, h2, h3, h4 = (net.add_host(f"h{i}") for i in range(1, 5))
    net.link(h1, hub, bandwidth="10Mbps")
    net.link(h2, hub, bandwidth="10Mbps")
    net.link(r1, hub, bandwidth="10Mbps")
    net.link(r1, sw)
    net.link(h3, sw)
    net.link(h4, sw, loss=0.05)
    r1.set_ip("10.0.1.1/24", iface="eth0")
    r1.set_ip("10.0.2.1/24", iface="eth1")
    h1.set_ip("10.0.1.10/24", gateway="10.0.1.1")
    h2.set_ip("10.0.1.11/24", gateway="10.0.1.1")
    h3.set_ip("10.0.2.10/24", gateway="10.0.2.1")
    h4.set_ip("10.0.2.11/24", gateway="10.0.2.1")
    out: dict = {}

    def echo(host):
        s = host.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", 7))
        for _ in range(3):
            data, addr = s.recvfrom(2048)
            s.sendto(data, addr)

    def udp_client(host):
        s = host.socket(AF_INET, SOCK_DGRAM)
        s.settimeout(1.0)
        got = []
        for i in range(3):
            s.sendto(b"udp %d" % i, ("10.0.2.10", 7))
            got.append(s.recvfrom(2048)[0])
        out["udp"] = got

    def sink(host):
        s = host.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 5001))
        s.listen(1)
        conn, _ = s.accept()
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        conn.close()
        out["tcp"] = data

    def bulk(host):
        c = host.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.2.11", 5001))
        c.sendall(BULK)
        c.close()

    def fetch(host):
        out["tftp"] = tftp_sim.get(host, "10.0.2.10", "file.bin").data

    def pinger(host):
        out["ping"] = host.ping("10.0.2.11", count=3, interval=0.05).received

    with net.capture(path):
        h3.spawn_with_host(echo)
        h4.spawn_with_host(sink)
        h3.spawn_with_host(tftp_sim.serve, {"file.bin": FILE}, max_requests=1)
        h1.spawn_with_host(udp_client, at="1ms")
        h2.spawn_with_host(bulk, at="2ms")
        h1.spawn_with_host(fetch, at="3ms")
        h2.spawn_with_host(pinger, at="4ms")
        net.run(until="60s")
    return out


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_mixed_scene_capture_is_byte_for_byte_the_recorded_one(tmp_path):
    out = scene(tmp_path / "a.pcapng")
    # the scene really did all of its work (a broken scene would record a useless digest)
    assert out["udp"] == [b"udp 0", b"udp 1", b"udp 2"]
    assert out["tcp"] == BULK
    assert out["tftp"] == FILE
    assert out["ping"] >= 1
    assert digest(tmp_path / "a.pcapng") == GOLDEN_SHA256


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    scene(tmp_path / "a.pcapng")
    scene(tmp_path / "b.pcapng")
    scene(tmp_path / "c.pcapng", seed=8)
    assert digest(tmp_path / "a.pcapng") == digest(tmp_path / "b.pcapng")
    assert digest(tmp_path / "a.pcapng") != digest(tmp_path / "c.pcapng")
