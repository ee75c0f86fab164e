""""What this device did": Packet Tracer's in-layers and out-layers, from the trace alone.

For each event the page shows a title line (``s1: learned 02:00:00:00:00:01 on port eth0;
destination unknown -> flooded to eth1, eth2``), the layers the frame went up on the way in
and the layers it went down on the way out. Everything is derived here from what the trace
recorded: the devices' capture notes (a switch's ``learned ...``, a router's ``forwarded to
eth1 via ..., TTL 64 -> 63``, a host's ``ARP reply sent``), the protocol events logged at the
same node and instant (TCP state changes, ARP requests queued), the egress comments
(``flooded: unknown unicast``), which copies a switch or hub sent for a frame it received, and
the router's routing table at that instant (from the recorded state), looked up with the
stack's own longest-prefix match.
"""

from __future__ import annotations

from typing import Any

from ..stack.routing import RouteTable
from ..wire.addr import BROADCAST_MAC, ip_to_int

__all__ = ["explain"]

_L2 = ("switch", "hub")


def _ip_key(frame: Any) -> tuple | None:
    """What a router keeps of a datagram it forwards: all but the TTL and the checksum."""
    ip = getattr(frame, "ip", None)
    if ip is None:
        return None
    return (ip.src, ip.dst, ip.ident, int(ip.proto), bytes(ip.payload))


class _Routes:
    """Each node's routing table at the current event, replayed from the state deltas."""

    def __init__(self, deltas: list[list[Any]]):
        self.deltas = [d for d in deltas if d[1].startswith("route/")]
        self.pos = 0
        self.rows: dict[str, dict[str, list]] = {}

    def advance(self, index: int) -> None:
        while self.pos < len(self.deltas) and self.deltas[self.pos][0] <= index:
            _, table, key, row = self.deltas[self.pos]
            rows = self.rows.setdefault(table.split("/", 1)[1], {})
            if row is None:
                rows.pop(key, None)
            else:
                rows[key] = row
            self.pos += 1

    def lookup(self, node: str, dst: str) -> list | None:
        rows = list(self.rows.get(node, {}).values())
        if not rows:
            return None
        table = RouteTable()
        for prefix, via, iface, kind in rows:
            table.add(prefix, via or None, iface, kind)
        return table.lookup(ip_to_int(dst))


def _links(events, frame_ids, decoded, kinds) -> tuple[dict[int, list[int]], dict[int, int]]:
    """Which transmissions (and drops) of a switch, hub or router a received frame caused:
    the latest reception of the same frame (for a router: the same datagram) at that node."""
    last_rx: dict[tuple, int] = {}
    caused: dict[int, list[int]] = {}
    cause_of: dict[int, int] = {}
    for i, ev in enumerate(events):
        fid = frame_ids[i]
        kind = kinds.get(ev.node)
        if fid < 0 or kind not in (*_L2, "router"):
            continue
        key = (ev.node, fid) if kind in _L2 else (ev.node, _ip_key(decoded[fid]))
        if key[1] is None:
            continue
        if ev.kind == "rx":
            last_rx[key] = i
        elif ev.kind in ("tx", "drop"):
            j = last_rx.get(key)
            if j is not None and events[j].iface != ev.iface:
                caused.setdefault(j, []).append(i)
                cause_of[i] = j
    return caused, cause_of


def _logged(events: list, i: int) -> list[str]:
    """Protocol events logged at the node of event ``i`` at the same instant."""
    ev = events[i]
    out = []
    for j in range(max(0, i - 8), min(len(events), i + 8)):
        other = events[j]
        if (other.frame is None and other.node == ev.node and other.time_ns == ev.time_ns
                and other.note):
            prefix = "TCP " if other.kind == "state" else ""
            out.append(prefix + other.note)
    return out


def _l2_in(ev, f) -> list[str]:
    lines = [f"Layer 1: port {ev.iface} receives the frame ({len(f.data)} bytes)"]
    lines.append(f"Layer 2: Ethernet, source {f.eth.src}, destination {f.eth.dst}")
    return lines


