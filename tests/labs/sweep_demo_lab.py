"""A tiny lab for the sweep tests (not a real lab): one UDP datagram, a capture, a check.

``by`` picks what happens: 0 fails with ZeroDivisionError inside a task (a run that fails),
2 fails its check (a run that ran), anything else passes. The capture's bytes depend on the
seed (the client's ephemeral port), so a wrong seed shows up as different bytes.
"""

from __future__ import annotations

from pathlib import Path

from labs.params import Param, checked, declare
from labs.result import LabResult
from netsim import Network

NAME, TITLE, SUMMARY = "sweep-demo", "Sweep demo", "one datagram, for the sweep tests"
PARAMS = declare(
    Param("by", int, 1, min=0, max=100, help="what the datagram's receiver divides by"),
    Param("size", int, 10, min=1, max=1000, help="payload bytes"),
    Param("seed", int, 1, min=0, help="random seed"),
)


def _send(host, dst: str, size: int) -> None:
    s = host.socket()
    s.sendto(b"x" * size, (dst, 9000))


def _receive(host, by: int, got: list) -> None:
    s = host.socket()
    s.bind(("0.0.0.0", 9000))
    data, addr = s.recvfrom(2048)
    got.append((len(data), addr[1], 100 // by))


@checked(PARAMS)
def run(by: int = 1, size: int = 10, seed: int = 1, out=None, jobs=None,
        progress: bool = True) -> LabResult:
    out = Path(out) if out is not None else Path("captures") / NAME
    out.mkdir(parents=True, exist_ok=True)
    net = Network(seed=seed)
    a, b, sw = net.add_host("a"), net.add_host("b"), net.add_switch("s1")
    net.link(a, sw)
    net.link(b, sw)
    a.set_ip("10.0.0.1/24")
    b.set_ip("10.0.0.2/24")
    got: list = []
    b.spawn_with_host(_receive, by, got, name="receiver")
    a.spawn_with_host(_send, "10.0.0.2", size, at="1ms", name="sender")
    cap = out / "demo.pcapng"
    with net.capture(cap):
        net.run(until="1s")
    result = LabResult(NAME, TITLE, {"by": by, "size": size, "seed": seed})
    t = result.table("The datagram", ["bytes", "source port", "quotient"])
    for row in got:
        t.add(*row)
    result.captures.append(cap)
    result.check("the quotient is not 50", got[0][2] != 50, f"100 // {by} = {got[0][2]}")
    return result
