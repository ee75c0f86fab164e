"""Kernel and layer-2 forwarding benchmark: netsim against the same hand-off built on simpy.

Workload: one switch, 64 hosts, each host sends ~100-byte frames to random peers at a fixed
rate over 100 Mb/s links with 1 us of cable and a 5 us switch latency. We count frames that
reached their destination (two hops each: host -> switch -> host) per wall-clock second.

The simpy version models exactly the same hand-off: a Store per link direction, a process
per direction that serialises frames (timeout of the serialisation time), a propagation
timeout whose callback hands the frame to the far end, a switch lookup with a latency
timeout, and a receive Store per host drained by a process. Both sides use the same
serialisation formula, delays, MAC table and random peer choice.

Also: kernel events per second, a host/UDP-socket variant when ``netsim.stack`` works, and
memory (tracemalloc) for a 1,000-host network.

Run: ``python benchmarks/kernel.py [--frames 200000] [--hosts 64]``.
"""

from __future__ import annotations

import argparse
import gc
import random
import struct
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netsim import Network  # noqa: E402
from netsim.devices.node import Node  # noqa: E402
from netsim.net.link import WIRE_OVERHEAD  # noqa: E402
from netsim.sim.units import NS_PER_S  # noqa: E402

BANDWIDTH = 100_000_000
DELAY_NS = 1_000
LATENCY_NS = 5_000
FRAME_LEN = 100


def make_frame(dst: bytes, src: bytes, seq: int) -> bytes:
    return struct.pack("!6s6sHI", dst, src, 0x88B5, seq).ljust(FRAME_LEN, b"\0")


class Sink(Node):
    """A raw station: counts what it receives, sends prebuilt frames when told."""

    kind = "host"

    def __init__(self, net, name):
        super().__init__(net, name)
        self.count = 0

    def receive(self, iface, frame):
        self.count += 1


def netsim_run(n_hosts: int, n_frames: int, seed: int = 1) -> dict:
    net = Network(seed=seed, trace=False)
    sw = net.add_switch("s1", latency=f"{LATENCY_NS}ns")
    hosts = [net.add_node(Sink(net, f"h{i}")) for i in range(n_hosts)]
    for h in hosts:
        net.link(h, sw, bandwidth=BANDWIDTH, delay=DELAY_NS / NS_PER_S, queue=1000)
    # Teach the switch every address first (one broadcast each), then start the clock.
    for h in hosts:
        h.interfaces[0].send(make_frame(b"\xff" * 6, h.interfaces[0].mac_bytes, 0))
    net.run()
    for h in hosts:
        h.count = 0
    frames = _schedule(hosts, n_frames, seed, lambda h, f: h.interfaces[0].send(f), net.kernel)
    kernel = net.kernel
    ev0 = kernel.events_run
    gc.collect()
    t0 = time.perf_counter()
    net.run()
    wall = time.perf_counter() - t0
    delivered = sum(h.count for h in hosts)
    assert delivered == frames == sw.forwarded, (delivered, frames, sw.forwarded)
    return {"frames": delivered, "wall": wall, "events": kernel.events_run - ev0,
            "virtual_s": kernel.now / NS_PER_S}


def _plan(n_hosts: int, n_frames: int, seed: int) -> list[tuple[int, int, int]]:
    """(time_ns, src index, dst index) for every frame: the same plan on both simulators."""
    rnd = random.Random(seed)
    per_host = n_frames // n_hosts
    # Each host offers ~40% of its link: one 100-byte frame every 25 us (8 us to serialise).
    gap = 25_000
    plan = []
    for i in range(n_hosts):
        t = rnd.randrange(gap)
        for _ in range(per_host):
            j = rnd.randrange(n_hosts - 1)
            plan.append((t, i, j if j < i else j + 1))
            t += gap
    return plan


