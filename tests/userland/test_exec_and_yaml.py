"""The other two ways to start a program: ``netsim exec`` and ``run: file.py`` in YAML."""

from __future__ import annotations

import subprocess
import sys

import pytest

from netsim.network import Network
from netsim.topo.runner import run_topology_file
from netsim.topo.yamlfile import TopologyError, parse_topology
from tests.kits.userland import SEED


def netsim(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netsim.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def test_exec_runs_programs_on_hosts_and_shows_output_per_host():
    proc = netsim("exec", str(SEED / "lan.yaml"), f"h2:{SEED / 'udp_receiver.py'}",
                  f"h1:{SEED / 'udp_sender.py'} 10.0.0.2 2")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:5] == [
        "[0.000 s h2] receiver waiting on port 9090",
        "[0.000 s h2] 14 bytes from ('10.0.0.1', 8000): Hello 0 您好",
        "[0.000 s h1] reply from 10.0.0.2:9090: HELLO 0 您好",
        "[3.000 s h2] 14 bytes from ('10.0.0.1', 8000): Hello 1 您好",
        "[3.000 s h1] reply from 10.0.0.2:9090: HELLO 1 您好"]
    assert any(x.endswith("udp_sender.py 10.0.0.2 2 (pid 1000): exited with status 0") for x in lines)
    assert any(x.endswith("udp_receiver.py (pid 1000): still running") for x in lines)


def test_exec_until_a_virtual_time_and_module_programs(tmp_path):
    (tmp_path / "page.txt").write_text("page\n")
    proc = netsim("exec", str(SEED / "routed.yaml"), "h2:-m http.server 8000",
                  f"h1:{SEED / 'http_fetch.py'} http://10.0.2.20:8000/page.txt",
                  "--until", "2s", "--cwd", f"h2={tmp_path}", "--capture", str(tmp_path / "c.pcapng"))
    assert proc.returncode == 0, proc.stderr
    assert "[0.000 s h1] 200 OK" in proc.stdout and "[0.000 s h1] page" in proc.stdout
    assert "--- 2.000000s of virtual time" in proc.stdout
    assert (tmp_path / "c.pcapng").stat().st_size > 0


def test_exec_reports_a_deadlock_and_fails():
    proc = netsim("exec", str(SEED / "lan.yaml"), f"h1:{SEED / 'deadlock.py'}")
    assert proc.returncode == 1
    assert "deadlock in deadlock.py on h1" in proc.stderr
    assert "Lock.acquire() at deadlock.py:20 (with lock_b:)" in proc.stderr


@pytest.mark.parametrize("arg, message", [
    ("h9:x.py", "no host 'h9'"),
    ("h1", "expected HOST:PROGRAM.py"),
    ("h1:missing.py", "no such program file 'missing.py'"),
])
def test_exec_usage_errors(arg, message):
    proc = netsim("exec", str(SEED / "lan.yaml"), arg)
    assert proc.returncode != 0 and message in proc.stderr


def test_yaml_run_a_program_file_with_args(tmp_path):
    summary = run_topology_file(SEED / "udp_pair.yaml", tmp_path, "8s", factory=Network)
    out = "\n".join(summary.output)
    assert "h1 udp_sender.py: reply from 10.0.0.2:9090: HELLO 0 您好" in out
    assert "h1 udp_sender.py: reply from 10.0.0.2:9090: HELLO 1 您好" in out
    assert summary.frames > 0


def test_yaml_program_file_errors_name_the_line(tmp_path):
    base = ("nodes:\n  h1: {kind: host, ip: 10.0.0.1/24}\n  h2: {kind: host}\n"
            "links:\n  - {a: h1, b: h2}\nprograms:\n")
    (tmp_path / "p.py").write_text("print(1)\n")
    cases = [
        ("  - {host: h1, run: nothere.py}\n", "program file 'nothere.py' not found"),
        ("  - {host: h1, run: p.py, args: {a: 1}}\n", "args must be a list of words"),
        ("  - {host: h1, run: p.py, port: 9}\n", "unknown key for a program file 'port'"),
        ("  - {host: h1, run: p.py, cwd: nodir}\n", "cwd 'nodir' is not a folder"),
    ]
    for line, message in cases:
        with pytest.raises(TopologyError) as err:
            parse_topology(base + line, str(tmp_path / "t.yaml"))
        assert message in str(err.value) and err.value.line == 7


def test_yaml_module_program_parses():
    spec = parse_topology("nodes:\n  h1: {kind: host, ip: 10.0.0.1/24}\n  h2: {kind: host}\n"
                          "links:\n  - {a: h1, b: h2}\nprograms:\n"
                          "  - {host: h1, run: -m http.server, args: [8000], at: 1s}\n")
    prog = spec.programs[0]
    assert prog.params == {"path": None, "module": "http.server", "args": ["8000"], "cwd": None}
    assert prog.at_ns == 1_000_000_000


def test_exec_has_help_with_examples():
    proc = netsim("exec", "--help")
    assert proc.returncode == 0
    assert "Usage:" in proc.stdout and "exec [OPTIONS] TOPOLOGY" in proc.stdout
    assert "Examples:" in proc.stdout
