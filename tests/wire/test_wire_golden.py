"""Golden vectors, annotated field by field, decoded and re-encoded byte for byte."""

from __future__ import annotations

import pytest

from netsim.wire import (
    ARP,
    ARP_REQUEST,
    ETH_ARP,
    ETH_IPV4,
    ICMP,
    PROTO_TCP,
    SYN,
    TCP,
    UDP,
    Ethernet,
    IPv4,
    arp,
    checksum,
    decode_frame,
    ethernet,
    icmp,
    ipv4,
    tcp,
    udp,
)

# An ARP request as any Linux host sends it (Wireshark sample "arp-request" layout).
ARP_REQUEST_FRAME = bytes.fromhex(
    "ffffffffffff"      # Ethernet destination: broadcast
    "020000000001"      # Ethernet source
    "0806"              # EtherType ARP
    "0001"              # htype 1 = Ethernet
    "0800"              # ptype IPv4
    "06"                # hlen 6
    "04"                # plen 4
    "0001"              # op 1 = request
    "020000000001"      # sha
    "0a000001"          # spa 10.0.0.1
    "000000000000"      # tha: unknown, zeros
    "0a000002"          # tpa 10.0.0.2
    + "00" * 18         # padding to the 60-byte minimum frame
)

# The IPv4 header worked example often used for RFC 1071: 45 00 00 73 00 00 40 00 40 11 b8 61
# c0 a8 00 01 c0 a8 00 c7 (checksum 0xb861), from the Wikipedia "IPv4 header checksum" article.
IPV4_HEADER = bytes.fromhex(
    "45"        # version 4, IHL 5 (20 bytes)
    "00"        # TOS
    "0073"      # total length 115
    "0000"      # identification
    "4000"      # flags DF, fragment offset 0
    "40"        # TTL 64
    "11"        # protocol 17 UDP
    "b861"      # header checksum
    "c0a80001"  # source 192.168.0.1
    "c0a800c7"  # destination 192.168.0.199
)

# A TCP SYN as Linux 6.x sends it: MSS, SACK permitted, timestamps, NOP, window scale 7.
TCP_SYN = bytes.fromhex(
    "c000"      # source port 49152
    "0050"      # destination port 80
    "3ade68b1"  # sequence number 987654321
    "00000000"  # acknowledgment number 0
    "a0"        # data offset 10 words (40 bytes), reserved 0, NS 0
    "02"        # flags SYN
    "faf0"      # window 64240
    "0000"      # checksum (filled in below for 10.0.0.1 -> 10.0.0.2)
    "0000"      # urgent pointer
    "020405b4"  # MSS 1460
    "0402"      # SACK permitted
    "080a000000010000000"  "0"  # timestamp TSval 1 TSecr 0
    "01"        # NOP
    "030307"    # window scale 7
)


def test_arp_request_golden_vector_decodes_every_field():
    eth = ethernet.decode(ARP_REQUEST_FRAME)
    assert (eth.dst, eth.src, eth.ethertype, eth.vlan) == (
        "ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", ETH_ARP, None)
    a = arp.decode(eth.payload)
    assert a == ARP(ARP_REQUEST, "02:00:00:00:00:01", "10.0.0.1", "00:00:00:00:00:00", "10.0.0.2")
    assert a.summary() == "Who has 10.0.0.2? Tell 10.0.0.1"
    assert Ethernet("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", ETH_ARP,
                    a.encode()).encode() == ARP_REQUEST_FRAME


def test_ipv4_header_checksum_matches_the_worked_example():
    zeroed = IPV4_HEADER[:10] + b"\0\0" + IPV4_HEADER[12:]
    assert checksum.internet_checksum(zeroed) == 0xB861
    ip = ipv4.decode(IPV4_HEADER + bytes(95), partial=False)
    assert (ip.src, ip.dst, ip.proto, ip.ttl, ip.df, ip.mf, ip.total_length) == (
        "192.168.0.1", "192.168.0.199", 17, 64, True, False, 115)
    assert ip.checksum == 0xB861 and ip.checksum_ok is True
    rebuilt = IPv4("192.168.0.1", "192.168.0.199", 17, bytes(95), df=True).encode()
    assert rebuilt[:20] == IPV4_HEADER


def test_ipv4_header_with_one_flipped_bit_is_reported_bad_not_rejected():
    bad = bytearray(IPV4_HEADER + bytes(95))
    bad[8] ^= 1  # TTL 64 -> 65
    ip = ipv4.decode(bytes(bad))
    assert ip.ttl == 65 and ip.checksum == 0xB861 and ip.checksum_ok is False


