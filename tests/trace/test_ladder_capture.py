"""ladders_from_capture: TCP conversations written to captures come back as ladders with the
RFC 9293 states of both ends inferred from the segments."""

from __future__ import annotations

import io

import pytest

from netsim.capture import PcapngWriter, PcapWriter
from netsim.trace.ladder import LadderRow, StateChange, ladders_from_capture
from netsim.wire import ETH_IPV4, PROTO_TCP, TCP, Ethernet, IPv4
from netsim.wire import tcp as T

HOSTS = {"h1": ("10.0.0.1", "02:00:00:00:00:01"), "h2": ("10.0.0.2", "02:00:00:00:00:02")}
PORTS = {"h1": 49152, "h2": 9999}
ISN = {"h1": 1000, "h2": 5000}
DELAY = 50_000    # ns from one host's interface to the other's


def tcp_frame(src: str, dst: str, flags: int, seq: int, ack: int = 0, data: bytes = b"",
              window: int = 64240, options=(), sport=None, dport=None) -> bytes:
    (sip, smac), (dip, dmac) = HOSTS[src], HOSTS[dst]
    seg = TCP(sport or PORTS[src], dport or PORTS[dst], seq=seq, ack=ack, flags=flags,
              window=window, payload=data, options=options).encode(sip, dip)
    return Ethernet(dmac, smac, ETH_IPV4, IPv4(sip, dip, PROTO_TCP, seg).encode()).encode()


class Conversation:
    """Writes what a two-host netsim capture holds: each segment leaving its sender ("out" on
    hX-eth0) and, unless lost, reaching the other host DELAY later ("in")."""

    def __init__(self, both_ends: bool = True):
        self.out = io.BytesIO()
        self.pcap = None
        self.writer = PcapngWriter(self.out)
        self.ifs = {"h1": self.writer.add_interface("h1-eth0")}
        if both_ends:
            self.ifs["h2"] = self.writer.add_interface("h2-eth0")
        self.next = {"h1": ISN["h1"], "h2": ISN["h2"]}   # next sequence number to send
        self.rcv = {"h1": 0, "h2": 0}                     # what each end acknowledges
        self.pending: list[tuple[int, str, bytes]] = []

    def send(self, t: int, src: str, flags: str, data: bytes = b"", lost: bool = False,
             options=(), ack: int | None = None, delay: int = DELAY) -> None:
        dst = "h2" if src == "h1" else "h1"
        bits = T.SYN * ("SYN" in flags) | T.FIN * ("FIN" in flags) | T.RST * ("RST" in flags) \
            | T.ACK * ("ACK" in flags) | T.PSH * ("PSH" in flags)
        seq = self.next[src]
        if ack is None:
            ack = self.rcv[src] if bits & T.ACK else 0
        frame = tcp_frame(src, dst, bits, seq, ack, data, options=options)
        self.next[src] = seq + len(data) + bool(bits & T.SYN) + bool(bits & T.FIN)
        self.pending.append((t, src, frame, "out"))
        if not lost:
            self.pending.append((t + delay, dst, frame, "in"))
            self.rcv[dst] = self.next[src]

    def capture(self) -> io.BytesIO:
        for t, host, frame, direction in sorted(self.pending, key=lambda p: p[0]):
            if host in self.ifs:
                self.writer.write(self.ifs[host], t, frame, direction=direction)
        self.writer.close()
        return io.BytesIO(self.out.getvalue())


def states_seen(ladder) -> list[tuple[str, str, str]]:
    return [(i.endpoint, i.old, i.new) for i in ladder.items if isinstance(i, StateChange)]


def handshake(c: Conversation, t: int = 0) -> int:
    c.send(t, "h1", "SYN", options=(("MSS", 1460), ("WScale", 7)))
    c.send(t + 100_000, "h2", "SYN,ACK", options=(("MSS", 1460), ("WScale", 2)))
    c.send(t + 200_000, "h1", "ACK")
    return t + 300_000


