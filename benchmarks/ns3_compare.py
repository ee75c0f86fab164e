"""netsim side by side with ns-3 (issue 16): the same three workloads, as ratios.

Workloads (each run in a fresh process, so no run inherits another's heap or caches):

* ``udp``: 64 hosts on one switch, 1 Gb/s cables of 1 us, full stacks. 32 senders each send
  ``--datagrams / 32`` datagrams of 100 B to a partner, one every 10 us (well under what a
  port drains, so nothing is dropped). Reported: datagrams per wall second.
* ``tcp``: 20 MiB h1 -> s1 -> h2 at 1 Gb/s, NewReno, MSS 1460, 64 KiB buffers, no
  SACK/timestamps/window scaling, initial window 3 (netsim: the matching sysctls; ns-3:
  BulkSend + PacketSink). Reported: data segments (ceil(bytes / 1460)) per wall second.
* ``build``: 10,000 hosts on a tree of 101 switches (a root and 100 leaves of 100 hosts),
  addresses in one /16. Reported: wall seconds and resident memory added by the build.

Rounds are interleaved (netsim, ns-3, netsim, ns-3, ...) and the medians of ``--rounds``
(3) are printed with the ratio netsim/ns-3 (above 1: netsim does more work per second).

ns-3 comes from the ``ns3`` PyPI wheel (``pip install -e '.[bench]'``); without it the ns-3
column says so in one line and only netsim runs.

Run: ``python benchmarks/ns3_compare.py [--rounds 3] [--only udp,tcp,build]``;
``--profile`` runs the netsim side once under cProfile instead (top entries, kernel events
and greenlet switches per datagram or segment).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MIB = 1 << 20
UDP_HOSTS, UDP_SIZE, UDP_GAP_US = 64, 100, 10
TCP_BYTES, MSS = 20 * MIB, 1460
TREE_LEAVES, TREE_FANOUT = 100, 100


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# -- netsim ------------------------------------------------------------------------------------


def netsim_udp(datagrams: int) -> dict:
    from netsim import AF_INET, SOCK_DGRAM, Network
    net = Network(seed=1, trace=False)
    sw = net.add_switch("s1")
    hosts = []
    for i in range(UDP_HOSTS):
        h = net.add_host(f"h{i}")
        net.link(h, sw, bandwidth="1Gbps")
        h.set_ip(f"10.0.{i // 250}.{i % 250 + 1}/16")
        hosts.append(h)
    pairs = UDP_HOSTS // 2
    each = datagrams // pairs
    got = [0]

    def receiver(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", 9000))
        for _ in range(each):
            s.recvfrom(2048)
            got[0] += 1

    def sender(h, dst):
        s = h.socket(AF_INET, SOCK_DGRAM)
        data = bytes(UDP_SIZE)
        for _ in range(each):
            s.sendto(data, (dst, 9000))
            h.sleep(UDP_GAP_US / 1e6)

    for i in range(pairs):
        src, dst = hosts[i], hosts[pairs + i]
        dst.spawn_with_host(receiver)
        src.spawn_with_host(sender, dst.ip, at="1ms")
    t0 = time.perf_counter()
    net.run()
    wall = time.perf_counter() - t0
    if got[0] != each * pairs:
        raise SystemExit(f"netsim udp: {got[0]} of {each * pairs} datagrams arrived")
    return {"wall": wall, "rate": got[0] / wall, "events": net.kernel.events_run,
            "units": got[0]}


def netsim_tcp(size: int) -> dict:
    from netsim import AF_INET, SOCK_STREAM, Network
    net = Network(seed=1, trace=False)
    h1, h2, sw = net.add_host("h1"), net.add_host("h2"), net.add_switch("s1")
    net.link(h1, sw, bandwidth="1Gbps")
    net.link(h2, sw, bandwidth="1Gbps")
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    for h in (h1, h2):
        cfg = h.tcp.config
        for name, value in (("net.ipv4.tcp_congestion_control", "newreno"),
                            ("net.ipv4.tcp_sack", 0), ("net.ipv4.tcp_timestamps", 0),
                            ("net.ipv4.tcp_window_scaling", 0),
                            ("net.ipv4.tcp_wmem", "4096 65536 65536")):
            cfg.sysctl(name, value)
        cfg.initial_window = 3          # no sysctl for it (Linux sets it per route: initcwnd)
    payload = bytes(size)
    done = [0]

    def sink(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 5001))
        s.listen(1)
        conn, _ = s.accept()
        while chunk := conn.recv(65536):
            done[0] += len(chunk)
        conn.close()

    def bulk(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 5001))
        c.sendall(payload)
        c.close()

    h2.spawn_with_host(sink)
    h1.spawn_with_host(bulk, at="1ms")
    t0 = time.perf_counter()
    net.run()
    wall = time.perf_counter() - t0
    if done[0] != size:
        raise SystemExit(f"netsim tcp: {done[0]} of {size} bytes arrived")
    return {"wall": wall, "rate": math.ceil(size / MSS) / wall, "events": net.kernel.events_run,
            "units": math.ceil(size / MSS)}


def netsim_build() -> dict:
    from netsim import Network
    before = rss_bytes()
    t0 = time.perf_counter()
    net = Network(seed=1, trace=False)
    root = net.add_switch("root")
    n = 0
    for leaf_i in range(TREE_LEAVES):
        leaf = net.add_switch(f"s{leaf_i}")
        net.link(leaf, root, bandwidth="1Gbps")
        for _ in range(TREE_FANOUT):
            h = net.add_host(f"h{n}")
            net.link(h, leaf, bandwidth="1Gbps")
            h.set_ip(f"10.{n // 65025}.{n // 255 % 255}.{n % 255 + 1}/16")
            n += 1
    wall = time.perf_counter() - t0
    return {"wall": wall, "mem": rss_bytes() - before, "hosts": n, "keep": id(net)}


# -- ns-3 --------------------------------------------------------------------------------------


def ns3_available() -> str | None:
    """None when the ns3 wheel imports, else one line saying why not."""
    # In a child: importing ns-3 here would load cppyy and its noise into this process.
    proc = subprocess.run([sys.executable, "-c", "from ns import ns"], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["import failed"])[-1]
        return f"ns-3 skipped: the ns3 wheel is not usable here ({last}); " \
               "pip install -e '.[bench]'"
    return None


def ns3_setup(ns) -> None:
    # netsim always computes and checks real checksums; ns-3 leaves them at zero unless asked.
    ns.GlobalValue.Bind("ChecksumEnabled", ns.BooleanValue(True))
    # netsim's ARP sends its request at once and holds up to 100 packets per unresolved
    # address; ns-3's defaults are a random 0-10 ms jitter and a queue of 3.
    ns.Config.SetDefault("ns3::ArpL3Protocol::RequestJitter",
                         ns.StringValue("ns3::ConstantRandomVariable[Constant=0.0]"))
    ns.Config.SetDefault("ns3::ArpCache::PendingQueueSize", ns.UintegerValue(100))


def ns3_star(ns, count: int, rate: str):
    """``count`` hosts each on its own CSMA cable to one bridge. ns-3 has no switch device:
    a BridgeNetDevice over CSMA ports is its learning switch. A two-node CsmaChannel is a
    shared medium (half duplex, without collisions), where netsim's cable is full duplex."""
    hosts, sw = ns.NodeContainer(), ns.NodeContainer()
    hosts.Create(count)
    sw.Create(1)
    csma = ns.CsmaHelper()
    csma.SetChannelAttribute("DataRate", ns.DataRateValue(ns.DataRate(rate)))
    csma.SetChannelAttribute("Delay", ns.TimeValue(ns.MicroSeconds(1)))
    host_devs, sw_devs = ns.NetDeviceContainer(), ns.NetDeviceContainer()
    for i in range(count):
        pair = ns.NodeContainer()
        pair.Add(hosts.Get(i))
        pair.Add(sw.Get(0))
        devs = csma.Install(pair)
        host_devs.Add(devs.Get(0))
        sw_devs.Add(devs.Get(1))
    ns.BridgeHelper().Install(sw.Get(0), sw_devs)
    ns.InternetStackHelper().Install(hosts)
    addr = ns.Ipv4AddressHelper()
    addr.SetBase(ns.Ipv4Address("10.0.0.0"), ns.Ipv4Mask("255.255.0.0"))
    return hosts, addr.Assign(host_devs)


