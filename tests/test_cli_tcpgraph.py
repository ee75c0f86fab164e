"""``netsim tcpgraph``: a graph from any capture, and one line with the README's exit status
for each thing that can be wrong (2: wrong input, 1: nothing to draw)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from netsim import AF_INET, SOCK_DGRAM, SOCK_STREAM, Network
from netsim.cli import main

REPO = Path(__file__).resolve().parent.parent


def netsim(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "netsim.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=cwd)


def _pair(tmp_path: Path, name: str, tcp: bool, connections: int = 1) -> Path:
    net = Network(seed=1)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    net.link(h1, h2, delay="1ms", loss=0.02)
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")

    def server(host):
        s = host.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 80))
        s.listen(4)
        for _ in range(connections):
            c, _ = s.accept()
            while c.recv(65536):
                pass
            c.close()

    def client(host, size):
        c = host.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 80))
        c.sendall(b"x" * size)
        c.close()

    def datagrams(host):
        s = host.socket(AF_INET, SOCK_DGRAM)
        for _ in range(3):
            s.sendto(b"hi", ("10.0.0.2", 9))

    if tcp:
        h2.spawn_with_host(server)
        for i in range(connections):
            h1.spawn_with_host(client, 20_000 * (i + 1), at=0.001 + i * 0.5)
    else:
        h1.spawn_with_host(datagrams)
    cap = tmp_path / name
    with net.capture(cap, interfaces=["h1-eth0"]):
        net.run(until=20)
    return cap


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tcpgraph")
    return {"tcp": _pair(tmp, "tcp.pcapng", True, connections=2),
            "udp": _pair(tmp, "udp.pcapng", False), "dir": tmp}


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def test_it_lists_the_connections_draws_the_busiest_and_says_where(captures, tmp_path):
    out = tmp_path / "g.png"
    r = invoke("tcpgraph", str(captures["tcp"]), "--png", str(out))
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("  1: h1:") and lines[1].startswith("* 2: h1:")  # 40 kB > 20 kB
    assert "20000 bytes" in lines[0] and "40000 bytes" in lines[1]
    assert lines[-1] == f"PNG written to {out}"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_conn_picks_one_and_svg_writes_svg(captures, tmp_path):
    out = tmp_path / "g.svg"
    r = invoke("tcpgraph", str(captures["tcp"]), "--conn", "1", "--svg", str(out))
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0].startswith("* 1:")
    assert out.read_text().lstrip().startswith("<?xml") and "<svg" in out.read_text()


def test_the_default_file_is_named_after_the_capture_in_the_current_folder(captures, tmp_path):
    proc = netsim("tcpgraph", str(captures["tcp"]), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "tcp-tcpgraph.png").stat().st_size > 0


@pytest.mark.parametrize("case, args, code, words", [
    ("missing file", ["{dir}/nope.pcapng"], 2, "does not exist"),
    ("not a capture", ["{dir}/notes.txt"], 2, "notes.txt"),
    ("no TCP", ["{udp}"], 1, "no TCP connections found"),
    ("conn 3 of 2", ["{tcp}", "--conn", "3"], 2, "--conn must be from 1 to 2 (got 3)"),
    ("conn 0", ["{tcp}", "--conn", "0"], 2, "--conn must be an integer >= 1"),
    ("conn abc", ["{tcp}", "--conn", "abc"], 2, "--conn must be"),
    ("png and svg", ["{tcp}", "--png", "{dir}/a.png", "--svg", "{dir}/a.svg"], 2,
     "--png or --svg, not both"),
    ("png under a file", ["{tcp}", "--png", "{dir}/notes.txt/x.png"], 2, "--png"),
])
def test_each_mistake_is_one_line_and_the_readme_exit_status(captures, case, args, code, words):
    (captures["dir"] / "notes.txt").write_text("not a capture\n")
    argv = [a.format(dir=captures["dir"], udp=captures["udp"], tcp=captures["tcp"]) for a in args]
    proc = netsim("tcpgraph", *argv)
    assert proc.returncode == code, (case, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], (case, proc.stderr)
    assert "Traceback" not in proc.stderr