def _switch(events, i, f, caused) -> dict[str, Any]:
    ev = events[i]
    out_events = [events[j] for j in caused.get(i, [])]
    sent = [e for e in out_events if e.kind == "tx"]
    parts = [p for p in _parts(ev.note) if "filtered" not in p]
    ins = _l2_in(ev, f) + [f"MAC table: {p}" for p in parts]
    if not parts:
        ins.append(f"MAC table: {f.eth.src} already known on port {ev.iface}")
    if "filtered" in (ev.note or ""):
        decision = "destination is on the ingress port -> filtered (not sent)"
    elif sent and (sent[0].note or "").startswith("flooded"):
        why = sent[0].note.split(":", 1)[1].strip()
        why = "destination unknown" if why == "unknown unicast" else why
        decision = f"{why} -> flooded to {', '.join(e.iface for e in sent)}"
    elif sent:
        decision = (f"destination {f.eth.dst} is on port {sent[0].iface} -> forwarded to "
                    f"{sent[0].iface} only")
    else:
        decision = "nothing sent (yet)"
    outs = [f"Layer 2: {decision}"]
    outs += [f"Layer 1: port {e.iface} " + ("sends the frame" if e.kind == "tx"
                                             else f"drops it: {e.note}") for e in out_events]
    return {"title": f"{ev.node}: " + "; ".join([*parts, decision]), "in": ins, "out": outs}


def _hub(events, i, f, caused) -> dict[str, Any]:
    ev = events[i]
    ports = [events[j].iface for j in caused.get(i, []) if events[j].kind == "tx"]
    return {"title": f"{ev.node}: repeats the frame to {', '.join(ports) or 'no port'} "
                     "(a hub does not read addresses)",
            "in": [f"Layer 1: port {ev.iface} receives the signal"],
            "out": [f"Layer 1: port {p} repeats it" for p in ports]}


def _l2_relay_tx(events, i, f, cause_of, kind: str) -> dict[str, Any]:
    ev = events[i]
    j = cause_of.get(i)
    origin = f" the frame received on {events[j].iface} (event #{j + 1})" if j is not None else ""
    if kind == "hub":
        return {"title": f"{ev.node}: {ev.iface} repeats{origin or ' a frame'}", "in": [],
                "out": [f"Layer 1: port {ev.iface} repeats the signal"]}
    why = ev.note or (f"{f.eth.dst} is on this port in the MAC table" if ev.kind == "tx" else "")
    return {"title": f"{ev.node}: {ev.iface} sends{origin or ' a frame'}: {why}".rstrip(": "),
            "in": [], "out": [f"Layer 1: port {ev.iface} sends the frame"]}


def _router_tx(events, i, f, cause_of) -> dict[str, Any]:
    ev, j = events[i], cause_of[i]
    what = "forwards" if ev.kind == "tx" else f"drops ({ev.note})"
    return {"title": f"{ev.node}: {what} on {ev.iface} the datagram received on "
                     f"{events[j].iface} at event #{j + 1}, now with TTL {f.ip.ttl}",
            "in": [], "out": [f"Layer 3: IPv4 {f.ip.src} -> {f.ip.dst}, TTL {f.ip.ttl}",
                              f"Layer 2: Ethernet {f.eth.src} -> {f.eth.dst} (the next hop)",
                              f"Layer 1: {ev.iface} puts the frame on the wire"]}


