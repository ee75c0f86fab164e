"""The README's samples are what the code prints: each block marked ``<!-- sample: ... -->``
is checked against a real run here (the figures in the benchmark table come from the
benchmarks/ scripts named next to them)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

from rich.console import Console

import labs
from netsim.trace.show import show_capture

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def sample(name: str) -> list[str]:
    """The lines of the code block after ``<!-- sample: name -->``."""
    at = README.index(f"<!-- sample: {name} -->")
    body = README[README.index("```", at):]
    body = body[body.index("\n") + 1:]
    return body[:body.index("```")].rstrip("\n").splitlines()


def in_order(wanted: list[str], lines: list[str]) -> list[str]:
    """The wanted lines (trailing spaces ignored) that are missing from ``lines`` in order."""
    have = [ln.rstrip() for ln in lines]
    missing, pos = [], 0
    for line in wanted:
        try:
            pos = have.index(line.rstrip(), pos) + 1
        except ValueError:
            missing.append(line)
    return missing


def test_the_main_lab_sample_is_its_80_column_output(default_results):
    buf = io.StringIO()
    default_results("hub-vs-switch").render(Console(file=buf, width=80, color_system=None))
    shown = [ln for ln in sample("netsim lab hub-vs-switch") if not ln.startswith("  ... (")]
    assert len(shown) > 30
    missing = in_order(shown, buf.getvalue().splitlines())
    assert not missing, "README lines the lab does not print (in this order):\n" + "\n".join(missing)


def test_the_ladder_sample_is_the_normal_variant_as_the_lab_prints_it(default_results):
    texts = dict(default_results("tcp-handshake").texts)
    ladder = next(v for k, v in texts.items() if k.startswith("normal: ladder"))
    assert sample("tcp-handshake normal ladder") == ladder.split("\n\n")[0].splitlines()


def test_the_netsim_show_sample_lines_are_in_the_capture(default_results):
    capture = next(p for p in default_results("tcp-handshake").captures if p.name == "normal.pcapng")
    lines = list(show_capture(capture))
    shown = [ln for ln in sample("netsim show normal.pcapng") if re.match(r"\s+\d+ ", ln)]
    assert shown and not in_order(shown, lines)


def test_the_python_example_runs_as_printed(tmp_path):
    script = tmp_path / "example.py"
    script.write_text("\n".join(sample("the Python example")) + "\n")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"})
    assert proc.returncode == 0, proc.stderr
    assert "b'HELLO'" in proc.stdout and "[SYN] seq=0" in proc.stdout
    assert "2 packets transmitted, 2 received" in proc.stdout
    assert (tmp_path / "captures" / "demo.pcapng").stat().st_size > 0


def test_the_labs_table_lists_every_lab():
    section = README[README.index("\n## Labs"):]
    section = section[:section.index("\n## ", 1)]
    listed = re.findall(r"^\| `([a-z-]+)` \|", section, re.M)
    assert [n for n in listed if n in labs.LABS] == list(labs.LABS)
