"""Wireshark (tshark) reads our TCP captures the way it reads a real host's.

Captures are taken on ONE interface (h1-eth0): with both ends of a link in one file Wireshark
would see every frame twice and flag the copies as retransmissions.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from netsim import AF_INET, SOCK_STREAM, Network
from netsim.wire import tcp as wtcp
from netsim.wire.frame import decode_frame
from tests.kits.tools import require_tool

pytestmark = pytest.mark.tools

FIELDS = ("frame.number", "frame.time_relative", "ip.src", "tcp.stream", "tcp.flags",
          "tcp.seq_raw", "tcp.len", "tcp.completeness", "tcp.analysis.retransmission",
          "tcp.analysis.rto", "ip.checksum.status", "tcp.checksum.status", "_ws.malformed",
          "frame.comment", "tcp.analysis.out_of_order")


def tshark_rows(path: Path) -> list[dict[str, str]]:
    """One dict per frame, with checksum validation on."""
    tshark = require_tool("tshark")
    cmd = [tshark, "-n", "-r", str(path), "-o", "tcp.check_checksum:TRUE",
           "-o", "ip.check_checksum:TRUE", "-o", "tcp.relative_sequence_numbers:TRUE",
           "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    return [dict(zip(FIELDS, line.split("\t"))) for line in out.splitlines()]


def lan():
    net = Network(seed=1)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    sw = net.add_switch("s1")
    cable = net.link(h1, sw)
    net.link(h2, sw)
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    return net, h1, h2, cable


def echo_once(h, port):
    s = h.socket(AF_INET, SOCK_STREAM)
    s.bind(("", port))
    s.listen()
    conn, _ = s.accept()
    while data := conn.recv(65536):
        conn.sendall(data)
    conn.close()
    s.close()


def send_and_read_back(h, port, size):
    c = h.socket(AF_INET, SOCK_STREAM)
    c.connect(("10.0.0.2", port))
    c.sendall(bytes(size))
    got = 0
    while got < size:
        got += len(c.recv(65536))
    c.close()


def count_then_answer(h, port):
    s = h.socket(AF_INET, SOCK_STREAM)
    s.bind(("", port))
    s.listen()
    conn, _ = s.accept()
    total = 0
    while data := conn.recv(65536):
        total += len(data)
    conn.sendall(str(total).encode())
    conn.close()
    s.close()


def upload(h, port, size):
    c = h.socket(AF_INET, SOCK_STREAM)
    c.connect(("10.0.0.2", port))
    c.sendall(bytes(size))
    c.shutdown(1)  # SHUT_WR
    answer = c.recv(100)
    c.close()
    return int(answer)


def our_retransmissions(net) -> set[tuple[int, int]]:
    """(raw seq, length) of every segment our tracer saw sent twice (data, SYN or FIN)."""
    seen, again = set(), set()
    for conn in net.tcp_tracer.connections:
        for row in conn.items:
            if not hasattr(row, "src"):
                continue
            key = (row.src, row.seq, row.length, "SYN" in row.flags, "FIN" in row.flags)
            if key in seen and (row.length or key[3] or key[4]):
                again.add((row.seq, row.length))
            seen.add(key)
    return again


def wireshark_retransmissions(rows) -> set[tuple[int, int]]:
    # Wireshark calls a resend "out-of-order" instead when it follows the newest segment
    # within the handshake's RTT (tens of microseconds on this LAN), as an RFC 6675 fast
    # retransmit right after new data does; a segment it had already seen is still a resend.
    seen, out = set(), set()
    for r in rows:
        if not r["tcp.seq_raw"]:
            continue
        key = (int(r["tcp.seq_raw"]), int(r["tcp.len"]))
        again = (r["ip.src"], key) in seen
        if r["tcp.analysis.retransmission"] or (r["tcp.analysis.out_of_order"] and again):
            out.add(key)
        seen.add((r["ip.src"], key))
    return out


def is_tcp(frame: bytes, pred) -> bool:
    fr = decode_frame(frame)
    return fr.tcp is not None and pred(fr.tcp)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Two connections from h1 to h2, each with one segment lost twice on h1's cable.

    Port 7: handshake, 1000 bytes lost twice (RTO 200 ms, the minimum, then 400 ms), echo,
    teardown.
    Port 8 (ARP already known, so the SYN carries its state comment): the SYN is lost twice
    (RTO 1 s, the initial value, then 2 s).
    """
    net, h1, h2, cable = lan()
    out = h1.interfaces[0]
    cable.drop_when(lambda f: is_tcp(f, lambda t: len(t.payload) == 1000), count=2,
                    direction=out)
    cable.drop_when(lambda f: is_tcp(f, lambda t: t.flags == wtcp.SYN and t.dport == 8),
                    count=2, direction=out)
    h2.spawn_with_host(echo_once, 7)
    h2.spawn_with_host(echo_once, 8)
    h1.spawn_with_host(send_and_read_back, 7, 1000, at="1ms")
    h1.spawn_with_host(send_and_read_back, 8, 1000, at="10s")
    path = tmp_path_factory.mktemp("tcp") / "session.pcapng"
    with net.capture(path, interfaces=["h1-eth0"]):
        net.run()
    return net, tshark_rows(path)