def _ip_in(node, ev, f, mine: set[str], kind: str, routes: _Routes, events, i) -> tuple:
    ins, did = [], []
    ip = f.ip
    if ip.dst in mine:
        ins.append(f"Layer 3: IPv4 {ip.src} -> {ip.dst}, TTL {ip.ttl}: for this {kind}")
    elif kind == "router" and "forwarded" in (ev.note or ""):
        ins.append(f"Layer 3: IPv4 {ip.src} -> {ip.dst}, TTL {ip.ttl}: not for me: route it")
        did.append(f"TTL {ip.ttl} -> {ip.ttl - 1}")
        route = routes.lookup(node, ip.dst)
        if route is not None:
            via = f"via {route.via} " if route.via else ""
            did.append(f"route {route.prefix} {via}on {route.iface}")
        hop = route.via if route is not None and route.via else ip.dst
        arp = next((e for e in events[i + 1:i + 40] if e.node == node and e.kind == "arp"
                    and hop in (e.note or "") and e.time_ns - ev.time_ns < 10**7), None)
        if arp is not None:
            did.append(f"ARP for next hop {hop} ({arp.note})")
    else:
        ins.append(f"Layer 3: IPv4 {ip.src} -> {ip.dst}, TTL {ip.ttl}")
    seg = f.tcp or f.udp
    if seg is not None and ip.dst in mine:
        name = "TCP" if f.tcp is not None else "UDP"
        flags = f" [{f.tcp.summary().split('[', 1)[1].split(']', 1)[0]}]" if f.tcp is not None else ""
        ins.append(f"Layer 4: {name} {seg.sport} -> {seg.dport}{flags}")
    elif f.icmp is not None and ip.dst in mine:
        ins.append(f"Layer 4: ICMP {f.icmp.type_text()}")
    return ins, did


def _station_rx(events, i, f, topo, mine, routes, caused) -> dict[str, Any]:
    ev = events[i]
    node, kind = ev.node, topo.kind(ev.node)
    my_mac = next((x["mac"] for n in topo.nodes if n["name"] == node for x in n["ifaces"]
                   if x["name"] == ev.iface), "")
    ins = [f"Layer 1: {ev.iface} receives the frame ({len(f.data)} bytes)"]
    did: list[str] = []
    dst = f.eth.dst
    if dst == my_mac:
        ins.append(f"Layer 2: Ethernet destination {dst} is this interface's address")
    elif dst == BROADCAST_MAC:
        ins.append("Layer 2: Ethernet broadcast: every station takes it")
    elif "not for me" in (ev.note or ""):
        ins.append(f"Layer 2: Ethernet destination {dst} is another station's: the NIC drops it")
    else:
        ins.append(f"Layer 2: Ethernet destination {dst}")
    if f.arp is not None and "not for me" not in (ev.note or ""):
        ins.append(f"ARP: {f.arp.summary()}")
    if f.ip is not None and "not for me" not in (ev.note or ""):
        more_in, more_did = _ip_in(node, ev, f, mine, kind, routes, events, i)
        ins += more_in
        did += more_did
    # TCP state changes are logged events too (with "TCP" in front): take them from the log.
    notes = [n for n in _parts(ev.note) if not n.startswith(f"{node}: ")]
    logged = _logged(events, i)
    if kind == "router":  # the TTL and route lines above say it, with the ARP for the next hop
        notes = [n for n in notes if not n.startswith("forwarded")]
        logged = [n for n in logged if not n.startswith("ARP request queued")]
    outs = [f"Layer 1: {events[j].iface} sends the forwarded frame" if events[j].kind == "tx"
            else f"{events[j].iface}: dropped: {events[j].note}" for j in caused.get(i, [])]
    lines = did + notes + logged or [_accepted(f, mine)]
    return {"title": f"{node}: " + "; ".join(lines), "in": ins, "out": outs}


def _parts(note: str | None) -> list[str]:
    """A capture note's parts (``learned ...; flooded: ...``)."""
    return [p.strip() for p in (note or "").split(";") if p.strip()]


def _accepted(f, mine: set[str]) -> str:
    """What a station did with a frame that left no note: the layer that took it."""
    if f.arp is not None:
        if f.arp.tpa not in mine:
            return f"ARP for {f.arp.tpa}: not my address, ignored"
        return f"ARP: {f.arp.summary()}"
    if f.ip is not None:
        if f.ip.dst not in mine and f.ip.dst != "255.255.255.255":
            return f"IPv4 for {f.ip.dst}: not my address, ignored"
        return "took in " + f.summary().split(" ", 3)[-1]
    return "took in the frame"


