"""The tftp-transfer lab's recovery check: lock-step needs a timeout for every loss (RFC 1350),
a window may repair a lost DATA by going back instead (RFC 7440 section 4). Found by a sweep:
the old "recovered by timeouts" check failed a windowed download that never timed out."""

from __future__ import annotations

import pytest

from labs.result import LabResult
from tests.kits.labs import lab_module

CHECK = "lost frames are recovered (timeouts; go-backs in a window)"


@pytest.fixture(scope="module")
def tt():
    return lab_module("tftp-transfer")


def row(windowsize, timer, goback=0, reack=0, lost=3, loss=0.05):
    return {"loss": loss, "frames_lost": lost, "windowsize": windowsize,
            "audit": {"timer": timer, "goback": goback, "reack": reack}}


def verdict(tt, rows):
    result = LabResult("tftp-transfer", "t", {})
    tt._check_recovery(result, rows)
    return {c.name: c.passed for c in result.checks}


def test_a_window_repaired_by_go_backs_alone_passes(tt):
    assert verdict(tt, [row(1, timer=4), row(8, timer=0, goback=5)]) == {CHECK: True}


@pytest.mark.parametrize("rows", [
    [row(1, timer=0, goback=2)],             # lock-step cannot go back: a timeout is owed
    [row(8, timer=0, goback=0, reack=0)],    # frames lost, nothing resent at all
], ids=["lock-step without a timeout", "window without any recovery"])
def test_a_loss_nobody_repaired_fails(tt, rows):
    assert verdict(tt, rows) == {CHECK: False}


def test_no_check_without_lost_frames(tt):
    assert verdict(tt, [row(1, timer=0, lost=0), row(8, timer=0, loss=0.0)]) == {}
