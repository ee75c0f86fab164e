"""A flat broadcast domain (issue 16): N hosts in one /16 on one switch, each pinging one server.

Every host's first ping sends an ARP request for the server, and the switch floods each of
them to every port: N broadcasts reach N hosts, N^2 ARP receptions, almost all of them for
someone else (RFC 826: a host that is not the target and has no entry for the sender does
nothing with the packet). Reported per N: wall seconds to build, to run, the run's CPU
seconds (this process only: steadier than wall time on a shared machine), ARP packets
received in all, and pings answered (all of them, or the run is wrong).

Run: ``python benchmarks/flat_arp.py [--hosts 2500,5000] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netsim import Network  # noqa: E402


def build(n: int) -> tuple[Network, object, object, list]:
    """The flat network: a server (10.0.0.1) and ``n`` hosts in one /16 on switch s1, 1 Gb/s
    cables. Returns ``(net, switch, server, hosts)`` (tests/net/test_flood_batch.py uses it)."""
    net = Network(seed=1, trace=False)
    sw = net.add_switch("s1")
    server = net.add_host("server")
    net.link(server, sw, bandwidth="1Gbps")
    server.set_ip("10.0.0.1/16")
    hosts = []
    for i in range(n):
        h = net.add_host(f"h{i}")
        net.link(h, sw, bandwidth="1Gbps")
        h.set_ip(f"10.0.{(i + 2) // 256}.{(i + 2) % 256}/16")
        hosts.append(h)
    return net, sw, server, hosts


def flat(n: int, profile: bool = False) -> dict:
    t0 = time.perf_counter()
    net, _sw, server, hosts = build(n)
    built = time.perf_counter() - t0
    answered = [0]

    def one(h):
        got = h.ping("10.0.0.1", count=1, timeout=5.0).received   # blocks: add after
        answered[0] += got

    for i, h in enumerate(hosts):
        h.spawn_with_host(one, at=f"{1 + i * 0.01}ms")   # 10 us apart: one request at a time
    prof = cProfile.Profile() if profile else None
    t1 = time.perf_counter()
    c1 = time.process_time()
    if prof:
        prof.enable()
    net.run()
    if prof:
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    ran = time.perf_counter() - t1
    cpu = time.process_time() - c1
    arp_rx = sum(h.counters["arp_rx"] for h in [server, *hosts])
    if answered[0] != n:
        raise SystemExit(f"flat_arp: {answered[0]} of {n} pings answered")
    return {"hosts": n, "build_s": built, "run_s": ran, "cpu_s": cpu, "arp_rx": arp_rx}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", default="2500,5000", help="comma-separated host counts")
    ap.add_argument("--profile", action="store_true", help="cProfile the run, top 15 by own time")
    args = ap.parse_args()
    try:
        counts = [int(x) for x in args.hosts.split(",")]
    except ValueError:
        raise SystemExit(f"--hosts {args.hosts!r}: give comma-separated whole numbers") from None
    if any(not 1 <= c <= 65000 for c in counts):
        raise SystemExit(f"--hosts {args.hosts}: each count must be 1..65000 (one /16)")
    print(f"{'hosts':>6} {'build s':>8} {'run s':>8} {'cpu s':>8} {'ARP received':>13}")
    for n in counts:
        r = flat(n, args.profile)
        print(f"{r['hosts']:>6} {r['build_s']:>8.2f} {r['run_s']:>8.2f} {r['cpu_s']:>8.2f} "
              f"{r['arp_rx']:>13,}", flush=True)


if __name__ == "__main__":
    main()
