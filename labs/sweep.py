"""Run a lab's sweep points in parallel worker processes, deterministically, with a progress bar.

Each point builds its own Network from its own seed, so the results do not depend on how many
workers there are or in which order they finish; results come back in point order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

__all__ = ["run_points", "default_jobs"]


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def run_points(fn: Callable[..., Any], points: Sequence[dict[str, Any]], jobs: int | None = None,
               label: str = "sweep", progress: bool = True) -> list[Any]:
    """Call ``fn(**point)`` for every point, in ``jobs`` processes; results in point order.

    Args:
        fn: a module-level function (it is pickled to the workers).
        points: keyword arguments for each call.
        jobs: worker processes; 1 runs in this process. Default: the number of cores.
        progress: show a rich progress bar on stderr when it is a terminal.
    """
    jobs = default_jobs() if jobs is None else max(1, jobs)
    results: list[Any] = [None] * len(points)
    bar = _Progress(label, len(points), enabled=progress)
    with bar:
        if jobs == 1 or len(points) <= 1:
            for i, p in enumerate(points):
                with _naming_point(i, points):
                    results[i] = fn(**p)
                bar.advance()
        else:
            with ProcessPoolExecutor(max_workers=min(jobs, len(points))) as pool:
                futures = {pool.submit(fn, **p): i for i, p in enumerate(points)}
                try:
                    for fut in as_completed(futures):
                        with _naming_point(futures[fut], points):
                            results[futures[fut]] = fut.result()
                        bar.advance()
                except BaseException:
                    # One point failed: do not wait for the points nobody will look at.
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
    return results


class _naming_point:
    """Note on an exception which sweep point raised it (the CLI prints the note)."""

    def __init__(self, index: int, points: Sequence[dict[str, Any]]):
        self.index, self.points = index, points

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ, exc, tb) -> bool:
        if isinstance(exc, Exception):
            point = ", ".join(f"{k}={v}" for k, v in self.points[self.index].items())
            exc.add_note(f"netsim: sweep point {self.index + 1} of {len(self.points)} ({point})")
        return False


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