def test_handshake_data_and_four_way_teardown_states():
    c = Conversation()
    t = handshake(c)
    c.send(t, "h1", "PSH,ACK", b"hello")
    c.send(t + 100_000, "h2", "PSH,ACK", b"HELLO")
    c.send(t + 200_000, "h1", "FIN,ACK")
    c.send(t + 300_000, "h2", "ACK")
    c.send(t + 400_000, "h2", "FIN,ACK")
    c.send(t + 500_000, "h1", "ACK")
    (ladder,) = ladders_from_capture(c.capture())
    assert ladder.endpoints == ("h1:49152", "h2:9999")
    assert ladder.initial == {"h1:49152": "CLOSED", "h2:9999": "LISTEN"}
    assert states_seen(ladder) == [
        ("h1:49152", "CLOSED", "SYN_SENT"),
        ("h2:9999", "LISTEN", "SYN_RECEIVED"),
        ("h1:49152", "SYN_SENT", "ESTABLISHED"),
        ("h2:9999", "SYN_RECEIVED", "ESTABLISHED"),
        ("h1:49152", "ESTABLISHED", "FIN_WAIT_1"),
        ("h2:9999", "ESTABLISHED", "CLOSE_WAIT"),
        ("h1:49152", "FIN_WAIT_1", "FIN_WAIT_2"),
        ("h2:9999", "CLOSE_WAIT", "LAST_ACK"),
        ("h1:49152", "FIN_WAIT_2", "TIME_WAIT"),
        ("h2:9999", "LAST_ACK", "CLOSED"),
    ]
    assert ladder.final_states == {"h1:49152": "TIME_WAIT", "h2:9999": "CLOSED"}


def test_each_segment_seen_on_both_hosts_is_one_row_with_its_arrival_time():
    c = Conversation()
    handshake(c)
    (ladder,) = ladders_from_capture(c.capture())
    rows = ladder.rows
    assert [r.flags for r in rows] == ["SYN", "SYN,ACK", "ACK"]
    assert [(r.time_ns, r.arrive_ns) for r in rows] == [
        (0, DELAY), (100_000, 100_000 + DELAY), (200_000, 200_000 + DELAY)]
    assert [(r.src, r.dst) for r in rows] == [("h1:49152", "h2:9999"), ("h2:9999", "h1:49152"),
                                              ("h1:49152", "h2:9999")]
    # State changes sit at the moment they happen: the receiver's on arrival.
    syn_received = next(i for i in ladder.items
                        if isinstance(i, StateChange) and i.new == "SYN_RECEIVED")
    assert syn_received.time_ns == DELAY


def test_window_is_scaled_after_both_syns_offer_window_scaling():
    c = Conversation()
    t = handshake(c)
    c.send(t, "h2", "ACK")
    rows = ladders_from_capture(c.capture())[0].rows
    assert [r.window for r in rows] == [64240, 64240, 64240 << 7, 64240 << 2]
    assert rows[0].options == "MSS=1460 WS=128"


def test_fin_ack_answering_a_fin_takes_fin_wait_1_straight_to_time_wait():
    c = Conversation()
    t = handshake(c)
    c.send(t, "h1", "FIN,ACK")
    c.send(t + 100_000, "h2", "FIN,ACK")   # acknowledges h1's FIN and closes: three-way close
    c.send(t + 200_000, "h1", "ACK")
    (ladder,) = ladders_from_capture(c.capture())
    assert states_seen(ladder)[4:] == [
        ("h1:49152", "ESTABLISHED", "FIN_WAIT_1"),
        ("h2:9999", "ESTABLISHED", "CLOSE_WAIT"),
        ("h2:9999", "CLOSE_WAIT", "LAST_ACK"),
        ("h1:49152", "FIN_WAIT_1", "TIME_WAIT"),
        ("h2:9999", "LAST_ACK", "CLOSED"),
    ]


