"""Sweeps on a ``dask.distributed`` cluster give what ``--jobs 1`` gives, and lose nothing.

One LocalCluster of 2 worker processes (one thread each, as the README tells a teacher to
start them) serves the whole file. Dask is in the test extra; without it these tests are
skipped, and fail under NETSIM_REQUIRE_TOOLS=1.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

import pytest

import labs
from labs import cluster as dask_backend
from labs.sweep import ENV_SCHEDULER, call_point, on_cluster, run_points, run_points_outcomes
from netsim.cli import describe_failure, main


def _require_dask():
    try:
        import distributed
    except ImportError:
        reason = "dask.distributed is not installed (pip install -e '.[test]')"
        if os.environ.get("NETSIM_REQUIRE_TOOLS") == "1":
            pytest.fail(reason + " and NETSIM_REQUIRE_TOOLS=1", pytrace=False)
        pytest.skip(reason)
    return distributed


@pytest.fixture(scope="module")
def scheduler():
    distributed = _require_dask()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.CRITICAL) as c:
        yield c.scheduler_address


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.setitem(labs.LABS, "sweep-demo", "tests.labs.sweep_demo_lab")


def netsim(*args: str) -> int:
    try:
        return main.main(list(args), standalone_mode=False)
    except SystemExit as exc:
        return exc.code


def tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# Point functions: module-level, so that they go to the workers by reference.

def square(i: int, marker: str) -> int:
    return i * i


def square_or_die(i: int, marker: str) -> int:
    """Kills its own worker process the first time it runs point 2 (the marker file says
    whether it did already): a worker lost mid-sweep, as when a machine goes away."""
    m = Path(marker)
    if i == 2 and not m.exists():
        m.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return i * i


def divide(i: int, by: int) -> float:
    return i / by


def worker_address() -> str | None:
    """Where this ran: a Dask worker's address, or None (this machine's process pool)."""
    from distributed import get_worker
    try:
        return get_worker().address
    except ValueError:
        return None


# -- the results are the same -------------------------------------------------------------

def test_a_lab_sweep_on_the_cluster_gives_the_rows_and_captures_of_one_job(scheduler, tmp_path):
    params = dict(hosts=[2, 3], load=[0.5, 1.2], duration="0.05s", progress=False)
    with on_cluster(scheduler):
        there = labs.run("hub-vs-switch", out=tmp_path / "cluster", **params)
    here = labs.run("hub-vs-switch", jobs=1, out=tmp_path / "one", **params)
    assert [t.rows for t in there.tables] == [t.rows for t in here.tables]
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in here.captures]
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in there.captures] == digest


def test_netsim_sweep_on_the_cluster_writes_the_bytes_of_jobs_1(scheduler, tmp_path):
    args = ["sweep", "tftp-transfer", "--grid", "loss=0,0.1", "--grid", "size=2000",
            "--grid", "windowsize=1,8", "--repeat", "2"]
    assert netsim(*args, "--cluster", scheduler, "--out", str(tmp_path / "cluster")) == 0
    assert netsim(*args, "--jobs", "1", "--out", str(tmp_path / "one")) == 0
    there, here = tree(tmp_path / "cluster"), tree(tmp_path / "one")
    assert len([n for n in here if n.endswith(".pcapng")]) == 8
    assert there == here


def test_netsim_lab_cluster_prints_what_jobs_1_prints(scheduler, tmp_path, capsys):
    args = ["lab", "hub-vs-switch", "--hosts", "2", "--load", "0.5,1.0", "--duration", "0.03s",
            "--json"]
    runs = []
    for where in (["--cluster", scheduler], ["--jobs", "1"]):
        netsim(*args, *where, "--out", str(tmp_path / where[0].strip("-")))
        result = json.loads(capsys.readouterr().out)
        runs.append((result["tables"], result["passed"]))
    assert runs[0] == runs[1]
    assert tree(tmp_path / "cluster") == tree(tmp_path / "jobs")


def test_the_progress_bar_follows_the_futures(scheduler, monkeypatch):
    seen = []

    class Recorder:
        def __init__(self, label, total, enabled):
            seen.append(("start", label, total))

        def __enter__(self):
            return self

        def advance(self):
            seen.append("advance")

        def __exit__(self, *exc):
            seen.append("end")

    monkeypatch.setattr("labs.sweep._Progress", Recorder)
    run_points(square, [dict(i=i, marker="") for i in range(5)], cluster=scheduler,
               label="squares")
    assert seen == [("start", f"squares on {scheduler}", 5), *["advance"] * 5, "end"]


def test_the_environment_variable_names_the_cluster_and_jobs_keeps_the_pool(scheduler,
                                                                            monkeypatch):
    monkeypatch.setenv(ENV_SCHEDULER, scheduler)
    points = [dict() for _ in range(3)]
    assert all(run_points(worker_address, points, progress=False))
    assert run_points(worker_address, points, jobs=2, progress=False) == [None] * 3


# -- nothing is lost ---------------------------------------------------------------------------

def test_a_worker_killed_mid_sweep_loses_and_duplicates_nothing(scheduler, tmp_path):
    marker = tmp_path / "killed"
    points = [dict(i=i, marker=str(marker)) for i in range(8)]
    arrived: list[int] = []
    outcomes = run_points_outcomes(square_or_die, points, cluster=scheduler, progress=False,
                                   on_outcome=lambda o: arrived.append(o.index))
    assert marker.exists()  # a worker did die running point 2, and the point ran again
    assert sorted(arrived) == list(range(8))  # each point's result taken once
    assert [o.ok for o in outcomes] == [True] * 8
    assert [o.value for o in outcomes] == run_points(square, points, jobs=1, progress=False)


def test_a_failed_point_is_reported_by_its_parameters_and_the_others_kept(scheduler):
    points = [dict(i=i, by=0 if i == 2 else 1) for i in range(4)]
    outcomes = run_points_outcomes(divide, points, cluster=scheduler, progress=False)
    assert [o.value for o in outcomes if o.ok] == [0.0, 1.0, 3.0]
    (bad,) = [o for o in outcomes if not o.ok]
    line = describe_failure(bad.error)
    assert "ZeroDivisionError" in line and "sweep point 3 of 4 (i=2, by=0)" in line
    assert "test_sweep_cluster.py" in line and "(divide)" in line  # the worker's own frame
    with pytest.raises(ZeroDivisionError) as caught:
        run_points(divide, points, cluster=scheduler, progress=False)
    assert "sweep point 3 of 4 (i=2, by=0)" in describe_failure(caught.value)


def test_netsim_sweep_on_the_cluster_reports_failed_runs(scheduler, demo, tmp_path, capsys):
    assert netsim("sweep", "sweep-demo", "--grid", "by=1,0,3", "--cluster", scheduler,
                  "--out", str(tmp_path)) == 3
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("failed:")]
    assert len(err) == 1 and "run 2 of 3 (by=0, repeat 1, seed" in err[0]
    assert "raised in task 'receiver' on b" in err[0]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["1_by=1_r1", "3_by=3_r1"]


# -- what a worker refuses, and what the client says ----------------------------------------

def test_a_worker_with_other_netsim_code_refuses_the_point():
    with pytest.raises(RuntimeError, match="install the same netsim on every worker"):
        call_point(square, dict(i=1, marker=""), fingerprint="0" * 12)


def test_without_dask_the_message_says_how_to_install_it(demo, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(dask_backend.ClusterError, match=r"pip install 'netsim\[cluster\]'"):
        dask_backend.require_dask()
    assert netsim("sweep", "sweep-demo", "--cluster", "tcp://127.0.0.1:8786",
                  "--out", str(tmp_path)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["Error: --cluster needs Dask (distributed is not installed): "
                   "pip install 'netsim[cluster]'"]
    assert netsim("lab", "sweep-demo", "--cluster", "tcp://127.0.0.1:8786") == 2
    monkeypatch.setenv(ENV_SCHEDULER, "tcp://127.0.0.1:8786")
    assert netsim("sweep", "sweep-demo", "--out", str(tmp_path)) == 2
    assert "NETSIM_DASK_SCHEDULER needs Dask" in capsys.readouterr().err
