"""Lab: a learning switch fills its MAC table frame by frame, stops flooding, and forgets.

A switch starts knowing nothing. Every frame teaches it one fact: the source MAC address lives
behind the port the frame came in on (IEEE 802.1Q 8.7, the learning process). A frame for an
address it does not know, or for the broadcast address, goes out of every other port
(flooding); a frame for a known address goes out of exactly one port (forwarding). Entries
not refreshed within the aging time are forgotten, so the switch floods again — while the
hosts' ARP caches, which live longer, still hold the address: an *unknown unicast* flood.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netsim import AF_INET, SOCK_DGRAM, Network
from netsim.sim.units import NS_PER_S

from .params import TIME, Param, checked, declare
from .result import LabResult

NAME = "switch-learning"
TITLE = "Switch learning: the MAC table fills, flooding stops, aging makes it flood again"
SUMMARY = "the MAC table frame by frame; flooding stops once learned; aging brings it back"

PARAMS = declare(
    Param("hosts", int, 4, min=3, max=254,
          help="hosts on the switch (one is a bystander; a /24 has room for 254)"),
    # IEEE 802.1D-2004 7.9.2 allows 10 s and more. The lesson needs the hosts' ARP caches
    # (60 s) to outlive the switch's table, so the frame sent 5 s after aging is a unicast
    # flood rather than an ARP broadcast: at most 50 s.
    Param("aging", TIME, "20s", min="10s", max="50s",
          help="MAC table aging time (real switches: 300s)"),
    Param("seed", int, 1, min=0, help="random seed"),
)

PORT = 7000


def _sender(host, plan: list[tuple[float, str]]) -> None:
    s = host.socket(AF_INET, SOCK_DGRAM)
    for at, dst_ip in plan:
        host.sleep(max(0.0, at - host.now / NS_PER_S))
        s.sendto(f"hello from {host.name}".encode(), (dst_ip, PORT))


def _sink(host) -> None:
    s = host.socket(AF_INET, SOCK_DGRAM)
    s.bind(("", PORT))
    while True:
        s.recvfrom(2048)


def _describe(frame) -> str:
    if frame.arp is not None:
        return "ARP request" if frame.arp.op == 1 else "ARP reply"
    if frame.udp is not None:
        return "UDP"
    return frame.summary()[:30]


def _learned(note: str | None, names: dict[str, str]) -> str:
    """'learned 02:00:00:00:00:01 on port eth0' -> 'h1 on eth0'."""
    if not note or not note.startswith("learned"):
        return ""
    words = note.split()
    return f"{names.get(words[1], words[1])} on {words[-1]}"


def build(hosts: int = 4, aging: str = "20s", seed: int = 1) -> tuple[Network, dict[str, Any]]:
    """The switch and its hosts with their programs started (not run): h1 talks to h2, h3
    to h1, the others to h2; after the aging time h1 and h2 talk again.

    Returns:
        ``(net, info)``: ``info`` has the switch (``sw``), the hosts, ``names`` (MAC ->
        host), ``port_host`` (switch port -> host) and ``later`` (s, after the aging).
    """
    from netsim.sim.units import parse_time
    if hosts < 3:
        raise ValueError(f"switch-learning needs at least 3 hosts, one of them a bystander "
                         f"(got {hosts})")
    net = Network(seed=seed)
    sw = net.add_switch("s1", aging=aging)
    hs = [net.add_host(f"h{i + 1}") for i in range(hosts)]
    for h in hs:
        net.link(h, sw)
    for i, h in enumerate(hs):
        h.set_ip(f"10.0.0.{i + 1}/24")
    names = {h.iface("eth0").mac: h.name for h in hs}
    names["ff:ff:ff:ff:ff:ff"] = "broadcast"
    port_host = {sw.iface(i).name: hs[i].name for i in range(hosts)}

    later = parse_time(aging) / NS_PER_S + 5.0  # after the entries aged out
    plans: dict[str, list[tuple[float, str]]] = {h.name: [] for h in hs}
    plans["h1"].append((0.010, hs[1].ip))            # h1 -> h2: ARP broadcast, then unicast
    plans["h3"].append((0.020, hs[0].ip))            # h3 -> h1
    for i in range(3, hosts):
        plans[hs[i].name].append((0.020 + 0.01 * i, hs[1].ip))
    plans["h2"].append((0.080, hs[0].ip))            # h2 -> h1: both known, forwarded
    plans["h1"].append((later, hs[1].ip))            # after aging: unknown unicast flood
    plans["h2"].append((later + 0.010, hs[0].ip))    # h2 answers: relearned, forwarded
    for h in hs:
        h.spawn_with_host(_sink, name="sink")
        if plans[h.name]:
            h.spawn_with_host(_sender, plans[h.name], name="sender")
    return net, {"sw": sw, "hosts": hs, "names": names, "port_host": port_host, "later": later}


STEP_PARAMS = declare(PARAMS["hosts"], PARAMS["aging"], PARAMS["seed"])


def scene(hosts: int = 4, aging: str = "20s", seed: int = 1) -> Network:
    """What ``netsim step switch-learning`` walks through: :func:`build`'s network."""
    return build(hosts, aging, seed)[0]