def test_simultaneous_close_goes_through_closing_on_both_ends():
    c = Conversation()
    t = handshake(c)
    h2_ack = c.rcv["h2"]
    c.send(t, "h1", "FIN,ACK")
    c.send(t + 10_000, "h2", "FIN,ACK", ack=h2_ack)   # sent before h1's FIN arrives
    c.send(t + DELAY + 20_000, "h1", "ACK")
    c.send(t + DELAY + 20_000, "h2", "ACK")
    (ladder,) = ladders_from_capture(c.capture())
    h1, h2 = ladder.endpoints
    assert [s for s in states_seen(ladder)[4:]] == [
        (h1, "ESTABLISHED", "FIN_WAIT_1"),
        (h2, "ESTABLISHED", "FIN_WAIT_1"),
        (h2, "FIN_WAIT_1", "CLOSING"),
        (h1, "FIN_WAIT_1", "CLOSING"),
        (h2, "CLOSING", "TIME_WAIT"),   # h1's ACK, sent at the same time, arrives first
        (h1, "CLOSING", "TIME_WAIT"),
    ]


def test_simultaneous_open_goes_through_syn_received_on_both_ends():
    c = Conversation()
    c.send(0, "h1", "SYN")
    c.send(10_000, "h2", "SYN")
    c.send(DELAY + 20_000, "h1", "SYN,ACK", ack=ISN["h2"] + 1)
    c.next["h1"] -= 1   # the SYN,ACK repeats the SYN's sequence number (RFC 9293 figure 8)
    c.next["h2"] -= 1
    c.send(DELAY + 20_000, "h2", "SYN,ACK", ack=ISN["h1"] + 1)
    (ladder,) = ladders_from_capture(c.capture())
    h1, h2 = ladder.endpoints
    assert ladder.initial == {h1: "CLOSED", h2: "CLOSED"}
    assert states_seen(ladder) == [
        (h1, "CLOSED", "SYN_SENT"), (h2, "CLOSED", "SYN_SENT"),
        (h2, "SYN_SENT", "SYN_RECEIVED"), (h1, "SYN_SENT", "SYN_RECEIVED"),
        (h2, "SYN_RECEIVED", "ESTABLISHED"), (h1, "SYN_RECEIVED", "ESTABLISHED"),
    ]


def test_syn_to_a_closed_port_is_refused_by_rst():
    c = Conversation()
    c.send(0, "h1", "SYN")
    c.send(100_000, "h2", "RST,ACK", ack=ISN["h1"] + 1)
    (ladder,) = ladders_from_capture(c.capture())
    assert ladder.initial == {"h1:49152": "CLOSED", "h2:9999": "CLOSED"}
    assert states_seen(ladder) == [("h1:49152", "CLOSED", "SYN_SENT"),
                                   ("h1:49152", "SYN_SENT", "CLOSED")]


def test_rst_in_established_closes_both_ends():
    c = Conversation()
    t = handshake(c)
    c.send(t, "h2", "RST,ACK")
    (ladder,) = ladders_from_capture(c.capture())
    assert states_seen(ladder)[-2:] == [("h2:9999", "ESTABLISHED", "CLOSED"),
                                        ("h1:49152", "ESTABLISHED", "CLOSED")]


def test_segment_never_reaching_the_receiver_is_lost_and_its_retransmission_is_a_new_row():
    c = Conversation()
    t = handshake(c)
    c.send(t, "h1", "PSH,ACK", b"data", lost=True)
    c.next["h1"] -= 4
    c.send(t + 1_000_000, "h1", "PSH,ACK", b"data")     # the retransmission, same bytes
    (ladder,) = ladders_from_capture(c.capture())
    rows = ladder.rows
    assert [(r.length, r.lost) for r in rows[3:]] == [(4, True), (4, False)]
    assert rows[3].arrive_ns is None and rows[4].arrive_ns == t + 1_000_000 + DELAY
    assert "✗" in ladder.text() and "x" in ladder.text(ascii=True)


def test_single_interface_pcap_like_tcpdump_labels_by_address():
    c = Conversation(both_ends=False)
    t = handshake(c)
    c.send(t, "h1", "FIN,ACK")
    c.send(t + 100_000, "h2", "FIN,ACK")
    c.send(t + 200_000, "h1", "ACK")
    # Rewrite as a classic pcap, as tcpdump -w would.
    from netsim.capture import read_capture
    out = io.BytesIO()
    with PcapWriter(out) as w:
        for frame in read_capture(c.capture()):
            w.write(frame.time_ns, frame.data)
    (ladder,) = ladders_from_capture(io.BytesIO(out.getvalue()))
    assert ladder.endpoints == ("10.0.0.1:49152", "10.0.0.2:9999")
    assert ladder.final_states == {"10.0.0.1:49152": "TIME_WAIT", "10.0.0.2:9999": "CLOSED"}
    assert all(r.arrive_ns is None and not r.lost for r in ladder.rows)


