"""The one-call encoders and checked decoders of the UDP hot path give what the value
classes give: the same bytes, the same decoded values and checksum verdicts, the same errors.

``encode_datagram``, ``encode_plain`` and ``ipv4_frame`` sum checksums from the fields instead
of from packed bytes; ``decode_verified`` checks the checksum at decode time instead of on the
first read of ``checksum_ok``. Hypothesis drives both sides with the same inputs, including
addresses never seen before (the caches miss), odd lengths, corrupted and cut bytes.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.wire import ethernet, ipv4, udp

_addr = st.one_of(st.sampled_from(["10.0.0.1", "10.0.0.2", "0.0.0.0", "255.255.255.255"]),
                  st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
                  st.sampled_from(["10.0.0", "300.1.1.1", "a.b.c.d"]))
_port = st.one_of(st.integers(0, 0xFFFF), st.sampled_from([-1, 0x10000]))
_byte = st.one_of(st.integers(0, 255), st.sampled_from([-1, 256]))


def _outcome(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - the same error is what is compared
        return type(exc), str(exc)


@settings(max_examples=400, deadline=None)
@given(_port, _port, st.binary(max_size=64), _addr, _addr)
def test_encode_datagram_is_udp_encode(sport, dport, payload, src, dst):
    assert _outcome(udp.encode_datagram, sport, dport, payload, src, dst) == \
        _outcome(lambda: udp.UDP(sport, dport, payload).encode(src, dst))


@settings(max_examples=400, deadline=None)
@given(_addr, _addr, _byte, st.binary(max_size=64), _byte, st.integers(-1, 0x10000), _byte,
       st.booleans())
def test_encode_plain_is_ipv4_encode(src, dst, proto, payload, ttl, ident, tos, df):
    assert _outcome(ipv4.encode_plain, src, dst, proto, payload, ttl, ident, tos, df) == \
        _outcome(lambda: ipv4.IPv4(src, dst, proto, payload, ttl=ttl, ident=ident, tos=tos,
                                   df=df).encode())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", "0a:1b:2c:3d:4e:5f"]),
       st.binary(min_size=6, max_size=6), st.binary(max_size=80))
def test_ipv4_frame_is_ethernet_encode(dst, src_raw, datagram):
    src = ":".join(f"{b:02x}" for b in src_raw)
    assert ethernet.ipv4_frame(dst, src_raw, datagram) == \
        ethernet.Ethernet(dst, src, ethernet.ETH_IPV4, datagram).encode()


def _mangle(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
    buf = bytearray(data)
    for pos, value in flips:
        if buf:
            buf[pos % len(buf)] = value
    return bytes(buf if cut is None else buf[:cut])


_flips = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=2)
_cut = st.one_of(st.none(), st.integers(0, 120))


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.binary(max_size=64), _flips, _cut,
       st.binary(max_size=3))
def test_udp_decode_verified_is_decode_then_checksum_ok(sport, dport, payload, flips, cut, pad):
    data = _mangle(udp.UDP(sport, dport, payload).encode("10.0.0.1", "10.0.0.2") + pad, flips,
                   cut)

    def read(fn):
        value = fn(data, "10.0.0.1", "10.0.0.2")
        return value, value.checksum_ok, value.payload

    assert _outcome(read, udp.decode_verified) == _outcome(read, udp.decode)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64), st.sampled_from([b"", b"\x01\x01\x01\x00", b"\x07\x03\x04"]),
       _flips, _cut, st.binary(max_size=3))
def test_ipv4_decode_verified_is_decode_then_checksum_ok(payload, options, flips, cut, pad):
    data = _mangle(ipv4.IPv4("10.0.0.1", "10.0.0.2", 17, payload, options=options).encode()
                   + pad, flips, cut)

    def read(fn):
        value = fn(data)
        return value, value.checksum_ok, value.payload

    assert _outcome(read, ipv4.decode_verified) == _outcome(read, ipv4.decode)
