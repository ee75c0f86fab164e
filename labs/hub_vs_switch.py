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

from .params import RATE, TIME, Param, checked, declare
from .result import LabResult
from .sweep import run_points

NAME = "hub-vs-switch"
TITLE = "Hub vs switch: flooding, collisions, goodput and latency"
SUMMARY = "same hosts and traffic on a hub and a switch: who sees what, collisions, goodput"

PARAMS = declare(
    Param("hosts", int, [2, 4, 8], many=True, min=2, max=254,
          help="numbers of hosts to sweep (comma separated; a /24 has room for 254)"),
    Param("load", float, [0.2, 0.5, 0.8, 1.2, 1.6], many=True, min=0, min_open=True, max=10,
          help="total offered load, as a fraction of one link's rate (above 1 a hub must drop)"),
    # Shared (hub) Ethernet ran from 1 Mb/s (1BASE5) to 100 Mb/s (100BASE-TX repeaters).
    Param("bandwidth", RATE, "10Mbps", min="1Mbps", max="100Mbps",
          help="link rate (classic 10BASE-T hubs ran at 10 Mb/s)"),
    # 12 bytes carry the send time and sequence number; 1472 fills one 1500-byte IP packet
    # (the offered load is computed for one frame per datagram, without fragments).
    Param("payload", int, 472, min=12, max=1472,
          help="UDP payload bytes per datagram (a 518-byte frame with headers)"),
    Param("duration", TIME, "0.5s", min="10ms", max="60s",
          help="virtual time each point sends traffic"),
    Param("seed", int, 1, min=0, help="random seed (same seed, same results and captures)"),
)

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


def _drop_counter(station: dict):
    """Count a station's drops by reason: its queue was full, or it gave the frame up after
    16 collisions (IEEE 802.3 4.2.3.2.5, attemptLimit)."""
    def tap(iface, time_ns, frame, direction, comment) -> None:
        if direction == "drop" and comment:
            if "queue full" in comment:
                station["queue_full"] += 1
            elif "collisions" in comment:
                station["gave_up"] += 1
    return tap


def jain_index(shares: list[int]) -> float:
    """Jain's fairness index (Jain, Chiu and Hawe, 1984): (sum x)^2 / (n * sum x^2), 1 when
    every station got the same share, 1/n when one station got everything."""
    total, squares = sum(shares), sum(x * x for x in shares)
    return total * total / (len(shares) * squares) if squares else 1.0