def test_capture_has_no_malformed_frames_and_only_good_checksums(session):
    net, rows = session
    tcp_rows = [r for r in rows if r["tcp.stream"]]
    assert len(tcp_rows) > 20
    assert not any(r["_ws.malformed"] for r in rows)
    assert {r["ip.checksum.status"] for r in tcp_rows} == {"1"}   # 1 = good
    assert {r["tcp.checksum.status"] for r in tcp_rows} == {"1"}


def test_each_connection_is_complete_for_wireshark(session):
    net, rows = session
    last = {}
    for r in rows:
        if r["tcp.stream"]:
            last[r["tcp.stream"]] = int(r["tcp.completeness"])
    # SYN 1 + SYN-ACK 2 + ACK 4 + data 8 + FIN 16, no RST
    assert last == {"0": 31, "1": 31}


def test_wireshark_flags_exactly_the_segments_we_retransmitted(session):
    net, rows = session
    ours = our_retransmissions(net)
    assert len(ours) == 2  # (seq, len) of the 1000-byte segment and of the SYN, each sent 3x
    assert wireshark_retransmissions(rows) == ours
    flagged = [r for r in rows if r["tcp.analysis.retransmission"]]
    assert len(flagged) == 4 and {r["ip.src"] for r in flagged} == {"10.0.0.1"}


def test_retransmission_timeouts_double_per_rfc_6298(session):
    net, rows = session
    # Wireshark measures from the first transmission: RTO, then RTO + 2 * RTO (5.5 backoff).
    # Data: the 200 ms minimum (the sampled RTT is far below it); the SYN: the initial 1 s.
    for stream, rto in (("0", 0.2), ("1", 1.0)):
        rtos = [float(r["tcp.analysis.rto"]) for r in rows
                if r["tcp.stream"] == stream and r["tcp.analysis.rto"]]
        assert rtos == pytest.approx([rto, 3 * rto], abs=0.01), (stream, rtos)


def test_state_changes_are_visible_as_frame_comments(session):
    net, rows = session
    comments = [c for r in rows for c in r["frame.comment"].split("|") if c]
    states = [part for c in comments for part in c.split("; ") if part.startswith("h1: ")]
    for change in ("h1: SYN_SENT -> ESTABLISHED", "h1: ESTABLISHED -> FIN_WAIT_1",
                   "h1: FIN_WAIT_1 -> FIN_WAIT_2", "h1: FIN_WAIT_2 -> TIME_WAIT",
                   "h1: CLOSED -> SYN_SENT"):
        assert change in states
    assert states.count("h1: SYN_SENT -> ESTABLISHED") == 2


def test_random_loss_wireshark_and_our_tracer_agree_on_every_retransmission(tmp_path):
    # Loss only on frames h1 sends, so every original is in the capture taken at h1-eth0
    # (a frame lost before reaching h1 would never be seen there, and its resend would look
    # like a first transmission to Wireshark).
    net, h1, h2, cable = lan()
    rng = random.Random(5)
    cable.drop_when(lambda f: is_tcp(f, lambda t: bool(t.payload)) and rng.random() < 0.05,
                    count=10**9, direction=h1.interfaces[0])
    h2.spawn_with_host(count_then_answer, 7)
    up = h1.spawn_with_host(upload, 7, 300_000, at="1ms")
    path = tmp_path / "lossy.pcapng"
    with net.capture(path, interfaces=["h1-eth0"]):
        net.run()
    assert up.result == 300_000
    rows = tshark_rows(path)
    ours = our_retransmissions(net)
    assert len(ours) > 5
    assert wireshark_retransmissions(rows) == ours
    assert not any(r["_ws.malformed"] for r in rows)
    assert int([r for r in rows if r["tcp.stream"]][-1]["tcp.completeness"]) == 31