def test_reused_four_tuple_after_close_is_a_second_ladder():
    c = Conversation()
    t = handshake(c)
    c.send(t, "h1", "RST,ACK")
    c.next = {"h1": 90_000, "h2": 70_000}
    c.send(t + 10_000_000, "h1", "SYN")
    c.send(t + 10_100_000, "h2", "SYN,ACK")
    ladders = ladders_from_capture(c.capture())
    assert [len(lad.rows) for lad in ladders] == [4, 2]
    assert ladders[1].final_states == {"h1:49152": "ESTABLISHED", "h2:9999": "SYN_RECEIVED"}


def test_connections_are_told_apart_and_non_tcp_frames_ignored():
    out = io.BytesIO()
    with PcapngWriter(out) as w:
        i = w.add_interface("h1-eth0")
        w.write(i, 0, tcp_frame("h1", "h2", T.SYN, 1, sport=40000), direction="out")
        w.write(i, 1, tcp_frame("h1", "h2", T.SYN, 7, sport=40001), direction="out")
        w.write(i, 2, b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + b"\0" * 46)   # not IPv4
        w.write(i, 3, tcp_frame("h1", "h2", T.SYN, 1, sport=40000)[:30])      # truncated
    ladders = ladders_from_capture(io.BytesIO(out.getvalue()))
    # h1 is named from its interface; h2 never sends, so it keeps its address.
    assert [lad.endpoints for lad in ladders] == [("h1:40000", "10.0.0.2:9999"),
                                                  ("h1:40001", "10.0.0.2:9999")]


@pytest.mark.parametrize("linktype,head", [
    (101, b""), (228, b""), (0, b"\x02\0\0\0"),
    (113, b"\0\0\0\x01\0\x06" + b"\0" * 8 + b"\x08\x00"),          # tcpdump -i any
    (276, b"\x08\x00" + b"\0" * 18),                                   # Linux cooked v2
])
def test_raw_ipv4_loopback_and_linux_cooked_captures_are_read(linktype, head):
    out = io.BytesIO()
    with PcapWriter(out, linktype=linktype) as w:
        w.write(0, head + tcp_frame("h1", "h2", T.SYN, 1)[14:])
        w.write(5, head + tcp_frame("h2", "h1", T.SYN | T.ACK, 9, 2)[14:])
    (ladder,) = ladders_from_capture(io.BytesIO(out.getvalue()))
    assert [r.flags for r in ladder.rows] == ["SYN", "SYN,ACK"]
    assert isinstance(ladder.rows[0], LadderRow)


@pytest.mark.tools
def test_relative_numbers_and_lengths_agree_with_tshark(tmp_path):
    import subprocess

    from tests.kits.tools import require_tool

    tshark = require_tool("tshark")
    c = Conversation(both_ends=False)
    t = handshake(c)
    c.send(t, "h1", "PSH,ACK", b"hello")
    c.send(t + 100_000, "h2", "PSH,ACK", b"HELLO!!")
    c.send(t + 200_000, "h1", "FIN,ACK")
    c.send(t + 300_000, "h2", "FIN,ACK")
    c.send(t + 400_000, "h1", "ACK")
    path = tmp_path / "conv.pcapng"
    path.write_bytes(c.capture().getvalue())
    out = subprocess.run([tshark, "-r", str(path), "-T", "fields", "-E", "separator=|",
                          "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.len", "-e", "tcp.flags.ack"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    theirs = [line.split("|") for line in out.splitlines()]
    arrows = [line for line in ladders_from_capture(path)[0].text().splitlines() if "[" in line]
    assert len(arrows) == len(theirs) == 8
    for line, (seq, ack, length, has_ack) in zip(arrows, theirs):
        expected = f"seq={seq}" + (f" ack={ack}" if has_ack == "1" else "")
        expected += f" len={length}" if length != "0" else ""
        assert expected + " win=" in line, (line, expected)
