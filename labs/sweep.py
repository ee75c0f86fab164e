"""Run a lab's sweep points in this process, in a local process pool or on a Dask cluster.

Each point builds its own Network from its own seed, so its result depends only on its
parameters: not on how many workers there are, which worker ran it, or in which order the
points finished. Results come back in point order, so ``--jobs 1``, ``--jobs 8`` and
``--cluster tcp://scheduler:8786`` give the same rows and the same capture bytes.

Where the points run (:func:`where`):

* ``cluster=ADDRESS`` (or inside ``with on_cluster(ADDRESS):``): on that Dask scheduler's
  workers (:mod:`labs.cluster`);
* ``jobs=N``: in N local processes (1: in this process);
* neither: on the cluster named by ``NETSIM_DASK_SCHEDULER`` if it is set, else in one local
  process per core.

A point that itself sweeps (a whole lab run as one point of ``netsim sweep``) runs its inner
points in its own process, one after another: the parallelism is the outer sweep's.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["run_points", "run_points_outcomes", "default_jobs", "on_cluster", "where",
           "Outcome", "call_point", "cluster_source", "code_fingerprint", "ENV_SCHEDULER"]

ENV_SCHEDULER = "NETSIM_DASK_SCHEDULER"

_cluster: contextvars.ContextVar[str | None] = contextvars.ContextVar("netsim_cluster",
                                                                     default=None)
_in_point: contextvars.ContextVar[bool] = contextvars.ContextVar("netsim_in_point",
                                                                 default=False)
# One point at a time per process: the simulator and matplotlib keep process-wide state, and
# a Dask worker with several threads would otherwise run points side by side in it.
_point_lock = threading.RLock()  # re-entered by a point that sweeps itself


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@contextlib.contextmanager
def on_cluster(address: str | None) -> Iterator[None]:
    """Run every sweep inside the block on the Dask scheduler at ``address`` (None: as usual).

    Example::

        with on_cluster("tcp://scheduler:8786"):
            labs.run("tftp-transfer", loss=[0, 0.05, 0.1])
    """
    token = _cluster.set(address)
    try:
        yield
    finally:
        _cluster.reset(token)


def where(jobs: int | None = None, cluster: str | None = None) -> tuple[str, Any]:
    """Where a sweep runs: ``("cluster", address)`` or ``("local", processes)``.

    Raises:
        ValueError: both ``jobs`` and a cluster were given.
    """
    if _in_point.get():
        return "local", 1
    cluster = cluster or _cluster.get()
    if cluster and jobs is not None:
        raise ValueError("give jobs (local processes) or a cluster, not both")
    if cluster:
        return "cluster", cluster
    if jobs is not None:
        return "local", max(1, jobs)
    env = os.environ.get(ENV_SCHEDULER, "").strip()
    if env:
        return "cluster", env
    return "local", default_jobs()


def cluster_source(cluster: str | None = None) -> str:
    """What named the cluster a sweep uses: ``--cluster`` (an argument, :func:`on_cluster`)
    or the environment variable; messages about the cluster name it."""
    return "--cluster" if cluster or _cluster.get() else ENV_SCHEDULER


@dataclass
class Outcome:
    """What one point gave: its ``value``, or the ``error`` it raised (``ok`` False)."""

    index: int
    point: dict[str, Any]
    ok: bool
    value: Any = None
    error: BaseException | None = None


def run_points(fn: Callable[..., Any], points: Sequence[dict[str, Any]], jobs: int | None = None,
               label: str = "sweep", progress: bool = True, cluster: str | None = None
               ) -> list[Any]:
    """Call ``fn(**point)`` for every point; results in point order.

    Args:
        fn: a module-level function (it is pickled by reference to the workers).
        points: keyword arguments for each call.
        jobs: local worker processes; 1 runs in this process.
        cluster: a Dask scheduler address (see the module docstring for the default).
        progress: show a rich progress bar on stderr when it is a terminal.

    Raises:
        Exception: the first point that failed, re-raised with a note naming its parameters;
            the points not yet started are cancelled.
        labs.cluster.ClusterError: the cluster cannot be used (one line).
    """
    outcomes = _execute(fn, points, jobs, cluster, label, progress, keep_going=False)
    failed = next((o for o in outcomes if o is not None and not o.ok), None)
    if failed is not None:
        raise failed.error
    return [o.value for o in outcomes]


def run_points_outcomes(fn: Callable[..., Any], points: Sequence[dict[str, Any]],
                        jobs: int | None = None, label: str = "sweep", progress: bool = True,
                        cluster: str | None = None,
                        on_outcome: Callable[[Outcome], None] | None = None,
                        name_point: Callable[[int], str] | None = None) -> list[Outcome]:
    """Like :func:`run_points`, but every point runs whatever the others do: a failed point
    is an :class:`Outcome` with its error (noted with its parameters), not an exception.

    Args:
        on_outcome: called with each outcome as it arrives (in the order points finish), so
            that a long sweep can write its results as it goes.
        name_point: the words that name point ``index`` on its error (default: "sweep point
            3 of 8 (its keyword arguments)").
    """
    return _execute(fn, points, jobs, cluster, label, progress, keep_going=True,
                    on_outcome=on_outcome, name_point=name_point)


def _execute(fn, points, jobs, cluster, label, progress, keep_going, on_outcome=None,
             name_point=None) -> list[Outcome | None]:
    """Every point's outcome, in point order; None for points never run (the sweep stopped
    at the first failure, which it does unless ``keep_going``)."""
    kind, arg = where(jobs, cluster)
    outcomes: list[Outcome | None] = [None] * len(points)
    bar = _Progress(label if kind == "local" else f"{label} on {arg}", len(points),
                    enabled=progress)

    def done(i: int, ok: bool, value: Any) -> bool:
        if ok:
            outcomes[i] = Outcome(i, points[i], True, value)
        else:
            if isinstance(value, Exception):  # say which point, for the one-line report
                words = name_point(i) if name_point else _point_words(i, points)
                value.add_note(f"netsim: {words}")
            outcomes[i] = Outcome(i, points[i], False, error=value)
        if on_outcome is not None:
            on_outcome(outcomes[i])
        bar.advance()
        return ok or keep_going

    with bar:
        if kind == "cluster":
            from . import cluster as dask_backend
            address = dask_backend.check_address(arg, cluster_source(cluster))
            dask_backend.require_dask(cluster_source(cluster))
            dask_backend.run_on_cluster(address, call_point, fn, points, label, done,
                                        extra=(code_fingerprint(),))
        elif arg == 1 or len(points) <= 1:
            for i, p in enumerate(points):
                try:
                    value = call_point(fn, p)
                except Exception as exc:  # noqa: BLE001 - kept as the point's outcome
                    if not done(i, False, exc):
                        break
                else:
                    done(i, True, value)
        else:
            _run_pool(fn, points, min(arg, len(points)), done)
    return outcomes


def _run_pool(fn, points, workers: int, done) -> None:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(call_point, fn, p): i for i, p in enumerate(points)}
        try:
            for fut in as_completed(futures):
                exc = fut.exception()
                go_on = done(futures[fut], True, fut.result()) if exc is None else \
                    done(futures[fut], False, exc)
                if not go_on:
                    break
        finally:
            # Stopped early or interrupted: do not wait for points nobody will look at.
            pool.shutdown(wait=True, cancel_futures=True)


def call_point(fn: Callable[..., Any], point: dict[str, Any], fingerprint: str | None = None
               ) -> Any:
    """Run one point, wherever it is: ``fn(**point)``, alone in its process.

    ``fingerprint``: the :func:`code_fingerprint` of the machine that started the sweep; a
    worker whose netsim differs refuses to run, since its results could differ too.
    """
    if fingerprint is not None and fingerprint != code_fingerprint():
        raise RuntimeError(
            f"this worker runs a different netsim (code fingerprint {code_fingerprint()}, "
            f"the sweep's is {fingerprint}): install the same netsim on every worker")
    with _point_lock:
        token = _in_point.set(True)
        try:
            return fn(**point)
        finally:
            _in_point.reset(token)


_fingerprint: list[str] = []


def code_fingerprint() -> str:
    """A digest of netsim's and the labs' source here: equal on two machines when both run
    the same code, so a worker with another version is caught before it adds its rows."""
    if not _fingerprint:
        h = hashlib.sha256()
        root = Path(__file__).resolve().parent.parent
        for package in ("netsim", "labs"):
            for path in sorted((root / package).rglob("*.py")):
                h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
        _fingerprint.append(h.hexdigest()[:12])
    return _fingerprint[0]


def _point_words(index: int, points: Sequence[dict[str, Any]]) -> str:
    point = ", ".join(f"{k}={v}" for k, v in points[index].items())
    return f"sweep point {index + 1} of {len(points)} ({point})"


class _Progress:
    def __init__(self, label: str, total: int, enabled: bool):
        self.enabled = enabled
        self.label, self.total = label, total
        self._p = None

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
            console = Console(stderr=True)
            if console.is_terminal:
                self._p = Progress("[progress.description]{task.description}", BarColumn(),
                                   MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                                   transient=True)
                self._p.__enter__()
                self._task = self._p.add_task(self.label, total=self.total)
        return self

    def advance(self) -> None:
        if self._p is not None:
            self._p.advance(self._task)

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)