def _station_tx(events, i, f) -> dict[str, Any]:
    ev = events[i]
    outs = []
    if f.tcp is not None or f.udp is not None or f.icmp is not None:
        outs.append(f"Layer 4: {f.summary().split(' ', 3)[-1]}")
    if f.ip is not None:
        outs.append(f"Layer 3: IPv4 {f.ip.src} -> {f.ip.dst}, TTL {f.ip.ttl}")
    if f.arp is not None:
        outs.append(f"ARP: {f.arp.summary()}")
    outs.append(f"Layer 2: Ethernet {f.eth.src} -> {f.eth.dst}")
    outs.append(f"Layer 1: {ev.iface} puts the frame on the wire")
    logged = _logged(events, i)
    what = _parts(ev.note)
    short = f.summary().split(" ", 3)[-1] if f.ip is not None else (
        f"ARP {f.arp.summary()}" if f.arp is not None else f.summary())
    return {"title": f"{ev.node}: sends {short} on {ev.iface}" + ("; " + "; ".join(what) if what else ""),
            "in": logged, "out": outs}


def _log_title(ev) -> str:
    note = ev.note or ev.kind
    if note.startswith(f"{ev.node}: "):
        note = note[len(ev.node) + 2:]
    return f"{ev.node}: {'TCP ' if ev.kind == 'state' else ''}{note}"


def explain(events: list, frame_ids: list[int], decoded: list, topo: Any,
            deltas: list[list[Any]]) -> list[dict[str, Any] | None]:
    """One ``{"title", "in", "out"}`` per event (in time order), None for none.

    Args:
        events: the scene's events in time order.
        frame_ids: each event's index into ``decoded`` (-1: no frame).
        decoded: the distinct frames, decoded (None: undecodable).
        topo: the scene's :class:`~.topology.Topology`.
        deltas: the state deltas, sorted by event index.
    """
    kinds = {n["name"]: n["kind"] for n in topo.nodes}
    mine = {n["name"]: {a.split("/")[0] for x in n["ifaces"] for a in x["addrs"]}
            for n in topo.nodes}
    caused, cause_of = _links(events, frame_ids, decoded, kinds)
    routes = _Routes(deltas)
    out: list[dict[str, Any] | None] = []
    for i, ev in enumerate(events):
        routes.advance(i)
        fid = frame_ids[i]
        f = decoded[fid] if fid >= 0 else None
        kind = kinds.get(ev.node, "iface")
        if ev.frame is None:
            out.append({"title": _log_title(ev), "in": [], "out": []})
        elif f is None:
            out.append({"title": f"{ev.node}: an undecodable frame ({len(ev.frame)} bytes)",
                        "in": [], "out": []})
        elif ev.kind in ("drop", "collision"):
            out.append({"title": f"{ev.node}: {ev.iface}: {ev.note or ev.kind}", "in": [],
                        "out": [f"Layer 1: {ev.iface}: {ev.note or ev.kind}"]})
        elif kind == "switch" and ev.kind == "rx":
            out.append(_switch(events, i, f, caused))
        elif kind == "hub" and ev.kind == "rx":
            out.append(_hub(events, i, f, caused))
        elif kind in _L2:
            out.append(_l2_relay_tx(events, i, f, cause_of, kind))
        elif kind == "router" and i in cause_of:
            out.append(_router_tx(events, i, f, cause_of))
        elif ev.kind == "rx":
            out.append(_station_rx(events, i, f, topo, mine.get(ev.node, set()), routes, caused))
        elif ev.kind == "tx":
            out.append(_station_tx(events, i, f))
        else:  # a captured frame of unknown direction, or a kind this module does not know
            where = f" on {ev.iface}" if ev.iface else ""
            what = "captured" if ev.kind == "frame" else ev.kind
            note = f"; {ev.note}" if ev.note else ""
            out.append({"title": f"{ev.node}: {what}{where}: {f.summary()}{note}", "in": [],
                        "out": []})
    return out
