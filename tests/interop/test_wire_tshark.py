"""Frames encoded by netsim.wire, and a capture of a simulated routed network, read by tshark.

tshark is the peer no one here wrote: every frame must dissect without a malformed-packet
expert item, every IP/UDP/TCP/ICMP checksum must be validated as good, and the pcapng metadata
(interface names, packet comments) must come through.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from netsim import AF_INET, SOCK_DGRAM, Network
from netsim.capture import PcapngWriter
from netsim.wire import ARP, ICMP, TCP, UDP, Ethernet, IPv4
from netsim.wire import tcp as wtcp
from netsim.wire import tftp as wtftp
from tests.kits.tools import require_tool

A_MAC, B_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
A_IP, B_IP = "10.0.0.1", "10.0.0.2"

CHECKS = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
          "-o", "tcp.check_checksum:TRUE"]  # ICMP checksums are always verified
FIELDS = ["frame.number", "frame.interface_name", "frame.comment", "_ws.malformed",
          "ip.checksum.status", "udp.checksum.status", "tcp.checksum.status",
          "icmp.checksum.status", "tftp.opcode", "_ws.col.Protocol"]


def _ip_frame(src_ip, dst_ip, proto, payload, src_mac=A_MAC, dst_mac=B_MAC, **ip_kw) -> bytes:
    ip = IPv4(src_ip, dst_ip, proto, payload, **ip_kw).encode()
    return Ethernet(dst_mac, src_mac, 0x0800, ip).encode()


def _udp_frame(src_ip, dst_ip, sport, dport, data, **kw) -> bytes:
    seg = UDP(sport, dport, data).encode(src_ip, dst_ip)
    return _ip_frame(src_ip, dst_ip, 17, seg, **kw)


def every_protocol_frames() -> list[tuple[int, bytes, str]]:
    """(interface, frame, comment) covering every codec, TFTP as one real conversation."""
    frames: list[tuple[int, bytes, str]] = []
    arp = ARP(1, A_MAC, A_IP, "00:00:00:00:00:00", B_IP).encode()
    frames.append((0, Ethernet("ff:ff:ff:ff:ff:ff", A_MAC, 0x0806, arp).encode(), "ARP request"))
    frames.append((1, Ethernet(A_MAC, B_MAC, 0x0806, ARP(2, B_MAC, B_IP, A_MAC, A_IP).encode()).encode(),
                   "ARP reply"))
    echo = ICMP.echo_request(0x1234, 1, b"netsim ping payload").encode()
    frames.append((0, _ip_frame(A_IP, B_IP, 1, echo, ident=1), "ICMP echo request"))
    # IPv4 options: a Router Alert (RFC 2113) padded to a 4-byte boundary.
    frames.append((0, _ip_frame(A_IP, B_IP, 1, echo, options=b"\x94\x04\x00\x00", ident=2),
                   "IPv4 with options"))
    syn = TCP(49152, 80, seq=1000, flags=wtcp.SYN | wtcp.ECE | wtcp.CWR, window=64240,
              options=(("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
                       ("WScale", 7))).encode(A_IP, B_IP)
    frames.append((0, _ip_frame(A_IP, B_IP, 6, syn, ident=3), "TCP SYN with options"))
    data = TCP(49152, 80, seq=1001, ack=5001, flags=wtcp.ACK | wtcp.PSH, window=502,
               payload=b"GET / HTTP/1.0\r\n\r\n",
               options=(("NOP", None), ("NOP", None), ("SAck", ((6000, 6100),)))).encode(A_IP, B_IP)
    frames.append((0, _ip_frame(A_IP, B_IP, 6, data, ident=4), "TCP data with a SACK block"))
    udp_quoted = _udp_frame(A_IP, B_IP, 40000, 9, b"discard me")[14:]
    unreach = ICMP.unreachable(3, udp_quoted).encode()
    frames.append((1, _ip_frame(B_IP, A_IP, 1, unreach, src_mac=B_MAC, dst_mac=A_MAC, ident=5),
                   "ICMP port unreachable quoting the UDP datagram"))
    ttl = ICMP.time_exceeded(0, _ip_frame(A_IP, "10.9.9.9", 1, echo, ttl=1)[14:]).encode()
    frames.append((1, _ip_frame("10.0.0.254", A_IP, 1, ttl, src_mac=B_MAC, dst_mac=A_MAC), "ICMP TTL exceeded"))
    # TFTP: a read with options and its transfer from the server's new port (RFC 1350 TIDs).
    conv = [
        (0, A_IP, B_IP, 5000, 69, wtftp.Request(wtftp.RRQ, "boot.img", "octet", (("blksize", "1468"), ("tsize", "0")))),
        (1, B_IP, A_IP, 40001, 5000, wtftp.OAck((("blksize", "1468"), ("tsize", "600")))),
        (0, A_IP, B_IP, 5000, 40001, wtftp.Ack(0)),
        (1, B_IP, A_IP, 40001, 5000, wtftp.Data(1, bytes(600))),
        (0, A_IP, B_IP, 5000, 40001, wtftp.Ack(1)),
        (0, A_IP, B_IP, 5001, 69, wtftp.Request(wtftp.WRQ, "notes.txt", "netascii")),
        (1, B_IP, A_IP, 40002, 5001, wtftp.Error(2, "Access violation")),
    ]
    for iface, s, d, sp, dp, msg in conv:
        smac, dmac = (A_MAC, B_MAC) if s == A_IP else (B_MAC, A_MAC)
        frames.append((iface, _udp_frame(s, d, sp, dp, msg.encode(), src_mac=smac, dst_mac=dmac),
                       f"TFTP {type(msg).__name__}"))
    return frames


def _tshark(path: Path) -> list[dict[str, str]]:
    tshark = require_tool("tshark")
    args = [tshark, "-r", str(path), *CHECKS, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for f in FIELDS:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout
    return [dict(zip(FIELDS, line.split("\t"))) for line in out.splitlines()]


def _assert_clean(rows: list[dict[str, str]]) -> None:
    assert rows
    for row in rows:
        assert row["_ws.malformed"] == "", row
        for f in ("ip.checksum.status", "udp.checksum.status", "tcp.checksum.status",
                  "icmp.checksum.status"):
            assert row[f] in ("", "1", "2"), (f, row)  # 1 good, 2 unverified (e.g. UDP 0)
            assert row[f] != "0", (f, row)


def test_every_codec_dissects_cleanly_in_tshark(tmp_path):
    path = tmp_path / "every-protocol.pcapng"
    frames = every_protocol_frames()
    with PcapngWriter(str(path)) as w:
        ids = [w.add_interface("h1-eth0", "host h1"), w.add_interface("h2-eth0", "host h2")]
        for n, (iface, frame, comment) in enumerate(frames):
            w.write(ids[iface], 1_000_000 * (n + 1), frame, comment=comment)
    rows = _tshark(path)
    assert len(rows) == len(frames)
    _assert_clean(rows)
    assert [r["frame.interface_name"] for r in rows] == [["h1-eth0", "h2-eth0"][i] for i, _, _ in frames]
    assert [r["frame.comment"] for r in rows] == [c for _, _, c in frames]
    # checksums were really verified (status 1 = good) for IP, TCP and ICMP
    assert all(r["ip.checksum.status"] == "1" for r in rows if r["ip.checksum.status"])
    assert sum(r["tcp.checksum.status"] == "1" for r in rows) == 2
    assert sum(r["udp.checksum.status"] == "1" for r in rows) >= 7
    tftp_ops = [r["tftp.opcode"] for r in rows if r["tftp.opcode"]]
    assert tftp_ops == ["1", "6", "4", "3", "4", "2", "5"]


def test_routed_ping_and_udp_capture_dissects_cleanly(tmp_path):
    net = Network(seed=3)
    h1, h2, r1 = net.add_host("h1"), net.add_host("h2"), net.add_router("r1")
    s1, s2 = net.add_switch("s1"), net.add_switch("s2")
    net.link(h1, s1), net.link(r1, s1), net.link(r1, s2), net.link(h2, s2)
    r1.set_ip("10.0.1.1/24", iface="eth0")
    r1.set_ip("10.0.2.1/24", iface="eth1")
    h1.set_ip("10.0.1.10/24", gateway="10.0.1.1")
    h2.set_ip("10.0.2.10/24", gateway="10.0.2.1")

    def echo(host):
        s = host.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", 7))
        data, addr = s.recvfrom(2048)
        s.sendto(data, addr)

    def talk(host):
        assert host.ping(h2.ip, count=2, interval=0.1).ok
        s = host.socket(AF_INET, SOCK_DGRAM)
        s.sendto(b"over the router", (h2.ip, 7))
        assert s.recvfrom(2048)[0] == b"over the router"
        s.sendto(b"nobody home", (h2.ip, 9))  # -> ICMP port unreachable

    path = tmp_path / "routed.pcapng"
    with net.capture(path, interfaces=["h1-eth0", "r1-eth0", "r1-eth1", "h2-eth0"]):
        h2.spawn_with_host(echo)
        h1.spawn_with_host(talk, at=0.001)
        net.run(until="3s")
    rows = _tshark(path)
    _assert_clean(rows)
    names = {r["frame.interface_name"] for r in rows}
    assert names == {"h1-eth0", "r1-eth0", "r1-eth1", "h2-eth0"}
    comments = " | ".join(r["frame.comment"] for r in rows)
    assert "forwarded to eth1" in comments
    protos = {r["_ws.col.Protocol"] for r in rows}
    assert {"ARP", "ICMP", "UDP"} <= protos or {"ARP", "ICMP", "ECHO"} <= protos
