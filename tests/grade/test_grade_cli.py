"""``netsim grade`` on the command line: the conventions in --help, one clear line for bad
input, exit status 0 only when every item passes, an 80-column card, a self-contained HTML
report whose links reach the captures."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from netsim.cli import main
from netsim.grade import EXERCISES, exercise
from tests.kits.grade import GRADE, SEED


def netsim(*args: str):
    return CliRunner().invoke(main, ["grade", *args], catch_exceptions=False)


def test_help_documents_how_each_exercise_starts_the_program():
    out = netsim("--help").output
    for name in EXERCISES:
        usage = exercise(name).USAGE.split("   ")[0]          # "python PROGRAM.py 9090"
        assert name in out and usage in out, (name, usage)


def test_bad_input_gets_one_clear_line(tmp_path):
    cases = [(["nosuch", str(GRADE / "udp_echo.py")], "no exercise 'nosuch'; exercises: tftp-client"),
             (["udp-echo", str(tmp_path / "missing.py")], "no program file"),
             (["udp-echo", str(GRADE / "udp_echo.py"), "--only", "echo,nosuch"],
              "exercise udp-echo has no item 'nosuch'; items: echo, binary")]
    for args, message in cases:
        r = netsim(*args, "--out", str(tmp_path / "c"))
        assert r.exit_code == 2 and message in r.output, r.output
        assert "Traceback" not in r.output


def test_a_passing_program_exits_0_with_an_80_column_card_and_an_html_report(tmp_path):
    report = tmp_path / "report" / "card.html"
    r = netsim("udp-echo", str(GRADE / "udp_echo.py"), "--out", str(tmp_path / "caps"),
               "--report", str(report), "-q")
    assert r.exit_code == 0, r.output
    card = r.output.split("\nreport: ")[0]
    assert all(len(line) <= 80 for line in card.splitlines())
    assert "6 passed, 0 failed" in r.output
    page = report.read_text()
    assert "<script" not in page and not re.search(r"(src|href)=\"https?:", page)
    links = re.findall(r'href="([^"]+)"', page)
    assert links and all((report.parent / link).resolve().is_file() for link in links)
    assert page.count('class="pass"') == 6


def test_a_failing_program_exits_1(tmp_path):
    r = netsim("udp-echo", str(SEED / "udp_receiver.py"), "--out", str(tmp_path), "-q",
               "--only", "echo")
    assert r.exit_code == 1
    assert "FAIL  echoes a datagram to its sender's address and port" in r.output


def test_items_and_json(tmp_path):
    r = netsim("tftp-client", "x.py", "--items")
    assert r.exit_code == 0 and "rollover" in r.output and "RFC 1123 §4.2.3.1" in r.output
    r = netsim("broadcast", str(SEED / "udp_broadcast.py"), "--out", str(tmp_path), "-q",
               "--json", "--only", "lan")
    data = json.loads(r.output)
    assert data["passed"] and data["results"][0]["key"] == "lan"
