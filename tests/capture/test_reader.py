"""read_capture on hand-crafted files: both byte orders, odd resolutions, every block kind,
corruption and truncation."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netsim.capture import PcapngWriter, read_capture
from netsim.wire.errors import DecodeError


def opt(order: str, code: int, value: bytes) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) & 3)


def block(order: str, btype: int, body: bytes) -> bytes:
    n = len(body) + 12
    return struct.pack(order + "II", btype, n) + body + struct.pack(order + "I", n)


def shb(order: str, options: bytes = b"") -> bytes:
    return block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1) + options)


def idb(order: str, name: str | None = None, tsresol: int | None = None, linktype: int = 1,
        tsoffset: int | None = None) -> bytes:
    options = b""
    if name is not None:
        options += opt(order, 2, name.encode())
    if tsresol is not None:
        options += opt(order, 9, bytes([tsresol]))
    if tsoffset is not None:
        options += opt(order, 14, struct.pack(order + "q", tsoffset))
    if options:
        options += opt(order, 0, b"")
    return block(order, 1, struct.pack(order + "HHI", linktype, 0, 65535) + options)


def epb(order: str, if_id: int, ts: int, data: bytes, options: bytes = b"") -> bytes:
    body = struct.pack(order + "IIIII", if_id, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
    return block(order, 6, body + data + b"\0" * (-len(data) & 3) + options)


def read(data: bytes) -> list:
    return list(read_capture(io.BytesIO(data)))


@pytest.mark.parametrize("order", ["<", ">"])
def test_pcapng_in_either_byte_order_gives_the_same_frames(order):
    comment = opt(order, 1, b"first") + opt(order, 1, b"second") \
        + opt(order, 2, struct.pack(order + "I", 2)) + opt(order, 0, b"")
    data = shb(order) + idb(order, "eth0", tsresol=9) + epb(order, 0, 5_000_000_007, b"abcde",
                                                            comment)
    (frame,) = read(data)
    assert frame.time_ns == 5_000_000_007 and frame.data == b"abcde"
    assert frame.comments == ("first", "second") and frame.direction == "out"
    assert frame.if_name == "eth0"


@pytest.mark.parametrize("tsresol,ts,expected_ns", [
    (None, 1_500_000, 1_500_000_000),          # default: microseconds
    (3, 1_500, 1_500_000_000),                 # milliseconds
    (9, 7, 7),                                 # nanoseconds
    (12, 1_234_567, 1_234),                    # picoseconds, floored to ns
    (0x80 | 10, 1024 * 3, 3_000_000_000),      # 2^-10 s units
    (0x80 | 20, 1, 953),                       # 2^-20 s = 953.67 ns, floored
])
def test_if_tsresol_powers_of_ten_and_two(tsresol, ts, expected_ns):
    data = shb("<") + idb("<", tsresol=tsresol) + epb("<", 0, ts, b"x")
    assert read(data)[0].time_ns == expected_ns


def test_if_tsoffset_adds_seconds():
    data = shb(">") + idb(">", tsresol=9, tsoffset=100) + epb(">", 0, 1, b"x")
    assert read(data)[0].time_ns == 100_000_000_001


def test_second_section_restarts_interfaces_and_may_switch_byte_order():
    data = (shb("<") + idb("<", "a", 9) + idb("<", "b", 9) + epb("<", 1, 1, b"1")
            + shb(">") + idb(">", "c", 9) + epb(">", 0, 2, b"2"))
    assert [(f.if_id, f.if_name, f.data) for f in read(data)] == [(1, "b", b"1"), (0, "c", b"2")]


def test_simple_and_obsolete_packet_blocks_and_unknown_blocks():
    spb = block("<", 3, struct.pack("<I", 5) + b"hello\0\0\0")
    pb = block("<", 2, struct.pack("<HHIIII", 0, 0, 0, 42, 3, 3) + b"pb!\0" + opt("<", 1, b"old"))
    unknown = block("<", 0x0BAD, b"\x01\x02\x03\x04")
    nrb = block("<", 4, b"\0\0\0\0")      # name resolution block: skipped
    data = shb("<") + idb("<", "eth0", 9) + unknown + spb + nrb + pb
    frames = read(data)
    assert [(f.data, f.time_ns, f.comments) for f in frames] == [
        (b"hello", 0, ()), (b"pb!", 42, ("old",))]


def test_linktype_is_reported_per_interface():
    data = shb("<") + idb("<", "lo", 9, linktype=101) + epb("<", 0, 1, b"\x45")
    assert read(data)[0].linktype == 101


@pytest.mark.parametrize("order,magic,scale,record", [
    ("<", 0xA1B2C3D4, 1000, 16), (">", 0xA1B2C3D4, 1000, 16), (">", 0xA1B23C4D, 1, 16),
    ("<", 0xA1B2CD34, 1000, 24),
])
def test_classic_pcap_magics_and_byte_orders(order, magic, scale, record):
    head = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)
    rec = struct.pack(order + "IIII", 7, 5, 3, 60) + b"\0" * (record - 16) + b"abc"
    (frame,) = read(head + rec)
    assert frame.time_ns == 7_000_000_000 + 5 * scale
    assert (frame.data, frame.orig_len, frame.linktype) == (b"abc", 60, 1)


@pytest.mark.parametrize("data,field", [
    (b"", "magic"),
    (b"GIF89a..", "magic"),
    (shb("<")[:8] + b"\x00\x00\x00\x00" + shb("<")[12:], "byte_order_magic"),
    (block("<", 0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 2, 0, -1)), "major_version"),
    (shb("<") + idb("<")[:4] + struct.pack("<I", 14) + idb("<")[8:], "block_total_length"),
    (shb("<") + idb("<")[:-4] + b"\x99\0\0\0", "block_total_length"),
    (shb("<") + epb("<", 0, 0, b"x"), "interface_id"),
    (shb("<") + idb("<") + block("<", 6, struct.pack("<IIIII", 0, 0, 0, 99, 99)),
     "captured_length"),
    (shb("<") + idb("<") + epb("<", 0, 0, b"x", struct.pack("<HH", 1, 200)), "option_length"),
    (struct.pack("<IHHiIII", 0xA1B2C3D4, 3, 0, 0, 0, 0, 1), "version_major"),
])
def test_corrupt_files_raise_decode_error_naming_the_field(data, field):
    with pytest.raises(DecodeError) as err:
        read(data)
    assert err.value.field == field
    assert err.value.layer in ("pcapng", "pcap", "capture")


def _small_pcapng() -> tuple[bytes, list[int]]:
    """A 3-frame file from our writer, and the end offset of every block in it."""
    out = io.BytesIO()
    with PcapngWriter(out) as w:
        a = w.add_interface("h1-eth0")
        w.write(a, 10, b"\x01" * 14, comment="one")
        b = w.add_interface("h2-eth0")
        w.write(b, 20, b"\x02" * 15, direction="in")
        w.write(a, 30, b"\x03" * 17)
    data = out.getvalue()
    ends, pos = [], 0
    while pos < len(data):
        pos += struct.unpack_from("<I", data, pos + 4)[0]
        ends.append(pos)
    return data, ends


def test_truncation_at_every_offset_yields_whole_frames_then_raises():
    """Cut anywhere: frames whose block is whole come out, then DecodeError names the cut block;
    a cut exactly on a block boundary is a complete (shorter) file and reads without error."""
    data, ends = _small_pcapng()
    full = read(data)
    # Block ends after which one more frame is complete: EPBs are the blocks of type 6.
    epb_ends = []
    start = 0
    for end in ends:
        if struct.unpack_from("<I", data, start)[0] == 6:
            epb_ends.append(end)
        start = end
    assert len(full) == len(epb_ends) == 3
    for cut in range(len(data)):
        got = []
        try:
            for frame in read_capture(io.BytesIO(data[:cut])):
                got.append(frame)
        except DecodeError as err:
            assert cut not in ends
            assert err.layer in ("pcapng", "capture")
        else:
            assert cut in ends, f"a cut at {cut} inside a block went unreported"
        assert got == full[:sum(1 for e in epb_ends if e <= cut)], cut


def test_truncated_pcap_record_raises_after_whole_records():
    head = struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1)
    rec = struct.pack("<IIII", 1, 2, 4, 4) + b"abcd"
    data = head + rec + rec
    for cut in range(len(data)):
        got = []
        try:
            got.extend(read_capture(io.BytesIO(data[:cut])))
        except DecodeError:
            assert cut not in (24, 44)
        else:
            assert cut in (24, 44)
        assert len(got) == (cut >= 44) + (cut >= 64)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_files_raise_only_decode_error(data):
    raw, _ends = _small_pcapng()
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    try:
        for frame in read_capture(io.BytesIO(bytes(buf))):
            assert isinstance(frame.data, bytes)
    except DecodeError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_decode_error(blob):
    for prefix in (b"", b"\x0a\x0d\x0d\x0a", struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 0, 1)):
        try:
            list(read_capture(io.BytesIO(prefix + blob)))
        except DecodeError:
            pass
