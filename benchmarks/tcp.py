"""TCP bulk-transfer benchmark: wall-clock cost of moving bytes through the simulated stack.

Topology: h1 -- s1 -- h2, 1 Gb/s full-duplex links, 1 us of cable, the switch's default 5 us
latency, tracing off (``Network(trace=False)``). Two workloads:

* **TCP bulk**: h1 ``sendall``s ``--size`` MB to h2, which ``recv``s to EOF (64 KiB reads).
  Reported: wall seconds, virtual seconds (so the simulated goodput), frames on the wire
  (both directions, data and ACKs) and frames per wall second.
* **UDP blast**: h1 sends as many 1472-byte datagrams as the TCP run put frames on the wire,
  paced at the link rate so nothing is dropped, and h2 ``recvfrom``s them all.

The ratio of the two frames-per-second figures is what TCP costs per frame over the raw
datagram path (segmentation, ACK processing, windows, timers, the socket glue).

Run: ``python benchmarks/tcp.py [--size 100] [--profile]`` (``--size 5`` takes a few seconds).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netsim import AF_INET, SOCK_DGRAM, SOCK_STREAM, Network  # noqa: E402
from netsim.sim.units import NS_PER_S  # noqa: E402

MB = 1 << 20
DGRAM = 1472                      # fills a 1500-byte MTU
FRAME_WIRE_NS = (1514 + 24) * 8   # one full frame on 1 Gb/s (with preamble, FCS and IFG)


def build() -> tuple[Network, object, object]:
    net = Network(seed=1, trace=False)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    sw = net.add_switch("s1")
    net.link(h1, sw, bandwidth="1Gbps")
    net.link(h2, sw, bandwidth="1Gbps")
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    return net, h1, h2


def wire_frames(*hosts) -> int:
    return sum(i.tx_frames for h in hosts for i in h.interfaces)


def tcp_bulk(size: int, check: bool = True) -> dict:
    """Move ``size`` bytes h1 -> h2 over TCP; returns the measurements."""
    net, h1, h2 = build()
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 5001))
        s.listen(1)
        conn, _ = s.accept()
        digest, n = hashlib.sha256(), 0
        while chunk := conn.recv(65536):
            n += len(chunk)
            if check:
                digest.update(chunk)
        done_ns = h.now
        conn.close()
        return n, digest.hexdigest(), done_ns

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 5001))
        c.sendall(payload)
        c.close()

    srv = h2.spawn_with_host(server)
    h1.spawn_with_host(client, at="1ms")
    t0 = time.perf_counter()
    net.run()
    wall = time.perf_counter() - t0
    n, digest, done_ns = srv.result
    assert n == size, (n, size)
    if check:
        assert digest == hashlib.sha256(payload).hexdigest()
    frames = wire_frames(h1, h2)
    virtual = (done_ns - 1_000_000) / NS_PER_S  # from connect() to the last byte read
    return {"wall": wall, "virtual": virtual, "frames": frames, "fps": frames / wall,
            "goodput_mbps": size * 8 / virtual / 1e6, "events": net.kernel.events_run}


def udp_blast(count: int) -> dict:
    """Send ``count`` full-size datagrams h1 -> h2, paced at the link rate."""
    net, h1, h2 = build()
    burst = 32

    def receiver(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", 9000))
        s.settimeout(1.0)
        got = 0
        try:
            while got < count:
                s.recvfrom(2048)
                got += 1
        except TimeoutError:
            pass
        return got

    def sender(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        data = bytes(DGRAM)
        sent = 0
        while sent < count:
            for _ in range(min(burst, count - sent)):
                s.sendto(data, ("10.0.0.2", 9000))
                sent += 1
            h.sleep(burst * FRAME_WIRE_NS / NS_PER_S)

    rx = h2.spawn_with_host(receiver)
    h1.spawn_with_host(sender, at="1ms")
    t0 = time.perf_counter()
    net.run()
    wall = time.perf_counter() - t0
    frames = wire_frames(h1, h2)
    return {"wall": wall, "frames": frames, "fps": frames / wall, "received": rx.result,
            "events": net.kernel.events_run}


def profile_tcp(size: int, top: int = 30) -> str:
    prof = cProfile.Profile()
    prof.enable()
    tcp_bulk(size, check=False)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=100, help="megabytes to move (default 100)")
    ap.add_argument("--profile", action="store_true", help="cProfile the TCP bulk path")
    ap.add_argument("--no-check", action="store_true", help="skip the sha256 of the data")
    args = ap.parse_args(argv)
    size = int(args.size * MB)
    if args.profile:
        print(profile_tcp(size))
        return
    started = time.perf_counter()
    tcp = tcp_bulk(size, check=not args.no_check)
    udp = udp_blast(tcp["frames"])
    print(f"TCP bulk {args.size:g} MB over h1 -- s1 -- h2 (1 Gb/s), tracing off\n")
    print(f"{'workload':<12}{'wall s':>9}{'frames':>10}{'frames/s':>11}{'events':>11}"
          f"{'virtual s':>11}{'goodput':>14}")
    print(f"{'TCP bulk':<12}{tcp['wall']:>9.2f}{tcp['frames']:>10}{tcp['fps']:>11.0f}"
          f"{tcp['events']:>11}{tcp['virtual']:>11.3f}{tcp['goodput_mbps']:>9.0f} Mb/s")
    print(f"{'UDP blast':<12}{udp['wall']:>9.2f}{udp['frames']:>10}{udp['fps']:>11.0f}"
          f"{udp['events']:>11}{'':>11}{'':>14}")
    print(f"\nTCP costs {udp['fps'] / tcp['fps']:.2f}x the wall time per frame of UDP "
          f"({udp['received']}/{tcp['frames']} datagrams received); "
          f"{tcp['wall'] / args.size:.3f} wall s per MB")
    print(f"benchmark run time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
