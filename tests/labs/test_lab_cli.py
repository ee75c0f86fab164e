"""The `netsim lab` command as a student types it: in a subprocess for full runs, through
click's runner for help and errors (the same code, without a Python start-up each)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

import labs
from netsim.cli import main


def netsim_inline(*args: str):
    """Run the CLI in this process; returns click's Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "120"})


def netsim(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="120", PYTHONPATH=os.getcwd())
    return subprocess.run([sys.executable, "-m", "netsim.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=cwd)


def test_lab_list_names_every_written_lab_with_its_summary():
    proc = netsim("lab", "list")  # the real command, once
    assert proc.returncode == 0, proc.stderr
    for name, mod in labs.available().items():
        assert name in proc.stdout
        assert mod.SUMMARY[:25] in proc.stdout


def test_hub_vs_switch_from_the_command_line_prints_the_table_and_writes_files(tmp_path):
    out = tmp_path / "hvs"
    proc = netsim("lab", "hub-vs-switch", "--hosts", "2,3", "--load", "0.3,0.9", "--duration",
                  "0.05s", "--out", str(out), "--jobs", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Sweep, hub: one shared half-duplex wire" in proc.stdout
    assert "Sweep, switch: a full-duplex link for each host" in proc.stdout
    assert "PASS" in proc.stdout and "FAIL" not in proc.stdout
    assert (out / "hub-vs-switch.png").stat().st_size > 0
    assert {p.name for p in out.glob("*.pcapng")} == {"hub.pcapng", "switch.pcapng",
                                                      "hub-saturated.pcapng"}


@pytest.mark.parametrize("name", [n for n in labs.LABS if n in labs.available()])
def test_lab_help_lists_its_parameters(name):
    proc = netsim_inline("lab", name, "--help")
    assert proc.exit_code == 0, proc.output
    mod = labs.load(name)
    for pname in mod.PARAMS:
        assert f"--{pname.replace('_', '-')}" in proc.stdout
    assert "--out" in proc.stdout


def test_an_unknown_parameter_is_a_clear_error_with_a_hint():
    proc = netsim_inline("lab", "udp-broadcast", "--host", "3")
    assert proc.exit_code == 2
    assert "has no parameter --host" in proc.stderr
    assert "did you mean --hosts?" in proc.stderr


def test_an_unknown_lab_is_a_clear_error_with_a_hint():
    proc = netsim_inline("lab", "udp-broadcasts")
    assert proc.exit_code == 2
    assert "no lab named 'udp-broadcasts'" in proc.stderr and "udp-broadcast" in proc.stderr


def test_a_small_concurrent_server_run_from_the_command_line(tmp_path):
    proc = netsim("lab", "concurrent-server", "--clients", "3", "--workers", "2",
                  "--sweep", "1,3", "--service", "20ms", "--out", str(tmp_path), "--jobs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "worker pool (K=2)" in proc.stdout
    assert (tmp_path / "makespan-vs-n.png").exists() and (tmp_path / "completion-times.png").exists()
