"""Round trips for every codec, derived fields on encode, decode errors, frame summaries."""

from __future__ import annotations

import pytest

from netsim.wire import (
    ACK,
    ARP,
    ARP_REPLY,
    ARP_REQUEST,
    CWR,
    ECE,
    ETH_ARP,
    ETH_IPV4,
    FIN,
    ICMP,
    NS,
    PSH,
    RST,
    SYN,
    TCP,
    UDP,
    URG,
    DecodeError,
    Ethernet,
    IPv4,
    arp,
    decode_frame,
    ethernet,
    flags_str,
    icmp,
    ipv4,
    tcp,
    udp,
)
from netsim.wire.addr import int_to_ip, ip_str, ip_to_bytes, ip_to_int, mac_str, mac_to_bytes

A, B = "10.0.0.1", "10.0.0.2"
MA, MB = "02:00:00:00:00:01", "02:00:00:00:00:02"


def frame_of(ip: IPv4, vlan: int | None = None) -> bytes:
    return Ethernet(MB, MA, ETH_IPV4, ip.encode(), vlan=vlan).encode()


# -- addresses ------------------------------------------------------------------------------

def test_addresses_convert_both_ways_and_reject_junk():
    assert mac_str(mac_to_bytes("02:AB:00:00:00:01")) == "02:ab:00:00:00:01"
    assert ip_str(ip_to_bytes("192.168.1.254")) == "192.168.1.254"
    assert int_to_ip(ip_to_int("10.0.0.1")) == "10.0.0.1" and ip_to_int("0.0.0.1") == 1
    for bad in ("1.2.3", "1.2.3.256", "a.b.c.d", "1.2.3.4 ", "01.2.3.4.5"):
        with pytest.raises(ValueError):
            ip_to_bytes(bad)
    for bad in ("02:00:00:00:00", "02:00:00:00:00:0g", "0200.0000.0001"):
        with pytest.raises(ValueError):
            mac_to_bytes(bad)


# -- round trips ------------------------------------------------------------------------------

def test_ethernet_pads_short_frames_to_60_bytes_and_keeps_padding_on_decode():
    raw = Ethernet(MB, MA, ETH_ARP, b"abc").encode()
    assert len(raw) == 60
    e = ethernet.decode(raw)
    assert e.payload == b"abc" + bytes(43) and e.encode() == raw


def test_arp_reply_round_trip():
    a = ARP(ARP_REPLY, MB, B, MA, A)
    back = arp.decode(a.encode())
    assert back == a and back.summary() == "10.0.0.2 is at 02:00:00:00:00:02"


def test_ipv4_round_trip_keeps_options_flags_and_fragment_offset():
    ip = IPv4(A, B, 17, b"x" * 30, ttl=3, ident=0x1234, tos=0xB8, df=False, mf=True,
              frag_offset=1480, options=b"\x94\x04\x00\x00")  # router alert option
    raw = ip.encode()
    back = ipv4.decode(raw)
    assert (back.ihl, back.total_length, back.options, back.mf, back.frag_offset) == (
        6, 24 + 30, b"\x94\x04\x00\x00", True, 1480)
    assert back.checksum_ok is True and back.encode() == raw
    assert back.replace(checksum=None, ihl=None, total_length=None) == ip


def test_ipv4_options_are_padded_to_a_word():
    raw = IPv4(A, B, 1, options=b"\x01").encode()
    assert raw[0] == 0x46 and raw[20:24] == b"\x01\0\0\0"


def test_ipv4_replace_recomputes_checksum_after_ttl_change():
    raw = IPv4(A, B, 17, b"data", ttl=64).encode()
    fwd = ipv4.decode(raw).replace(ttl=63).encode()
    again = ipv4.decode(fwd)
    assert again.ttl == 63 and again.checksum_ok is True


def test_ipv4_given_checksum_is_sent_as_is_so_labs_can_break_it():
    raw = IPv4(A, B, 17, b"data", checksum=0xDEAD).encode()
    back = ipv4.decode(raw)
    assert back.checksum == 0xDEAD and back.checksum_ok is False


def test_ipv4_decode_trims_ethernet_padding_by_total_length():
    f = ethernet.decode(frame_of(IPv4(A, B, 17, UDP(1, 2, b"hi").encode(A, B))))
    ip = ipv4.decode(f.payload)
    assert len(f.payload) == 46 and ip.payload == UDP(1, 2, b"hi").encode(A, B)


