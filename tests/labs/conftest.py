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