def _schedule(hosts, n_frames, seed, send, kernel) -> int:
    plan = _plan(len(hosts), n_frames, seed)
    macs = [h.interfaces[0].mac_bytes for h in hosts]
    base = kernel.now
    for t, i, j in plan:
        kernel.call_at(base + t, send, hosts[i], make_frame(macs[j], macs[i], t))
    return len(plan)


def simpy_run(n_hosts: int, n_frames: int, seed: int = 1) -> dict:
    import simpy

    env = simpy.Environment()
    tx_ns = ((FRAME_LEN + WIRE_OVERHEAD) * 8 * NS_PER_S) // BANDWIDTH
    macs = [struct.pack("!HI", 0x0200, i + 1) for i in range(n_hosts)]
    table = {mac: i for i, mac in enumerate(macs)}
    counts = [0] * n_hosts
    uplinks = [simpy.Store(env) for _ in range(n_hosts)]     # host -> switch queues
    downlinks = [simpy.Store(env) for _ in range(n_hosts)]   # switch -> host queues
    rx = [simpy.Store(env) for _ in range(n_hosts)]          # host receive queues

    def wire(queue, deliver):
        while True:
            frame = yield queue.get()
            yield env.timeout(tx_ns)                          # serialisation
            env.timeout(DELAY_NS).callbacks.append(lambda _e, f=frame: deliver(f))

    def switch_in(frame):
        out = table[frame[0:6]]
        env.timeout(LATENCY_NS).callbacks.append(lambda _e: downlinks[out].put(frame))

    def receiver(i):
        store = rx[i]
        while True:
            yield store.get()
            counts[i] += 1

    for i in range(n_hosts):
        env.process(wire(uplinks[i], switch_in))
        env.process(wire(downlinks[i], rx[i].put))
        env.process(receiver(i))

    plan = _plan(n_hosts, n_frames, seed)

    def send_at(t, i, j):
        frame = make_frame(macs[j], macs[i], t)
        env.timeout(t).callbacks.append(lambda _e: uplinks[i].put(frame))

    for t, i, j in plan:
        send_at(t, i, j)
    gc.collect()
    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    assert sum(counts) == len(plan)
    return {"frames": sum(counts), "wall": wall, "virtual_s": env.now / NS_PER_S}