def ns3_udp(datagrams: int) -> dict:
    from ns import ns
    ns3_setup(ns)
    hosts, ifs = ns3_star(ns, UDP_HOSTS, "1Gbps")
    pairs = UDP_HOSTS // 2
    each = datagrams // pairs
    servers = []
    for i in range(pairs):
        server = ns.UdpServerHelper(9000).Install(hosts.Get(pairs + i))
        server.Start(ns.Seconds(0))
        servers.append(server.Get(0))
        # UdpClient writes a 12-byte sequence header into its payload; 100 B stays 100 B.
        client = ns.UdpClientHelper(ifs.GetAddress(pairs + i).ConvertTo(), 9000)
        client.SetAttribute("MaxPackets", ns.UintegerValue(each))
        client.SetAttribute("Interval", ns.TimeValue(ns.MicroSeconds(UDP_GAP_US)))
        client.SetAttribute("PacketSize", ns.UintegerValue(UDP_SIZE))
        app = client.Install(hosts.Get(i))
        app.Start(ns.MilliSeconds(1))
    t0 = time.perf_counter()
    ns.Simulator.Run()
    wall = time.perf_counter() - t0
    got = sum(ns.DynamicCast[ns.UdpServer](app).GetReceived() for app in servers)
    ns.Simulator.Destroy()
    if got != each * pairs:
        raise SystemExit(f"ns-3 udp: {got} of {each * pairs} datagrams arrived")
    return {"wall": wall, "rate": got / wall}


