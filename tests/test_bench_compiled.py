"""benchmarks/compiled.py and benchmarks/pypy_check.py (issue 16): their arguments, their pure
paths on tiny workloads, and that their checks can fail. No speed is asserted here; the
compiled builds themselves take minutes and are not run (the benchmark reports them)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPILED = ROOT / "benchmarks" / "compiled.py"
PYPY_CHECK = ROOT / "benchmarks" / "pypy_check.py"


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem + "_under_test", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("args, says", [
    (["--variants", "pure,bogus"], "--variants 'pure,bogus': choose from pure,cython"),
    (["--workloads", "udp,nope"], "--workloads 'udp,nope': choose from udp,tcp,flat,codec"),
    (["--rounds", "0"], "--rounds must be at least 1"),
    (["--udp-datagrams", "8"], "--udp-datagrams must be at least 32"),
    (["--variants", "cython"], "--variants must include pure"),
    (["--build-dir", str(ROOT / "netsim" / "x")], "must be outside the source package"),
    (["--rounds", "x"], "argument --rounds: invalid int value: 'x'"),
])
def test_compiled_argument_errors_are_one_line(args, says):
    proc = subprocess.run([sys.executable, str(COMPILED), *args], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("compiled.py: error: ") and says in lines[0], lines[0]


def test_compiled_pure_path_runs_tiny_workloads_and_flags_a_copy_that_differs(tmp_path,
                                                                               capsys):
    compiled = _load(COMPILED)
    tiny = ["--rounds", "1", "--udp-datagrams", "64", "--tcp-mib", "1", "--flat-hosts", "4",
            "--codec-frames", "2000", "--build-dir", str(tmp_path)]
    compiled.main(["--variants", "pure", *tiny])
    out = capsys.readouterr().out
    assert "pure" in out and "same as pure" in out
    for row in ("udp (64 datagrams)", "tcp (1 MiB)", "flat (4 hosts)", "codec (2000 enc+dec)"):
        line = next(ln for ln in out.splitlines() if ln.startswith(row))
        assert float(line.split()[-1]) > 0, line      # a wall time was measured
    # A "compiled" copy whose behaviour differs (a 1 us longer switch latency) must be
    # reported as different and get no speedup, whatever its speed.
    fake = tmp_path / "cython"
    shutil.copytree(tmp_path / "pure", fake)
    switch = fake / "netsim" / "devices" / "switch.py"
    text = switch.read_text()
    assert 'latency: str | float = "5us"' in text
    switch.write_text(text.replace('latency: str | float = "5us"', 'latency: str | float = "6us"'))
    args = compiled.parse_args(["--variants", "pure,cython", "--workloads", "udp", *tiny])
    assert compiled.check_identical(args, ["pure", "cython"]) == ["pure"]
    compiled.timing(args, ["pure"])
    out = capsys.readouterr().out
    assert "cython" in out and "DIFFERENT from pure" in out
    assert "x cython" not in out                        # left out of the timing table


def test_compiled_fingerprint_sees_a_different_run():
    compiled = _load(COMPILED)
    from netsim import Network

    def net(latency):
        n = Network(seed=1, trace=False)
        sw = n.add_switch("s1", latency=latency)
        a, b = n.add_host("a"), n.add_host("b")
        n.link(a, sw)
        n.link(b, sw)
        a.set_ip("10.0.0.1/24")
        b.set_ip("10.0.0.2/24")
        a.spawn_with_host(lambda h: h.ping("10.0.0.2", count=1))
        n.run()
        return n

    same = compiled._fingerprint([net("5us")])
    assert same == compiled._fingerprint([net("5us")])
    assert same != compiled._fingerprint([net("6us")])


def test_pypy_check_argument_errors_are_one_line():
    for args, says in ((["--rounds", "0"], "--rounds must be at least 1"),
                       (["--figures", "kernel,x"], "--figures 'kernel,x': choose from"),
                       (["--pypy", "/nonexistent/pypy3"], "not found")):
        proc = subprocess.run([sys.executable, str(PYPY_CHECK), *args], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 2
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and says in lines[0], proc.stderr


def test_pypy_census_finds_the_features_newer_than_39():
    check = _load(PYPY_CHECK)
    names, features = check.collect()
    # netsim/stack/tcp/config.py is where PyPy 3.9's import of the TCP stack stops
    slots = features["dataclass(slots=...) (3.10)"]
    assert any(s.startswith("netsim/stack/tcp/config.py:") for s in slots)
    assert any(s.startswith("netsim/stack/socket.py:") for s in names["socket.MSG_NOSIGNAL"])
    assert "enum.StrEnum" in names


def test_pypy_figures_workloads_do_their_work_on_this_interpreter():
    check = _load(PYPY_CHECK)
    assert check.work_l2(300) == 300
    assert check.work_kernel(4000) > 4000
    assert check.work_codec(5) == 5
