"""The netsim command, run for real in a subprocess: help texts, show, ladder, step on a script."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

import labs


def netsim(*args: str, stdin: str | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netsim.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("cmd", [(), ("lab",), ("run",), ("show",), ("ladder",), ("step",),
                                 ("tftp",), ("tftp", "serve"), ("tftp", "get"), ("tftp", "put")])
def test_every_command_has_help_with_an_example(cmd):
    proc = netsim(*cmd, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    assert "netsim" in proc.stdout.split("Usage:", 1)[1] or "Example" in proc.stdout


def test_lab_without_a_name_is_a_usage_error():
    proc = netsim("lab")
    assert proc.returncode == 2
    assert "name a lab" in proc.stderr


@pytest.fixture(scope="module")
def handshake_capture(tmp_path_factory):
    out = tmp_path_factory.mktemp("th")
    labs.run("tcp-handshake", variant="normal", out=out, progress=False)
    return out / "normal.pcapng"


def test_show_prints_one_line_per_frame_with_comments(handshake_capture):
    proc = netsim("show", str(handshake_capture))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any("[SYN]" in ln and "# h1: CLOSED -> SYN_SENT" in ln for ln in lines)
    assert any("ARP" in ln for ln in lines)


def test_ladder_draws_text_svg_and_png_from_a_capture(handshake_capture, tmp_path):
    svg, png = tmp_path / "ladder.svg", tmp_path / "ladder.png"
    proc = netsim("ladder", str(handshake_capture), "--svg", str(svg), "--png", str(png))
    assert proc.returncode == 0, proc.stderr
    assert "SYN_SENT" in proc.stdout and "TIME_WAIT" in proc.stdout
    ET.parse(svg)  # well-formed SVG
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_show_on_a_file_that_is_not_a_capture_says_so(tmp_path):
    bad = tmp_path / "notes.pcapng"
    bad.write_bytes(b"this is not a capture file at all")
    proc = netsim("show", str(bad))
    assert proc.returncode != 0
    assert "Error" in proc.stderr and "Traceback" not in proc.stderr


def test_step_walks_a_python_script_whose_own_run_is_skipped(tmp_path):
    script = tmp_path / "demo.py"
    script.write_text(textwrap.dedent("""
        from netsim import Network, AF_INET, SOCK_DGRAM
        net = Network(seed=4)
        a, b = net.add_host("a"), net.add_host("b")
        net.link(a, b)
        a.set_ip("10.0.0.1/24"); b.set_ip("10.0.0.2/24")

        def hello(host):
            s = host.socket(AF_INET, SOCK_DGRAM)
            s.sendto(b"hi", ("10.0.0.2", 9999))

        a.spawn_with_host(hello)
        with net.capture("never-written.pcapng"):
            net.run()          # the stepper drives time instead
    """))
    proc = netsim("step", str(script), "--script", "-", stdin="n\nb udp\nc\nq\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "#1 " in proc.stdout and "ARP" in proc.stdout
    assert "breakpoint 'udp'" in proc.stdout and "UDP" in proc.stdout
    assert not (tmp_path / "never-written.pcapng").exists()
