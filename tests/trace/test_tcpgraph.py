"""netsim.trace.tcpgraph: the time-sequence graph of a capture marks exactly the segments the
sender retransmitted, and reads tcpdump's formats (classic microsecond pcap, Linux cooked)
as it reads ours."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

import pytest

from netsim import AF_INET, SOCK_STREAM, Network
from netsim.capture import PcapWriter, read_capture
from netsim.trace.tcpgraph import draw, time_sequences
from netsim.wire import tcp as wtcp

SIZE = 150_000


def _data_from_h1(frame: bytes) -> wtcp.TCP | None:
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    seg = wtcp.decode(frame[14 + (frame[14] & 15) * 4:])
    return seg if seg.dport == 80 and seg.payload else None


def transfer(tmp_path, drop: tuple[int, ...] = (), loss: float = 0.0, seed: int = 1):
    """h1 sends SIZE bytes to srv through r1; the data segments numbered in ``drop`` (from 1)
    are lost on h1's cable; the capture holds h1's NIC. Returns (capture, sender's tcp_info,
    the sequence numbers dropped relative to h1's ISN)."""
    net = Network(seed=seed)
    h1, r1, srv = net.add_host("h1"), net.add_router("r1"), net.add_host("srv")
    first = net.link(h1, r1, delay="1ms")
    net.link(r1, srv, delay="5ms", loss=loss)
    h1.set_ip("10.0.1.2/24", gateway="10.0.1.1")
    r1.set_ip("10.0.1.1/24", iface="eth0")
    r1.set_ip("10.0.2.1/24", iface="eth1")
    srv.set_ip("10.0.2.2/24", gateway="10.0.2.1")
    seen, dropped = [0], []

    def pick(frame: bytes) -> bool:
        seg = _data_from_h1(frame)
        if seg is None:
            return False
        seen[0] += 1
        if seen[0] in drop:
            dropped.append(seg.seq)
            return True
        return False

    first.drop_when(pick, count=len(drop))
    info = {}

    def server(host):
        s = host.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 80))
        s.listen(1)
        c, _ = s.accept()
        while c.recv(65536):
            pass

    def client(host):
        c = host.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.2.2", 80))
        c.sendall(b"x" * SIZE)
        info.update(c.tcp_info())
        c.close()

    srv.spawn_with_host(server)
    h1.spawn_with_host(client, at="1ms")
    cap = tmp_path / "transfer.pcapng"
    with net.capture(cap, interfaces=["h1-eth0"]):
        net.run(until=30)
    isn = net.tcp_tracer.connections[0].ladder().rows[0].seq
    return cap, info, sorted((s - isn) % (1 << 32) for s in dropped)


def test_the_graph_marks_exactly_the_segments_that_were_lost_and_sent_again(tmp_path):
    cap, info, dropped = transfer(tmp_path, drop=(5, 6, 40))
    (g,) = time_sequences(cap)
    assert g.sender.startswith("h1:") and g.receiver.endswith(":80")
    assert sorted(start for _t, start, _e, again, _l in g.segments if again) == dropped
    assert info["tcpi_total_retrans"] == len(dropped) == len(g.retransmissions)
    assert g.data_bytes == SIZE
    assert g.sacks, "the receiver reported the holes with SACK blocks"
    first_sack = min(g.sacks)
    assert first_sack[1] == dropped[1] + 1448   # above the two lost in a row


def test_with_random_loss_the_marks_match_the_senders_own_count(tmp_path):
    cap, info, _ = transfer(tmp_path, loss=0.03, seed=3)
    (g,) = time_sequences(cap)
    assert info["tcpi_total_retrans"] > 0
    assert len(g.retransmissions) == info["tcpi_total_retrans"]
    high = 0
    for _t, start, end, again, _lost in g.segments:
        assert again == (start < high)
        high = max(high, end)


def test_without_loss_nothing_is_marked_and_bytes_in_flight_return_to_zero(tmp_path):
    cap, _info, _ = transfer(tmp_path)
    (g,) = time_sequences(cap)
    assert not g.retransmissions
    assert g.in_flight[-1][1] == 0 and max(b for _t, b in g.in_flight) > 10 * 1448


def _tcpdump_pcap(src, dst, cooked: bool = False) -> None:
    """What tcpdump writes: classic pcap, microsecond timestamps, Ethernet (``-i eth0``) or
    Linux cooked frames (``-i any``, LINKTYPE_LINUX_SLL 113)."""
    with PcapWriter(dst, nanosecond=False, linktype=113 if cooked else 1) as w:
        for f in read_capture(src):
            data = f.data
            if cooked:   # packet type 4 (sent by us), ARPHRD_ETHER, address length 6
                data = struct.pack("!HHH", 4, 1, 6) + data[6:12] + b"\0\0" + data[12:14] \
                    + data[14:]
            w.write(f.time_ns, data)


@pytest.mark.parametrize("cooked", [False, True])
def test_a_tcpdump_capture_gives_the_same_graph(tmp_path, cooked):
    cap, _info, dropped = transfer(tmp_path, drop=(5, 6, 40))
    dump = tmp_path / "tcpdump.pcap"
    _tcpdump_pcap(cap, dump, cooked)
    assert dump.read_bytes()[:4] == b"\xd4\xc3\xb2\xa1"       # 0xa1b2c3d4, microseconds
    (ours,) = time_sequences(cap)
    (theirs,) = time_sequences(dump)
    assert theirs.sender.startswith("10.0.1.2:")               # no interface names to learn from
    assert [s[1:] for s in theirs.segments] == [s[1:] for s in ours.segments]
    assert [t // 1000 for t, *_ in theirs.segments] == [t // 1000 for t, *_ in ours.segments]
    assert sorted(s[1] for s in theirs.retransmissions) == dropped


def test_draw_writes_a_png_and_an_svg(tmp_path):
    cap, _info, _ = transfer(tmp_path, drop=(5,))
    (g,) = time_sequences(cap)
    png = draw(g, tmp_path / "g.png", span=(0.0, 0.5))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = draw(g, tmp_path / "g.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert "retransmission (1)" in svg.read_text()


def test_the_ladder_of_the_same_capture_prints_sack_blocks_relative_to_the_isn(tmp_path):
    from netsim.trace.ladder import ladders_from_capture
    cap, _info, dropped = transfer(tmp_path, drop=(5, 6, 40))
    (ladder,) = ladders_from_capture(cap)
    text = ladder.text()
    assert f"SACK={dropped[1] + 1448}-" in text
    assert "negotiated: MSS 1460 both ways, SACK, timestamps" in " ".join(text.split())


@pytest.mark.tools
def test_a_capture_rewritten_by_wiresharks_editcap_as_libpcap_gives_the_same_graph(tmp_path):
    import subprocess

    from tests.kits.tools import require_tool
    editcap = require_tool("editcap")
    cap, _info, dropped = transfer(tmp_path, drop=(5, 6, 40))
    dump = tmp_path / "libpcap.pcap"
    subprocess.run([editcap, "-F", "libpcap", str(cap), str(dump)], check=True, timeout=60)
    (ours,) = time_sequences(cap)
    (theirs,) = time_sequences(dump)
    assert [s[1:] for s in theirs.segments] == [s[1:] for s in ours.segments]
    assert sorted(s[1] for s in theirs.retransmissions) == dropped
