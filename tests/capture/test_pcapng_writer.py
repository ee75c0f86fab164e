"""PcapngWriter: what goes in comes back out, to the nanosecond, and the file streams."""

from __future__ import annotations

import io
import struct

import pytest

from netsim.capture import PcapngWriter, PcapWriter, read_capture
from netsim.capture.pcapng import FLUSH_THRESHOLD


def test_round_trip_keeps_times_comments_names_and_directions(tmp_path, scapy_frames):
    path = tmp_path / "rt.pcapng"
    written = []
    with PcapngWriter(path) as w:
        h1 = w.add_interface("h1-eth0", description="host h1")
        h2 = w.add_interface("h2-eth0")
        for i, (name, frame) in enumerate(scapy_frames):
            if_id = (h1, h2)[i % 2]
            t = 1_700_000_000_123_456_789 + i * 1_001   # beyond 2**32 seconds-ns: uses ts high
            direction = ("out", "in", None)[i % 3]
            comment = f"{name}: ü ✓" if i % 2 == 0 else None
            w.write(if_id, t, frame, comment=comment, direction=direction)
            written.append((t, frame, if_id, ("h1-eth0", "h2-eth0")[if_id],
                            (comment,) if comment else (), direction))
    got = [(f.time_ns, f.data, f.if_id, f.if_name, f.comments, f.direction)
           for f in read_capture(path)]
    assert got == written
    assert all(f.linktype == 1 and f.orig_len == len(f.data) for f in read_capture(path))


def test_interface_added_after_packets_is_readable(tmp_path):
    path = tmp_path / "late.pcapng"
    with PcapngWriter(path) as w:
        a = w.add_interface("a")
        w.write(a, 5, b"\x01" * 60)
        b = w.add_interface("b")
        w.write(b, 6, b"\x02" * 60)
    assert [(f.if_name, f.time_ns) for f in read_capture(path)] == [("a", 5), ("b", 6)]


def test_frame_longer_than_snaplen_is_cut_and_keeps_original_length(tmp_path):
    path = tmp_path / "snap.pcapng"
    with PcapngWriter(path) as w:
        w.write(w.add_interface("x", snaplen=64), 0, bytes(range(100)))
    (frame,) = read_capture(path)
    assert frame.data == bytes(range(64)) and frame.orig_len == 100


def test_blocks_are_32_bit_aligned_for_every_frame_length():
    out = io.BytesIO()
    w = PcapngWriter(out)
    if_id = w.add_interface("x")
    for n in range(0, 9):
        w.write(if_id, n, b"\xaa" * n, comment="c" * n)
    w.close()
    data = out.getvalue()
    assert len(data) % 4 == 0
    assert [len(f.data) for f in read_capture(io.BytesIO(data))] == list(range(9))
    assert [f.comments for f in read_capture(io.BytesIO(data))][1:3] == [("c",), ("cc",)]


def test_file_holds_only_whole_blocks_before_close(tmp_path):
    path = tmp_path / "stream.pcapng"
    w = PcapngWriter(path)
    if_id = w.add_interface("h1-eth0")
    frame = b"\x00" * 1000
    sizes = []
    for i in range(300):
        w.write(if_id, i, frame)
        sizes.append(path.stat().st_size)
    # Something reached the disk before close, in chunks of at least the threshold...
    assert 0 < sizes[-1] and sizes[0] == 0
    assert max(b - a for a, b in zip(sizes, sizes[1:])) >= FLUSH_THRESHOLD
    # ...and what is on disk at any moment reads cleanly (no torn block).
    n_on_disk = len(list(read_capture(path)))
    assert 0 < n_on_disk < 300
    w.flush()
    assert len(list(read_capture(path))) == 300
    w.close()
    w.close()   # idempotent


def test_caller_file_object_stays_open_after_close():
    out = io.BytesIO()
    with PcapngWriter(out) as w:
        w.write(w.add_interface("x"), 1, b"\x01" * 14)
    assert not out.closed and len(list(read_capture(io.BytesIO(out.getvalue())))) == 1


@pytest.mark.parametrize("bad", [
    dict(if_id=1), dict(if_id=-1), dict(time_ns=-1), dict(time_ns=1 << 64),
    dict(direction="sideways"),
])
def test_write_rejects_bad_arguments(bad):
    w = PcapngWriter(io.BytesIO())
    w.add_interface("x")
    args = dict(if_id=0, time_ns=0, frame=b"\0" * 14) | bad
    with pytest.raises(ValueError):
        w.write(**args)


def test_write_after_close_raises():
    w = PcapngWriter(io.BytesIO())
    w.add_interface("x")
    w.close()
    with pytest.raises(ValueError, match="closed"):
        w.write(0, 0, b"\0" * 14)


def test_section_header_names_netsim_as_user_application():
    out = io.BytesIO()
    PcapngWriter(out).close()
    data = out.getvalue()
    btype, length, magic, major, minor = struct.unpack_from("<IIIHH", data, 0)
    assert (btype, magic, major, minor) == (0x0A0D0D0A, 0x1A2B3C4D, 1, 0)
    code, size = struct.unpack_from("<HH", data, 24)
    assert (code, data[28:28 + size]) == (4, b"netsim")
    assert struct.unpack_from("<I", data, length - 4)[0] == length == len(data)


@pytest.mark.parametrize("nanosecond,magic,expected_ns", [
    (True, 0xA1B23C4D, 3_000_000_123), (False, 0xA1B2C3D4, 3_000_000_000),
])
def test_pcap_writer_round_trip(tmp_path, nanosecond, magic, expected_ns):
    path = tmp_path / "x.pcap"
    with PcapWriter(path, nanosecond=nanosecond) as w:
        w.write(3_000_000_123, b"\x11" * 60)
        w.write(3_000_000_999, b"\x22" * 61)
    assert struct.unpack_from("<I", path.read_bytes())[0] == magic
    frames = list(read_capture(path))
    assert [f.data for f in frames] == [b"\x11" * 60, b"\x22" * 61]
    assert frames[0].time_ns == expected_ns
    assert frames[0].linktype == 1 and frames[0].if_name is None
