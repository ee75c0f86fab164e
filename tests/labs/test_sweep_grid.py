"""``netsim sweep LAB --grid ... --repeat N``: the grid, the seeds, the tables, the errors.

Runs on this machine (``--jobs``); the same sweep on a Dask cluster is in
test_sweep_cluster.py. The small lab is tests/labs/sweep_demo_lab.py, registered per test.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import labs
from labs import grid
from labs.params import ParamError
from netsim.cli import main

REPO = Path(__file__).resolve().parents[2]
DEMO = "tests.labs.sweep_demo_lab"


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.setitem(labs.LABS, "sweep-demo", DEMO)
    return labs.load("sweep-demo")


def netsim(*args: str) -> int:
    """Run the command in this process; its exit status."""
    try:
        return main.main(list(args), standalone_mode=False)
    except SystemExit as exc:
        return exc.code


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder``, by relative name: its sha256."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# -- the grid and the seeds -------------------------------------------------------------------

def test_the_grid_is_every_combination_first_grid_slowest_with_repeats(demo):
    axes = grid.parse_grid(demo, ["by=1,3", "size=10,20,30"])
    runs = grid.plan(demo, axes, repeat=2)
    assert len(runs) == 2 * 3 * 2
    assert [(r.values["by"], r.values["size"], r.repeat) for r in runs[:4]] == \
        [(1, 10, 1), (1, 10, 2), (1, 20, 1), (1, 20, 2)]
    assert [r.point for r in runs] == [p for p in range(1, 7) for _ in range(2)]
    assert [r.number for r in runs] == list(range(1, 13))
    assert len({r.folder for r in runs}) == 12


def test_a_list_parameter_gets_one_value_per_point(monkeypatch):
    mod = labs.load("tftp-transfer")
    (axis,) = grid.parse_grid(mod, ["loss=0,0.05"])
    assert axis.values == ([0.0], [0.05]) and axis.shown == (0.0, 0.05)


def test_seeds_differ_per_point_and_repeat_and_follow_the_base_seed(demo):
    axes = grid.parse_grid(demo, ["by=1,3"])
    runs = grid.plan(demo, axes, repeat=3)
    seeds = [r.seed for r in runs]
    assert len(set(seeds)) == len(seeds)
    assert all(r.params["seed"] == r.seed for r in runs)
    assert [r.seed for r in grid.plan(demo, axes, repeat=3)] == seeds
    assert [r.seed for r in grid.plan(demo, axes, repeat=3, seed=7)] != seeds


def test_seeds_do_not_depend_on_the_process(demo):
    """No salted hash(): another interpreter with another PYTHONHASHSEED derives the same."""
    code = ("import labs; from labs import grid; labs.LABS['sweep-demo'] = "
            f"'{DEMO}'; m = labs.load('sweep-demo'); "
            "print([r.seed for r in grid.plan(m, grid.parse_grid(m, ['by=1,3']), repeat=2)])")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=60, check=True).stdout
    here = [r.seed for r in grid.plan(demo, grid.parse_grid(demo, ["by=1,3"]), repeat=2)]
    assert out.strip() == str(here)


def test_a_grid_of_seeds_is_used_as_given(demo):
    runs = grid.plan(demo, grid.parse_grid(demo, ["seed=4,9"]))
    assert [r.seed for r in runs] == [4, 9]


@pytest.mark.parametrize(("args", "words"), [
    (["--grid", "by"], "--grid must be NAME=VALUE,VALUE"),
    (["--grid", "=1"], "--grid must be NAME=VALUE,VALUE"),
    (["--grid", "bye=1"], "has no parameter 'bye' (did you mean by?)"),
    (["--grid", "by=1,x"], "--grid by must be an integer from 0 to 100 (got x in 1,x)"),
    (["--grid", "by=101"], "--grid by must be an integer from 0 to 100 (got 101)"),
    (["--grid", "by=1,,2"], "--grid by needs values separated by commas"),
    (["--grid", "by="], "--grid by needs values separated by commas"),
    (["--grid", "by=1,1"], "--grid by lists 1 twice"),
    (["--grid", "by=1", "--grid", "by=2"], "--grid by is given twice"),
    (["--grid", "seed=1,2", "--repeat", "2"], "cannot be combined with --repeat or --seed"),
    (["--grid", "seed=1,2", "--seed", "3"], "cannot be combined with --repeat or --seed"),
    (["--repeat", "0"], "--repeat must be an integer from 1 to"),
    (["--repeat", "x"], "--repeat must be"),
    (["--seed", "-1"], "--seed must be an integer >= 0"),
    (["--grid", "by=0,1,2,3,4,5,6,7,8,9,10", "--repeat", "10000"],
     "the sweep would be 110,000 runs; at most 100,000"),
    (["--jobs", "0"], "--jobs must be"),
    (["--jobs", "2", "--cluster", "tcp://127.0.0.1:8786"], "give one of them"),
    (["--cluster", "not an address"], "--cluster must be a Dask scheduler address"),
    (["--cluster", "tcp://host:99999"], "--cluster must be a Dask scheduler address"),
])
def test_bad_sweep_input_is_one_line_and_exit_2(demo, tmp_path, capsys, args, words):
    code = netsim("sweep", "sweep-demo", "--out", str(tmp_path), *args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and words in err[0], err
    assert not (tmp_path / "sweep.csv").exists()


def test_an_unknown_lab_is_one_line(capsys):
    assert netsim("sweep", "tftp-transfr") == 2
    assert "did you mean 'tftp-transfer'?" in capsys.readouterr().err


def test_a_bad_address_in_the_environment_names_the_variable(demo, tmp_path, capsys,
                                                               monkeypatch):
    monkeypatch.setenv("NETSIM_DASK_SCHEDULER", "::nonsense")
    assert netsim("sweep", "sweep-demo", "--out", str(tmp_path)) == 2
    assert "NETSIM_DASK_SCHEDULER must be a Dask scheduler address" in capsys.readouterr().err


def test_a_repeat_without_a_seed_parameter_is_refused(monkeypatch):
    class NoSeed:
        NAME = "no-seed"
        PARAMS = {}
    with pytest.raises(ParamError, match="has no seed parameter"):
        grid.plan(NoSeed, [], repeat=2)


# -- the sweep ----------------------------------------------------------------------------------

def test_the_tables_hold_every_run_and_the_runs_hold_their_files(demo, tmp_path):
    out = tmp_path / "s"
    assert netsim("sweep", "sweep-demo", "--grid", "by=1,3", "--grid", "size=10,20",
                  "--repeat", "2", "--jobs", "1", "--out", str(out)) == 0
    runs = read_csv(out / "sweep.csv")
    assert [(r["by"], r["size"], r["repeat"]) for r in runs[:3]] == \
        [("1", "10", "1"), ("1", "10", "2"), ("1", "20", "1")]
    assert len(runs) == 8 and {r["status"] for r in runs} == {"ok"}
    rows = read_csv(out / "table-1.csv")
    assert [r["run"] for r in rows] == [str(i) for i in range(1, 9)]
    # The lab's own columns, after the run's: the payload size it measured is the grid's.
    assert all(r["bytes"] == r["size"] for r in rows)
    assert all(r["quotient"] == str(100 // int(r["by"])) for r in rows)
    for r in runs:
        folder = out / r["folder"]
        assert (folder / "demo.pcapng").stat().st_size > 0
        saved = json.loads((folder / "result.json").read_text())
        assert saved["params"]["seed"] == int(r["seed"]) and saved["captures"] == ["demo.pcapng"]
        assert "sweep-demo" in (folder / "result.txt").read_text()
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["grid"] == {"by": [1, 3], "size": [10, 20]} and manifest["runs"] == 8


def test_jobs_1_and_jobs_2_write_the_same_bytes(demo, tmp_path):
    args = ["sweep", "sweep-demo", "--grid", "by=1,3,4", "--repeat", "2"]
    assert netsim(*args, "--jobs", "1", "--out", str(tmp_path / "one")) == 0
    assert netsim(*args, "--jobs", "2", "--out", str(tmp_path / "two")) == 0
    one, two = tree(tmp_path / "one"), tree(tmp_path / "two")
    assert len([n for n in one if n.endswith(".pcapng")]) == 6
    assert one == two


def test_a_run_is_reproduced_by_the_lab_with_its_row_seed(tmp_path):
    """The seed column is enough to get any run again with ``netsim lab``."""
    out = tmp_path / "s"
    assert netsim("sweep", "tftp-transfer", "--grid", "loss=0.1", "--grid", "size=3000",
                  "--grid", "windowsize=1", "--grid", "blksize=512", "--repeat", "2",
                  "--jobs", "1", "--out", str(out)) == 0
    row = read_csv(out / "sweep.csv")[1]
    alone = labs.run("tftp-transfer", loss=[0.1], size=3000, windowsize=[1], blksize=[512],
                     seed=int(row["seed"]), out=tmp_path / "alone", jobs=1, progress=False)
    assert alone.captures[0].read_bytes() == (out / row["folder"] / "transfer.pcapng").read_bytes()
    first = read_csv(out / "sweep.csv")[0]
    assert first["seed"] != row["seed"]


def test_failed_runs_are_rows_named_by_their_parameters(demo, tmp_path, capsys):
    out = tmp_path / "s"
    code = netsim("sweep", "sweep-demo", "--grid", "by=1,0,2", "--jobs", "2", "--out", str(out))
    captured = capsys.readouterr()
    assert code == 3  # a run failed (that outranks the failed check of by=2)
    runs = read_csv(out / "sweep.csv")
    assert [r["status"] for r in runs] == ["ok", "failed", "ok"]
    failed = runs[1]
    for words in ("ZeroDivisionError", "run 2 of 3 (by=0, repeat 1, seed ",
                  "raised in task 'receiver' on b", "sweep_demo_lab.py"):
        assert words in failed["error"], failed["error"]
    assert [r["checks_failed"] for r in runs] == ["0", "0", "1"]
    assert runs[2]["failed_checks"] == "the quotient is not 50"
    err = [line for line in captured.err.splitlines() if line.startswith("failed:")]
    assert len(err) == 1 and "run 2 of 3 (by=0" in err[0]
    assert "check failed: run 3 of 3 (by=2" in captured.out
    assert not (out / "runs" / "2_by=0_r1").exists()


def test_a_check_that_fails_is_exit_1(demo, tmp_path):
    assert netsim("sweep", "sweep-demo", "--grid", "by=2", "--jobs", "1",
                  "--out", str(tmp_path)) == 1


def test_a_new_sweep_clears_the_last_ones_runs(demo, tmp_path):
    assert netsim("sweep", "sweep-demo", "--grid", "by=1,3", "--jobs", "1",
                  "--out", str(tmp_path)) == 0
    assert netsim("sweep", "sweep-demo", "--grid", "size=5", "--jobs", "1",
                  "--out", str(tmp_path)) == 0
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["1_size=5_r1"]


def test_parquet_tables_match_the_csv(demo, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    assert netsim("sweep", "sweep-demo", "--grid", "by=1,0", "--repeat", "2", "--jobs", "1",
                  "--out", str(tmp_path)) == 3
    for stem in ("sweep", "table-1"):
        table = pq.read_table(tmp_path / f"{stem}.parquet")
        rows = read_csv(tmp_path / f"{stem}.csv")
        assert table.column_names == list(rows[0])
        assert table.num_rows == len(rows)
    sweep = pq.read_table(tmp_path / "sweep.parquet").to_pylist()
    assert [r["status"] for r in sweep] == ["ok", "ok", "failed", "failed"]
    assert isinstance(sweep[0]["seed"], int) and sweep[0]["by"] == 1


def test_without_pyarrow_the_csv_is_written_and_the_summary_says_so(demo, tmp_path, capsys,
                                                                    monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert netsim("sweep", "sweep-demo", "--jobs", "1", "--out", str(tmp_path)) == 0
    assert (tmp_path / "sweep.csv").exists() and not (tmp_path / "sweep.parquet").exists()
    assert "Parquet not written: pyarrow is not installed" in capsys.readouterr().out
