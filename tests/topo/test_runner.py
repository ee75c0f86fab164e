"""run_topology_file: build a file, start its programs, run, capture, summarise."""

from __future__ import annotations

from netsim import Network
from netsim.capture.reader import read_capture
from netsim.topo.runner import run_topology_file
from tests.kits.topo import EXAMPLES_DIR, VALID


def test_run_starts_the_programs_and_reports_their_output(tmp_path):
    topo = tmp_path / "lab.yaml"
    topo.write_text(VALID)
    summary = run_topology_file(topo, tmp_path / "out", "1s", factory=Network)
    text = str(summary)
    assert "h2 udp_echo_server: udp echo server listening on port 9000" in text
    assert "h1 udp_send: reply from 10.0.1.20:9000: b'hi'" in text
    assert "still running at the end (servers wait forever): udp_echo_server#1" in text
    assert summary.capture == tmp_path / "out" / "lab.pcapng"
    frames = list(read_capture(summary.capture))
    assert summary.frames == len(frames) > 0
    assert {f.if_name for f in frames} >= {"h1-eth0", "r1-eth0"}
    assert summary.duration_ns == 1_000_000_000


def test_run_of_the_line_example_pings_across_routers(tmp_path):
    summary = run_topology_file(EXAMPLES_DIR / "three_subnets_line.yaml", tmp_path, "3s", factory=Network)
    assert any("3 packets transmitted, 3 received" in line for line in summary.output)


def test_duration_defaults_to_the_files_duration(tmp_path):
    summary = run_topology_file(EXAMPLES_DIR / "office_lan.yaml", tmp_path, factory=Network)
    assert summary.duration_ns == 3_000_000_000
    assert any("reply from 192.168.1.50:9100: b'print this'" in line for line in summary.output)


def test_udp_send_without_a_server_reports_no_reply(tmp_path):
    topo = tmp_path / "quiet.yaml"
    topo.write_text("nodes:\n  a: {kind: host, ip: 10.0.0.1/24}\n  b: {kind: host, ip: 10.0.0.2/24}\n"
                    "links:\n  - {a: a, b: b}\nprograms:\n"
                    "  - {host: a, run: udp_send, target: b, port: 5, timeout: 100ms}\n")
    summary = run_topology_file(topo, tmp_path, "1s", factory=Network)
    assert any("no reply within 100.000ms" in line for line in summary.output)


def test_tcp_programs_run(tmp_path):
    topo = tmp_path / "tcp.yaml"
    topo.write_text("nodes:\n  a: {kind: host, ip: 10.0.0.1/24}\n  b: {kind: host, ip: 10.0.0.2/24}\n"
                    "links:\n  - {a: a, b: b}\nprograms:\n"
                    "  - {host: b, run: tcp_echo_server, port: 7}\n"
                    "  - {host: a, run: tcp_client, target: b, port: 7, message: hey, at: 1ms}\n")
    summary = run_topology_file(topo, tmp_path, "2s", factory=Network)
    out = "\n".join(summary.output)
    assert "got back b'hey'" in out
