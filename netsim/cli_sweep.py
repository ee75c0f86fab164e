"""``netsim sweep LAB``: run a lab over a grid of its parameters, here or on a Dask cluster.

The machinery is :mod:`labs.grid` (the grid, the seeds, the tables) and :mod:`labs.sweep`
(where the runs go); this module is the command line: options, one-line errors, the summary.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = ["sweep_cli"]

FAILURES_SHOWN = 10
EXIT_CHECK_FAILED, EXIT_CRASH = 1, 3  # netsim's exit statuses (netsim.cli's docstring)


def _check(make_param, value: str | None, label: str):
    """``value`` through its declaration (labs.params), or a one-line usage error."""
    if value is None:
        return None
    from labs.params import ParamError
    try:
        return make_param().check(value, label=label)
    except ParamError as exc:
        raise click.UsageError(str(exc)) from None


def _repeat_param():
    from labs.grid import MAX_REPEAT
    from labs.params import Param
    return Param("repeat", int, 1, min=1, max=MAX_REPEAT, help="runs of each point")


def _seed_param():
    from labs.params import Param
    return Param("seed", int, 1, min=0, help="base seed")


def _jobs_param():
    from labs.params import Param
    return Param("jobs", int, 1, min=1, help="local worker processes")


_made: list[click.Command] = []


def sweep_cli(context: dict[str, Any], debug_option: Callable, make_folder: Callable,
              describe_failure: Callable[[BaseException], str],
              doing: Callable[[str], None]) -> click.Command:
    """The ``netsim sweep`` command, made once. :mod:`netsim.cli` owns and passes in what it
    shares with every command: its context settings, ``--debug``, the ``--out`` folder check,
    the one-line report of an exception, and ``doing(text)`` (what that report names)."""
    if not _made:
        _made.append(_command(context, debug_option, make_folder, describe_failure, doing))
    return _made[0]


def _command(context, debug_option, make_folder, describe_failure, doing) -> click.Command:
    @click.command("sweep", context_settings=context)
    @click.argument("lab_name", metavar="LAB")
    @click.option("--grid", "grids", multiple=True, metavar="NAME=V1,V2,...",
                  help="A lab parameter and the values to sweep it over (repeatable: the grid "
                       "is every combination). Values are checked as `netsim lab LAB --help` "
                       "says.")
    @click.option("--repeat", default=None, metavar="N",
                  help="Runs of each point, each with its own derived seed (default 1).")
    @click.option("--seed", default=None, metavar="N",
                  help="Base seed the runs' seeds are derived from (default: the lab's).")
    @click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Folder for the tables and the runs (default: captures/LAB-sweep).")
    @click.option("--jobs", default=None, metavar="N",
                  help="Local worker processes (default: one per core, or the cluster of "
                       "NETSIM_DASK_SCHEDULER when it is set).")
    @click.option("--cluster", default=None, metavar="ADDRESS",
                  help="Run on this Dask scheduler, e.g. tcp://scheduler:8786 (default: "
                       "NETSIM_DASK_SCHEDULER; needs pip install 'netsim[cluster]').")
    def sweep_cmd(lab_name: str, grids: tuple[str, ...], repeat: str | None, seed: str | None,
                  out: Path | None, jobs: str | None, cluster: str | None) -> None:
        """Run a lab once for every combination of the --grid values, --repeat times each.

        Every run is a whole lab run (its tables, checks, plots and captures) with its own
        seed, derived from the point and the repeat: the same wherever it runs. The results
        go to OUT/sweep.csv (one row per run), OUT/table-N.csv (the lab's tables, every run's
        rows), Parquet copies when pyarrow is installed, and OUT/runs/ (each run's files).

        \b
        Examples:
          netsim sweep tftp-transfer --grid loss=0,0.05,0.1 --grid blksize=512,1468 --repeat 5
          netsim sweep hub-vs-switch --grid hosts=4,8 --repeat 3 --jobs 4
          netsim sweep tcp-handshake --grid variant=normal,lost-syn --cluster tcp://sched:8786

        Exit status: 0 every run passed its checks, 1 a check failed, 2 wrong input, 3 a run
        failed.
        """
        repeat_n = _check(_repeat_param, repeat, "--repeat") or 1
        seed_n = _check(_seed_param, seed, "--seed")
        jobs_n = _check(_jobs_param, jobs, "--jobs")
        mod, axes, runs, cluster = _prepare(lab_name, grids, repeat_n, seed_n, jobs_n, cluster)
        out = make_folder(out if out is not None else Path("captures") / f"{mod.NAME}-sweep",
                          "--out")
        doing(f"sweep {mod.NAME}")
        from labs import grid
        from labs.cluster import ClusterError
        try:
            report = grid.sweep_lab(mod, runs, out, axes, repeat_n, jobs=jobs_n,
                                    cluster=cluster, describe=describe_failure)
        except ClusterError as exc:  # no scheduler at the address
            raise click.UsageError(str(exc)) from None
        _print_summary(report, axes, out, cluster, describe_failure)
        if report.failed:
            sys.exit(EXIT_CRASH)
        sys.exit(EXIT_CHECK_FAILED if report.checks_failed else 0)

    return debug_option(sweep_cmd)


def _prepare(lab_name: str, grids: tuple[str, ...], repeat: int, seed: int | None,
             jobs: int | None, cluster: str | None):
    """The lab, its grid, the runs and the cluster (None: local), all checked: a mistake is
    one usage line before anything runs."""
    import labs
    from labs import grid
    from labs.cluster import ClusterError, check_address, require_dask
    from labs.params import ParamError
    from labs.sweep import cluster_source, where
    try:
        mod = labs.load(lab_name)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from None
    try:
        axes = grid.parse_grid(mod, list(grids))
        runs = grid.plan(mod, axes, repeat, seed)
    except ParamError as exc:
        raise click.UsageError(str(exc)) from None
    if cluster is not None and jobs is not None:
        raise click.UsageError("--jobs runs on this machine, --cluster on a Dask cluster: "
                               "give one of them")
    try:
        kind, arg = where(jobs, cluster)
        if kind != "cluster":
            return mod, axes, runs, None
        source = cluster_source(cluster)
        address = check_address(arg, source)
        require_dask(source)
    except ClusterError as exc:
        raise click.UsageError(str(exc)) from None
    return mod, axes, runs, address


def _print_summary(report, axes, out: Path, cluster: str | None, describe_failure) -> None:
    from rich.console import Console

    from labs.grid import describe_run
    from labs.result import Table
    console = Console()
    names = [a.name for a in axes if a.name != "seed"]
    t = Table(f"Sweep of {report.lab}: {len(report.runs)} runs"
              + (f" on {cluster}" if cluster else ""),
              [*names, "runs", "checks passed", "failed"])
    t.key = max(1, len(names))
    by_point: dict[int, list] = {}
    for run, o in zip(report.runs, report.outcomes):
        by_point.setdefault(run.point, []).append((run, o))
    for entries in by_point.values():
        ran = [o for _, o in entries if o.ok]
        passed = sum(o.value["result"]["passed"] for o in ran)
        first = entries[0][0]
        t.add(*[first.values[n] for n in names], len(entries), f"{passed} of {len(entries)}",
              len(entries) - len(ran))
    for part in t.to_rich(console.width):
        console.print(part)
    for _run, o in report.failed[:FAILURES_SHOWN]:
        # describe_failure carries the run's own note ("run 7 of 30 (loss=0.1, ...)").
        click.echo(f"failed: {describe_failure(o.error)}", err=True)
    if len(report.failed) > FAILURES_SHOWN:
        click.echo(f"... and {len(report.failed) - FAILURES_SHOWN} more failed runs (see "
                   f"{out / 'sweep.csv'})", err=True)
    for run in report.checks_failed[:FAILURES_SHOWN]:
        click.echo(f"check failed: {describe_run(run, len(report.runs))}: see "
                   f"{out / 'runs' / run.folder / 'result.txt'}")
    console.print("[bold]Files[/bold]")
    for path in report.files:
        console.print(f"  {path}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"  {out / 'runs'}/  each run's captures, plots, result.json, result.txt",
                  markup=False, highlight=False, soft_wrap=True)
    if report.parquet != "written":
        console.print(f"  Parquet {report.parquet}", markup=False, highlight=False)
