"""Frames for capture tests, built by scapy (a peer no one here wrote)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def scapy_frames() -> list[tuple[str, bytes]]:
    """(name, bytes) of one frame per protocol the simulator speaks."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror, UDPerror
    from scapy.layers.l2 import ARP, Ether
    from scapy.layers.tftp import TFTP, TFTP_RRQ

    mac1, mac2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
    ip1, ip2 = "10.0.0.1", "10.0.0.2"
    eth = Ether(src=mac1, dst=mac2)
    syn = eth / IP(src=ip1, dst=ip2) / TCP(
        sport=49152, dport=9999, flags="S", seq=1000, window=64240,
        options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
                 ("WScale", 7)])
    udp = eth / IP(src=ip1, dst=ip2) / UDP(sport=5000, dport=7) / b"hello"
    quoted = IPerror(src=ip2, dst=ip1) / UDPerror(sport=5000, dport=7) / b"hello"
    icmp_err = Ether(src=mac2, dst=mac1) / IP(src=ip2, dst=ip1) / ICMP(type=3, code=3) / quoted
    arp = Ether(src=mac1, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac1, psrc=ip1, pdst=ip2)
    rrq = eth / IP(src=ip1, dst=ip2) / UDP(sport=40000, dport=69) / TFTP() / TFTP_RRQ(
        filename=b"hello.txt", mode=b"octet")
    frames = [("tcp-syn", syn), ("udp", udp), ("icmp-unreachable", icmp_err), ("arp", arp),
              ("tftp-rrq", rrq)]
    return [(name, bytes(pkt)) for name, pkt in frames]