def _syn_with_checksum() -> bytes:
    pseudo = checksum.pseudo_header_sum("10.0.0.1", "10.0.0.2", PROTO_TCP, len(TCP_SYN))
    ck = checksum.internet_checksum(TCP_SYN, pseudo)
    return TCP_SYN[:16] + ck.to_bytes(2, "big") + TCP_SYN[18:]


def test_tcp_syn_options_decode_to_scapy_style_pairs():
    seg = tcp.decode(_syn_with_checksum(), "10.0.0.1", "10.0.0.2")
    assert (seg.sport, seg.dport, seg.seq, seg.ack, seg.flags, seg.window) == (
        49152, 80, 987654321, 0, SYN, 64240)
    assert seg.options == (("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)),
                           ("NOP", None), ("WScale", 7))
    assert seg.data_offset == 10 and seg.checksum_ok is True
    assert tcp.tcp_option(seg.options, "MSS") == 1460
    assert seg.summary() == ("49152 -> 80 [SYN] Seq=987654321 Win=64240 Len=0 MSS=1460 "
                             "SACK_PERM TSval=1 TSecr=0 WS=128")


def test_tcp_syn_built_from_fields_matches_the_captured_bytes():
    built = TCP(49152, 80, seq=987654321, flags=SYN, window=64240,
                options=(("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None),
                         ("WScale", 7))).encode("10.0.0.1", "10.0.0.2")
    assert built == _syn_with_checksum()


def test_udp_checksum_zero_means_none_sent():
    dgram = bytes.fromhex("1388" "0045" "000d" "0000") + b"hello"  # 5000 -> 69, len 13, no ck
    u = udp.decode(dgram, "10.0.0.1", "10.0.0.2")
    assert (u.sport, u.dport, u.length, u.payload, u.checksum_ok) == (5000, 69, 13, b"hello", None)


def test_udp_computed_zero_checksum_is_sent_as_ffff():
    # find a payload whose checksum computes to 0: adjust two bytes until it does
    base = UDP(1, 2, b"\0\0").encode("0.0.0.0", "0.0.0.0")
    want = int.from_bytes(base[6:8], "big")
    payload = (0xFFFF - (~want & 0xFFFF) if want != 0xFFFF else 0).to_bytes(2, "big")
    for candidate in (payload, (~want & 0xFFFF).to_bytes(2, "big")):
        raw = UDP(1, 2, candidate).encode("0.0.0.0", "0.0.0.0")
        if int.from_bytes(raw[6:8], "big") == 0xFFFF:
            assert udp.decode(raw, "0.0.0.0", "0.0.0.0").checksum_ok is True
            return
    pytest.fail("no candidate payload produced a zero checksum")


def test_icmp_echo_request_golden_vector():
    raw = bytes.fromhex(
        "08"        # type 8 echo request
        "00"        # code 0
        "f7fd"      # checksum over the 8 bytes below
        "0001"      # identifier 1
        "0001"      # sequence 1
    )
    m = icmp.decode(raw)
    assert (m.type, m.code, m.ident, m.seq, m.checksum_ok) == (8, 0, 1, 1, True)
    assert ICMP.echo_request(1, 1).encode() == raw
    assert m.summary(ttl=64) == "Echo (ping) request  id=0x0001, seq=1, ttl=64"


def test_vlan_tag_fields_decode_and_encode():
    raw = bytes.fromhex(
        "020000000002" "020000000001"
        "8100"      # TPID 802.1Q
        "a00a"      # PCP 5, DEI 0, VLAN 10
        "0800"      # inner EtherType IPv4
    ) + bytes(46)
    e = ethernet.decode(raw)
    assert (e.vlan, e.pcp, e.dei, e.ethertype) == (10, 5, 0, ETH_IPV4)
    assert e.encode() == raw


def test_unknown_ethertype_decodes_to_a_named_number():
    raw = bytes.fromhex("0180c200000e" "020000000001" "88cc") + bytes(46)
    f = decode_frame(raw)
    assert f.eth.ethertype == 0x88CC and f.eth.ethertype.name == "LLDP"
    raw2 = raw[:12] + b"\x88\xb5" + raw[14:]
    e = ethernet.decode(raw2)
    assert e.ethertype == 0x88B5 and e.ethertype.name == "ethertype 0x88b5"
    assert e.encode() == raw2
