"""netsim's TCP against Linux's under loss: 1 MB through a lossy bridge, side by side.

    sudo python benchmarks/tcp_linux.py [--rounds 3] [--loss 5] [--size-mb 1]

Four network namespaces: ``lnx`` (Linux, 10.0.1.2) and ``lnx2`` (Linux, 10.0.1.3) and ``sim``
(the veth end netsim attaches its host h1 to, 10.0.1.10; 1 Gb/s simulated cable), each joined
by a veth (offloads off) to a bridge in ``mid`` whose nftables rule drops ``--loss`` % of the
TCP frames entering it, each way (``numgen random``: this kernel has no netem; the drop sits
in the bridge because a drop in a sender's own output hook is no loss to Linux, it just sends
again). Three transfers, each ``--size-mb`` one way, timed from the sender's ``connect()`` (or
accept) to the receiver's last byte:

* netsim -> Linux (h1 to lnx), Linux -> netsim (lnx to h1), Linux -> Linux (lnx2 to lnx);
* each with SACK, timestamps and window scaling off (``net.ipv4.tcp_sack`` etc. = 0 in each
  namespace, and on h1), then on.

Rounds interleave every case; the report gives the median of the rounds, the spread, the
sender's retransmissions and timeouts, and the ratios to Linux -> Linux with the same options
(the target is 1.5x). A report, not a test: nothing is asserted. Needs root, ip, ethtool, nft.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netsim import Network  # noqa: E402
from tests.interop import linux_tcp_peer as peer  # noqa: E402
from tests.kits.netns import inside, namespaces, sh, veth  # noqa: E402

PEER = str(ROOT / "tests" / "interop" / "linux_tcp_peer.py")
LINUX, LINUX2, SIM = "10.0.1.2", "10.0.1.3", "10.0.1.10"
OPTIONS = ("net.ipv4.tcp_sack", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_window_scaling")
CASES = ("netsim -> Linux", "Linux -> netsim", "Linux -> Linux")
PORTS = ("ml", "ml2", "ms")   # the bridge's ports, towards lnx, lnx2 and sim


def missing_requirements() -> str | None:
    if os.geteuid() != 0:
        return "needs root (it creates network namespaces, veth pairs and nftables rules)"
    for tool in ("ip", "ethtool", "nft"):
        if not (shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")):
            return f"needs {tool}, which is not installed"
    return None


def build(ns: dict[str, str]) -> None:
    mid = ns["mid"]
    for end, (side, port) in {"vl": ("lnx", "ml"), "vl2": ("lnx2", "ml2"),
                              "vs": ("sim", "ms")}.items():
        veth(ns[side], end, mid, port)
    sh("ip", "link", "add", "br0", "type", "bridge", ns=mid)
    for port in PORTS:
        sh("ip", "link", "set", port, "master", "br0", ns=mid)
    sh("ip", "link", "set", "br0", "up", ns=mid)
    sh("ip", "addr", "add", f"{LINUX}/24", "dev", "vl", ns=ns["lnx"])
    sh("ip", "addr", "add", f"{LINUX2}/24", "dev", "vl2", ns=ns["lnx2"])


def set_loss(mid: str, percent: int) -> None:
    subprocess.run(["ip", "netns", "exec", mid, "nft", "delete", "table", "bridge",
                    peer.LOSS_TABLE], capture_output=True)
    sh("nft", "-f", "-", ns=mid, input=peer.loss_ruleset(percent, PORTS))


def drops(mid: str) -> int:
    return sum(peer.dropped(sh("nft", "list", "table", "bridge", peer.LOSS_TABLE,
                               ns=mid).stdout))


def set_options(ns: dict[str, str], on: bool) -> None:
    for side in ("lnx", "lnx2"):
        for name in OPTIONS:
            sh("sysctl", "-qw", f"{name}={int(on)}", ns=ns[side])


def linux(ns: str, *args: str) -> subprocess.Popen:
    proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, PEER, "bulk", *args],
                            stdout=subprocess.PIPE, text=True)
    if args[0] == "server":
        json.loads(proc.stdout.readline())          # {"listening": port}
    return proc


def result(proc: subprocess.Popen, timeout: float = 120) -> dict:
    proc.wait(timeout=timeout)
    return json.loads(proc.stdout.read().splitlines()[-1])


def linux_to_linux(ns: dict[str, str], port: int, size: int) -> dict:
    server = linux(ns["lnx"], "server", LINUX, str(port), "0", "1")
    client = linux(ns["lnx2"], "client", LINUX, str(port), str(size), "1")
    sent, got = result(client), result(server)
    assert got["received_sha256"] == sent["sent_sha256"]
    c = sent["counters"]
    return {"seconds": got["read_at"] - sent["started"], "retrans": c["TcpRetransSegs"],
            "rto": c["TcpExtTCPTimeouts"]}


def with_netsim(ns: dict[str, str], port: int, size: int, on: bool, sim_sends: bool) -> dict:
    net = Network(seed=port, trace=False)
    h1 = net.add_host("h1")
    for name in OPTIONS:
        h1.tcp.config.sysctl(name, int(on))
    with inside(ns["sim"]):
        net.attach(h1, "vs", ip=f"{SIM}/24", bandwidth="1Gbps", check_offloads=False)
    try:
        if sim_sends:
            proc = linux(ns["lnx"], "server", LINUX, str(port), "0", "1")
            task = h1.spawn_with_host(peer.sim_bulk, "client", LINUX, port, size, 1)
        else:
            task = h1.spawn_with_host(peer.sim_bulk, "server", SIM, port, 0, 1)
            net.run(duration="20ms")
            proc = linux(ns["lnx"], "client", SIM, str(port), str(size), "1")
        deadline = time.monotonic() + 120
        while not (task.done and proc.poll() is not None) and time.monotonic() < deadline:
            net.run(duration="50ms")
    finally:
        net.detach()
    if task.exception is not None:
        raise task.exception
    (sim_out, info), lin = task.result, result(proc)
    if sim_sends:
        assert lin["received_sha256"] == sim_out["sent_sha256"]
        return {"seconds": lin["read_at"] - sim_out["started"],
                "retrans": info["tcpi_total_retrans"], "rto": info["tcpi_total_rto"]}
    assert sim_out["received_sha256"] == lin["sent_sha256"]
    c = lin["counters"]
    return {"seconds": sim_out["read_at"] - lin["started"], "retrans": c["TcpRetransSegs"],
            "rto": c["TcpExtTCPTimeouts"]}


def run_case(ns: dict[str, str], case: str, on: bool, port: int, size: int) -> dict:
    before = drops(ns["mid"])
    if case == "Linux -> Linux":
        out = linux_to_linux(ns, port, size)
    else:
        out = with_netsim(ns, port, size, on, sim_sends=case == "netsim -> Linux")
    out["drops"] = drops(ns["mid"]) - before
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--loss", type=int, default=5, help="percent of TCP frames dropped each way")
    ap.add_argument("--size-mb", type=float, default=1.0, help="megabytes per transfer")
    args = ap.parse_args(argv)
    if not 0 <= args.loss < 100 or args.rounds < 1 or args.size_mb <= 0:
        print("--loss takes 0-99, --rounds at least 1, --size-mb more than 0", file=sys.stderr)
        return 2
    problem = missing_requirements()
    if problem:
        print(f"benchmarks/tcp_linux.py {problem}; run it as root on Linux", file=sys.stderr)
        return 1
    size = int(args.size_mb * (1 << 20))
    started = time.perf_counter()
    runs: dict[tuple[bool, str], list[dict]] = {}
    port = 9400
    with namespaces("lnx", "lnx2", "mid", "sim") as ns:
        build(ns)
        set_loss(ns["mid"], args.loss)
        for rnd in range(args.rounds):
            for on in (False, True):
                set_options(ns, on)
                for case in CASES:
                    port += 1
                    out = run_case(ns, case, on, port, size)
                    runs.setdefault((on, case), []).append(out)
                    print(f"round {rnd + 1} options {'on ' if on else 'off'} {case:<16} "
                          f"{out['seconds']:7.3f} s  {out['retrans']:4} retrans "
                          f"{out['rto']:3} RTO  {out['drops']:4} dropped", flush=True)
    print(f"\n{args.size_mb:g} MB one way, {args.loss} % of TCP frames dropped each way, "
          f"median of {args.rounds} interleaved rounds (min-max)\n")
    print(f"{'SACK/TS/WS':<11}{'transfer':<17}{'median s':>9}{'min-max s':>15}"
          f"{'retrans':>9}{'RTOs':>6}{'vs Linux':>10}")
    for on in (False, True):
        base = statistics.median(r["seconds"] for r in runs[(on, "Linux -> Linux")])
        for case in CASES:
            rs = runs[(on, case)]
            secs = [r["seconds"] for r in rs]
            med = statistics.median(secs)
            ratio = "" if case == "Linux -> Linux" else f"{med / base:.1f}x"
            print(f"{'on' if on else 'off':<11}{case:<17}{med:>9.3f}"
                  f"{min(secs):>7.3f}-{max(secs):<7.3f}"
                  f"{statistics.median(r['retrans'] for r in rs):>9g}"
                  f"{statistics.median(r['rto'] for r in rs):>6g}{ratio:>10}")
    print(f"\n(the target is within 1.5x of Linux -> Linux; benchmark run time "
          f"{time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
