"""Fuzzing: random bytes and mutated valid frames make every decoder raise only DecodeError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netsim.wire import (
    ARP,
    ETH_ARP,
    ETH_IPV4,
    ICMP,
    SYN,
    TCP,
    UDP,
    DecodeError,
    Ethernet,
    IPv4,
    arp,
    decode_frame,
    ethernet,
    icmp,
    ipv4,
    tcp,
    udp,
)

SETTINGS = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
A, B = "10.0.0.1", "10.0.0.2"


def _eth(ethertype: int, payload: bytes, vlan: int | None = None) -> bytes:
    return Ethernet("02:00:00:00:00:02", "02:00:00:00:00:01", ethertype, payload,
                    vlan=vlan).encode()


def _ip(proto: int, payload: bytes, **kw) -> bytes:
    return IPv4(A, B, proto, payload, **kw).encode()


SEEDS = [
    _eth(ETH_ARP, ARP(1, "02:00:00:00:00:01", A, tpa=B).encode()),
    _eth(ETH_IPV4, _ip(6, TCP(1, 80, 5, 0, SYN, 100, b"data", (
        ("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 2)), ("NOP", None), ("WScale", 7),
        ("SAck", ((1, 2),)))).encode(A, B), options=b"\x94\x04\0\0")),
    _eth(ETH_IPV4, _ip(17, UDP(5, 69, b"\0\1file\0octet\0").encode(A, B)), vlan=7),
    _eth(ETH_IPV4, _ip(17, UDP(5, 69, b"\0\3\0\1" + b"x" * 40).encode(A, B))),
    _eth(ETH_IPV4, _ip(1, ICMP.echo_request(1, 2, b"ping").encode())),
    _eth(ETH_IPV4, _ip(1, ICMP.unreachable(3, _ip(17, UDP(1, 2, b"abc").encode())).encode())),
]

DECODERS = [ethernet.decode, arp.decode, ipv4.decode, icmp.decode, udp.decode, tcp.decode,
            lambda b: ipv4.decode(b, partial=True), lambda b: tcp.decode(b, A, B).checksum_ok,
            lambda b: udp.decode(b, A, B).checksum_ok, lambda b: icmp.decode(b).quoted()]


def _everything(buf: bytes) -> None:
    for decoder in DECODERS:
        try:
            decoder(buf)
        except DecodeError:
            pass
    for skip in (0, 14, 18, 34, 38):  # also feed each layer's start offset to every decoder
        for decoder in DECODERS:
            try:
                decoder(buf[skip:])
            except DecodeError:
                pass
    try:
        frame = decode_frame(buf, tftp_ports=(5, 69))
    except DecodeError:
        return
    frame.summary()
    frame.tree()
    for layer in frame.layers:
        if hasattr(layer, "checksum_ok"):
            layer.checksum_ok  # noqa: B018 - lazily verified checksums must not raise either


@SETTINGS
@given(st.binary(max_size=120))
def test_random_bytes_raise_only_decode_error(buf):
    _everything(buf)


@SETTINGS
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_mutated_frames_raise_only_decode_error(seed, data):
    buf = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(buf) - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    _everything(bytes(buf[:cut]))
    _everything(bytes(buf))


def test_every_seed_frame_decodes_cleanly_and_round_trips():
    for raw in SEEDS:
        frame = decode_frame(raw, tftp_ports=(5, 69))
        assert frame.error is None, frame.summary()
        assert frame.eth.encode() == raw
