"""The TCP encoder's fast path for the usual segment (no options, computed data offset and
checksum) gives the bytes and errors the general encoder gives.

``TCP.encode``'s fast path sums the checksum from the header and the payload apart instead of
from the joined bytes; the reference here is the general path's arithmetic (the segment
encoded without addresses, checksum field 0, then ``internet_checksum`` over it with the
pseudo-header sum), spliced as ``TCP.encode`` did before the fast path. Hypothesis drives
both with the same inputs: odd and even lengths, fields out of range, unknown addresses.
"""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.wire import tcp
from netsim.wire.checksum import internet_checksum, pseudo_sum

_addr = st.one_of(st.sampled_from(["10.0.0.1", "10.0.0.2", "0.0.0.0", "255.255.255.255"]),
                  st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
                  st.sampled_from(["10.0.0", "300.1.1.1"]))
_u16 = st.one_of(st.integers(0, 0xFFFF), st.sampled_from([-1, 0x10000]))
_u32 = st.one_of(st.integers(0, 0xFFFFFFFF), st.sampled_from([-1, 1 << 32]))


def _outcome(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the same error is what is compared
        return type(exc), str(exc)


def _reference(seg: tcp.TCP, src: str, dst: str) -> bytes:
    data = seg.encode(None, None)  # the general path: checksum field 0
    checksum = internet_checksum(data, pseudo_sum(src, dst, 6, len(data)))
    return b"".join((data[:16], checksum.to_bytes(2, "big"), data[18:]))


@settings(max_examples=600, deadline=None)
@given(_u16, _u16, _u32, _u32, st.integers(0, 0xFF), _u16, _u16, st.binary(max_size=80),
       _addr, _addr)
def test_plain_encode_is_general_encode(sport, dport, seq, ack, flags, window, urgent,
                                        payload, src, dst):
    seg = tcp.TCP(sport, dport, seq, ack, flags, window, payload, urgent=urgent)
    assert _outcome(lambda: seg.encode(src, dst)) == _outcome(lambda: _reference(seg, src, dst))


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=1500), st.integers(0, 0xFFFFFFFF),
       st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFF), _addr.filter(lambda a: a.count(".") == 3
                                                                      and "300" not in a))
def test_plain_encode_decodes_with_a_good_checksum(payload, seq, ack, flags, src):
    raw = tcp.TCP(5001, 49152, seq, ack, flags, 65535, payload).encode(src, "10.0.0.2")
    seg = tcp.decode(raw, src, "10.0.0.2")
    assert seg.checksum_ok is True
    assert (seg.seq, seg.ack, seg.flags, seg.payload) == (seq, ack, flags, payload)
    # One flipped bit anywhere is caught by the receiver's check (partial(segment_ok)).
    bad = bytearray(raw)
    bad[4 + len(raw) % 8] ^= 0x10  # somewhere in SEQ or ACK
    assert tcp.decode(bytes(bad), src, "10.0.0.2").checksum_ok is False


def test_the_checksum_that_folds_to_zero():
    """A sum of 0xFFFF (ones'-complement zero) puts 0 in the field, as internet_checksum()."""
    for n in range(0, 4000, 7):
        seg = tcp.TCP(1, 2, n, 0, 0x10, 0, bytes([n & 0xFF]) * (n % 5))
        assert seg.encode("10.0.0.1", "10.0.0.2") == _reference(seg, "10.0.0.1", "10.0.0.2")


@settings(max_examples=400, deadline=None)
@given(st.binary(min_size=20, max_size=60), st.sampled_from([None, "10.0.0.1"]))
def test_optionless_decode_is_from_fields(raw, src):
    """decode()'s inlined assembly of a 20-byte-header segment is from_fields()'s."""
    raw = raw[:12] + bytes([0x50 | (raw[12] & 0x0F)]) + raw[13:]  # data offset 5
    got = tcp.decode(raw, src, "10.0.0.2")
    fields = struct.unpack_from("!HHIIBBHHH", raw)
    want = tcp.from_fields(raw, 0, len(raw), *fields, (), src, "10.0.0.2")
    assert [getattr(got, f) for f in tcp.TCP.__slots__] == \
        [getattr(want, f) for f in tcp.TCP.__slots__]
    assert got.checksum_ok == want.checksum_ok
