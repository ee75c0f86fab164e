"""Lab: UDP broadcast — permission to shout, who hears it, and where it stops.

A host sends one datagram to *every* host of its network by addressing it to a broadcast
address: the limited broadcast 255.255.255.255 (RFC 919, "this network") or the directed
broadcast of a subnet, e.g. 10.0.1.255 for 10.0.1.0/24 (RFC 922). Both become Ethernet frames
to ff:ff:ff:ff:ff:ff. Because a broadcast costs every host some work, the socket API makes
the sender ask first: ``sendto`` to a broadcast address raises ``PermissionError`` (EACCES)
unless the socket has ``SO_BROADCAST`` set.

The lab runs the same script twice, once with the sender's LAN built on a hub and once on a
switch. A router joins that LAN to a second subnet. It shows that a switch floods a broadcast
out of every port exactly like a hub (while it sends a unicast only where the destination
lives), and that a router is the edge of the broadcast domain: it neither forwards the
limited broadcast (RFC 1812 5.3.5.1) nor, by default, a directed broadcast (RFC 2644).
ARP requests, the broadcasts every host sends without asking, are shown for comparison.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from netsim import AF_INET, SO_BROADCAST, SOCK_DGRAM, SOL_SOCKET, Network

from .params import Param, checked, declare
from .result import LabResult

NAME = "udp-broadcast"
TITLE = "UDP broadcast: SO_BROADCAST, who receives it on a hub and a switch, and the router"
SUMMARY = "SO_BROADCAST and EACCES; a broadcast on a hub, on a switch, and stopped by a router"

PARAMS = declare(
    # 10.0.1.0/24 holds the sender, the receivers and the router (.254).
    Param("hosts", int, 3, min=2, max=252,
          help="receivers on the sender's LAN (the hub or the switch)"),
    Param("remote", int, 2, min=1, max=253, help="receivers behind the router, on the second subnet"),
    Param("port", int, 5000, min=1, max=65535, help="UDP port the receivers listen on"),
    Param("seed", int, 1, min=0, help="random seed"),
)

LAN, REMOTE = "10.0.1", "10.0.2"
# The datagrams the sender tries, in order: (label, destination address).
MESSAGES = [
    ("limited broadcast", "255.255.255.255"),
    ("directed broadcast, own subnet", f"{LAN}.255"),
    ("directed broadcast, remote subnet", f"{REMOTE}.255"),
    ("unicast to h2", f"{LAN}.2"),
]


def build(lan: str, hosts: int, remote: int, seed: int, boundary: str = "router") -> Network:
    """h1 and ``hosts`` receivers on a ``lan`` ("hub"/"switch"), r1, and ``remote`` hosts behind it.

    Args:
        lan: "hub" or "switch": the box of the sender's LAN.
        hosts: receivers on the LAN (h2, h3, ...).
        remote: receivers on the second subnet (x1, x2, ...), on a switch behind r1.
        seed: the network's seed.
        boundary: "router" (the lesson). "switch" replaces r1 by a plain switch, making the
            second group part of the same segment (used by the tests to show a check failing).

    Returns:
        The network; hosts h1..h{hosts+1} on 10.0.1.0/24, x1.. on 10.0.2.0/24.
    """
    if lan not in ("hub", "switch"):
        raise ValueError(f"lan must be 'hub' or 'switch', not {lan!r}")
    net = Network(seed=seed)
    box = net.add_hub("hub1") if lan == "hub" else net.add_switch("s1")
    far = net.add_switch("s2")
    local_hosts = [net.add_host(f"h{i + 1}") for i in range(hosts + 1)]
    remote_hosts = [net.add_host(f"x{i + 1}") for i in range(remote)]
    for h in local_hosts:
        net.link(h, box)
    if boundary == "router":
        r1 = net.add_router("r1")
        net.link(r1, box)
        net.link(r1, far)
        r1.set_ip(f"{LAN}.254/24", iface="eth0")
        r1.set_ip(f"{REMOTE}.254/24", iface="eth1")
    else:
        net.link(box, far)
    for h in remote_hosts:
        net.link(h, far)
    for i, h in enumerate(local_hosts):
        h.set_ip(f"{LAN}.{i + 1}/24", gateway=f"{LAN}.254")
    for i, h in enumerate(remote_hosts):
        h.set_ip(f"{REMOTE}.{i + 1}/24", gateway=f"{REMOTE}.254")
    return net


def receiver(host, port: int, got: list) -> None:
    """Listen on ``port`` and note every datagram: (receiver, message, sender address)."""
    s = host.socket(AF_INET, SOCK_DGRAM)
    s.bind(("", port))  # "" = every address of this host, broadcasts included
    while True:
        data, addr = s.recvfrom(2048)
        got.append((host.name, data.decode(), addr))


def sender(host, port: int, log: list, errors: list) -> None:
    """First try without SO_BROADCAST (refused), then send each message 20 ms apart."""
    s = host.socket(AF_INET, SOCK_DGRAM)
    try:
        s.sendto(b"limited broadcast", ("255.255.255.255", port))
    except PermissionError as exc:
        errors.append(exc)
        log.append(f"{host.time:.3f}s  sendto 255.255.255.255 without SO_BROADCAST -> "
                   f"PermissionError: {exc}")
    s.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)
    log.append(f"{host.time:.3f}s  setsockopt(SOL_SOCKET, SO_BROADCAST, 1)")
    for label, dst in MESSAGES:
        host.sleep(0.02)
        s.sendto(label.encode(), (dst, port))
        log.append(f"{host.time:.3f}s  sendto {dst}:{port}  ({label})")
    host.sleep(0.05)


def _frame_label(frame: bytes) -> str | None:
    """What a received frame is, in the words of the tables (None for frames we do not list)."""
    from netsim.wire import decode_frame
    f = decode_frame(frame)
    if f.arp is not None:
        return f"ARP who-has {f.arp.tpa}?" if f.arp.op == 1 else f"ARP reply: {f.arp.spa} is-at"
    if f.udp is not None:
        return f.udp.payload.decode(errors="replace")
    return None


def measure(lan: str, hosts: int, remote: int, port: int, seed: int, out: Path | None = None,
            boundary: str = "router") -> dict[str, Any]:
    """Run the script on one LAN kind; returns who received what, at the socket and at the NIC.

    Args:
        lan: "hub" or "switch".
        hosts, remote, port, seed: as the lab's parameters.
        out: folder for the capture ``<lan>.pcapng`` (no capture when None).
        boundary: "router", or "switch" to join the two groups without a router (see :func:`build`).

    Returns:
        ``{"lan", "errors" (exceptions from the send without SO_BROADCAST), "log" (the
        sender's transcript), "sockets": {message: set of receivers}, "nics": {frame label:
        set of nodes whose NIC received it}, "dst": {frame label: Ethernet destination},
        "local", "remote" (node names), "capture"}``.
    """
    from netsim.wire import BROADCAST_MAC, mac_str
    net = build(lan, hosts, remote, seed, boundary)
    nodes = [*net.hosts, *net.routers]
    local = [n.name for n in nodes if n.name != "h1" and not n.name.startswith("x")]
    far = [h.name for h in net.hosts if h.name.startswith("x")]
    owners = {n.iface("eth0").mac: n.name for n in nodes}
    got: list = []
    nics: dict[str, set[str]] = {}
    dsts: dict[str, str] = {}
    first: dict[str, int] = {}

    def tap_for(name: str):
        def tap(iface, time_ns, frame, direction, comment) -> None:
            if direction == "in":
                label = _frame_label(frame)
                if label is not None:
                    nics.setdefault(label, set()).add(name)
                    mac = mac_str(frame[:6])
                    dsts[label] = "broadcast" if mac == BROADCAST_MAC else f"{owners[mac]}'s MAC"
                    first.setdefault(label, time_ns)
        return tap

    for node in nodes:
        node.iface("eth0").taps.append(tap_for(node.name))
    log: list[str] = []
    errors: list[OSError] = []
    _start(net, port, got, log, errors)
    path = out / f"{lan}.pcapng" if out is not None else None
    ifaces = [f"{n.name}-{i.name}" for n in nodes for i in n.interfaces]
    if path is not None:
        with net.capture(path, interfaces=ifaces):
            net.run(until="1s")
    else:
        net.run(until="1s")
    sockets: dict[str, set[str]] = {label: set() for label, _ in MESSAGES}
    for name, msg, _addr in got:
        sockets.setdefault(msg, set()).add(name)
    return {"lan": lan, "errors": errors, "log": log, "sockets": sockets, "nics": nics,
            "dst": dsts, "first": first, "local": local, "remote": far, "capture": path}


def _start(net: Network, port: int, got: list, log: list, errors: list) -> None:
    """Every node but h1 listens on ``port``; h1 runs :func:`sender` at 10 ms."""
    for node in [*net.hosts, *net.routers]:
        if node.name != "h1":
            node.spawn_with_host(receiver, port, got, name="receiver")
    net["h1"].spawn_with_host(sender, port, log, errors, at=0.01)


STEP_PARAMS = declare(
    Param("lan", str, "switch", choices=("hub", "switch"), help="the box of the sender's LAN"),
    PARAMS["hosts"], PARAMS["remote"], PARAMS["port"], PARAMS["seed"],
)


def scene(lan: str = "switch", hosts: int = 3, remote: int = 2, port: int = 5000,
          seed: int = 1) -> Network:
    """What ``netsim step udp-broadcast [--lan hub]`` walks through: h1 sending without and
    with SO_BROADCAST; what it prints appears as it happens."""
    if hosts < 1 or remote < 1:
        raise ValueError(f"--hosts and --remote must be integers >= 1 (got {hosts}, {remote})")
    net = build(lan, hosts, remote, seed)

    class Log(list):
        def append(self, line: str) -> None:
            super().append(line)
            print(f"   h1 says: {line}")
    _start(net, port, [], Log(), [])
    return net


def _names(names: set[str], order: list[str]) -> str:
    return ", ".join(n for n in order if n in names) or "nobody"


def _tables(result: LabResult, runs: dict[str, dict]) -> None:
    hub, sw = runs["hub"], runs["switch"]
    order = ["h1", *hub["local"], *hub["remote"]]
    t = result.table("Who received each datagram in its socket (every node but h1 listens)",
                     ["datagram", "sendto", "on hub LAN?", "on switch LAN?", "behind router?"])
    for label, dst in MESSAGES:
        far = (hub["sockets"][label] | sw["sockets"][label]) & set(hub["remote"])
        t.add(label, dst, _names(hub["sockets"][label] & set(hub["local"]), order),
              _names(sw["sockets"][label] & set(sw["local"]), order), _names(far, order))
    labels = sorted(set(hub["nics"]) | set(sw["nics"]), key=lambda k: hub["first"].get(k, 0))
    t = result.table("Whose network card received each frame (ARP for comparison)",
                     ["frame", "Ethernet dst", "hub LAN NICs", "switch LAN NICs", "behind r1"])
    for label in labels:
        dst = hub["dst"].get(label) or sw["dst"].get(label, "?")
        seen_hub, seen_sw = hub["nics"].get(label, set()), sw["nics"].get(label, set())
        far = (seen_hub | seen_sw) & set(hub["remote"])
        t.add(label, dst, _names(seen_hub - set(hub["remote"]), order),
              _names(seen_sw - set(sw["remote"]), order), _names(far, order))


def grade(result: LabResult, runs: dict[str, dict]) -> None:
    """The lesson as graded checks over the two runs (hub and switch)."""
    hub, sw = runs["hub"], runs["switch"]
    errs = hub["errors"] + sw["errors"]
    result.check("PermissionError without SO_BROADCAST",
                 len(errs) == 2 and all(isinstance(e, PermissionError) and e.errno == errno.EACCES
                                        for e in errs),
                 f"sendto 255.255.255.255 without SO_BROADCAST raised: "
                 f"{', '.join(repr(e) for e in errs) or 'nothing'}")
    for lan, run in runs.items():
        for label in ("limited broadcast", "directed broadcast, own subnet"):
            missing = set(run["local"]) - run["sockets"][label]
            result.check(f"broadcast reaches every host on the same segment ({label}, {lan})",
                         not missing,
                         f"{len(run['local']) - len(missing)} of {len(run['local'])} hosts on h1's "
                         f"segment received it" + (f"; missing: {sorted(missing)}" if missing else ""))
    leaked = {f"{lan}: {label}": sorted(run["sockets"][label] & set(run["remote"]))
              for lan, run in runs.items() for label, _ in MESSAGES[:3]}
    leaked = {k: v for k, v in leaked.items() if v}
    result.check("router does not forward the broadcast", not leaked,
                 "no host behind r1 received any of the three broadcasts" if not leaked
                 else f"received behind the router: {leaked}")
    remote_label = MESSAGES[2][0]
    kept = [lan for lan, run in runs.items() if "r1" in run["sockets"][remote_label]]
    result.check("the directed broadcast for the remote subnet ends at r1 (RFC 2644)",
                 len(kept) == len(runs) and not any(runs[lan]["sockets"][remote_label] - {"r1"}
                                                    for lan in runs),
                 f"h1 sent it to its gateway as a unicast; r1 delivered it to itself on the "
                 f"{' and '.join(kept) or 'no'} run(s); receivers: "
                 + "; ".join(f"{lan}: {sorted(run['sockets'][remote_label]) or 'nobody'}"
                             for lan, run in runs.items()))
    same = all(hub["sockets"][m] == sw["sockets"][m] for m, _ in MESSAGES[:2])
    result.check("a switch floods a broadcast like a hub", same,
                 "the same hosts received each broadcast on the hub and on the switch" if same else
                 f"hub: {hub['sockets']}, switch: {sw['sockets']}")
    uni = "UDP unicast to h2"
    hub_uni = hub["nics"].get("unicast to h2", set())
    sw_uni = sw["nics"].get("unicast to h2", set())
    result.check("a unicast reaches every NIC on the hub but only h2's on the switch",
                 hub_uni >= set(hub["local"]) and sw_uni == {"h2"},
                 f"{uni}: hub NICs {sorted(hub_uni)}, switch NICs {sorted(sw_uni)}")
    arp = {lan: {k: v for k, v in run["nics"].items() if k.startswith("ARP who-has")}
           for lan, run in runs.items()}
    arp_ok = all(req and all(set(run["local"]) <= seen and not seen & set(run["remote"])
                             for seen in req.values())
                 for run, req in ((runs[lan], arp[lan]) for lan in runs))
    result.check("an ARP request is a broadcast too: every NIC on the segment, none behind r1",
                 arp_ok, "; ".join(f"{lan}: " + ", ".join(f"{k} -> {sorted(v)}" for k, v in req.items())
                                   for lan, req in arp.items()))


@checked(PARAMS)
def run(hosts: int = PARAMS["hosts"].default, remote: int = PARAMS["remote"].default,
        port: int = PARAMS["port"].default, seed: int = PARAMS["seed"].default,
        out: Path | str | None = None, jobs: int | None = None, progress: bool = True) -> LabResult:
    """Run the broadcast script on a hub LAN and on a switch LAN; tables, captures and checks."""
    if hosts < 2:
        raise ValueError("udp-broadcast needs at least 2 receivers on the LAN (h2 and a bystander)")
    if remote < 1:
        raise ValueError("udp-broadcast needs at least 1 receiver behind the router")
    out = Path(out) if out is not None else Path("captures") / NAME
    out.mkdir(parents=True, exist_ok=True)
    result = LabResult(NAME, TITLE, {"hosts": hosts, "remote": remote, "port": port, "seed": seed})
    runs = {lan: measure(lan, hosts, remote, port, seed, out) for lan in ("hub", "switch")}
    result.texts.append((f"h1's program (same on both LANs), receivers on port {port}",
                         "\n".join(runs["hub"]["log"])))
    _tables(result, runs)
    for run_ in runs.values():
        result.captures.append(run_["capture"])
    result.notes.append(
        f"Topology: h1..h{hosts + 1} on 10.0.1.0/24 (a hub, then a switch), r1 (10.0.1.254 | "
        f"10.0.2.254), x1..x{remote} on 10.0.2.0/24 behind r1. In Wireshark try the filter "
        "eth.dst == ff:ff:ff:ff:ff:ff, and View > Interface to compare what each NIC saw.")
    grade(result, runs)
    return result
