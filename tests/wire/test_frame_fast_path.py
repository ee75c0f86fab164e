"""decode_frame's fast path (untagged Ethernet/IPv4/TCP|UDP|TFTP in one unpack) builds exactly
what the layer-by-layer decoders build: same values, same errors, same checksum verdicts, same
summary and tree, for valid frames and for mutated or truncated ones."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netsim.wire import (
    ACK,
    ETH_IPV4,
    PSH,
    SYN,
    TCP,
    UDP,
    DecodeError,
    Ethernet,
    IPv4,
    decode_frame,
    tftp,
)
from netsim.wire.frame import _decode_general

SETTINGS = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
A, B = "10.0.0.1", "10.0.0.2"
TS = (("NOP", None), ("NOP", None), ("Timestamp", (123456, 654321)))
PORTS = (69, 49999)


def _frame(proto: int, l4: bytes, **ip_kw) -> bytes:
    return Ethernet("02:00:00:00:00:02", "02:00:00:00:00:01", ETH_IPV4,
                    IPv4(A, B, proto, l4, **ip_kw).encode()).encode()


def _tcp(options=(), payload=b"data", **kw) -> bytes:
    return _frame(6, TCP(49152, 80, 1000, 2000, PSH | ACK, 502, payload, options,
                         **kw).encode(A, B))


def _udp(payload: bytes, sport: int = 49999, dport: int = 50000, **kw) -> bytes:
    return _frame(17, UDP(sport, dport, payload, **kw).encode(A, B))


def _snapshot(frame) -> tuple:
    """Everything observable about a decoded frame, checksum verdicts included."""
    layers = []
    for value in frame.layers:
        ck = getattr(value, "checksum_ok", "n/a")
        layers.append((type(value).__name__, value, repr(value), ck))
    err = frame.error
    return (frame.data, frame.vlan, tuple(layers), frame.payload,
            None if err is None else (type(err), err.layer, err.field, err.offset, str(err)),
            frame.summary(), frame.tree(), frame.malformed)


def _decode_both(data: bytes, ports: tuple[int, ...]):
    out = []
    for decode in (decode_frame, _decode_general):
        try:
            out.append(decode(data, ports))
        except DecodeError as err:  # only a bad Ethernet header raises
            out.append((err.layer, err.field, err.offset, str(err)))
    return out


def _assert_same(data: bytes, ports: tuple[int, ...] = PORTS) -> None:
    fast, slow = _decode_both(data, ports)
    if isinstance(slow, tuple):
        assert fast == slow
        return
    assert _snapshot(fast) == _snapshot(slow)
    if fast.ip is not None:  # open enums stay enum members on both paths
        assert type(fast.ip.proto) is type(slow.ip.proto)
        assert type(fast.eth.ethertype) is type(slow.eth.ethertype)


VALID = [
    _tcp(),
    _tcp(TS),
    _tcp((("MSS", 1460), ("SAckOK", b""), ("WScale", 7)), b""),
    _tcp((("MSS", 1460),)),
    _tcp(TS, b"x" * 1000),
    _tcp(TS, b"odd"),
    _frame(6, TCP(1, 2, flags=SYN, options=TS).encode(A, B)),
    _frame(6, TCP(1, 2, flags=0x1FF, reserved=5, urgent=9).encode(A, B)),
    _frame(6, TCP(1, 2, options=TS).encode()),  # checksum 0: not computed
    _udp(tftp.Data(1, bytes(512)).encode()),
    _udp(tftp.Data(7, b"").encode()),
    _udp(tftp.Ack(3).encode(), 50000, 49999),
    _udp(tftp.Request(tftp.RRQ, "boot.img", "octet", (("blksize", "1468"),)).encode(), 50000, 69),
    _udp(tftp.Error(1, "File not found").encode()),
    _udp(b"\x00\x03\x00"),  # DATA too short for its block number
    _udp(b"\x00\x09junk"),  # unknown opcode
    _udp(b"hello", 1000, 2000),
    _frame(17, UDP(1000, 2000, b"no checksum").encode()),
    _udp(b""),
    _udp(b"abcd", length=13),  # UDP length one past the IP payload
    _udp(b"abcd", length=7),  # below the header
    _udp(b"abcd", length=11),  # shorter than the IP payload: the rest is dropped
    _frame(6, TCP(1, 2, data_offset=15).encode(A, B)),  # header longer than the segment
    _frame(6, TCP(1, 2, data_offset=8, options=TS[:2]).encode(A, B)),  # 32 bytes, not TS
    _frame(6, bytes(19)),
    _frame(6, TCP(1, 2).encode(A, B)[:19]),  # IP payload ends inside the TCP header
    _frame(6, TCP(1, 2, options=TS).encode(A, B)[:31]),  # ... inside the options
    _frame(1, bytes.fromhex("0800f7ff00000000")),
    _frame(1, b"\x08\x00"),  # ICMP too short
    _frame(89, b"ospf"),
    _frame(6, TCP(1, 2).encode(A, B), df=True, ttl=1, tos=0xB8, ident=0xBEEF),
    _frame(6, TCP(1, 2).encode(A, B), reserved=True),
    _frame(6, TCP(1, 2).encode(A, B), mf=True),
    _frame(6, TCP(1, 2).encode(A, B), frag_offset=8),
    _frame(6, TCP(1, 2).encode(A, B), options=b"\x94\x04\x00\x00"),
    Ethernet("02:00:00:00:00:02", "02:00:00:00:00:01", ETH_IPV4,
             IPv4(A, B, 6, TCP(1, 2).encode(A, B)).encode(), vlan=5).encode(),
]


def test_fast_path_matches_layer_decoders_on_typical_frames():
    for data in VALID:
        _assert_same(data)
        _assert_same(data, ())


def test_fast_path_matches_on_every_truncation_and_padding():
    for data in (_tcp(TS), _tcp(), _udp(tftp.Data(1, b"abcdef").encode())):
        for cut in range(len(data) + 1):
            _assert_same(data[:cut])
        _assert_same(data + bytes(20))


def test_fast_path_checksum_verdicts_detect_corruption():
    for data in (_tcp(TS), _udp(tftp.Data(1, b"abc").encode())):
        bad = bytearray(data)
        last = 14 + decode_frame(data).ip.total_length - 1
        bad[last] ^= 0xFF  # last data byte: transport checksum wrong, IP checksum still right
        frame = decode_frame(bytes(bad), PORTS)
        assert frame.ip.checksum_ok is True
        assert (frame.tcp or frame.udp).checksum_ok is False
        bad = bytearray(data)
        bad[22] ^= 0x01  # TTL: IP header checksum wrong
        assert decode_frame(bytes(bad), PORTS).ip.checksum_ok is False


def test_fast_path_accepts_bytearray_and_memoryview_like_the_layer_decoders():
    data = _tcp(TS)
    for buf in (bytearray(data), memoryview(data)):
        frame = decode_frame(buf)
        assert frame.tcp == decode_frame(data).tcp
        assert frame.summary() == decode_frame(data).summary()


@SETTINGS
@given(base=st.sampled_from(VALID), edits=st.lists(
    st.tuples(st.integers(0, 80), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, 200))
def test_fast_path_matches_on_mutated_frames(base, edits, cut):
    buf = bytearray(base)
    for pos, byte in edits:
        if pos < len(buf):
            buf[pos] = byte
    _assert_same(bytes(buf[:max(cut, 14)] if cut < len(buf) else buf))


@SETTINGS
@given(data=st.binary(min_size=14, max_size=120))
def test_fast_path_matches_on_random_ipv4_frames(data):
    head = bytes.fromhex("020000000002020000000001") + b"\x08\x00\x45"
    _assert_same(head + data)