def test_icmp_error_quotes_header_and_eight_bytes_and_quoted_decodes_them():
    original = IPv4(A, B, 17, UDP(40000, 33434, b"probe" * 10).encode(A, B), ttl=1).encode()
    msg = ICMP.time_exceeded(0, original)
    assert msg.data == original[:28]
    back = icmp.decode(msg.encode())
    assert back.checksum_ok is True and back.type == icmp.TIME_EXCEEDED
    q = back.quoted()
    assert (q.src, q.dst, q.proto, q.ttl, q.total_length) == (A, B, 17, 1, len(original))
    assert q.payload[:4] == (40000).to_bytes(2, "big") + (33434).to_bytes(2, "big")


def test_icmp_frag_needed_carries_next_hop_mtu():
    m = icmp.decode(ICMP.unreachable(icmp.UNREACH_FRAG_NEEDED, IPv4(A, B, 6).encode(),
                                     mtu=1400).encode())
    assert m.mtu == 1400 and m.type_text() == "Destination unreachable (Fragmentation needed)"


def test_icmp_quoted_too_short_raises_decode_error():
    with pytest.raises(DecodeError) as err:
        ICMP(3, 3, data=b"\x45\0\0").quoted()
    assert err.value.layer == "ICMP" and err.value.field.startswith("quoted")


def test_udp_round_trip_with_and_without_pseudo_header():
    u = UDP(5000, 69, b"payload")
    with_ck = udp.decode(u.encode(A, B), A, B)
    assert with_ck.checksum_ok is True and with_ck.payload == b"payload"
    no_ck = udp.decode(u.encode(), A, B)
    assert no_ck.checksum == 0 and no_ck.checksum_ok is None
    wrong_ips = udp.decode(u.encode(A, B), A, "10.0.0.3")
    assert wrong_ips.checksum_ok is False


def test_tcp_every_flag_round_trips_and_prints_in_bit_order():
    every = FIN | SYN | RST | PSH | ACK | URG | ECE | CWR | NS
    seg = tcp.decode(TCP(1, 2, flags=every, urgent=7).encode(A, B), A, B)
    assert seg.flags == every and seg.checksum_ok is True
    assert flags_str(every) == "FIN,SYN,RST,PSH,ACK,URG,ECE,CWR,NS"
    assert flags_str(SYN | ACK) == "SYN,ACK" and flags_str(0) == ""


def test_tcp_sack_eol_and_unknown_option_kinds_round_trip():
    opts = (("NOP", None), ("NOP", None), ("SAck", ((100, 200), (300, 400))), (30, b"\x01\x02"),
            ("EOL", None))
    raw = TCP(1, 2, seq=5, ack=6, flags=ACK, options=opts, payload=b"data").encode(A, B)
    seg = tcp.decode(raw, A, B)
    assert seg.options == opts and seg.payload == b"data" and seg.encode(A, B) == raw
    assert seg.option(30) == b"\x01\x02" and seg.option("MSS") is None


def test_tcp_data_offset_given_pads_the_header():
    raw = TCP(1, 2, data_offset=6).encode()
    assert len(raw) == 24 and tcp.decode(raw).data_offset == 6


def test_tcp_seg_len_counts_syn_and_fin():
    assert TCP(1, 2, flags=SYN | FIN, payload=b"abc").seg_len == 5


def test_encode_rejects_out_of_range_fields_with_value_error():
    for bad in (lambda: TCP(70000, 1).encode(), lambda: UDP(1, -1).encode(),
                lambda: IPv4(A, B, 300).encode(), lambda: IPv4(A, B, 6, frag_offset=3).encode(),
                lambda: TCP(1, 2, options=(("Bogus", 1),)).encode(),
                lambda: Ethernet(MA, MB, 0x800, vlan=5000).encode(),
                lambda: IPv4("10.0.0.300", B, 6).encode()):
        with pytest.raises(ValueError):
            bad()


# -- decode errors --------------------------------------------------------------------------