def ns3_tcp(size: int) -> dict:
    from ns import ns
    ns3_setup(ns)
    for name, value in (
            ("ns3::TcpL4Protocol::SocketType", ns.StringValue("ns3::TcpNewReno")),
            ("ns3::TcpSocket::SegmentSize", ns.UintegerValue(MSS)),
            ("ns3::TcpSocket::InitialCwnd", ns.UintegerValue(3)),
            ("ns3::TcpSocket::SndBufSize", ns.UintegerValue(65536)),
            ("ns3::TcpSocket::RcvBufSize", ns.UintegerValue(65536)),
            # netsim ACKs every segment (delayed ACKs off by default); ns-3 ACKs every 2nd.
            ("ns3::TcpSocket::DelAckCount", ns.UintegerValue(1)),
            ("ns3::TcpSocketBase::Sack", ns.BooleanValue(False)),
            ("ns3::TcpSocketBase::Timestamp", ns.BooleanValue(False)),
            ("ns3::TcpSocketBase::WindowScaling", ns.BooleanValue(False))):
        ns.Config.SetDefault(name, value)
    hosts, ifs = ns3_star(ns, 2, "1Gbps")
    dst = ns.InetSocketAddress(ifs.GetAddress(1), 5001).ConvertTo()
    sink = ns.PacketSinkHelper("ns3::TcpSocketFactory",
                               ns.InetSocketAddress(ns.Ipv4Address.GetAny(), 5001).ConvertTo())
    sink_apps = sink.Install(hosts.Get(1))
    sink_apps.Start(ns.Seconds(0))
    bulk = ns.BulkSendHelper("ns3::TcpSocketFactory", dst)
    bulk.SetAttribute("MaxBytes", ns.UintegerValue(size))
    bulk.Install(hosts.Get(0)).Start(ns.MilliSeconds(1))
    t0 = time.perf_counter()
    ns.Simulator.Run()
    wall = time.perf_counter() - t0
    got = ns.DynamicCast[ns.PacketSink](sink_apps.Get(0)).GetTotalRx()
    ns.Simulator.Destroy()
    if got != size:
        raise SystemExit(f"ns-3 tcp: {got} of {size} bytes arrived")
    return {"wall": wall, "rate": math.ceil(size / MSS) / wall}


def ns3_build() -> dict:
    from ns import ns
    ns3_setup(ns)
    before = rss_bytes()
    t0 = time.perf_counter()
    hosts, switches = ns.NodeContainer(), ns.NodeContainer()
    hosts.Create(TREE_LEAVES * TREE_FANOUT)
    switches.Create(TREE_LEAVES + 1)
    csma = ns.CsmaHelper()
    csma.SetChannelAttribute("DataRate", ns.DataRateValue(ns.DataRate("1Gbps")))
    ports = [ns.NetDeviceContainer() for _ in range(TREE_LEAVES + 1)]
    host_devs = ns.NetDeviceContainer()

    def cable(a: int, a_ports, b_node, b_ports):
        pair = ns.NodeContainer()
        pair.Add(a)
        pair.Add(b_node)
        devs = csma.Install(pair)
        a_ports.Add(devs.Get(0))
        b_ports.Add(devs.Get(1))

    root = switches.Get(TREE_LEAVES)
    for leaf in range(TREE_LEAVES):
        cable(switches.Get(leaf), ports[leaf], root, ports[TREE_LEAVES])
        for j in range(TREE_FANOUT):
            cable(hosts.Get(leaf * TREE_FANOUT + j), host_devs, switches.Get(leaf), ports[leaf])
    bridge = ns.BridgeHelper()
    for s in range(TREE_LEAVES + 1):
        bridge.Install(switches.Get(s), ports[s])
    ns.InternetStackHelper().Install(hosts)
    addr = ns.Ipv4AddressHelper()
    addr.SetBase(ns.Ipv4Address("10.0.0.0"), ns.Ipv4Mask("255.255.0.0"))
    addr.Assign(host_devs)
    wall = time.perf_counter() - t0
    return {"wall": wall, "mem": rss_bytes() - before, "hosts": TREE_LEAVES * TREE_FANOUT}