def measure_point(kind: str, hosts: int, load: float, bandwidth: str, payload: int,
                  duration: str, seed: int, capture: str | None = None) -> dict[str, Any]:
    """One sweep point: ``hosts`` hosts on a ``kind`` ("hub"/"switch") at total offered ``load``.

    ``capture``: write every host's NIC to this pcapng file (the collisions, backoffs and drops
    are comments on the frames of the station they happened to).
    """
    from netsim.sim.units import parse_rate, parse_time
    net, hs, box = _build(kind, hosts, bandwidth, seed)
    stop_ns = parse_time(duration)
    frame_bits = (payload + 8 + 20 + 14 + 4) * 8
    rate_pps = load * parse_rate(bandwidth) / frame_bits / hosts
    stats = {"sent": 0, "received": 0, "bytes": 0, "latency_ns": 0}
    stray: dict[str, int] = {}
    stations = {h.name: {"queue_full": 0, "gave_up": 0} for h in hs}
    for h in hs:
        h.iface("eth0").taps.append(_not_for_me_counter(stray, h.name))
        h.iface("eth0").taps.append(_drop_counter(stations[h.name]))
        h.spawn_with_host(_receiver, stats, name="receiver")
    for h in hs:
        peers = [p.ip for p in hs if p is not h]
        h.spawn_with_host(_sender, peers, rate_pps, payload, stop_ns, stats, name="sender",
                          at=0.001)
    end_ns = stop_ns + parse_time("50ms")  # let the last datagrams drain before measuring
    if capture:
        with net.capture(capture, interfaces=[h.name for h in hs]):
            net.run(until=f"{end_ns}ns")
    else:
        net.run(until=f"{end_ns}ns")
    collisions = sum(i.collisions for n in net.nodes.values() for i in n.interfaces)
    drops = sum(i.drops for n in net.nodes.values() for i in n.interfaces)
    for h in hs:
        nic = h.iface("eth0")
        stations[h.name].update(frames=nic.tx_frames, collisions=nic.collisions)
    return {
        "device": kind, "hosts": hosts, "load": load, "sent": stats["sent"],
        "received": stats["received"],
        "not_for_me": sum(stray.values()),
        "collisions": collisions,
        "drops": drops,
        # UDP payload delivered per second of the run (senders start at 1 ms).
        "goodput_mbps": stats["bytes"] * 8 / ((end_ns - 1_000_000) / NS_PER_S) / 1e6,
        "latency_ms": (stats["latency_ns"] / stats["received"] / 1e6) if stats["received"] else float("nan"),
        "stations": stations,
        "fairness": jain_index([st["frames"] for st in stations.values()]),
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


STEP_PARAMS = declare(
    Param("device", str, "switch", choices=("hub", "switch"),
          help="the box between h1, h2 and the bystander h3"),
    PARAMS["seed"], PARAMS["bandwidth"],
)


def scene(device: str = "switch", seed: int = 1, bandwidth: str = "10Mbps") -> Network:
    """What ``netsim step hub-vs-switch [--device hub]`` walks through: the bystander scene of
    :func:`build` (on the switch, its MAC table is cleared half way)."""
    if device not in ("hub", "switch"):
        raise ValueError(f"--device must be hub or switch (got {device!r})")
    return build(device, seed, bandwidth)[0]


def bystander_demo(kind: str, out: Path, seed: int, bandwidth: str) -> dict[str, Any]:
    """Run :func:`build` for ``kind`` with a capture of every interface; returns its counts."""
    net, seen = build(kind, seed, bandwidth)
    path = out / f"{kind}.pcapng"
    with net.capture(path):
        net.run(until="1s")
    seen["capture"] = path
    return seen


def _plot(rows: list[dict], path: Path, rate_mbps: float) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(3, 2, figsize=(11, 10.5))
    metrics = [("not_for_me", "frames delivered to hosts they were not for"),
               ("collisions", "collisions (they rise until the wire is saturated)"),
               ("goodput_mbps", "goodput: UDP payload delivered (Mb/s)"),
               ("latency_ms", "mean one-way latency (ms)"),
               ("drops", "frames dropped (queue full, or 16 collisions)"),
               ("fairness", "fairness: Jain's index of the frames each station sent")]
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
    goodput = axes[1][0]
    goodput.axhline(rate_mbps, color="#888", ls=":", lw=1)
    goodput.annotate(f"link rate {rate_mbps:g} Mb/s", (goodput.get_xlim()[0], rate_mbps),
                     xytext=(4, 4), textcoords="offset points", fontsize=8, color="#555")
    axes[2][1].set_ylim(0, 1.05)
    axes[0][0].legend(fontsize=7, ncol=2)
    fig.suptitle("Hub (solid) vs switch (dashed): same hosts, same traffic")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@checked(PARAMS)
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

    columns = ["hosts", "load", "collisions", "drops", "goodput Mb/s", "latency ms",
               "not for me", "fairness"]
    for kind, title in (("hub", "Sweep, hub: one shared half-duplex wire (CSMA/CD)"),
                        ("switch", "Sweep, switch: a full-duplex link for each host")):
        t = result.table(title, columns)
        t.key = 2
        for r in rows:
            if r["device"] == kind:
                t.add(r["hosts"], r["load"], r["collisions"], r["drops"],
                      round(r["goodput_mbps"], 2), round(r["latency_ms"], 2), r["not_for_me"],
                      round(r["fairness"], 2))
    from netsim.sim.units import parse_rate
    result.figures.append(_plot(rows, out / "hub-vs-switch.png", parse_rate(bandwidth) / 1e6))
    result.notes.append(
        f"load: offered traffic of all hosts together, as a fraction of {bandwidth}. drops: "
        "frames a station threw away (its queue was full, or 16 collisions in a row). not for "
        "me: unicast frames a NIC received for someone else. fairness: Jain's index of the "
        "frames each station got onto the wire, 1.00 = equal shares, 1/hosts = one station "
        "had the wire to itself.")

    # The busiest hub point again, captured: every collision, backoff and drop is a comment.
    busy_hosts, busy_load = max(hosts), max(load)
    sat_path = out / "hub-saturated.pcapng"
    sat = measure_point("hub", busy_hosts, busy_load, bandwidth, payload, duration, seed,
                        capture=str(sat_path))
    st = result.table(f"The busiest hub run, {busy_hosts} hosts at load {busy_load}: fairness "
                      f"{sat['fairness']:.2f}",
                      ["station", "frames sent", "collisions", "queue full", "gave up",
                       "share %"])
    total = sum(x["frames"] for x in sat["stations"].values()) or 1
    for name, x in sat["stations"].items():
        st.add(name, x["frames"], x["collisions"], x["queue_full"], x["gave_up"],
               round(100 * x["frames"] / total, 1))
    result.notes.append(
        "Reading the tables: a hub is one shared wire, so its goodput stops below the link "
        "rate while queues (latency) and drops grow; a switch gives every host its own "
        "full-duplex link. Collisions rise with the load until the wire is saturated, then "
        "fall: a station that lost a collision backs off for longer and longer (802.3 binary "
        "exponential backoff) while the winner sends its queue back to back, so one station "
        "keeps the wire (the capture effect: see the unequal shares above). 'gave up': frames "
        "dropped after 16 collisions. In the capture hub-saturated.pcapng, try the Wireshark "
        "filter frame.comment contains \"collision\" or frame.comment contains \"dropped\".")

    demo = {kind: bystander_demo(kind, out, seed, bandwidth) for kind in ("hub", "switch")}
    bt = result.table("Bystander h3 while h1 and h2 exchange 10 datagrams each way "
                      f"(the switch's MAC table is cleared at {FLUSH_AT * 1000:.0f} ms)",
                      ["device", "frames h3 received", "broadcasts", "unicast for h2",
                       "unknown-unicast floods"])
    for kind, d in demo.items():
        bt.add(kind, d["total"], d["broadcast"], d["to_h2"],
               d["unknown_unicast_floods"] if kind == "switch" else "-")
        result.captures.append(d["capture"])
    result.captures.append(sat_path)
    _grade(result, rows, demo, hosts, load, bandwidth)
    return result


def _grade(result: LabResult, rows: list[dict], demo: dict, hosts: list[int], load: list[float],
           bandwidth: str) -> None:
    """The lesson, stated as facts over the measurements."""
    from netsim.sim.units import parse_rate
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
    n = max(hosts)
    busiest = sorted((r for r in hub_rows if r["hosts"] == n), key=lambda r: r["load"])
    # Below a load of 1 the wire is not saturated: more offered traffic, more collisions.
    below = [r for r in busiest if r["load"] < 1]
    if len(below) > 1 and n > 2:
        counts = [r["collisions"] for r in below]
        result.check("hub: collisions rise with the offered load up to saturation",
                     all(a < b for a, b in zip(counts, counts[1:])),
                     f"{n} hosts on the hub, load " + ", ".join(
                         f"{r['load']}: {r['collisions']}" for r in below) + " collisions")
    # At and above a load of 1 the hub cannot carry more: goodput flattens below the rate.
    rate_mbps = parse_rate(bandwidth) / 1e6
    above = [r for r in busiest if r["load"] >= 1]
    if above:
        lo, hi = above[0], above[-1]
        flat = hi["goodput_mbps"] / lo["goodput_mbps"] - 1 < (hi["load"] / lo["load"] - 1) / 2
        result.check("hub: goodput plateaus below the link rate",
                     all(r["goodput_mbps"] < rate_mbps for r in above) and flat,
                     f"{n} hosts on the hub: {lo['goodput_mbps']:.2f} Mb/s at load {lo['load']}"
                     + (f", {hi['goodput_mbps']:.2f} Mb/s at load {hi['load']} "
                        f"({hi['load'] / lo['load'] - 1:+.0%} offered, "
                        f"{hi['goodput_mbps'] / lo['goodput_mbps'] - 1:+.0%} delivered)"
                        if hi is not lo else "")
                     + f"; the link carries {rate_mbps:g} Mb/s")
    # Past saturation the backoff lottery favours whoever just won (the capture effect): the
    # shares of the wire grow unequal, where a switch port has its wire to itself.
    if above and n > 2:
        top = above[-1]
        twin = next((r for r in sw_rows if r["hosts"] == n and r["load"] == top["load"]), None)
        low = busiest[0]
        result.check("hub: past saturation the stations' shares grow unequal (capture effect)",
                     top["fairness"] < low["fairness"]
                     and (twin is None or top["fairness"] < twin["fairness"]),
                     f"{n} hosts, Jain's fairness on the hub: {low['fairness']:.2f} at load "
                     f"{low['load']}, {top['fairness']:.2f} at load {top['load']}"
                     + (f"; on the switch at load {top['load']}: {twin['fairness']:.2f}"
                        if twin else ""))
    multi = [r for r in hub_rows if r["hosts"] > 2]
    if multi:
        result.check("hub: every host's NIC receives frames for others",
                     all(r["not_for_me"] > 0 for r in multi),
                     "not-for-me frames on the hub with more than 2 hosts: "
                     + ", ".join(str(r["not_for_me"]) for r in multi))
