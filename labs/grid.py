"""Sweep a whole lab over a grid of its parameters: what ``netsim sweep LAB`` does.

``--grid loss=0,0.05,0.1 --grid blksize=512,1468 --repeat 5`` makes 3 x 2 points and runs the
lab 5 times at each, 30 runs. Each value is checked against the lab's own declaration
(:mod:`labs.params`) before anything runs. A run is one whole lab run, so it gives the lab's
tables, checks, plots and captures, with one value of each grid parameter.

Seeds: each run's seed is derived from the base seed (the lab's default, or ``--seed``), the
point's values and the repeat number (:func:`derive_seed`), so it is the same on every machine
and in every order, and two repeats of a point differ. The seed is a column of every table, so
``netsim lab LAB --loss 0.05 --blksize 512 --seed SEED`` reproduces any run on its own.

What a worker gets for a run is the lab's module name and the run's parameters
(:func:`run_lab_point`); it runs the lab in a temporary folder and sends back the files it
wrote (captures, plots) with the result, and this machine writes them under ``OUT/runs/``. So
the workers need netsim, not a shared disk, and where a run ran changes no byte.

Files in ``OUT``: ``sweep.csv`` (one row per run: grid values, repeat, seed, status, checks),
``table-N.csv`` (the lab's N-th table, the rows of every run, each prefixed by its run's grid
values and seed), the same as ``.parquet`` when pyarrow is installed, ``sweep.json`` (what was
swept), and ``runs/NNN_.../`` (each run's captures, the lab's plots, ``result.json``,
``result.txt``).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import importlib
import itertools
import json
import math
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .params import Param, ParamError
from .sweep import Outcome, code_fingerprint, run_points_outcomes

__all__ = ["Axis", "Run", "SweepReport", "parse_grid", "plan", "derive_seed", "run_lab_point",
           "sweep_lab", "describe_run", "MAX_RUNS", "MAX_REPEAT"]

MAX_RUNS = 100_000   # a typo like --repeat 50000 on a 10-point grid is refused, not started
MAX_REPEAT = 10_000
SEED_RANGE = 2 ** 31  # seeds stay small enough to type back into --seed


@dataclass(frozen=True)
class Axis:
    """One ``--grid NAME=V1,V2``: the parameter and its checked values, one per point."""

    param: Param
    values: tuple[Any, ...]   # as passed to the lab's run() ([v] for a list parameter)
    shown: tuple[Any, ...]    # one scalar each, for tables and folder names

    @property
    def name(self) -> str:
        return self.param.name


@dataclass(frozen=True)
class Run:
    """One lab run of the sweep."""

    number: int               # 1.. in sweep order
    point: int                # 1.. the grid point
    repeat: int               # 1..
    values: dict[str, Any]    # grid parameter -> shown value
    seed: int | None
    params: dict[str, Any]    # what the lab's run() gets (the seed included)
    folder: str               # under OUT/runs/


@dataclass
class SweepReport:
    """What a sweep did: its runs, each run's outcome, the files written."""

    lab: str
    runs: list[Run]
    outcomes: list[Outcome]
    files: list[Path] = field(default_factory=list)
    parquet: str = ""         # "written", or why not

    @property
    def failed(self) -> list[tuple[Run, Outcome]]:
        return [(r, o) for r, o in zip(self.runs, self.outcomes) if not o.ok]

    @property
    def checks_failed(self) -> list[Run]:
        return [r for r, o in zip(self.runs, self.outcomes)
                if o.ok and not o.value["result"]["passed"]]


# -- the grid -------------------------------------------------------------------------------

def parse_grid(mod: ModuleType, specs: list[str]) -> list[Axis]:
    """``["loss=0,0.05", "blksize=512"]`` -> one :class:`Axis` each, checked.

    Raises:
        ParamError: a malformed spec, a name the lab does not have, a name given twice, a
            value its declaration does not allow, a value listed twice (one line each).
    """
    axes: list[Axis] = []
    for spec in specs:
        name, sep, text = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise ParamError(f"--grid must be NAME=VALUE,VALUE,... like loss=0,0.05,0.1 "
                             f"(got {spec!r})")
        param = _param(mod, name)
        if any(a.name == name for a in axes):
            raise ParamError(f"--grid {name} is given twice; list all its values in one "
                             f"--grid {name}=...")
        axes.append(_axis(param, text))
    return axes