def host_udp_run(n_hosts: int, n_frames: int) -> dict | str:
    """The same traffic through real Host stacks and UDP sockets, if the stack works."""
    from netsim import AF_INET, SOCK_DGRAM
    try:
        net = Network(seed=1, trace=False)
        sw = net.add_switch("s1", latency=f"{LATENCY_NS}ns")
        hosts = [net.add_host(f"h{i}") for i in range(n_hosts)]
        for h in hosts:
            net.link(h, sw, bandwidth=BANDWIDTH, delay=DELAY_NS / NS_PER_S, queue=1000)
        net.auto_ip("10.0.0.0/16")
        per_host = max(1, n_frames // n_hosts)
        received = [0]
        sent = [0]

        def server(host):
            s = host.socket(AF_INET, SOCK_DGRAM)
            s.bind(("", 9))
            while True:
                data, _ = s.recvfrom(2048)
                if data != b"w":
                    received[0] += 1

        def client(host, seed):
            rnd = random.Random(seed)
            s = host.socket(AF_INET, SOCK_DGRAM)
            # Warm-up: resolve every peer once, one host per millisecond (64 hosts resolving 63
            # peers at once would be an ARP broadcast storm that overflows the switch queues).
            host.sleep(seed * 1e-3)
            for peer in hosts:
                if peer is not host:
                    s.sendto(b"w", (peer.ip, 9))
            host.sleep((n_hosts - seed) * 1e-3 + 0.01)
            for _ in range(per_host):
                peer = hosts[rnd.randrange(n_hosts)]
                if peer is not host:
                    s.sendto(b"x" * 58, (peer.ip, 9))
                    sent[0] += 1
                host.sleep(25e-6)

        for i, h in enumerate(hosts):
            h.spawn_with_host(server)
            h.spawn_with_host(client, i)
        t0 = time.perf_counter()
        net.run()
        wall = time.perf_counter() - t0
        drops: dict[str, int] = {}
        for h in hosts:
            for key, value in h.stats().items():
                if "drop" in key and isinstance(value, int):
                    drops[key] = drops.get(key, 0) + value
        return {"datagrams": received[0], "sent": sent[0], "wall": wall,
                "forwarded": sw.forwarded, "drops": drops}
    except Exception as exc:  # noqa: BLE001 - the stack is optional here; say why it was skipped
        return f"skipped: {type(exc).__name__}: {exc}"


def memory_1000_hosts() -> dict:
    """Traced memory of building a 1,000-host network: 25 switches of 40 hosts + a core."""
    results = {}
    for label, factory in (("raw nodes", lambda net, name: net.add_node(Sink(net, name))),
                           ("Host stacks", lambda net, name: net.add_host(name))):
        gc.collect()
        tracemalloc.start()
        try:
            net = Network(seed=1)
            core = net.add_switch("core")
            for s in range(25):
                sw = net.add_switch(f"s{s}")
                net.link(sw, core)
                for h in range(40):
                    net.link(factory(net, f"h{s}_{h}"), sw)
            current, peak = tracemalloc.get_traced_memory()
            results[label] = (current, peak)
        except Exception as exc:  # noqa: BLE001
            results[label] = f"skipped: {type(exc).__name__}: {exc}"
        finally:
            tracemalloc.stop()
    return results


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--frames", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = ap.parse_args(argv)

    # Interleave the runs so that load from other processes hits both sides alike.
    ours_runs, theirs_runs = [], []
    for _ in range(args.repeat):
        ours_runs.append(netsim_run(args.hosts, args.frames))
        theirs_runs.append(simpy_run(args.hosts, args.frames))
    ours = min(ours_runs, key=lambda r: r["wall"])
    theirs = min(theirs_runs, key=lambda r: r["wall"])
    ours_fps = ours["frames"] / ours["wall"]
    theirs_fps = theirs["frames"] / theirs["wall"]
    print(f"workload: {args.hosts} hosts, 1 switch, {ours['frames']} frames of {FRAME_LEN} B, "
          f"2 hops each, {ours['virtual_s']:.3f} s virtual")
    print(f"netsim : {ours_fps:12,.0f} frames/s  ({2 * ours_fps:,.0f} frame hops/s)  "
          f"{ours['events'] / ours['wall']:12,.0f} kernel events/s  "
          f"({ours['events'] / ours['frames']:.1f} events/frame)  wall {ours['wall']:.2f}s")
    print(f"simpy  : {theirs_fps:12,.0f} frames/s  ({2 * theirs_fps:,.0f} frame hops/s)  "
          f"wall {theirs['wall']:.2f}s")
    print(f"ratio  : netsim is {ours_fps / theirs_fps:.2f}x the simpy hand-off per frame hop "
          f"(target >= 1.5x)")
    udp = host_udp_run(args.hosts, min(args.frames, 20_000))
    if isinstance(udp, str):
        print(f"hosts+UDP sockets: {udp}")
    else:
        print(f"hosts+UDP sockets: {udp['datagrams']} of {udp['sent']} datagrams received in "
              f"{udp['wall']:.2f}s -> {udp['datagrams'] / udp['wall']:,.0f} datagrams/s "
              f"(host drop counters: {udp['drops']})")
    for label, value in memory_1000_hosts().items():
        if isinstance(value, str):
            print(f"memory, 1,000 {label}: {value}")
        else:
            current, peak = value
            print(f"memory, 1,000 {label} + 26 switches: {current / 1e6:.1f} MB "
                  f"(peak {peak / 1e6:.1f} MB, {current / 1000 / 1024:.1f} KiB per host)")


if __name__ == "__main__":
    main()
