"""Memory per host (issue 16): N full-stack hosts on a tree of switches, measured by tracemalloc.

Hosts hang 100 to a leaf switch, leaves on one root switch, each host with an address in one
/16 (as a lab builds them). Reported per N: bytes traced after the build minus before, per
host (switches and cables included, as a user pays for them), and the peak. A flat per-host
figure across N means no structure grows with the size of the network. One small network is
built (and thrown away) before the first measurement, so that the modules a build imports on
first use are not charged to the first N.

``--breakdown`` adds, per N, the source lines that hold the most memory after the build
(tracemalloc snapshots compared by line), in bytes and objects per host.

Run: ``python benchmarks/host_memory.py [--hosts 1000,10000,50000] [--breakdown 20]``.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netsim import Network  # noqa: E402

FANOUT = 100


def build(n: int) -> Network:
    net = Network(seed=1, trace=False)
    root = net.add_switch("root")
    leaf = None
    for i in range(n):
        if i % FANOUT == 0:
            leaf = net.add_switch(f"s{i // FANOUT}")
            net.link(leaf, root, bandwidth="1Gbps")
        h = net.add_host(f"h{i}")
        net.link(h, leaf, bandwidth="1Gbps")
        h.set_ip(f"10.{i // 65025}.{i // 255 % 255}.{i % 255 + 1}/16")
    return net


def measure(n: int, top: int = 0) -> tuple[int, int, list[str]]:
    """Bytes held and peak bytes added by building ``n`` hosts, and the ``top`` lines holding most."""
    gc.collect()
    tracemalloc.start()
    first = tracemalloc.take_snapshot() if top else None
    before = tracemalloc.get_traced_memory()[0]
    net = build(n)
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    lines = []
    if first is not None:
        for diff in tracemalloc.take_snapshot().compare_to(first, "lineno")[:top]:
            frame = diff.traceback[0]
            where = f"{Path(frame.filename).parent.name}/{Path(frame.filename).name}:{frame.lineno}"
            lines.append(f"    {diff.size_diff / n:8.1f} B {diff.count_diff / n:6.2f} objects  {where}")
    tracemalloc.stop()
    del net
    return after - before, peak - before, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", default="1000,10000,50000", help="comma-separated host counts")
    ap.add_argument("--breakdown", type=int, default=0, metavar="LINES",
                    help="also list the LINES source lines holding the most memory per host")
    args = ap.parse_args()
    try:
        counts = [int(x) for x in args.hosts.split(",")]
    except ValueError:
        raise SystemExit(f"--hosts {args.hosts!r}: give comma-separated whole numbers") from None
    if any(not 1 <= c <= 16_000_000 for c in counts):
        raise SystemExit(f"--hosts {args.hosts}: each count must be 1..16,000,000")
    build(FANOUT)  # imports and first-use caches, not charged to any N
    print(f"{'hosts':>7} {'traced MB':>10} {'per host KB':>12} {'peak MB':>8}")
    for n in counts:
        used, peak, lines = measure(n, max(args.breakdown, 0))
        print(f"{n:>7} {used / 1e6:>10.1f} {used / n / 1e3:>12.2f} {peak / 1e6:>8.1f}", flush=True)
        if lines:
            print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