# -- driver ------------------------------------------------------------------------------------


def one(side: str, workload: str, datagrams: int, tcp_bytes: int) -> dict:
    if workload == "udp":
        return (netsim_udp if side == "netsim" else ns3_udp)(datagrams)
    if workload == "tcp":
        return (netsim_tcp if side == "netsim" else ns3_tcp)(tcp_bytes)
    return (netsim_build if side == "netsim" else ns3_build)()


def in_child(side: str, workload: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", f"{side}:{workload}",
           "--datagrams", str(args.datagrams), "--tcp-mib", str(args.tcp_mib)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{side} {workload} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def profile(workload: str, args, top: int = 25) -> None:
    """Run the netsim side of ``workload`` once in this process under cProfile and print the
    top entries by own time, with kernel events and greenlet switches per datagram (UDP) or
    per data segment (TCP). cProfile slows Python calls far more than greenlet switches and
    C code, so use it for where the calls go and the wall-clock A/B for what pays off."""
    import cProfile
    import pstats

    import greenlet
    switches = [0]

    def count(event, _args):
        if event == "switch":
            switches[0] += 1

    prof = cProfile.Profile()
    old = greenlet.settrace(count)
    prof.enable()
    try:
        got = one("netsim", workload, args.datagrams, args.tcp_mib * MIB)
    finally:
        prof.disable()
        greenlet.settrace(old)
    unit = "datagram" if workload == "udp" else "data segment"
    print(f"netsim {workload} under cProfile: {got['events'] / got['units']:.2f} kernel events "
          f"and {switches[0] / got['units']:.2f} greenlet switches per {unit}")
    pstats.Stats(prof).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="udp,tcp,build", help="comma-separated: udp,tcp,build")
    ap.add_argument("--datagrams", type=int, default=60_000)
    ap.add_argument("--tcp-mib", type=int, default=20)
    ap.add_argument("--profile", action="store_true",
                    help="profile the netsim side of each --only workload once, in process")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        side, workload = args.child.split(":")
        print(json.dumps(one(side, workload, args.datagrams, args.tcp_mib * MIB)))
        return
    workloads = [w for w in args.only.split(",") if w]
    bad = [w for w in workloads if w not in ("udp", "tcp", "build")]
    if bad or args.rounds < 1:
        raise SystemExit(f"--only {','.join(bad)} / --rounds {args.rounds}: "
                         "workloads are udp, tcp, build and rounds at least 1")
    if args.profile:
        for w in workloads:
            if w != "build":
                profile(w, args)
        return
    missing = ns3_available()
    sides = ["netsim"] if missing else ["netsim", "ns3"]
    if missing:
        print(missing)
    results: dict = {(s, w): [] for s in sides for w in workloads}
    for r in range(args.rounds):
        for w in workloads:
            for s in sides:
                results[(s, w)].append(in_child(s, w, args))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    def med(s, w, key):
        return statistics.median(x[key] for x in results[(s, w)])

    print(f"medians of {args.rounds} interleaved rounds")
    print(f"{'workload':<40} {'netsim':>16} {'ns-3':>16} {'netsim/ns-3':>12}")
    labels = {"udp": f"UDP: {UDP_HOSTS} hosts, {args.datagrams} x {UDP_SIZE} B datagrams/s",
              "tcp": f"TCP bulk {args.tcp_mib} MiB, segments/s"}
    for w in workloads:
        if w == "build":
            t = med("netsim", w, "wall")
            m = med("netsim", w, "mem") / 1e6
            nt = f"{t:.2f} s, {m:.0f} MB"
            if "ns3" in sides:
                t3, m3 = med("ns3", w, "wall"), med("ns3", w, "mem") / 1e6
                print(f"{'build 10,000 hosts, 101 switches':<40} {nt:>16} "
                      f"{f'{t3:.2f} s, {m3:.0f} MB':>16} "
                      f"{f'{t3 / t:.2f}x / {m3 / m:.2f}x':>12}  (time / memory, above 1: netsim better)")
            else:
                print(f"{'build 10,000 hosts, 101 switches':<40} {nt:>16} {'-':>16} {'-':>12}")
            continue
        rate = med("netsim", w, "rate")
        if "ns3" in sides:
            rate3 = med("ns3", w, "rate")
            print(f"{labels[w]:<40} {rate:>16,.0f} {rate3:>16,.0f} {rate / rate3:>12.2f}")
        else:
            print(f"{labels[w]:<40} {rate:>16,.0f} {'-':>16} {'-':>12}")


if __name__ == "__main__":
    main()