@pytest.mark.parametrize("decoder,buf,layer,field,offset", [
    (ethernet.decode, b"\0" * 13, "Ethernet", "header", 0),
    (ethernet.decode, b"\0" * 12 + b"\x81\x00\0", "802.1Q", "tci", 14),
    (arp.decode, b"\0" * 27, "ARP", "header", 0),
    (arp.decode, b"\0\x01\x08\x00\x08\x04" + b"\0" * 22, "ARP", "hlen", 4),
    (ipv4.decode, b"\x45" + b"\0" * 18, "IPv4", "header", 0),
    (ipv4.decode, b"\x65" + b"\0" * 19, "IPv4", "version", 0),
    (ipv4.decode, b"\x44" + b"\0" * 19, "IPv4", "ihl", 0),
    (ipv4.decode, b"\x46" + b"\0" * 19, "IPv4", "ihl", 0),
    (ipv4.decode, b"\x45\0\0\x13" + b"\0" * 16, "IPv4", "total_length", 2),
    (ipv4.decode, b"\x45\0\0\x30" + b"\0" * 16, "IPv4", "total_length", 2),
    (icmp.decode, b"\x08\0\0\0\0\0\0", "ICMP", "header", 0),
    (udp.decode, b"\0" * 7, "UDP", "header", 0),
    (udp.decode, b"\0\1\0\2\0\7\0\0", "UDP", "length", 4),
    (udp.decode, b"\0\1\0\2\0\x09\0\0", "UDP", "length", 4),
    (tcp.decode, b"\0" * 19, "TCP", "header", 0),
    (tcp.decode, b"\0" * 12 + b"\x40" + b"\0" * 7, "TCP", "data_offset", 12),
    (tcp.decode, b"\0" * 12 + b"\x60" + b"\0" * 7, "TCP", "data_offset", 12),
    (tcp.decode, b"\0" * 12 + b"\x60" + b"\0" * 7 + b"\x1e\x00\0\0", "TCP", "options", 21),
    (tcp.decode, b"\0" * 12 + b"\x60" + b"\0" * 7 + b"\x1e\x01\0\0", "TCP", "options", 21),
    (tcp.decode, b"\0" * 12 + b"\x60" + b"\0" * 7 + b"\x01\x1e\x09\0", "TCP", "options", 22),
    (tcp.decode, b"\0" * 12 + b"\x60" + b"\0" * 7 + b"\x01\x01\x01\x1e", "TCP", "options", 23),
    (tcp.decode, b"\0" * 12 + b"\x60" + b"\0" * 7 + b"\x02\x03\0\0", "TCP", "options.MSS", 21),
])
def test_bad_input_raises_decode_error_naming_layer_field_offset(decoder, buf, layer, field,
                                                                  offset):
    with pytest.raises(DecodeError) as err:
        decoder(buf)
    assert (err.value.layer, err.value.field, err.value.offset) == (layer, field, offset)
    assert isinstance(err.value, ValueError) and f"{layer}.{field}" in str(err.value)


# -- frames -----------------------------------------------------------------------------------

def test_frame_summary_tcp_syn_like_wireshark_info():
    seg = TCP(49152, 80, seq=0, flags=SYN, window=64240, options=(("MSS", 1460),))
    f = decode_frame(frame_of(IPv4(A, B, 6, seg.encode(A, B))))
    assert f.summary() == "10.0.0.1 -> 10.0.0.2 TCP 49152 -> 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460"
    assert [type(v).__name__ for v in f.layers] == ["Ethernet", "IPv4", "TCP"]
    assert f.tcp.checksum_ok and f.ip.checksum_ok and f.error is None


def test_frame_summary_tcp_ack_shows_ack_number():
    seg = TCP(80, 49152, seq=1, ack=2, flags=SYN | ACK, window=100)
    f = decode_frame(frame_of(IPv4(B, A, 6, seg.encode(B, A))))
    assert "[SYN, ACK] Seq=1 Ack=2 Win=100 Len=0" in f.summary()


def test_frame_summary_arp_request_and_reply():
    req = Ethernet("ff:ff:ff:ff:ff:ff", MA, ETH_ARP, ARP(ARP_REQUEST, MA, A, tpa=B).encode())
    rep = Ethernet(MA, MB, ETH_ARP, ARP(ARP_REPLY, MB, B, MA, A).encode())
    assert decode_frame(req.encode()).summary() == \
        "02:00:00:00:00:01 -> ff:ff:ff:ff:ff:ff ARP Who has 10.0.0.2? Tell 10.0.0.1"
    assert decode_frame(rep.encode()).summary().endswith("ARP 10.0.0.2 is at 02:00:00:00:00:02")


