"""The inspector's tree: every field's byte range holds that field; the filter fields are the
values netsim's display filters read."""

from __future__ import annotations

import struct

from netsim.trace.events import TraceEvent
from netsim.trace.filters import compile_filter
from netsim.viewer import dissect
from netsim.wire import tcp as wtcp
from netsim.wire.ethernet import ETH_IPV4, Ethernet
from netsim.wire.ipv4 import PROTO_TCP, IPv4


def syn_frame(options=(("MSS", 1460), ("NOP", None), ("WScale", 7))) -> bytes:
    seg = wtcp.TCP(37170, 80, seq=1000, flags=wtcp.SYN, window=65535, options=options)
    ip = IPv4("10.0.0.1", "10.0.0.2", PROTO_TCP, seg.encode("10.0.0.1", "10.0.0.2"))
    return Ethernet("02:00:00:00:00:02", "02:00:00:00:00:01", ETH_IPV4, ip.encode()).encode()


def find(tree, prefix):
    for layer in tree:
        for field in layer[3]:
            if field[0].startswith(prefix):
                return field
            for child in field[3] if len(field) > 3 else []:
                if child[0].startswith(prefix):
                    return child
    raise AssertionError(f"no field {prefix!r} in {tree}")


def test_tcp_fields_point_at_their_bytes():
    data = syn_frame()
    tree = dissect.tree(data)
    assert [layer[0] for layer in tree] == ["Ethernet II", "Internet Protocol Version 4",
                                           "Transmission Control Protocol"]
    _, off, n = find(tree, "Source port")[:3]
    assert struct.unpack("!H", data[off:off + n]) == (37170,)
    _, off, n = find(tree, "Sequence number")[:3]
    assert struct.unpack("!I", data[off:off + n]) == (1000,)
    _, off, n = find(tree, "Time to live")[:3]
    assert data[off] == 64
    _, off, n = find(tree, "Destination: 10.0.0.2")[:3]
    assert bytes(data[off:off + n]) == bytes([10, 0, 0, 2])


def test_tcp_flags_and_options_have_one_child_each():
    data = syn_frame()
    tree = dissect.tree(data)
    flags = find(tree, "Flags: 0x")
    assert "1 SYN: set" in [c[0] for c in flags[3]]
    assert "0 ACK" in [c[0] for c in flags[3]]
    label, off, n = find(tree, "Maximum segment size (MSS): 1460")
    assert data[off:off + 2] == b"\x02\x04" and n == 4          # kind 2, length 4 (RFC 9293)
    label, off, n = find(tree, "Window scale: 7")
    assert data[off:off + 3] == b"\x03\x03\x07"
    assert find(tree, "No-operation (NOP)")[2] == 1


def test_a_short_frame_shows_its_padding_and_a_runt_its_length():
    arp = bytes.fromhex("ffffffffffff0200000000010806" "0001080006040001" "020000000001"
                        "0a000001" "000000000000" "0a000002") + bytes(18)
    tree = dissect.tree(arp)
    label, off, n = find(tree, "Padding")
    assert (off, n) == (42, 18)
    assert dissect.tree(b"\x01\x02")[0][0] == "Undecodable frame"


def test_filter_fields_are_what_the_filters_compare():
    data = syn_frame()
    fields = dissect.filter_fields(dissect.decode(data))
    assert fields["p"] == ["eth", "ip", "tcp"]
    assert fields["tcp.flags"] == wtcp.SYN and fields["tcp.srcport"] == 37170
    ev = TraceEvent(0, "h1", "eth0", "tx", data, None)
    for name, value in fields.items():
        if name in ("p", "tcp.flags"):
            continue
        assert compile_filter(f"{name} == {value}")(ev), name   # every exported field exists
        assert not compile_filter(f"{name} != {value}")(ev), name


def test_every_filter_field_is_one_the_filters_know():
    ev = TraceEvent(0, "h1", "eth0", "tx", syn_frame(), None)
    for name in dissect.FILTER_FIELDS:
        if name == "tcp.flags":  # the filters read flags as tcp.flags.syn ...
            continue
        compile_filter(f"{name} == 1")(ev)  # raises FilterError for an unknown field
