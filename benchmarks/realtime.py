"""Real-time lag at a steady frame rate: how far virtual time falls behind the wall clock.

    python benchmarks/realtime.py [--rate 1000] [--seconds 5] [--hosts 4] [--live]

``--hosts`` hosts on one switch send UDP datagrams to each other at ``--rate`` frames per second
in total (each crosses the switch: two frame hops), evenly spaced, while the network runs in
real time (``net.run(realtime=True)``). The pacer samples the lag each time the clock moves on;
the report gives max and mean from :class:`netsim.realworld.LagReport`, plus the 99th
percentile of the per-step lags, and the wall time the run took. ``--live`` also streams a
pcapng capture to /dev/null through the live writer (one flushed block per frame), to see what
watching in Wireshark costs. This is a report, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from netsim import AF_INET, SOCK_DGRAM, Network  # noqa: E402
from netsim.realworld.realtime import RealtimePacer  # noqa: E402


class _Recording(RealtimePacer):
    """The ordinary pacer, keeping every lag sample for percentiles."""

    def __init__(self) -> None:
        super().__init__()
        self.samples: list[int] = []

    def _sample(self, lag_ns: int, at_ns: int) -> None:
        self.samples.append(lag_ns)
        super()._sample(lag_ns, at_ns)


def build(hosts: int, rate: float, seconds: float) -> tuple[Network, dict]:
    net = Network(seed=1, trace=False)
    sw = net.add_switch("s1")
    hs = [net.add_host(f"h{i + 1}") for i in range(hosts)]
    for h in hs:
        net.link(h, sw, bandwidth="1Gbps", delay="5us")
    for i, h in enumerate(hs):
        h.set_ip(f"10.0.0.{i + 1}/24")
    counts = {"sent": 0, "received": 0}
    gap = hosts / rate   # each host sends rate/hosts datagrams per second

    def receiver(host) -> None:
        s = host.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", 9000))
        while True:
            s.recvfrom(2048)
            counts["received"] += 1

    def sender(host, index: int) -> None:
        s = host.socket(AF_INET, SOCK_DGRAM)
        peer = hs[(index + 1) % hosts].ip
        host.sleep(0.01 + index * gap / hosts)   # stagger the senders evenly
        end = seconds
        while host.time < end:
            s.sendto(b"x" * 200, (peer, 9000))
            counts["sent"] += 1
            host.sleep(gap)

    for h in hs:
        h.start(receiver)
    for i, h in enumerate(hs):
        h.start(sender, i)
    return net, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=1000.0, help="frames per second, in total")
    ap.add_argument("--seconds", type=float, default=5.0, help="virtual (= wall) seconds to run")
    ap.add_argument("--hosts", type=int, default=4)
    ap.add_argument("--live", action="store_true", help="also stream a live capture to /dev/null")
    args = ap.parse_args()
    net, counts = build(args.hosts, args.rate, args.seconds)
    pacer = _Recording()
    net.kernel.pacer = pacer      # what net.realtime() installs, with the samples kept
    sink = open(os.devnull, "wb") if args.live else None
    if sink is not None:
        net.capture(sink)
    t0 = time.monotonic()
    net.run(until=args.seconds + 0.05)
    wall = time.monotonic() - t0
    lag = pacer.lag
    p99 = statistics.quantiles(pacer.samples, n=100)[98] if len(pacer.samples) >= 100 else lag.max_ns
    print(f"real-time lag at {args.rate:,.0f} frames/s ({args.hosts} hosts on a switch, "
          f"{args.seconds:g} s{', live capture to /dev/null' if args.live else ''}):")
    print(f"  datagrams sent {counts['sent']:,}, received {counts['received']:,}; "
          f"kernel events {net.kernel.events_run:,}; wall {wall:.3f} s for "
          f"{args.seconds + 0.05:.3f} s of virtual time")
    print(f"  lag: max {lag.max_ns / 1e6:.3f} ms (at t={lag.max_at_ns / 1e9:.3f} s), "
          f"mean {lag.mean_ns / 1e6:.3f} ms, p99 {p99 / 1e6:.3f} ms over {lag.samples:,} clock steps")
    if sink is not None:
        sink.close()


if __name__ == "__main__":
    main()
