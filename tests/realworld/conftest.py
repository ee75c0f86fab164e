"""Some real-world tests run netsim as user nobody (port forwarding needs no privileges).

nobody must then be able to reach this checkout and its virtual environment: a clone made in
a private folder (``mktemp -d`` gives mode 0700) would leave nobody without netsim or its
dependencies. For the duration of these tests the folders on the way get the "others may
enter" bit (and the checkout's root "others may read"), and their modes are restored after.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _opened_for_others(paths: list[Path]) -> list[tuple[Path, int]]:
    changed = []
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        want = mode | stat.S_IXOTH | (stat.S_IROTH if path in (ROOT, Path(sys.prefix)) else 0)
        if want != mode:
            os.chmod(path, want)
            changed.append((path, mode))
    return changed


@pytest.fixture(scope="session", autouse=True)
def nobody_can_run_netsim():
    if os.geteuid() != 0:
        yield
        return
    on_the_way = {ROOT, *ROOT.parents, Path(sys.prefix), *Path(sys.prefix).parents}
    changed = _opened_for_others(sorted(on_the_way, key=lambda p: len(p.parts)))
    try:
        yield
    finally:
        for path, mode in reversed(changed):
            os.chmod(path, mode)