@checked(PARAMS)
def run(hosts: int = 4, aging: str = "20s", seed: int = 1, out: Path | str | None = None,
        jobs: int | None = None, progress: bool = True) -> LabResult:
    out = Path(out) if out is not None else Path("captures") / NAME
    out.mkdir(parents=True, exist_ok=True)
    result = LabResult(NAME, TITLE, {"hosts": hosts, "aging": aging, "seed": seed})
    net, info = build(hosts, aging, seed)
    sw, names, port_host, later = info["sw"], info["names"], info["port_host"], info["later"]

    table_sizes: list[int] = []
    cap = out / "switch-learning.pcapng"
    with net.capture(cap, interfaces=[sw]):
        net.trace.subscribe(lambda ev: table_sizes.append(len(sw.mac_table()))
                            if ev.node == "s1" and ev.kind == "rx" else None)
        net.run(until=later + 1.0)
    result.captures.append(cap)

    # Pair each frame the switch received with what it sent because of it (same bytes object).
    events = [e for e in net.trace if e.node == "s1" and e.kind in ("rx", "tx")]
    rows = []
    for k, ev in enumerate(e for e in events if e.kind == "rx"):
        outs = [o for o in events if o.kind == "tx" and o.frame is ev.frame]
        f = ev.decoded
        if len(outs) > 1 or (outs and outs[0].note and outs[0].note.startswith("flooded")):
            why = outs[0].note.replace("flooded: ", "") if outs[0].note else "flood"
            action = f"flooded to {len(outs)} ports ({why})"
        elif outs:
            action = f"forwarded to {outs[0].iface} ({port_host.get(outs[0].iface, '?')})"
        else:
            action = ev.note or "filtered"
        rows.append((ev.time, ev.iface, _describe(f), names.get(f.eth.src, f.eth.src),
                     names.get(f.eth.dst, f.eth.dst), action,
                     _learned(ev.note, names),
                     table_sizes[k] if k < len(table_sizes) else len(sw.mac_table())))
    t = result.table("What the switch did with each frame",
                     ["time s", "in", "frame", "from > to", "switch did", "learned", "entries"])
    for r in rows:
        t.add(round(r[0], 3), r[1], r[2], f"{r[3]} > {r[4]}", *r[5:])
    result.texts.append(("MAC table at the end", str(sw.mac_table())))
    result.notes.append(f"switch counters: {sw.stats()}")

    first = rows[0] if rows else None
    result.check("the first frame (an ARP broadcast) is flooded",
                 bool(first) and first[2] == "ARP request" and "flooded" in first[5],
                 f"first frame: {first[2]} from {first[3]}, switch {first[5]}" if first else "no frames")
    before_aging = [r for r in rows if r[0] < later and r[2] == "UDP"]
    result.check("once learned, unicast frames go out one port only",
                 bool(before_aging) and all(r[5].startswith("forwarded") for r in before_aging),
                 f"{sum(r[5].startswith('forwarded') for r in before_aging)} of {len(before_aging)} "
                 "datagrams before aging were forwarded to a single port")
    peak = max((r[7] for r in rows if r[0] < later), default=0)
    result.check("the table learns every host that spoke", peak == hosts,
                 f"largest table before aging: {peak} entries for {hosts} hosts")
    after = [r for r in rows if r[0] >= later]
    result.check("after aging, a frame to a forgotten address floods again (unknown unicast)",
                 bool(after) and after[0][2] == "UDP" and "unknown unicast" in after[0][5],
                 f"first frame after {aging}: {after[0][2]} {after[0][3]}->{after[0][4]}, "
                 f"switch {after[0][5]}" if after else "no frame after aging")
    return result
