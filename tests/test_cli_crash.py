"""An unexpected error in a lab or a topology program is one line, exit status 3.

The line says what failed, in which task on which host, at what virtual time, and where in the
code; ``--debug`` (or ``NETSIM_DEBUG=1``) adds the full traceback. The failing lab is
tests/cli_boom_lab.py, registered for the run only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from netsim.cli import main

REPO = Path(__file__).resolve().parent.parent
WITH_BOOM = ("import labs; labs.LABS['boom'] = 'tests.cli_boom_lab'; "
             "from netsim.cli import main; main()")


def line_of(text: str) -> int:
    """The line of tests/cli_boom_lab.py that holds ``text`` (where the failure is raised)."""
    lines = (REPO / "tests" / "cli_boom_lab.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


DIVIDE, RAISE = line_of("return 1 / by"), line_of("raise KeyError")


def netsim_with_boom(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "NETSIM_DEBUG"}
    full.update(PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run([sys.executable, "-c", WITH_BOOM, *args], capture_output=True,
                          text=True, timeout=120, env=full, cwd=cwd)


@pytest.mark.parametrize(("where", "words"), [
    ("task", ["lab boom failed: ZeroDivisionError: division by zero",
              "raised in task 'divider' on h1 at t=5.000ms", f"tests/cli_boom_lab.py:{DIVIDE} (_divide)"]),
    ("worker", ["ZeroDivisionError", "raised in task 'divider' on h1 at t=5.000ms",
                "sweep point 2 of 2 (i=1, by=0)", f"tests/cli_boom_lab.py:{DIVIDE} (_divide)"]),
    ("lab", ["KeyError: 'a key the lab expected'", f"tests/cli_boom_lab.py:{RAISE} (run)"]),
])
def test_an_unexpected_error_is_one_line_naming_task_host_time_and_code(tmp_path, where, words):
    proc = netsim_with_boom("lab", "boom", "--where", where, "--out", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert lines[0].endswith("(--debug shows the traceback)")


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback_then_the_line(tmp_path, how):
    args = ["lab", "boom", "--where", "worker", "--out", str(tmp_path)]
    if how == "flag":
        proc = netsim_with_boom(*args, "--debug", cwd=tmp_path)
    else:
        proc = netsim_with_boom(*args, env={"NETSIM_DEBUG": "1"}, cwd=tmp_path)
    assert proc.returncode == 3
    assert "Traceback (most recent call last)" in proc.stderr
    assert f'cli_boom_lab.py", line {DIVIDE}, in _divide' in proc.stderr  # the worker's own frames
    assert proc.stderr.strip().splitlines()[-1].startswith("Error: lab boom failed:")


def test_a_topology_program_that_crashes_is_one_line(tmp_path, monkeypatch):
    from netsim.topo import programs

    def broken(host, out, **params):
        host.sleep(0.002)
        raise RuntimeError("a bug in a program")

    monkeypatch.setitem(programs.PROGRAMS, "udp_send",
                        programs.Program("udp_send", broken, "broken",
                                         programs.PROGRAMS["udp_send"].params))
    topo = tmp_path / "t.yaml"
    topo.write_text("nodes:\n  a: {kind: host, ip: 10.0.0.1/24}\n  b: {kind: host, ip: 10.0.0.2/24}\n"
                    "links:\n  - {a: a, b: b}\nprograms:\n"
                    "  - {host: a, run: udp_send, target: b, port: 9, at: 1ms}\n")
    result = CliRunner().invoke(main, ["run", str(topo), "--out", str(tmp_path / "out")])
    assert result.exit_code == 3
    line, = result.stderr.strip().splitlines()
    assert f"netsim run {topo} failed: RuntimeError: a bug in a program" in line
    assert "raised in task 'udp_send#1' on a at t=3.000ms" in line
    assert "test_cli_crash.py" in line and "(broken)" in line
