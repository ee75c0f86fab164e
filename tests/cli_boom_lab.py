"""A lab that fails on purpose, for the tests of the one-line crash report (not a real lab).

``where`` picks what fails: a task on a virtual host, a task in a sweep's worker process, or
the lab's own code.
"""

from __future__ import annotations

from labs.params import Param, checked, declare
from labs.result import LabResult
from labs.sweep import run_points
from netsim import Network

NAME, TITLE, SUMMARY = "boom", "Boom", "fails on purpose"
PARAMS = declare(Param("where", str, "task", choices=("task", "worker", "lab"), help="what fails"))


def _divide(host, by: int) -> float:
    host.sleep(0.005)
    return 1 / by


def point(i: int, by: int) -> int:
    """One sweep point: h1 divides by ``by`` at t=5 ms."""
    net = Network(seed=i)
    net.add_host("h1").spawn_with_host(_divide, by, name="divider")
    net.run(until="1s")
    return i


@checked(PARAMS)
def run(where: str = "task", out=None, jobs=None, progress: bool = True) -> LabResult:
    if where == "lab":
        raise KeyError("a key the lab expected")
    if where == "task":
        point(0, 0)
    run_points(point, [dict(i=0, by=1), dict(i=1, by=0)], jobs=2, progress=False)
    return LabResult(NAME, TITLE, {"where": where})