def test_frame_summary_icmp_echo_and_port_unreachable():
    ping = decode_frame(frame_of(IPv4(A, B, 1, ICMP.echo_request(1, 1, b"x" * 8).encode())))
    assert ping.summary() == "10.0.0.1 -> 10.0.0.2 ICMP Echo (ping) request  id=0x0001, seq=1, ttl=64"
    dgram = IPv4(A, B, 17, UDP(5000, 9, b"x").encode(A, B)).encode()
    unreach = decode_frame(frame_of(IPv4(B, A, 1, ICMP.unreachable(3, dgram).encode())))
    assert unreach.summary().endswith("ICMP Destination unreachable (Port unreachable)")


def test_frame_summary_udp_length_and_vlan():
    f = decode_frame(frame_of(IPv4(A, B, 17, UDP(5000, 6000, b"hello").encode(A, B)), vlan=10))
    assert f.vlan == 10
    assert f.summary() == "[VLAN 10] 10.0.0.1 -> 10.0.0.2 UDP 5000 -> 6000 Len=5"
    assert f.payload == b"hello"


def test_frame_decodes_tftp_on_port_69_or_when_asked():
    tftp = pytest.importorskip("netsim.wire.tftp")
    rrq = tftp.Request(tftp.RRQ, "boot.img")
    f = decode_frame(frame_of(IPv4(A, B, 17, UDP(40000, 69, rrq.encode()).encode(A, B))))
    assert f.tftp == rrq and f.summary().startswith("10.0.0.1 -> 10.0.0.2 TFTP ")
    data = UDP(50000, 40000, tftp.Data(1, b"abc").encode()).encode(B, A)
    plain = decode_frame(frame_of(IPv4(B, A, 17, data)))
    assert plain.tftp is None and plain.udp is not None
    asked = decode_frame(frame_of(IPv4(B, A, 17, data)), tftp_ports=(50000,))
    assert asked.tftp == tftp.Data(1, b"abc")
    assert [name for name, _ in asked.tree()][-1] in ("TFTP", "Trivial File Transfer Protocol")


def test_frame_below_ethernet_error_is_kept_and_shown_as_malformed():
    raw = frame_of(IPv4(A, B, 6, b"\0" * 10))  # TCP header truncated
    f = decode_frame(raw)
    assert f.ip is not None and f.tcp is None and f.error.layer == "TCP"
    assert f.summary().endswith("[Malformed TCP.header at offset 0: segment is 10 bytes, "
                                "shorter than the 20-byte header]")
    assert f.tree()[-1][0] == "Malformed packet"


def test_frame_only_a_bad_ethernet_header_raises():
    with pytest.raises(DecodeError):
        decode_frame(b"\0" * 10)


def test_frame_fragment_is_not_decoded_past_ip():
    ip = IPv4(A, B, 17, b"\0" * 16, mf=True, ident=7)
    f = decode_frame(frame_of(ip))
    assert f.udp is None and f.error is None
    assert "Fragmented IP protocol (proto=UDP 17, off=0, ID=0007) [MF]" in f.summary()


def test_frame_tree_lists_layers_outermost_first_with_field_lines():
    seg = TCP(1, 2, flags=PSH | ACK, payload=b"hi")
    tree = decode_frame(frame_of(IPv4(A, B, 6, seg.encode(A, B)), vlan=3)).tree()
    names = [name for name, _ in tree]
    assert names == ["Ethernet II", "802.1Q Virtual LAN", "Internet Protocol Version 4",
                     "Transmission Control Protocol", "Data"]
    ip_lines = dict(tree)["Internet Protocol Version 4"]
    assert "Source: 10.0.0.1" in ip_lines and any("[correct]" in line for line in ip_lines)
    assert "Flags: 0x018 (PSH,ACK)" in dict(tree)["Transmission Control Protocol"]


def test_values_compare_by_fields_and_replace_validates_names():
    assert UDP(1, 2, b"x") == UDP(1, 2, b"x") != UDP(1, 3, b"x")
    assert repr(UDP(1, 2)) == "UDP(sport=1, dport=2, payload=b'', length=None, checksum=None)"
    with pytest.raises(TypeError):
        UDP(1, 2).replace(bogus=1)
    assert hash(TCP(1, 2)) == hash(TCP(1, 2))


def test_constructed_values_report_checksum_ok_none():
    assert IPv4(A, B, 6).checksum_ok is None and TCP(1, 2).checksum_ok is None
