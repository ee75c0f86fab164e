"""Helpers for the grading tests: reference programs, broken variants made from them by one
textual change (so each variant differs from a full-marks program in exactly the way its
name says), and a card's items by key."""

from __future__ import annotations

from pathlib import Path

from netsim.grade import grade

ROOT = Path(__file__).resolve().parents[2]
GRADE = ROOT / "examples" / "grade"
SEED = ROOT / "examples" / "seed"


def variant(tmp_path: Path, source: Path, name: str, *changes: tuple[str, str]) -> Path:
    """``source`` with each ``(old, new)`` replaced once (``old`` must be there), as ``name``."""
    text = source.read_text()
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} is not once in {source.name}"
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def card(exercise: str, program: Path, tmp_path: Path, only: list[str] | None = None):
    return grade(exercise, program, tmp_path / "captures", only=only)


def statuses(c) -> dict[str, str]:
    return {r.key: r.status for r in c.results}


def evidence(c, key: str) -> str:
    return " | ".join(c.result(key).evidence)
