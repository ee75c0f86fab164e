"""show_capture: one tshark-like line per frame, with interface names and comments."""

from __future__ import annotations

import io

import pytest

from netsim.capture import PcapngWriter, PcapWriter
from netsim.trace.show import show_capture
from netsim.wire import tcp as T
from netsim.wire.errors import DecodeError
from tests.trace.test_ladder_capture import tcp_frame


def test_lines_show_number_relative_time_interface_summary_and_comments():
    out = io.BytesIO()
    with PcapngWriter(out) as w:
        h1 = w.add_interface("h1-eth0")
        h2 = w.add_interface("h2-eth0")
        w.write(h1, 5_000_000, tcp_frame("h1", "h2", T.SYN, 1000,
                                         options=(("MSS", 1460),)),
                comment="h1: CLOSED -> SYN_SENT", direction="out")
        w.write(h2, 5_050_000, tcp_frame("h1", "h2", T.SYN, 1000, options=(("MSS", 1460),)),
                comment="h2: LISTEN -> SYN_RECEIVED", direction="in")
        w.write(h2, 6_000_000, b"\x02" * 12 + b"\x08\x00" + b"\x45")   # IPv4 cut after 1 byte
    lines = list(show_capture(io.BytesIO(out.getvalue())))
    assert len(lines) == 3
    first = lines[0].split()
    assert first[:3] == ["1", "0.000000", "h1-eth0"]
    assert "10.0.0.1 -> 10.0.0.2 TCP 49152 -> 9999 [SYN]" in lines[0]
    assert lines[0].endswith("  # h1: CLOSED -> SYN_SENT")
    assert lines[1].split()[:3] == ["2", "0.000050", "h2-eth0"]
    assert lines[1].endswith("# h2: LISTEN -> SYN_RECEIVED")
    assert lines[2].split()[:2] == ["3", "0.001000"] and "[Malformed" in lines[2]


def test_classic_pcap_and_other_link_types():
    out = io.BytesIO()
    with PcapWriter(out, linktype=101) as w:
        w.write(0, tcp_frame("h1", "h2", T.SYN, 1)[14:])
    (line,) = show_capture(io.BytesIO(out.getvalue()))
    assert line.split()[:3] == ["1", "0.000000", "if0"] and "raw IP frame" in line


def test_truncated_capture_shows_whole_frames_then_raises():
    out = io.BytesIO()
    with PcapngWriter(out) as w:
        i = w.add_interface("h1-eth0")
        w.write(i, 0, tcp_frame("h1", "h2", T.SYN, 1))
        w.write(i, 1, tcp_frame("h1", "h2", T.SYN, 1))
    data = out.getvalue()[:-10]
    lines = []
    with pytest.raises(DecodeError):
        lines.extend(show_capture(io.BytesIO(data)))
    assert len(lines) == 1
