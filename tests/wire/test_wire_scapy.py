"""Property tests against scapy, both ways: we encode -> scapy parses the same fields; scapy
builds -> we decode the same fields, with checksums marked correct."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("scapy")
from scapy.layers.inet import ICMP as SICMP  # noqa: E402
from scapy.layers.inet import IP  # noqa: E402
from scapy.layers.inet import TCP as STCP  # noqa: E402
from scapy.layers.inet import UDP as SUDP  # noqa: E402
from scapy.layers.l2 import ARP as SARP  # noqa: E402
from scapy.layers.l2 import Dot1Q, Ether  # noqa: E402

from netsim.wire import ARP, ICMP, TCP, UDP, Ethernet, IPv4, arp, ethernet, icmp, ipv4, tcp, udp  # noqa: E402,I001

SETTINGS = settings(max_examples=100, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

macs = st.binary(min_size=6, max_size=6).map(lambda b: b.hex(":"))
ips = st.binary(min_size=4, max_size=4).map(lambda b: ".".join(str(x) for x in b))
u8, u16, u32 = (st.integers(0, 2**n - 1) for n in (8, 16, 32))
data = st.binary(max_size=64)

tcp_options = st.lists(st.one_of(
    st.just(("NOP", None)),
    u16.map(lambda v: ("MSS", v)),
    u8.map(lambda v: ("WScale", v)),
    st.just(("SAckOK", b"")),
    st.tuples(u32, u32).map(lambda v: ("Timestamp", v)),
    st.lists(st.tuples(u32, u32), min_size=1, max_size=2).map(lambda v: ("SAck", tuple(v))),
), max_size=4).filter(lambda opts: _fits(tuple(opts)))


def _fits(opts) -> bool:
    """At most 40 bytes of options (RFC 9293 3.1: data offset <= 15 words)."""
    try:
        TCP(0, 0, options=opts).encode()
    except ValueError:
        return False
    return True


def _scapy_opts(opts):
    out = []
    for name, value in opts:
        out.append((name, value if name != "SAck" else tuple(x for pair in value for x in pair)))
    return out


def _from_scapy_opts(opts):
    out = []
    for name, value in opts:
        if name == "SAck":
            value = tuple(zip(value[::2], value[1::2]))
        elif name == "SAckOK":
            value = b""
        out.append((name, value))
    return tuple(out)


def _strip_eol(opts):
    opts = tuple(opts)
    while opts and opts[-1] == ("EOL", None):
        opts = opts[:-1]
    return opts


@SETTINGS
@given(dst=macs, src=macs, et=st.integers(0x0600, 0xFFFF).filter(lambda e: e != 0x8100),
       payload=data, vlan=st.one_of(st.none(), st.integers(0, 4095)), pcp=st.integers(0, 7))
def test_ethernet_agrees_with_scapy(dst, src, et, payload, vlan, pcp):
    ours = Ethernet(dst, src, et, payload, vlan=vlan, pcp=pcp).encode()
    theirs = Ether(ours)
    assert (theirs.dst, theirs.src) == (dst, src)
    if vlan is None:
        assert theirs.type == et
        built = Ether(dst=dst, src=src, type=et) / payload
    else:
        assert (theirs.type, theirs[Dot1Q].vlan, theirs[Dot1Q].prio, theirs[Dot1Q].type) == (
            0x8100, vlan, pcp, et)
        built = Ether(dst=dst, src=src) / Dot1Q(vlan=vlan, prio=pcp, type=et) / payload
    back = ethernet.decode(bytes(built))
    assert (back.dst, back.src, back.ethertype, back.vlan) == (dst, src, et, vlan)
    assert back.payload[:len(payload)] == payload


@SETTINGS
@given(op=st.integers(1, 2), sha=macs, spa=ips, tha=macs, tpa=ips)
def test_arp_agrees_with_scapy(op, sha, spa, tha, tpa):
    theirs = SARP(ARP(op, sha, spa, tha, tpa).encode())
    assert (theirs.op, theirs.hwsrc, theirs.psrc, theirs.hwdst, theirs.pdst) == (
        op, sha, spa, tha, tpa)
    assert arp.decode(bytes(SARP(op=op, hwsrc=sha, psrc=spa, hwdst=tha, pdst=tpa))) == \
        ARP(op, sha, spa, tha, tpa)


@SETTINGS
@given(src=ips, dst=ips, proto=u8, payload=data, ttl=u8, ident=u16, tos=u8, df=st.booleans(),
       mf=st.booleans(), frag=st.integers(0, 0x1FFF),
       options=st.binary(max_size=12).map(lambda b: b + bytes(-len(b) % 4)))
def test_ipv4_agrees_with_scapy(src, dst, proto, payload, ttl, ident, tos, df, mf, frag, options):
    raw = IPv4(src, dst, proto, payload, ttl=ttl, ident=ident, tos=tos, df=df, mf=mf,
               frag_offset=frag * 8, options=options).encode()
    t = IP(raw)
    assert (t.src, t.dst, t.proto, t.ttl, t.id, t.tos, t.frag, t.len, t.ihl) == (
        src, dst, proto, ttl, ident, tos, frag, len(raw), 5 + len(options) // 4)
    assert (bool(t.flags.DF), bool(t.flags.MF)) == (df, mf)
    fresh = IP(raw)
    del fresh.chksum
    assert IP(bytes(fresh)).chksum == t.chksum  # scapy recomputes the checksum we sent
    flags = (2 if df else 0) | (1 if mf else 0)
    built = bytes(IP(src=src, dst=dst, proto=proto, ttl=ttl, id=ident, tos=tos, flags=flags,
                     frag=frag, options=options) / payload)
    back = ipv4.decode(built)
    assert (back.src, back.dst, back.proto, back.ttl, back.ident, back.tos, back.df, back.mf,
            back.frag_offset, back.payload) == (src, dst, proto, ttl, ident, tos, df, mf,
                                                frag * 8, payload)
    assert back.checksum_ok is True and back.encode() == built


@SETTINGS
@given(kind=st.sampled_from(["echo", "unreach", "exceeded"]), ident=u16, seq=u16, payload=data,
       code=st.integers(0, 15))
def test_icmp_agrees_with_scapy(kind, ident, seq, payload, code):
    if kind == "echo":
        ours = ICMP.echo_request(ident, seq, payload)
        theirs = SICMP(type=8, id=ident, seq=seq) / payload
    else:
        quoted = IPv4("10.0.0.1", "10.0.0.2", 17, UDP(ident, seq, payload).encode()).encode()
        ours = (ICMP.unreachable if kind == "unreach" else ICMP.time_exceeded)(code, quoted)
        theirs = SICMP(type=3 if kind == "unreach" else 11, code=code) / quoted[:28]
    raw = ours.encode()
    assert raw == bytes(theirs)
    parsed = SICMP(raw)
    assert (parsed.type, parsed.code) == (ours.type, ours.code)
    back = icmp.decode(bytes(theirs))
    assert back.checksum_ok is True and back == icmp.decode(raw)
    if kind == "echo":
        assert (back.ident, back.seq, back.data) == (ident, seq, payload)
    else:
        assert back.quoted().src == "10.0.0.1"


@SETTINGS
@given(src=ips, dst=ips, sport=u16, dport=u16, payload=data)
def test_udp_agrees_with_scapy(src, dst, sport, dport, payload):
    seg = UDP(sport, dport, payload).encode(src, dst)
    pkt = IP(bytes(IP(src=src, dst=dst, proto=17) / seg))
    t = pkt[SUDP]
    assert (t.sport, t.dport, t.len, bytes(t.payload)) == (sport, dport, 8 + len(payload),
                                                          payload)
    del pkt[SUDP].chksum
    assert IP(bytes(pkt))[SUDP].chksum == int.from_bytes(seg[6:8], "big")
    built = bytes(IP(src=src, dst=dst) / SUDP(sport=sport, dport=dport) / payload)
    back = udp.decode(ipv4.decode(built).payload, src, dst)
    assert (back.sport, back.dport, back.payload, back.checksum_ok) == (sport, dport, payload,
                                                                       True)


@SETTINGS
@given(src=ips, dst=ips, sport=u16, dport=u16, seq=u32, ack=u32, flags=st.integers(0, 0x1FF),
       window=u16, urgent=u16, options=tcp_options, payload=data)
def test_tcp_agrees_with_scapy(src, dst, sport, dport, seq, ack, flags, window, urgent,
                               options, payload):
    options = tuple(options)
    seg = TCP(sport, dport, seq, ack, flags, window, payload, options, urgent).encode(src, dst)
    pkt = IP(bytes(IP(src=src, dst=dst, proto=6) / seg))
    t = pkt[STCP]
    assert (t.sport, t.dport, t.seq, t.ack, int(t.flags), t.window, t.urgptr) == (
        sport, dport, seq, ack, flags, window, urgent)
    assert _strip_eol(_from_scapy_opts(t.options)) == _strip_eol(options)  # EOL = padding
    assert bytes(t.payload) == payload
    del pkt[STCP].chksum
    assert IP(bytes(pkt))[STCP].chksum == int.from_bytes(seg[16:18], "big")
    built = bytes(IP(src=src, dst=dst) / STCP(sport=sport, dport=dport, seq=seq, ack=ack,
                                              flags=flags, window=window, urgptr=urgent,
                                              options=_scapy_opts(options)) / payload)
    back = tcp.decode(ipv4.decode(built).payload, src, dst)
    assert (back.sport, back.dport, back.seq, back.ack, back.flags, back.window, back.urgent,
            back.payload) == (sport, dport, seq, ack, flags, window, urgent, payload)
    # scapy may pad with NOP/EOL differently; compare the options that carry values
    meaningful = tuple(o for o in back.options if o[0] not in ("NOP", "EOL"))
    assert meaningful == tuple(o for o in options if o[0] != "NOP")
    assert back.checksum_ok is True
