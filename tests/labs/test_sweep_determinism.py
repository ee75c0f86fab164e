"""Sweeps run in worker processes and stay deterministic."""

from __future__ import annotations

import hashlib

import labs


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sweep_results_and_captures_do_not_depend_on_the_number_of_workers(tmp_path):
    params = dict(hosts=[2, 3], load=[0.5, 1.2], duration="0.05s", progress=False)
    one = labs.run("hub-vs-switch", jobs=1, out=tmp_path / "one", **params)
    two = labs.run("hub-vs-switch", jobs=2, out=tmp_path / "two", **params)
    assert one.tables[0].rows == two.tables[0].rows
    assert [_digest(p) for p in one.captures] == [_digest(p) for p in two.captures]


def test_a_different_seed_gives_a_different_run(tmp_path):
    params = dict(hosts=[3], load=[0.8], duration="0.05s", progress=False, jobs=1)
    a = labs.run("hub-vs-switch", seed=1, out=tmp_path / "a", **params)
    b = labs.run("hub-vs-switch", seed=2, out=tmp_path / "b", **params)
    assert a.tables[0].rows != b.tables[0].rows
