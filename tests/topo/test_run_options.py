"""``netsim run``: the file's duration, the picture, chosen interfaces, ping's reply times, and
network errors reported as program output."""

from __future__ import annotations

import inspect
import re

import pytest
from click.testing import CliRunner

from netsim import Network
from netsim.capture.reader import read_capture
from netsim.cli import main
from netsim.topo.runner import run_topology_file
from netsim.topo.yamlfile import DEFAULT_BANDWIDTH
from tests.kits.topo import EXAMPLES_DIR

TWO = ("nodes:\n  h1: {kind: host, ip: 10.0.0.1/24}\n  h2: {kind: host, ip: 10.0.0.2/24}\n"
       "  s1: {kind: switch}\nlinks:\n  - {a: h1, b: s1}\n  - {a: h2, b: s1}\n")


def netsim_run(*args: str):
    result = CliRunner().invoke(main, ["run", *args], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def test_the_files_duration_is_not_overridden_by_the_command_line_default(tmp_path):
    out = netsim_run(str(EXAMPLES_DIR / "office_lan.yaml"), "--out", str(tmp_path))
    assert "ran 3.000000s of virtual time" in out  # duration: 3s in the file
    out = netsim_run(str(EXAMPLES_DIR / "office_lan.yaml"), "--out", str(tmp_path),
                     "--duration", "1500ms")
    assert "ran 1.500000s of virtual time" in out


def test_a_file_without_duration_runs_ten_seconds(tmp_path):
    topo = tmp_path / "two.yaml"
    topo.write_text(TWO)
    assert "ran 10.000000s of virtual time" in netsim_run(str(topo), "--out", str(tmp_path))


def test_out_holds_the_topology_picture_it_promises(tmp_path):
    out = netsim_run(str(EXAMPLES_DIR / "two_subnets.yaml"), "--out", str(tmp_path / "o"))
    picture = tmp_path / "o" / "two_subnets.png"
    assert f"picture: {picture}" in out
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "o" / "two_subnets.pcapng").exists()


def captured_interfaces(path) -> set[str]:
    return {f.if_name for f in read_capture(path)}


def test_capture_on_records_only_the_chosen_interfaces(tmp_path):
    out = netsim_run(str(EXAMPLES_DIR / "two_subnets.yaml"), "--out", str(tmp_path),
                     "--capture-on", "h1-eth0,r1-eth1")
    assert "only h1-eth0, r1-eth1" in out
    assert captured_interfaces(tmp_path / "two_subnets.pcapng") == {"h1-eth0", "r1-eth1"}


def test_the_files_capture_list_chooses_interfaces_and_nodes(tmp_path):
    topo = tmp_path / "two.yaml"
    topo.write_text(TWO + "capture: [s1]\nprograms:\n  - {host: h1, run: ping, target: h2, "
                    "count: 1}\n")
    summary = run_topology_file(topo, tmp_path, "1s", factory=Network)
    assert captured_interfaces(summary.capture) == {"s1-eth0", "s1-eth1"}
    # --capture-on replaces the file's list
    summary = run_topology_file(topo, tmp_path, "1s", factory=Network, capture_on=["h2-eth0"])
    assert captured_interfaces(summary.capture) == {"h2-eth0"}


def test_capture_everything_by_default(tmp_path):
    summary = run_topology_file(EXAMPLES_DIR / "two_subnets.yaml", tmp_path, factory=Network)
    names = captured_interfaces(summary.capture)
    assert {"h1-eth0", "r1-eth0", "r1-eth1", "s1-eth0"} <= names and summary.captured is None


def stamp_ns(line: str) -> int:
    value, unit = re.match(r"\s*([0-9.]+)(ns|us|ms|s) ", line).groups()
    return round(float(value) * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit])


def test_each_ping_reply_is_stamped_with_its_own_arrival_time(tmp_path):
    summary = run_topology_file(EXAMPLES_DIR / "three_subnets_line.yaml", tmp_path, factory=Network)
    lines = [ln for ln in summary.output if " ping: " in ln]
    replies = [ln for ln in lines if "bytes from" in ln]
    assert len(replies) == 3
    start = stamp_ns(lines[0])
    assert "PING" in lines[0]
    # Linux ping sends one request a second; each reply arrives its rtt after its request.
    for i, line in enumerate(replies):
        rtt_ms = float(re.search(r"time=([0-9.]+) ms", line).group(1))
        assert stamp_ns(line) == pytest.approx(start + i * 1e9 + rtt_ms * 1e6, abs=1e3)
    assert stamp_ns(replies[0]) < stamp_ns(replies[1]) < stamp_ns(replies[2])
    assert stamp_ns(lines[-1]) == stamp_ns(replies[-1])  # the statistics: when ping finished
    assert [stamp_ns(ln) for ln in summary.output] == sorted(stamp_ns(ln) for ln in summary.output)


def test_a_host_without_a_gateway_gets_one_line_of_program_output(tmp_path):
    topo = tmp_path / "nogw.yaml"
    topo.write_text(TWO + "programs:\n  - {host: h1, run: udp_send, target: 10.9.9.9, port: 9}\n"
                    "  - {host: h1, run: tcp_client, target: 10.9.9.9, port: 9}\n"
                    "  - {host: h1, run: ping, target: 10.9.9.9, at: 1ms}\n")
    result = CliRunner().invoke(main, ["run", str(topo), "--out", str(tmp_path)])
    assert result.exit_code == 0 and result.stderr == "", result.stderr
    out = result.stdout.splitlines()
    for prog in ("udp_send", "tcp_client"):
        mine = [ln for ln in out if f"h1 {prog}:" in ln]
        assert len(mine) == 1, mine
        assert "stopped: Network is unreachable (ENETUNREACH): h1 has no route to 10.9.9.9 " \
               "and no gateway" in mine[0]
    assert any("h1 ping: ping: connect: Network is unreachable" in ln for ln in out)


def test_the_default_bandwidth_of_the_hub_check_is_the_networks():
    assert inspect.signature(Network.link).parameters["bandwidth"].default == DEFAULT_BANDWIDTH
