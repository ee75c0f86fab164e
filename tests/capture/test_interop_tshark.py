"""Our captures against the peers: tshark reads ours cleanly, we read what tshark and scapy write."""

from __future__ import annotations

import subprocess

import pytest

from netsim.capture import PcapngWriter, PcapWriter, read_capture
from tests.kits.tools import require_tool

pytestmark = pytest.mark.tools


def tshark_fields(path, *fields: str) -> list[list[str]]:
    tshark = require_tool("tshark")
    cmd = [tshark, "-r", str(path), "-T", "fields", "-E", "separator=|", "-E", "occurrence=a"]
    for field in fields:
        cmd += ["-e", field]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60)
    return [line.split("|") for line in out.stdout.splitlines()]


def write_two_interfaces(path, frames) -> list[tuple[str, str]]:
    expected = []
    with PcapngWriter(path) as w:
        ifs = (w.add_interface("h1-eth0", "host h1"), w.add_interface("h2-eth0", "host h2"))
        for i, (name, frame) in enumerate(frames):
            ifname = ("h1-eth0", "h2-eth0")[i % 2]
            w.write(ifs[i % 2], 1_000_000 * i + 7, frame, comment=f"{name} seen on {ifname}",
                    direction=("out", "in")[i % 2])
            expected.append((ifname, f"{name} seen on {ifname}"))
    return expected


def test_tshark_shows_interface_names_and_comments_and_nothing_malformed(tmp_path, scapy_frames):
    path = tmp_path / "scapy.pcapng"
    expected = write_two_interfaces(path, scapy_frames)
    rows = tshark_fields(path, "frame.interface_name", "frame.comment", "_ws.malformed",
                         "frame.protocols", "frame.time_epoch", "frame.packet_flags_direction")
    assert [(r[0], r[1]) for r in rows] == expected
    assert all(r[2] == "" for r in rows), rows
    protocols = [r[3] for r in rows]
    assert protocols[0].endswith(":ip:tcp") and protocols[3].endswith(":arp")
    assert ":icmp:ip:udp" in protocols[2]   # the quoted datagram is dissected too
    assert protocols[4].endswith(":udp:tftp")
    assert [r[4] for r in rows][:2] == ["0.000000007", "0.001000007"]
    assert [int(r[5], 16) & 3 for r in rows] == [2, 1, 2, 1, 2]


@pytest.mark.parametrize("fmt", ["pcap", "pcapng", "nsecpcap"])
def test_we_read_what_tshark_rewrites(tmp_path, scapy_frames, fmt):
    src = tmp_path / "ours.pcapng"
    write_two_interfaces(src, scapy_frames)
    out = tmp_path / f"theirs.{fmt}"
    subprocess.run([require_tool("tshark"), "-r", str(src), "-w", str(out), "-F", fmt],
                   capture_output=True, check=True, timeout=60)
    theirs = list(read_capture(out))
    ours = list(read_capture(src))
    assert [f.data for f in theirs] == [f.data for f in ours]
    if fmt == "pcap":   # microseconds: our 7 ns offsets are floored away
        assert [f.time_ns for f in theirs] == [f.time_ns // 1000 * 1000 for f in ours]
    else:
        assert [f.time_ns for f in theirs] == [f.time_ns for f in ours]
    if fmt == "pcapng":
        assert [(f.if_name, f.comments, f.direction) for f in theirs] == \
            [(f.if_name, f.comments, f.direction) for f in ours]


def test_we_read_an_editcap_time_shifted_rewrite(tmp_path, scapy_frames):
    src = tmp_path / "ours.pcapng"
    write_two_interfaces(src, scapy_frames)
    out = tmp_path / "usec.pcapng"
    # A time shift makes editcap rewrite every block rather than copy it.
    subprocess.run([require_tool("editcap"), "-t", "1.5", str(src), str(out)],
                   capture_output=True, check=True, timeout=60)
    shifted = [f.time_ns for f in read_capture(out)]
    assert shifted == [f.time_ns + 1_500_000_000 for f in read_capture(src)]


def test_we_read_scapy_pcap_and_pcapng(tmp_path, scapy_frames):
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap, wrpcapng

    packets = []
    for i, (_name, frame) in enumerate(scapy_frames):
        pkt = Ether(frame)
        pkt.time = 100 + i / 4
        packets.append(pkt)
    wrpcap(str(tmp_path / "s.pcap"), packets)
    wrpcapng(str(tmp_path / "s.pcapng"), packets)
    for name in ("s.pcap", "s.pcapng"):
        frames = list(read_capture(tmp_path / name))
        assert [f.data for f in frames] == [frame for _n, frame in scapy_frames]
        assert [f.time_ns for f in frames] == [100_000_000_000 + i * 250_000_000
                                               for i in range(len(frames))]


def test_tshark_reads_our_classic_pcap(tmp_path, scapy_frames):
    path = tmp_path / "ours.pcap"
    with PcapWriter(path) as w:
        for i, (_name, frame) in enumerate(scapy_frames):
            w.write(2_000_000_000 + i, frame)
    rows = tshark_fields(path, "frame.time_epoch", "_ws.malformed", "frame.len")
    assert [r[0] for r in rows] == [f"2.00000000{i}" for i in range(len(scapy_frames))]
    assert all(r[1] == "" for r in rows)
