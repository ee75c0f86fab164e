"""Lab: the same hosts and the same traffic on a hub and on a switch.

A hub repeats every frame out of every port, so every host's NIC sees everyone's traffic and
all hosts share one half-duplex collision domain (IEEE 802.3 CSMA/CD). A switch learns which
MAC address lives behind which port and forwards a unicast frame only there, on full-duplex
links without collisions. The lab sweeps the number of hosts and the offered load, and
measures what a student can check in the captures:

* frames delivered to hosts they were not addressed to (a bystander's NIC saw them),
* collisions,
* goodput (UDP payload delivered per second) and one-way latency.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from netsim import AF_INET, SOCK_DGRAM, Network
from netsim.sim.units import NS_PER_S

from .result import LabResult, Param
from .sweep import run_points

NAME = "hub-vs-switch"
TITLE = "Hub vs switch: flooding, collisions, goodput and latency"
SUMMARY = "same hosts and traffic on a hub and a switch: who sees what, collisions, goodput"

PARAMS = {
    "hosts": Param([2, 4, 8], "numbers of hosts to sweep (comma separated)", list),
    "load": Param([0.2, 0.5, 0.8, 1.2, 1.6],
                  "total offered load, as a fraction of one link's rate (above 1 a hub must drop)", list),
    "bandwidth": Param("10Mbps", "link rate (classic 10BASE-T hubs ran at 10 Mb/s)"),
    "payload": Param(472, "UDP payload bytes per datagram (a 518-byte frame with headers)"),
    "duration": Param("0.5s", "virtual time each point sends traffic"),
    "seed": Param(1, "random seed (same seed, same results and captures)"),
}

PORT = 9000
_HDR = struct.Struct("!QI")  # send time (ns), sequence number


def _build(kind: str, n: int, bandwidth: str, seed: int, trace: bool = False
           ) -> tuple[Network, list, Any]:
    net = Network(seed=seed, trace=trace)
    box = net.add_hub("hub1") if kind == "hub" else net.add_switch("s1")
    hosts = [net.add_host(f"h{i + 1}") for i in range(n)]
    for h in hosts:
        net.link(h, box, bandwidth=bandwidth, delay="1us")
    for i, h in enumerate(hosts):
        h.set_ip(f"10.0.0.{i + 1}/24")
    return net, hosts, box


def _receiver(host, stats: dict) -> None:
    s = host.socket(AF_INET, SOCK_DGRAM)
    s.bind(("", PORT))
    while True:
        data, _addr = s.recvfrom(2048)
        sent_ns, _seq = _HDR.unpack_from(data)
        stats["received"] += 1
        stats["bytes"] += len(data)
        stats["latency_ns"] += host.now - sent_ns


def _sender(host, peers: list[str], rate_pps: float, payload: int, stop_ns: int, stats: dict) -> None:
    rng = host.kernel.rng
    s = host.socket(AF_INET, SOCK_DGRAM)
    filler = bytes(max(0, payload - _HDR.size))
    seq = 0
    host.sleep(rng.expovariate(rate_pps))
    while host.now < stop_ns:
        dst = peers[rng.randrange(len(peers))]
        s.sendto(_HDR.pack(host.now, seq) + filler, (dst, PORT))
        stats["sent"] += 1
        seq += 1
        host.sleep(rng.expovariate(rate_pps))


def _not_for_me_counter(counts: dict, key: str):
    def tap(iface, time_ns, frame, direction, comment) -> None:
        if direction == "in" and frame[:6] != iface.mac_bytes and not frame[0] & 1:
            counts[key] = counts.get(key, 0) + 1
    return tap


def measure_point(kind: str, hosts: int, load: float, bandwidth: str, payload: int,
                  duration: str, seed: int) -> dict[str, Any]:
    """One sweep point: ``hosts`` hosts on a ``kind`` ("hub"/"switch") at total offered ``load``."""
    from netsim.sim.units import parse_rate, parse_time
    net, hs, box = _build(kind, hosts, bandwidth, seed)
    stop_ns = parse_time(duration)
    frame_bits = (payload + 8 + 20 + 14 + 4) * 8
    rate_pps = load * parse_rate(bandwidth) / frame_bits / hosts
    stats = {"sent": 0, "received": 0, "bytes": 0, "latency_ns": 0}
    stray: dict[str, int] = {}
    for h in hs:
        h.iface("eth0").taps.append(_not_for_me_counter(stray, h.name))
        h.spawn_with_host(_receiver, stats, name="receiver")
    for h in hs:
        peers = [p.ip for p in hs if p is not h]
        h.spawn_with_host(_sender, peers, rate_pps, payload, stop_ns, stats, name="sender",
                          at=0.001)
    end_ns = stop_ns + parse_time("50ms")  # let the last datagrams drain before measuring
    net.run(until=f"{end_ns}ns")
    collisions = sum(i.collisions for n in net.nodes.values() for i in n.interfaces)
    drops = sum(i.drops for n in net.nodes.values() for i in n.interfaces)
    return {
        "device": kind, "hosts": hosts, "load": load, "sent": stats["sent"],
        "received": stats["received"],
        "not_for_me": sum(stray.values()),
        "collisions": collisions // 1,
        "drops": drops,
        # UDP payload delivered per second of the run (senders start at 1 ms).
        "goodput_mbps": stats["bytes"] * 8 / ((end_ns - 1_000_000) / NS_PER_S) / 1e6,
        "latency_ms": (stats["latency_ns"] / stats["received"] / 1e6) if stats["received"] else float("nan"),
    }


FLUSH_AT = 0.055  # s: the switch's MAC table is cleared between the 6th and 7th datagram

# The scenes `netsim view hub-vs-switch` (and `netsim lab hub-vs-switch --view`) shows side by
# side: build() of the bystander scene on each box.
SCENES = {"hub": {"kind": "hub"}, "switch": {"kind": "switch"}}


def build(kind: str = "switch", seed: int = 1, bandwidth: str = "10Mbps") -> tuple[Network, dict]:
    """The bystander scene with its programs started (not run): h1 and h2 exchange 10
    datagrams each way while h3 listens (``netsim step hub-vs-switch`` walks through it).

    On the switch, the MAC table is cleared half way (``clear mac address-table``, or a
    reboot) while the hosts' ARP caches still hold each other's address, so the next datagram
    to h2 is an *unknown unicast*: flooded once, then learned again. ``info`` counts what h3's
    NIC received and how many unknown-unicast floods the switch sent towards h3.
    """
    net, (h1, h2, h3), box = _build(kind, 3, bandwidth, seed, trace=True)
    h2_mac = h2.iface("eth0").mac_bytes
    seen = {"to_h2": 0, "broadcast": 0, "total": 0, "unknown_unicast_floods": 0}

    def h3_tap(iface, time_ns, frame, direction, comment) -> None:
        if direction != "in":
            return
        seen["total"] += 1
        if frame[0] & 1:
            seen["broadcast"] += 1
        elif frame[:6] == h2_mac:
            seen["to_h2"] += 1

    h3.iface("eth0").taps.append(h3_tap)

    def port_to_h3(iface, time_ns, frame, direction, comment) -> None:
        if direction == "out" and comment == "flooded: unknown unicast" and frame[:6] == h2_mac:
            seen["unknown_unicast_floods"] += 1

    box.iface("eth2").taps.append(port_to_h3)
    if kind == "switch":
        net.kernel.call_at(round(FLUSH_AT * NS_PER_S), box.flush)

    def talker(host) -> None:
        s = host.socket(AF_INET, SOCK_DGRAM)
        for i in range(10):
            s.sendto(b"hello h2 #%d" % i, (h2.ip, PORT))
            host.sleep(0.01)

    def listener(host) -> None:
        s = host.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", PORT))
        for _ in range(10):
            data, addr = s.recvfrom(2048)
            s.sendto(data.upper(), addr)

    h2.spawn_with_host(listener)
    h1.spawn_with_host(talker, at=0.001)
    return net, seen


def bystander_demo(kind: str, out: Path, seed: int, bandwidth: str) -> dict[str, Any]:
    """Run :func:`build` for ``kind`` with a capture of every interface; returns its counts."""
    net, seen = build(kind, seed, bandwidth)
    path = out / f"{kind}.pcapng"
    with net.capture(path):
        net.run(until="1s")
    seen["capture"] = path
    return seen


def _plot(rows: list[dict], path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    metrics = [("not_for_me", "frames delivered to hosts they were not for"),
               ("collisions", "collisions"),
               ("goodput_mbps", "goodput: UDP payload delivered (Mb/s)"),
               ("latency_ms", "mean one-way latency (ms)")]
    sizes = sorted({r["hosts"] for r in rows})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (key, label) in zip(axes.flat, metrics):
        for ci, n in enumerate(sizes):
            for kind, style in (("hub", "-o"), ("switch", "--s")):
                pts = sorted((r["load"], r[key]) for r in rows if r["hosts"] == n and r["device"] == kind)
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style, color=colours[ci % len(colours)],
                        label=f"{kind}, {n} hosts", markersize=4)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("total offered load (fraction of link rate)")
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=7, ncol=2)
    fig.suptitle("Hub (solid) vs switch (dashed): same hosts, same traffic")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(hosts=None, load=None, bandwidth: str = PARAMS["bandwidth"].default,
        payload: int = PARAMS["payload"].default, duration: str = PARAMS["duration"].default,
        seed: int = PARAMS["seed"].default, out: Path | str | None = None, jobs: int | None = None,
        progress: bool = True) -> LabResult:
    """Run the sweep and the bystander demo; returns the table, plot, captures and checks."""
    hosts = [int(h) for h in (hosts or PARAMS["hosts"].default)]
    load = [float(x) for x in (load or PARAMS["load"].default)]
    out = Path(out) if out is not None else Path("captures") / NAME
    out.mkdir(parents=True, exist_ok=True)
    params = {"hosts": hosts, "load": load, "bandwidth": bandwidth, "payload": payload,
              "duration": duration, "seed": seed}
    result = LabResult(NAME, TITLE, params)

    points = [dict(kind=k, hosts=n, load=ld, bandwidth=bandwidth, payload=payload,
                   duration=duration, seed=seed) for n in hosts for ld in load for k in ("hub", "switch")]
    rows = run_points(measure_point, points, jobs=jobs, label=f"{NAME}: {len(points)} runs",
                      progress=progress)

    t = result.table("Sweep: the same traffic on a hub and on a switch",
                     ["device", "hosts", "load", "sent", "recvd", "not for me", "collisions",
                      "drops", "goodput Mb/s", "latency ms"])
    for r in rows:
        t.add(r["device"], r["hosts"], r["load"], r["sent"], r["received"], r["not_for_me"],
              r["collisions"], r["drops"], round(r["goodput_mbps"], 3), round(r["latency_ms"], 3))
    result.figures.append(_plot(rows, out / "hub-vs-switch.png"))

    result.notes.append(
        "Reading the table: a hub is one shared 10 Mb/s wire, so its goodput stops near the link "
        "rate and queues (latency) and drops grow; a switch gives every host its own full-duplex "
        "link. Past saturation the hub's collision count falls: stations that lost a collision back "
        "off for longer and longer (802.3 binary exponential backoff), so the winner keeps the wire "
        "(the 'capture effect').")
    demo = {kind: bystander_demo(kind, out, seed, bandwidth) for kind in ("hub", "switch")}
    bt = result.table("Bystander h3 while h1 and h2 exchange 10 datagrams each way "
                      f"(the switch's MAC table is cleared at {FLUSH_AT * 1000:.0f} ms)",
                      ["device", "frames h3 received", "broadcasts", "unicast for h2",
                       "unknown-unicast floods"])
    for kind, d in demo.items():
        bt.add(kind, d["total"], d["broadcast"], d["to_h2"],
               d["unknown_unicast_floods"] if kind == "switch" else "-")
        result.captures.append(d["capture"])

    # Graded checks: the lesson, stated as facts over the measurements.
    hub_rows = [r for r in rows if r["device"] == "hub"]
    sw_rows = [r for r in rows if r["device"] == "switch"]
    hub_seen = demo["hub"]["to_h2"]
    result.check("hub: bystander sees the conversation", hub_seen >= 10,
                 f"h3 received {hub_seen} frames addressed to h2 through the hub")
    sw = demo["switch"]
    result.check("switch: bystander sees only broadcasts and unknown-unicast floods",
                 sw["to_h2"] == sw["unknown_unicast_floods"] and sw["to_h2"] <= 1,
                 f"h3 received {sw['to_h2']} frames addressed to h2, and the switch flooded "
                 f"{sw['unknown_unicast_floods']} unknown unicast(s) for h2 (after its table was "
                 f"cleared); the other {10 - sw['to_h2']} went only to h2's port")
    result.check("switch: no collisions", all(r["collisions"] == 0 for r in sw_rows),
                 f"collisions on the switch: {sum(r['collisions'] for r in sw_rows)} in all runs")
    busiest = [r for r in hub_rows if r["hosts"] == max(hosts) and len(load) > 1]
    if busiest:
        lo, hi = min(busiest, key=lambda r: r["load"]), max(busiest, key=lambda r: r["load"])
        result.check("hub: collisions grow with offered load", hi["collisions"] > lo["collisions"],
                     f"{max(hosts)} hosts on the hub: {lo['collisions']} collisions at load "
                     f"{lo['load']}, {hi['collisions']} at load {hi['load']}")
    multi = [r for r in hub_rows if r["hosts"] > 2]
    if multi:
        result.check("hub: every host's NIC receives frames for others",
                     all(r["not_for_me"] > 0 for r in multi),
                     "not-for-me frames on the hub with more than 2 hosts: "
                     + ", ".join(str(r["not_for_me"]) for r in multi))
    return result
