"""Every lab's output, rendered on an 80-column terminal, keeps every word whole.

Rich cuts a cell it cannot fit (``39.8…``, ``255.255.25…``) and, when a line is printed in two
pieces, wraps the second from column 0 in the middle of a word. The test renders each lab at
80 columns and at 1000 (where nothing needs to wrap) and compares the words: a cut or split
word at 80 is a word the wide rendering does not have.
"""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

import labs
from labs.result import LabResult, Table

ALL_LABS = list(labs.LABS)
_BOX = re.compile("[\u2500-\u257f]")    # rich's table and panel borders


def render(result: LabResult, width: int) -> str:
    buf = io.StringIO()
    result.render(Console(file=buf, width=width, color_system=None, force_terminal=False))
    return buf.getvalue()


def words(text: str) -> set[str]:
    return set(_BOX.sub(" ", text).split())


def check_lines(text: str) -> list[str]:
    block = text.split("\nChecks\n", 1)[1]
    return block.split("\nFiles\n", 1)[0].splitlines()


@pytest.mark.parametrize("name", ALL_LABS)
def test_lab_output_at_80_columns_cuts_and_splits_no_word(default_results, name):
    result = default_results(name)
    narrow, wide = render(result, 80), render(result, 1000)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert "…" not in narrow, [ln for ln in narrow.splitlines() if "…" in ln][:5]
    broken = words(narrow) - words(wide) - {"(continued)"}
    assert not broken, f"{name}: words cut or split at 80 columns: {sorted(broken)[:20]}"
    lost = words(wide) - words(narrow)
    assert not lost, f"{name}: words missing at 80 columns: {sorted(lost)[:20]}"


@pytest.mark.parametrize("name", ALL_LABS)
def test_lab_check_lines_wrap_under_their_own_text(default_results, name):
    lines = check_lines(render(default_results(name), 80))
    assert lines and lines[0].startswith(("  PASS ", "  FAIL "))
    for line in lines:
        assert line.startswith(("  PASS ", "  FAIL ", " " * 7)), f"{name}: {line!r}"


def test_a_table_too_wide_for_the_terminal_folds_and_repeats_its_key_column():
    t = Table("wide", ["device", *[f"measurement {i} (ms)" for i in range(8)]])
    t.add("switch", *[123456.789 + i for i in range(8)])
    text = render(LabResult("x", "x", {}, tables=[t]), 60)
    assert "(continued)" in text and text.count("switch") >= 2
    for i in range(8):
        assert f"{123456.789 + i:.3f}" in text
    assert "…" not in text


def test_floats_keep_the_decimals_the_lab_kept():
    t = Table("rates", ["kB/s", "loss"])
    t.add(47.6, 0.0)
    t.add(272.8, 0.05)
    text = render(LabResult("x", "x", {}, tables=[t]), 80)
    assert " 47.6 " in text and "272.8" in text and "47.600" not in text
    assert " 0.00 " in text and " 0.05 " in text
