"""Virtual sockets do what CPython's sockets do on Linux, operation by operation.

Every case of ``socket_cases_tcp.py`` and ``socket_cases_udp.py`` runs twice: on the real ``socket`` module over 127.0.0.1
and on a virtual host's loopback. The outcomes (values returned, exception types and errno
values, in order) must be equal. What netsim does not model raises ``NotImplementedError``
naming the feature, never a wrong answer. ``docs/sockets.md`` lists every outcome.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.kits.sockets import all_cases, run_real, run_virtual, table_rows

CASES, NOT_MODELLED = all_cases()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "sockets.md"
linux = pytest.mark.skipif(not sys.platform.startswith("linux"),
                           reason="the reference is CPython on Linux")


@linux
@pytest.mark.parametrize("case", CASES, ids=[f"{c.group}: {c.name}" for c in CASES])
def test_a_virtual_socket_does_what_a_real_one_does(case) -> None:
    assert run_virtual(case) == run_real(case)


@pytest.mark.parametrize("case", NOT_MODELLED, ids=[c.name for c in NOT_MODELLED])
def test_what_is_not_modelled_raises_not_implemented_error(case) -> None:
    assert run_virtual(case) == "NotImplementedError"


def test_the_docs_table_lists_every_outcome() -> None:
    text = DOCS.read_text()
    missing = [row for row in table_rows() if row not in text]
    assert not missing, "docs/sockets.md is out of date; regenerate the table with " \
        "`python -m tests.kits.sockets`:\n" + "\n".join(missing)
