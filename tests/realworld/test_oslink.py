"""The pure parts of the Linux link layer: checksum completion and VLAN tags from PACKET_AUXDATA.

A sender with checksum offload leaves the TCP/UDP checksum field holding only the folded
pseudo-header sum (the NIC would finish it); scapy, a peer no one here wrote, says what the
finished checksum is.
"""

from __future__ import annotations

import struct

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether

from netsim.realworld.oslink import (
    TP_STATUS_CSUMNOTREADY,
    TP_STATUS_VLAN_VALID,
    _apply_auxdata,
    fix_checksum,
)
from netsim.wire.checksum import pseudo_header_sum


def _partial(pkt, proto: int) -> tuple[bytes, bytes]:
    """(frame as the offloading sender leaves it, frame as the wire carries it)."""
    done = bytes(pkt)
    ip = pkt[IP]
    l4_len = len(bytes(ip.payload))
    seed = pseudo_header_sum(ip.src, ip.dst, proto, l4_len) % 0xFFFF   # folded, not inverted
    off = 14 + 20 + (16 if proto == 6 else 6)
    return done[:off] + struct.pack("!H", seed) + done[off + 2:], done


@pytest.mark.parametrize("layer,proto", [
    (TCP(sport=40000, dport=80, flags="PA", seq=7) / (b"x" * 101), 6),
    (UDP(sport=5353, dport=69) / b"\x00\x01boot.img\x00octet\x00", 17),
])
def test_an_unfinished_checksum_is_completed_as_a_nic_would(layer, proto):
    pkt = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="10.0.1.2", dst="10.0.2.10") / layer
    partial, wire = _partial(pkt, proto)
    assert partial != wire
    assert fix_checksum(partial) == wire


def test_frames_without_a_transport_checksum_are_left_alone():
    arp = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", type=0x0806) / (b"\0" * 28))
    assert fix_checksum(arp) is None
    frag = Ether() / IP(src="10.0.0.1", dst="10.0.0.2", flags="MF") / UDP() / b"x"
    assert fix_checksum(bytes(frag)) is None          # the checksum covers all fragments


class _Port:
    fixed_checksums = 0


def test_auxdata_puts_a_stripped_vlan_tag_back_and_completes_the_checksum():
    inner = IP(src="10.0.1.2", dst="10.0.2.10") / UDP(sport=1, dport=2) / b"hi"
    tagged = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / Dot1Q(vlan=42, prio=3) / inner
    untagged_wire = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / inner)
    port = _Port()
    tci = (3 << 13) | 42
    out = _apply_auxdata(port, untagged_wire, (TP_STATUS_VLAN_VALID, 0, 0, 0, 0, tci, 0))
    assert out == bytes(tagged)
    partial, done = _partial(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / inner, 17)
    assert _apply_auxdata(port, partial, (TP_STATUS_CSUMNOTREADY, 0, 0, 0, 0, 0, 0)) == done
    assert port.fixed_checksums == 1
