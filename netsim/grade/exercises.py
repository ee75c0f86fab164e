"""The exercises ``netsim grade`` knows, and the front door :func:`grade`."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .card import ReportCard

__all__ = ["EXERCISES", "exercise", "grade"]

#: exercise name -> module (in netsim.grade)
EXERCISES = {
    "tftp-client": "tftp_client",
    "tftp-server": "tftp_server",
    "udp-echo": "udp_echo",
    "broadcast": "broadcast",
    "tcp-echo-server": "tcp_echo",
    "concurrent-server": "concurrent",
}


def exercise(name: str) -> Any:
    """The module of exercise ``name``.

    Raises:
        ValueError: no such exercise (the message lists them).
    """
    if name not in EXERCISES:
        raise ValueError(f"no exercise {name!r}; exercises: {', '.join(EXERCISES)}")
    return importlib.import_module(f".{EXERCISES[name]}", __package__)


def grade(name: str, program: str | os.PathLike[str], out: str | os.PathLike[str] | None = None,
          *, only: list[str] | None = None, progress: Callable[[str], None] | None = None
          ) -> ReportCard:
    """Grade ``program`` on exercise ``name``.

    Args:
        name: the exercise (see :data:`EXERCISES`).
        program: the student's program file, run unmodified on a virtual host.
        out: the folder for the captures (default ``captures/grade/<name>``).
        only: grade only these items (their keys; the scenarios they need are run).
        progress: called with one line before each scenario.

    Returns:
        The :class:`~netsim.grade.card.ReportCard`.

    Raises:
        ValueError: an unknown exercise or item.
        FileNotFoundError: no such program file.
    """
    from .battery import grade as run_battery
    module = exercise(name)
    folder = Path(out) if out is not None else Path("captures") / "grade" / name
    return run_battery(module, program, folder, only=only, progress=progress)
