"""``netsim view``, ``netsim lab --view`` and ``netsim run --view``, run for real; bad input is
one clear line, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TWO_SUBNETS = REPO / "examples" / "topologies" / "two_subnets.yaml"


def netsim(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netsim.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_the_hub_vs_switch_export_is_one_offline_file_under_two_megabytes(tmp_path):
    out = tmp_path / "hvs.html"
    proc = netsim("view", "hub-vs-switch", "--export", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"viewer: {out} (2 scenes, ")
    html = out.read_text()
    assert out.stat().st_size < 2_000_000  # the budget for this scene
    # Nothing is fetched: no external script, style sheet, image or font.
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=""", html)
    assert not re.search(r"""url\((?!#)|@import|https?://(?!www\.w3\.org/2000/svg)""", html)
    assert '"name":"hub"' in html and '"name":"switch"' in html


def test_a_script_is_viewed_with_its_own_run_switched_off(tmp_path):
    script = tmp_path / "pair.py"
    script.write_text(textwrap.dedent("""
        from netsim import Network, AF_INET, SOCK_DGRAM
        net = Network(seed=2)
        h1, h2 = net.add_host("h1"), net.add_host("h2")
        net.link(h1, h2)
        h1.set_ip("10.0.0.1/24"); h2.set_ip("10.0.0.2/24")
        h1.spawn_with_host(lambda h: h.socket(AF_INET, SOCK_DGRAM).sendto(b"hi", ("10.0.0.2", 9)))
        with net.capture("must-not-exist.pcapng"):
            net.run()
    """))
    out = tmp_path / "pair.json"
    proc = netsim("view", str(script), "--export", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "must-not-exist.pcapng").exists()
    import json
    doc = json.loads(out.read_text())
    assert doc["format"] == "netsim-timeline" and doc["scenes"][0]["name"] == "pair"
    assert any("UDP" in s for s in doc["scenes"][0]["summaries"])


def test_lab_view_writes_the_page_and_opens_nothing_without_a_terminal(tmp_path):
    proc = netsim("lab", "tcp-handshake", "--variant", "closed-port", "--view", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page = tmp_path / "captures" / "view" / "tcp-handshake.html"
    assert page.exists()
    assert "(1 scene," in proc.stdout and "RST" in page.read_text()


def test_run_view_runs_the_file_captures_and_shows_it(tmp_path):
    proc = netsim("run", str(TWO_SUBNETS), "--view", "--duration", "1s", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "captures" / "two_subnets" / "two_subnets.pcapng").exists()
    page = tmp_path / "captures" / "view" / "two_subnets.html"
    assert page.exists() and "across the router" in proc.stdout


@pytest.mark.parametrize("args, message", [
    (("view", "NOTES"), r"NOTES: capture\.magic at offset 0: not a pcap or pcapng file"),
    (("view", "hub-vs-swtch"), r"no lab named 'hub-vs-swtch'; did you mean 'hub-vs-switch'\?"),
    (("view", "nowhere.pcapng"), r"nowhere\.pcapng: no such file"),
    (("view", "hub-vs-switch", "--export", "x.txt"), r"--export x\.txt: the file must end in \.html"),
    (("view", "hub-vs-switch", "--topology", str(TWO_SUBNETS)), r"--topology goes with a capture"),
    (("view", "tcp-handshake", "--variant", "sideways"), r"--variant must be one of normal, .* \(got sideways\)"),
    (("view", "NOTES", "--live"), r"--live steps a lab or a Python script, not NOTES"),
    (("view", "hub-vs-switch", "--live", "--export", "x.html"), r"--live serves the page"),
    (("view", "NOTES", "--hosts", "3"), r"unexpected arguments '--hosts 3': only a lab"),
    (("run", str(TWO_SUBNETS), "--view", "--realtime"), r"--view records a simulated run"),
])
def test_bad_input_is_one_clear_line(tmp_path, args, message):
    (tmp_path / "NOTES").write_text("these are my notes, not a capture\n")
    line = one_line_error(netsim(*args, cwd=tmp_path))
    assert re.search(message, line), line


def test_a_script_that_fails_is_one_line(tmp_path):
    (tmp_path / "broken.py").write_text("from netsim import Network\nnet = Network()\n"
                                        "h = net.add_host('h1')\nh.spawn(lambda: 1 / 0)\n")
    line = one_line_error(netsim("view", "broken.py", "--export", "b.html", cwd=tmp_path))
    assert line.startswith("Error: script broken.py: the run failed: ZeroDivisionError"), line


def test_a_capture_that_does_not_match_the_topology_is_one_line(tmp_path):
    from labs import hub_vs_switch
    net, _ = hub_vs_switch.build("switch")
    cap = tmp_path / "hvs.pcapng"
    with net.capture(cap):
        net.run()
    line = one_line_error(netsim("view", str(cap), "--topology", str(TWO_SUBNETS), cwd=tmp_path))
    # Both name their interfaces h1-eth0 ... s1-eth2 and number MACs alike from 02:..:01:
    # the addresses h1 sends from give it away.
    assert re.search(r"hvs\.pcapng: frames sent on h1-eth0 come from 10\.0\.0\.1, but h1-eth0 "
                     r"of two_subnets\.yaml has 10\.0\.1\.10/24", line), line


def test_view_has_help_with_examples():
    proc = netsim("view", "--help")
    assert proc.returncode == 0 and "netsim view hub-vs-switch" in proc.stdout
    assert "--export" in proc.stdout and "--topology" in proc.stdout
