"""Shared fixtures for the lab tests: each lab runs once per session at a small size."""

from __future__ import annotations

import pytest

import labs
from tests.kits.labs import SMALL, lab_module


@pytest.fixture(scope="session")
def lab_results(tmp_path_factory):
    """``get(name) -> LabResult``: runs each lab once (small size, no progress bar, 1 job)."""
    cache: dict[str, labs.LabResult] = {}

    def get(name: str) -> labs.LabResult:
        if name not in cache:
            mod = lab_module(name)
            params = {k: v for k, v in SMALL.get(name, {}).items() if k in mod.PARAMS}
            out = tmp_path_factory.mktemp(name)
            cache[name] = mod.run(**params, out=out, jobs=1, progress=False)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def default_results(tmp_path_factory):
    """``get(name) -> LabResult``: each lab once with its default parameters, as a student first
    runs it (the sizes the README shows; 2 worker processes)."""
    cache: dict[str, labs.LabResult] = {}

    def get(name: str) -> labs.LabResult:
        if name not in cache:
            out = tmp_path_factory.mktemp("d")  # short: the printed paths fit 80 columns
            cache[name] = lab_module(name).run(out=out, jobs=2, progress=False)
        return cache[name]

    return get
