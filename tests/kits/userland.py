"""Networks and helpers for running unmodified programs in tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from netsim import Network

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed"


def lan(n: int = 3, seed: int = 0) -> tuple[Network, list]:
    """``n`` hosts h1..hn (10.0.0.i/24) on one switch."""
    net = Network(seed=seed)
    sw = net.add_switch("s1")
    hosts = []
    for i in range(1, n + 1):
        h = net.add_host(f"h{i}")
        net.link(h, sw)
        h.set_ip(f"10.0.0.{i}/24")
        hosts.append(h)
    return net, hosts


def routed(seed: int = 0) -> tuple[Network, object, object]:
    """h1 (10.0.1.10) -- r1 -- h2 (10.0.2.20)."""
    net = Network(seed=seed)
    r1 = net.add_router("r1")
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    net.link(h1, r1)
    net.link(h2, r1)
    h1.set_ip("10.0.1.10/24", gateway="10.0.1.1")
    h2.set_ip("10.0.2.20/24", gateway="10.0.2.1")
    r1.set_ip("10.0.1.1/24", iface="eth0")
    r1.set_ip("10.0.2.1/24", iface="eth1")
    return net, h1, h2


def program(tmp_path: Path, name: str, source: str) -> Path:
    """Write a program file (dedented) and return its path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def run_alone(tmp_path: Path, source: str, until: str | None = "60s", **options):
    """Run one program on a lone host; returns the process after the run."""
    net, (h1,) = lan(1)
    proc = h1.run_program(program(tmp_path, "prog.py", source), **options)
    net.run(until=until)
    return proc