def _param(mod: ModuleType, name: str) -> Param:
    if name in mod.PARAMS:
        return mod.PARAMS[name]
    near = difflib.get_close_matches(name, mod.PARAMS, n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    raise ParamError(f"lab {mod.NAME} has no parameter {name!r}{hint}; its parameters are "
                     f"{', '.join(mod.PARAMS)}")


def _axis(param: Param, text: str) -> Axis:
    label = f"--grid {param.name}"
    items = [t.strip() for t in text.split(",")]
    if not text.strip() or any(not t for t in items):
        raise ParamError(f"{label} needs values separated by commas, like "
                         f"{param.name}={_example(param)} (got {text!r})")
    values, shown = [], []
    for item in items:
        try:
            value = param.check(item, label=label)
        except ParamError as exc:
            message = str(exc)
            if len(items) > 1 and message.endswith(")"):
                message = f"{message[:-1]} in {text.strip()})"
            raise ParamError(message, param, text) from None
        one = value[0] if param.many else value
        if one in shown:
            raise ParamError(f"{label} lists {item} twice (got {text.strip()})", param, text)
        values.append(value)
        shown.append(one)
    return Axis(param, tuple(values), tuple(shown))


def _example(param: Param) -> str:
    d = param.default
    if isinstance(d, (list, tuple)):
        return ",".join(map(str, d[:3]))
    return str(d)


def derive_seed(base: int, values: dict[str, Any], repeat: int) -> int:
    """The seed of one run: a digest of the base seed, the point's values and the repeat.

    The same on every machine and in every process (no ``hash()``, whose strings are salted
    per process), so a run gives the same result wherever and whenever it runs.
    """
    text = json.dumps([base, sorted(values.items()), repeat], default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % SEED_RANGE


def plan(mod: ModuleType, axes: list[Axis], repeat: int = 1, seed: int | None = None
         ) -> list[Run]:
    """Every run of the sweep, in order: points in grid order (the first ``--grid`` varies
    slowest), ``repeat`` runs of each.

    Raises:
        ParamError: ``repeat`` or ``seed`` not allowed, or too many runs.
    """
    names = [a.name for a in axes]
    has_seed = "seed" in mod.PARAMS
    if not 1 <= repeat <= MAX_REPEAT:
        raise ParamError(f"--repeat must be an integer from 1 to {MAX_REPEAT} (got {repeat})")
    if repeat > 1 and not has_seed:
        raise ParamError(f"lab {mod.NAME} has no seed parameter, so its repeats would all be "
                         f"the same run; use --repeat 1")
    if "seed" in names and (repeat > 1 or seed is not None):
        raise ParamError("--grid seed=... gives each run its seed; it cannot be combined with "
                         "--repeat or --seed, which derive the seeds")
    if seed is not None:
        if not has_seed:
            raise ParamError(f"lab {mod.NAME} has no seed parameter; leave out --seed")
        mod.PARAMS["seed"].check(seed, label="--seed")
    total = math.prod(len(a.values) for a in axes) * repeat
    if total > MAX_RUNS:
        raise ParamError(f"the sweep would be {total:,} runs; at most {MAX_RUNS:,} (fewer "
                         f"values or a smaller --repeat)")
    base = seed if seed is not None else (mod.PARAMS["seed"].default if has_seed else None)
    width = len(str(total))
    runs: list[Run] = []
    combos = itertools.product(*[range(len(a.values)) for a in axes])
    for point, combo in enumerate(combos, start=1):
        values = {a.name: a.shown[k] for a, k in zip(axes, combo)}
        params = {a.name: a.values[k] for a, k in zip(axes, combo)}
        for rep in range(1, repeat + 1):
            run_seed = params.get("seed")
            if has_seed and "seed" not in names:
                run_seed = derive_seed(base, values, rep)
                params = {**params, "seed": run_seed}
            number = len(runs) + 1
            runs.append(Run(number, point, rep, values, run_seed, dict(params),
                            _folder(number, width, values, rep)))
    return runs


def _folder(number: int, width: int, values: dict[str, Any], repeat: int) -> str:
    slug = "_".join(f"{k}={v}" for k, v in values.items())
    slug = re.sub(r"[^A-Za-z0-9._,=+-]+", "-", slug)[:80]
    return "_".join(filter(None, [f"{number:0{width}d}", slug, f"r{repeat}"]))


# -- one run, on whichever machine ----------------------------------------------------------

def run_lab_point(module: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run the lab ``module`` once with ``params`` in a temporary folder (on a worker).

    Returns:
        ``{"result": LabResult.to_dict() with file names relative to the folder, "text": the
        printed result, "files": {relative name: bytes}}``: the run's whole output, so the
        machine that started the sweep writes it where it belongs.
    """
    mod = importlib.import_module(module)
    with tempfile.TemporaryDirectory(prefix="netsim-sweep-") as tmp:
        result = mod.run(**params, out=tmp, jobs=1, progress=False)
        root = Path(tmp)
        files = {p.relative_to(root).as_posix(): p.read_bytes()
                 for p in sorted(root.rglob("*")) if p.is_file()}
        # The folder's random name must not reach a byte of the output.
        def rel(text: str) -> str:
            return text.replace(tmp + "/", "").replace(tmp, ".")
        data = result.to_dict()
        data["figures"] = [rel(p) for p in data["figures"]]
        data["captures"] = [rel(p) for p in data["captures"]]
        data["notes"] = [rel(n) for n in result.notes]
        return {"result": data, "text": rel(str(result)), "files": files}


# -- the sweep --------------------------------------------------------------------------------

def sweep_lab(mod: ModuleType, runs: list[Run], out: Path, axes: list[Axis], repeat: int,
              jobs: int | None = None, cluster: str | None = None, progress: bool = True,
              on_run: Callable[[Run, Outcome], None] | None = None,
              describe: Callable[[BaseException], str] | None = None) -> SweepReport:
    """Run every run (locally or on the cluster), write each run's folder as it comes back,
    then the tables. A failed run is kept, with its error, as a row of ``sweep.csv``.

    Args:
        describe: the error of a failed run as one line (the command passes netsim's
            one-line report: what, which run, which task, where in the code); default: the
            exception and its notes.
    """
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous(out)
    points = [dict(module=mod.__name__, params=r.params) for r in runs]

    def arrived(o: Outcome) -> None:
        run = runs[o.index]
        if o.ok:
            _write_run(out / "runs" / run.folder, o.value)
            o.value = {"result": o.value["result"]}  # the files are on disk now
        if on_run is not None:
            on_run(run, o)

    outcomes = run_points_outcomes(run_lab_point, points, jobs=jobs, cluster=cluster,
                                   label=f"{mod.NAME} sweep: {len(runs)} runs",
                                   progress=progress, on_outcome=arrived,
                                   name_point=lambda i: describe_run(runs[i], len(runs)))
    report = SweepReport(mod.NAME, runs, outcomes)
    _write_tables(report, out, axes, repeat, mod, describe or _error_text)
    return report


def describe_run(run: Run, total: int) -> str:
    """``run 7 of 30 (loss=0.1, blksize=512, repeat 2, seed 1234)``."""
    words = [f"{k}={v}" for k, v in run.values.items() if k != "seed"]
    words.append(f"repeat {run.repeat}")
    if run.seed is not None:
        words.append(f"seed {run.seed}")
    return f"run {run.number} of {total} ({', '.join(words)})"


def _clear_previous(out: Path) -> None:
    """Remove what an earlier sweep wrote here (its manifest lists it), so no stale run
    folder or table is mistaken for this sweep's."""
    manifest = out / "sweep.json"
    if not manifest.is_file():
        return
    try:
        old = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return
    for name in old.get("outputs", []):
        if "/" not in name and (out / name).is_file():
            (out / name).unlink()
    if (out / "runs").is_dir():
        shutil.rmtree(out / "runs")


def _write_run(folder: Path, value: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in value["files"].items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (folder / "result.json").write_text(json.dumps(value["result"], indent=2, default=str)
                                        + "\n")
    (folder / "result.txt").write_text(value["text"])


def _error_text(exc: BaseException) -> str:
    notes = [n.removeprefix("netsim: ") for n in getattr(exc, "__notes__", ())]
    return "; ".join([f"{type(exc).__name__}: {exc}", *notes])


def _write_tables(report: SweepReport, out: Path, axes: list[Axis], repeat: int,
                  mod: ModuleType, describe: Callable[[BaseException], str]) -> None:
    names = [a.name for a in axes]
    head = ["run", "point", "repeat", *[n for n in names if n != "seed"], "seed"]
    summary = [head + ["status", "checks_passed", "checks_failed", "failed_checks", "folder",
                       "error"]]
    tables: dict[tuple[int, tuple[str, ...]], dict[str, Any]] = {}
    for run, o in zip(report.runs, report.outcomes):
        key = [run.number, run.point, run.repeat, *[run.values[n] for n in names if n != "seed"],
               run.seed]
        if not o.ok:
            summary.append(key + ["failed", 0, 0, "", "", " ".join(describe(o.error).split())])
            continue
        res = o.value["result"]
        bad = [c["name"] for c in res["checks"] if not c["passed"]]
        summary.append(key + ["ok", len(res["checks"]) - len(bad), len(bad), "; ".join(bad),
                              f"runs/{run.folder}", ""])
        for i, t in enumerate(res["tables"], start=1):
            entry = tables.setdefault((i, tuple(t["columns"])),
                                      {"title": t["title"], "rows": []})
            entry["rows"].extend(key + list(row) for row in t["rows"])
    outputs = {"sweep": summary}
    seen: dict[int, int] = {}
    listing = []
    for (i, columns), entry in tables.items():
        seen[i] = seen.get(i, 0) + 1
        # A lab whose i-th table has other columns at other values gets table-3b, table-3c.
        stem = f"table-{i}" + ("" if seen[i] == 1 else chr(ord("a") + seen[i] - 1))
        cols = head + [c if c not in head else f"{c} (table)" for c in columns]
        outputs[stem] = [cols, *entry["rows"]]
        listing.append({"file": f"{stem}.csv", "title": entry["title"], "columns": cols})
    for stem, rows in outputs.items():
        with open(out / f"{stem}.csv", "w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows([[_cell(v) for v in r] for r in rows])
        report.files.append(out / f"{stem}.csv")
    report.parquet = _parquet(out, outputs)
    if report.parquet == "written":
        report.files += [out / f"{stem}.parquet" for stem in outputs]
    manifest = {"lab": mod.NAME, "module": mod.__name__,
                "grid": {a.name: list(a.shown) for a in axes}, "repeat": repeat,
                "runs": len(report.runs), "failed": len(report.failed),
                "netsim_code": code_fingerprint(), "tables": listing,
                "outputs": ["sweep.json", *[p.name for p in report.files]]}
    (out / "sweep.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    report.files.insert(0, out / "sweep.json")


def _cell(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return ""
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, default=str)
    return v


def _parquet(out: Path, outputs: dict[str, list[list[Any]]]) -> str:
    """Write each table as Parquet too; "written", or why not."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return "not written: pyarrow is not installed (pip install pyarrow)"
    for stem, rows in outputs.items():
        table = pa.table({name: _arrow_column(pa, [r[i] for r in rows[1:]])
                          for i, name in enumerate(rows[0])})
        pq.write_table(table, out / f"{stem}.parquet", compression="zstd")
    return "written"


def _arrow_column(pa, values: list[Any]):
    """One typed column: integers, numbers, yes/no, else text (a cell of another type in a
    column of numbers, such as a failed run's empty cells, makes it text)."""
    real = [v for v in values if v is not None and v != ""]
    if real and all(isinstance(v, bool) for v in real):
        return pa.array([v if isinstance(v, bool) else None for v in values], pa.bool_())
    if real and all(isinstance(v, int) and not isinstance(v, bool) for v in real):
        return pa.array([v if isinstance(v, int) else None for v in values], pa.int64())
    if real and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in real):
        return pa.array([float(v) if isinstance(v, (int, float)) else None for v in values],
                        pa.float64())
    return pa.array([None if v is None else str(_cell(v)) for v in values], pa.string())
