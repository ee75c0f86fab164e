"""YAML topology files: parse, check (every error names its line), build a Network.

    seed: 1
    nodes:
      h1: {kind: host, ip: 10.0.1.10/24, gateway: 10.0.1.1}
      s1: {kind: switch, aging: 300s}
      r1: {kind: router}
    links:
      - {a: h1, b: s1, bandwidth: 100Mbps, delay: 50us, loss: 0.01}
      - {a: r1, b: s1, a_ip: 10.0.1.1/24}       # address the new interface of r1
    routes:
      r1: [{prefix: 10.0.3.0/24, via: 10.0.2.2}]
    auto_routes: false
    allow_loops: false
    programs:
      - {host: h1, run: ping, target: 10.0.1.1, count: 3, at: 10ms}
      - {host: h2, run: server.py, args: [9999], cwd: files}   # an unmodified Python program
    capture: [h1-eth0]                          # only these interfaces (default: all)
    duration: 5s

Loading happens in two steps. :func:`parse_topology` turns the text into a checked
:class:`TopologySpec` without touching the simulator, so every mistake is reported with its
line before anything is built; :func:`build_network` then makes the nodes, cables (in file
order, so interfaces are eth0, eth1, ... as links list them), addresses and routes.

Building goes through a factory the caller passes (``Network.from_file`` passes its own class):
topology files sit below :mod:`netsim.network` and never import it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import networkx as nx

from ..sim.units import parse_rate
from ._yaml import TopologyError, Where, YList, YMap, load_yaml, read_text, suggest
from .programs import MAX_TIME, PROGRAMS, REQUIRED

__all__ = ["TopologyError", "TopologySpec", "NodeSpec", "LinkSpec", "RouteSpec", "ProgramSpec",
           "BuildableNetwork", "NetworkFactory", "parse_topology", "build_network",
           "load_topology", "MAX_DURATION", "DEFAULT_BANDWIDTH"]

TOP_KEYS = ("seed", "description", "nodes", "links", "routes", "auto_routes", "allow_loops",
            "programs", "duration", "capture", "attach")
NODE_KEYS = {"host": ("kind", "ip", "gateway"), "router": ("kind", "ip"),
             "switch": ("kind", "aging"), "hub": ("kind",)}
LINK_KEYS = ("a", "b", "bandwidth", "delay", "loss", "mtu", "queue", "duplicate", "reorder",
             "a_ip", "b_ip")
L2_KINDS = ("switch", "hub")

# The valid range of every number a file sets, so that a slip such as 1e300 is refused with the
# range instead of reaching the simulator.
MAX_DURATION = MAX_TIME               # a day of virtual time: runs, start times, timeouts
RATE_RANGE = ("1bps", "400Gbps")      # 400GBASE (IEEE 802.3bs) is the fastest Ethernet
DELAY_RANGE = ("0s", "100s")          # a geostationary hop is 0.25 s; 100 s covers any scenario
MTU_RANGE = (68, 65535)               # RFC 791: every host takes 68 bytes; 16-bit total length
QUEUE_RANGE = (1, 1_000_000)          # frames waiting for the wire
AGING_RANGE = ("10s", "1000000s")     # IEEE 802.1D-2004 7.9.2
DEFAULT_BANDWIDTH = "100Mbps"         # what Network.link uses when a link sets none


@dataclass
class NodeSpec:
    name: str
    kind: str
    line: int
    options: dict[str, Any] = field(default_factory=dict)
    gateway: str | None = None
    gateway_line: int | None = None
    n_ifaces: int = 0


@dataclass
class LinkSpec:
    index: int  # 1-based, as in messages
    a: str
    b: str
    line: int
    params: dict[str, Any] = field(default_factory=dict)
    a_iface: str = ""
    b_iface: str = ""


@dataclass
class AddressSpec:
    node: str
    iface: str
    cidr: ipaddress.IPv4Interface
    line: int


@dataclass
class RouteSpec:
    node: str
    prefix: str
    via: str | None
    line: int


@dataclass
class ProgramSpec:
    index: int
    host: str
    run: str
    params: dict[str, Any]
    at_ns: int
    line: int


@dataclass
class TopologySpec:
    """A checked topology file, ready to build."""

    path: str | None
    seed: int = 0
    description: str = ""
    nodes: dict[str, NodeSpec] = field(default_factory=dict)
    links: list[LinkSpec] = field(default_factory=list)
    addresses: list[AddressSpec] = field(default_factory=list)
    routes: list[RouteSpec] = field(default_factory=list)
    auto_routes: bool = False
    allow_loops: bool = False
    programs: list[ProgramSpec] = field(default_factory=list)
    duration_ns: int | None = None
    attach: list[Any] = field(default_factory=list)   # topo.attachyaml.AttachSpec
    capture: list[str] | None = None  # interfaces/nodes to capture; None: every interface


# -- parsing -------------------------------------------------------------------------------


def parse_topology(text: str, path: str | None = None) -> TopologySpec:
    """Check a topology document and return its :class:`TopologySpec`.

    Args:
        text: the YAML text.
        path: the file name shown in error messages.

    Returns:
        The checked topology.

    Raises:
        TopologyError: the first problem found, with its line.
    """
    top = Where(path)
    doc = load_yaml(text, path)
    if doc is None:
        raise top.error("the file is empty; it needs at least 'nodes:'", 1)
    doc = top.mapping(doc, 1, "a topology file")
    top.keys(doc, TOP_KEYS, required=("nodes",))
    spec = TopologySpec(path)
    if "seed" in doc:
        spec.seed = top.integer(doc, "seed", low=0)  # Python's random treats -n like n
    if "description" in doc:
        spec.description = top.text(doc, "description")
    for key in ("auto_routes", "allow_loops"):
        if key in doc:
            setattr(spec, key, top.boolean(doc, key))
    if "duration" in doc:
        spec.duration_ns = top.time_ns(doc, "duration", "0s", MAX_DURATION, low_open=True)
    _parse_nodes(spec, top.mapping(doc["nodes"], doc.lines["nodes"], "nodes"), top)
    links = top.sequence(doc["links"], doc.lines["links"], "links") if "links" in doc else YList(0)
    _parse_links(spec, links, top)
    if "attach" in doc:   # real interfaces and TAPs (netsim.topo.attachyaml)
        from .attachyaml import parse_attach
        spec.attach = parse_attach(spec, top.sequence(doc["attach"], doc.lines["attach"],
                                                      "attach"), top)
    _check_loops(spec, top)
    _check_collision_domains(spec, top)
    _collect_addresses(spec, top)
    if "routes" in doc:
        _parse_routes(spec, top.mapping(doc["routes"], doc.lines["routes"], "routes"), top)
    if "programs" in doc:
        _parse_programs(spec, top.sequence(doc["programs"], doc.lines["programs"], "programs"),
                        top)
    if "capture" in doc:
        spec.capture = _parse_capture(spec, doc, top)
    return spec


def _parse_nodes(spec: TopologySpec, nodes: YMap, top: Where) -> None:
    top.sub("nodes").keys(nodes, list(nodes), noun="node name")
    if not nodes:
        raise top.error("nodes: the topology has no nodes", nodes.line)
    for name, body in nodes.items():
        line = nodes.key_lines[name]
        where = top.sub(f"node {name}")
        if not name.replace("-", "").replace("_", "").isalnum():
            raise where.error("a node name must be letters, digits, '-' or '_'", line)
        if isinstance(body, str):  # shorthand "h1: host"
            body = YMap(line)
            body["kind"], body.lines["kind"], body.key_lines["kind"] = nodes[name], line, line
        body = where.mapping(body, nodes.lines[name], f"node {name}")
        if "kind" not in body:
            raise where.error("missing key 'kind' (host, router, switch or hub)", body.line)
        kind = body["kind"]
        if kind not in NODE_KEYS:
            raise where.error(f"unknown kind {kind!r}{suggest(str(kind), NODE_KEYS)}",
                              body.lines["kind"])
        where.keys(body, NODE_KEYS[kind])
        node = NodeSpec(name, kind, line)
        if "ip" in body:
            node.options["ip"] = (where.cidr(body, "ip"), body.lines["ip"])
        if "gateway" in body:
            node.gateway = str(where.address(body, "gateway"))
            node.gateway_line = body.lines["gateway"]
        if "aging" in body:
            where.time_ns(body, "aging", *AGING_RANGE)
            node.options["aging"] = body["aging"]
        spec.nodes[name] = node


def _parse_links(spec: TopologySpec, links: YList, top: Where) -> None:
    names = ", ".join(spec.nodes)
    for index, (body, line) in enumerate(zip(links, links.item_lines), start=1):
        where = top.sub(f"link {index}")
        body = where.mapping(body, line, f"link {index}")
        where.keys(body, LINK_KEYS, required=("a", "b"))
        ends = []
        for side in ("a", "b"):
            name = body[side]
            if not isinstance(name, str) or name not in spec.nodes:
                raise where.error(f"unknown node {name!r} (nodes are {names})", body.lines[side])
            ends.append(name)
        if ends[0] == ends[1]:
            raise where.error(f"cannot link {ends[0]} to itself", line)
        link = LinkSpec(index, ends[0], ends[1], line)
        _link_params(link, body, where)
        for side, name in zip(("a", "b"), ends):
            node = spec.nodes[name]
            setattr(link, f"{side}_iface", f"eth{node.n_ifaces}")
            node.n_ifaces += 1
            key = f"{side}_ip"
            if key in body:
                if node.kind not in ("host", "router"):
                    raise where.error(f"{key}: {name} is a {node.kind}; only hosts and routers "
                                      f"have IP addresses", body.lines[key])
                addr = where.cidr(body, key)
                spec.addresses.append(AddressSpec(name, getattr(link, f"{side}_iface"), addr,
                                                  body.lines[key]))
        spec.links.append(link)


def _link_params(link: LinkSpec, body: YMap, where: Where) -> None:
    p = link.params
    if "bandwidth" in body:
        p["bandwidth"] = where.rate_bps(body, "bandwidth", *RATE_RANGE)
    if "delay" in body:
        p["delay"] = f"{where.time_ns(body, 'delay', *DELAY_RANGE)}ns"
    for key in ("loss", "duplicate", "reorder"):
        if key in body:
            p[key] = where.probability(body, key)
    if "mtu" in body:
        p["mtu"] = where.integer(body, "mtu", *MTU_RANGE)
    if "queue" in body:
        p["queue"] = where.integer(body, "queue", *QUEUE_RANGE)


def _check_loops(spec: TopologySpec, top: Where) -> None:
    """Refuse a cycle of switches and hubs unless ``allow_loops`` (no spanning tree here)."""
    if spec.allow_loops:
        return
    l2 = nx.Graph()
    for link in spec.links:
        a, b = link.a, link.b
        if spec.nodes[a].kind not in L2_KINDS or spec.nodes[b].kind not in L2_KINDS:
            continue
        if l2.has_node(a) and l2.has_node(b) and nx.has_path(l2, a, b):
            path = nx.shortest_path(l2, a, b)
            loop = _rotate(path)
            kinds = {spec.nodes[n].kind for n in loop}
            noun = "switches and hubs" if len(kinds) > 1 else {"switch": "switches", "hub": "hubs"}[kinds.pop()]
            raise top.sub(f"link {link.index}").error(
                f"{' - '.join(loop + [loop[0]])}: a loop of {noun} makes a broadcast storm "
                f"(no spanning tree here); set allow_loops: true to build it anyway", link.line)
        l2.add_edge(a, b)


def _check_collision_domains(spec: TopologySpec, top: Where) -> None:
    """Every cable of one collision domain (hubs cabled together) must run at one bit rate.

    A hub repeats each bit onto all its ports as it arrives, so a station, a switch port or
    another hub on it cannot use a different rate (a switch port cabled to a 10 Mb/s hub runs
    at 10 Mb/s, half duplex). The first cable that reaches a domain sets its rate.
    """
    hubs = [n for n, node in spec.nodes.items() if node.kind == "hub"]
    if not hubs:
        return
    g = nx.Graph()
    g.add_nodes_from(hubs)
    g.add_edges_from((link.a, link.b) for link in spec.links if link.a in g and link.b in g)
    domain = {hub: min(comp) for comp in nx.connected_components(g) for hub in comp}
    first: dict[str, tuple[int, LinkSpec]] = {}
    for link in spec.links:
        hub = link.a if link.a in domain else link.b if link.b in domain else None
        if hub is None:
            continue
        rate = link.params.get("bandwidth", parse_rate(DEFAULT_BANDWIDTH))
        seen = first.setdefault(domain[hub], (rate, link))
        if seen[0] != rate:
            given = "" if "bandwidth" in link.params else "the default "
            raise top.sub(f"link {link.index}").error(
                f"{link.a}-{link.b} runs at {given}{_rate_text(rate)}, but {hub}'s collision "
                f"domain runs at {_rate_text(seen[0])} (set by link {seen[1].index}, "
                f"{seen[1].a}-{seen[1].b}, line {seen[1].line}): a hub repeats every bit onto "
                f"all its cables at once, so they must share one rate; give this link "
                f"bandwidth: {_rate_text(seen[0])}", link.line)


def _rate_text(bps: int) -> str:
    """10000000 -> "10Mbps" (the way a file writes it)."""
    for unit, scale in (("Gbps", 10**9), ("Mbps", 10**6), ("kbps", 10**3)):
        if bps >= scale and bps % (scale // 1000 or 1) == 0:
            return f"{bps / scale:g}{unit}"
    return f"{bps}bps"


def _rotate(cycle: list[str]) -> list[str]:
    """Start a cycle at its smallest name, going towards the smaller neighbour."""
    i = cycle.index(min(cycle))
    cycle = cycle[i:] + cycle[:i]
    if len(cycle) > 2 and cycle[-1] < cycle[1]:
        cycle = [cycle[0]] + cycle[1:][::-1]
    return cycle


def _collect_addresses(spec: TopologySpec, top: Where) -> None:
    for node in spec.nodes.values():
        if "ip" not in node.options:
            continue
        addr, line = node.options.pop("ip")
        where = top.sub(f"node {node.name}")
        if node.n_ifaces == 0:
            raise where.error(f"{node.name} has an address but no link; add a link to it", line)
        for other in spec.addresses:
            if other.node == node.name and other.iface == "eth0":
                raise where.error(f"eth0 of {node.name} is also addressed by a link on line "
                                  f"{other.line}; give the address once", line)
        spec.addresses.insert(0, AddressSpec(node.name, "eth0", addr, line))
    spec.addresses.sort(key=lambda a: a.line)
    seen: dict[str, AddressSpec] = {}
    for a in spec.addresses:
        ip = str(a.cidr.ip)
        if ip in seen:
            first = seen[ip]
            raise top.error(f"address {ip} is already used by {first.node} {first.iface} "
                            f"(line {first.line})", a.line)
        seen[ip] = a
    for node in spec.nodes.values():
        if node.gateway is None:
            continue
        mine = [a.cidr for a in spec.addresses if a.node == node.name]
        where = top.sub(f"node {node.name}")
        if not mine:
            raise where.error("a gateway needs an address on the host (ip: or a link's a_ip)",
                              node.gateway_line)
        gw = ipaddress.IPv4Address(node.gateway)
        if not any(gw in c.network for c in mine):
            nets = ", ".join(str(c.network) for c in mine)
            raise where.error(f"gateway {gw} is outside {node.name}'s subnet {nets}",
                              node.gateway_line)


def _parse_routes(spec: TopologySpec, routes: YMap, top: Where) -> None:
    ip_nodes = [n for n, s in spec.nodes.items() if s.kind in ("host", "router")]
    top.sub("routes").keys(routes, ip_nodes, noun="host or router")
    for name, items in routes.items():
        items = top.sequence(items, routes.lines[name], f"routes of {name}")
        nets = [a.cidr.network for a in spec.addresses if a.node == name]
        for index, (body, line) in enumerate(zip(items, items.item_lines), start=1):
            where = top.sub(f"routes of {name}, route {index}")
            body = where.mapping(body, line, "a route")
            where.keys(body, ("prefix", "via"), required=("prefix",))
            prefix = where.prefix(body, "prefix")
            via = None
            if "via" in body:
                via = where.address(body, "via")
                if not any(via in n for n in nets):
                    on = ", ".join(map(str, nets)) or "none"
                    raise where.error(f"via {via} is not on a subnet of {name} (its subnets: "
                                      f"{on})", body.lines["via"])
            elif not nets:
                raise where.error(f"{name} has no address, so the route needs 'via'", line)
            spec.routes.append(RouteSpec(name, str(prefix), str(via) if via else None, line))


def _parse_programs(spec: TopologySpec, programs: YList, top: Where) -> None:
    ip_nodes = [n for n, s in spec.nodes.items() if s.kind in ("host", "router")]
    for index, (body, line) in enumerate(zip(programs, programs.item_lines), start=1):
        where = top.sub(f"program {index}")
        body = where.mapping(body, line, f"program {index}")
        for key in ("host", "run"):
            if key not in body:
                raise where.error(f"missing key {key!r}", line)
        run = body["run"]
        if is_program_file(run):
            spec.programs.append(_program_file(spec, body, index, line, where, ip_nodes))
            continue
        if run not in PROGRAMS:
            raise where.error(f"unknown program {run!r}{suggest(str(run), PROGRAMS)}",
                              body.lines["run"])
        prog = PROGRAMS[run]
        where.keys(body, ("host", "run", "at", *prog.params), noun=f"key for {run}")
        host = body["host"]
        if host not in ip_nodes:
            raise where.error(f"host {host!r} is not a host or router (those are "
                              f"{', '.join(ip_nodes)})", body.lines["host"])
        at_ns = where.time_ns(body, "at", "0s", MAX_DURATION) if "at" in body else 0
        params = {}
        for pname, param in prog.params.items():
            if pname not in body:
                if param.default is REQUIRED:
                    raise where.error(f"{run} needs {pname!r}", line)
                params[pname] = param.default
                continue
            params[pname] = _program_param(spec, body, pname, param, where)
        spec.programs.append(ProgramSpec(index, host, run, params, at_ns, line))


def is_program_file(run: Any) -> bool:
    """``run: server.py`` (a Python file) or ``run: -m http.server`` (a module), not a named
    program of netsim.topo.programs."""
    return isinstance(run, str) and (run.endswith(".py") or run.startswith("-m "))


def _program_file(spec: TopologySpec, body: YMap, index: int, line: int, where: Where,
                  ip_nodes: list[str]) -> ProgramSpec:
    """A program file run unmodified (netsim.userland): params path/module, args, cwd.
    Relative paths are relative to the topology file's folder."""
    where.keys(body, ("host", "run", "args", "at", "cwd"), noun="key for a program file")
    host = body["host"]
    if host not in ip_nodes:
        raise where.error(f"host {host!r} is not a host or router (those are "
                          f"{', '.join(ip_nodes)})", body.lines["host"])
    base = Path(spec.path).parent if spec.path else Path.cwd()
    run = body["run"]
    params: dict[str, Any] = {"path": None, "module": None, "args": [], "cwd": None}
    if run.startswith("-m "):
        params["module"] = run[3:].strip()
    else:
        path = base / run
        if not path.is_file():
            raise where.error(f"program file {run!r} not found (looked in {base})",
                              body.lines["run"])
        params["path"] = str(path)
    if "args" in body:
        args = body["args"]
        if not isinstance(args, list) or any(isinstance(a, (dict, list)) for a in args):
            raise where.error("args must be a list of words, e.g. [10.0.0.2, 9999]",
                              body.lines["args"])
        params["args"] = [str(a) for a in args]
    if "cwd" in body:
        cwd = base / str(body["cwd"])
        if not cwd.is_dir():
            raise where.error(f"cwd {body['cwd']!r} is not a folder (looked in {base})",
                              body.lines["cwd"])
        params["cwd"] = str(cwd)
    at_ns = where.time_ns(body, "at") if "at" in body else 0
    return ProgramSpec(index, host, run, params, at_ns, line)


def _program_param(spec: TopologySpec, body: YMap, key: str, param, where: Where) -> Any:
    kind = param.kind
    if kind == "target":
        value = body[key]
        if isinstance(value, str) and value in spec.nodes:
            addrs = [a for a in spec.addresses if a.node == value]
            if not addrs:
                raise where.error(f"{key}: {value} has no IP address", body.lines[key])
            return str(addrs[0].cidr.ip)
        if isinstance(value, str) and not value.replace(".", "").isdigit():
            names = ", ".join(n for n, s in spec.nodes.items() if s.kind in ("host", "router"))
            raise where.error(f"{key}: no node named {value!r}{_near(value, spec.nodes)} "
                              f"(hosts and routers: {names}; or give an IPv4 address like "
                              f"10.0.1.1)", body.lines[key])
        return str(where.address(body, key))
    if kind in ("port", "count"):
        return where.integer(body, key, param.low, param.high)
    if kind == "time":
        return where.time_ns(body, key, param.low, param.high, low_open=param.low_open)
    value = body[key]
    return value if isinstance(value, str) else where.text(body, key)


def _near(word: str, names) -> str:
    import difflib
    close = difflib.get_close_matches(word, list(names), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _parse_capture(spec: TopologySpec, doc: YMap, top: Where) -> list[str]:
    """``capture: [h1-eth0, r1]``: interfaces (node-ethN) or whole nodes to capture."""
    items = top.sequence(doc["capture"], doc.lines["capture"], "capture")
    if not items:
        raise top.error("capture: the list is empty; leave it out to capture every "
                        "interface", items.line)
    names = []
    for value, line in zip(items, items.item_lines):
        try:
            names.append(check_interface(spec, value))
        except ValueError as exc:
            raise top.error(f"capture: {exc}", line) from None
    return names


def check_interface(spec: TopologySpec, name: Any) -> str:
    """``name`` if it is a node or an interface (``h1-eth0``) of the topology.

    Raises:
        ValueError: no such node or interface (the message lists what there is).
    """
    if isinstance(name, str) and name in spec.nodes:
        return name
    node = name.rpartition("-")[0] if isinstance(name, str) else ""
    if node in spec.nodes:
        have = [f"{node}-eth{i}" for i in range(spec.nodes[node].n_ifaces)]
        if name in have:
            return name
        there = f"{node} has {', '.join(have) or 'no interfaces'}"
    else:
        every = [f"{n}-eth{i}" for n, s in spec.nodes.items() for i in range(s.n_ifaces)]
        there = "interfaces are " + ", ".join(every[:12]) + (", ..." if len(every) > 12 else "")
    raise ValueError(f"no node or interface named {name!r} ({there})")


# -- building ------------------------------------------------------------------------------


class BuildableNetwork(Protocol):
    """What :func:`build_network` needs of the network it fills (``netsim.Network`` is one)."""

    nodes: dict[str, Any]
    topology: Any

    def add_host(self, name: str, **options: Any) -> Any: ...
    def add_router(self, name: str, **options: Any) -> Any: ...
    def add_switch(self, name: str, **options: Any) -> Any: ...
    def add_hub(self, name: str, **options: Any) -> Any: ...
    def link(self, a: str, b: str, **params: Any) -> Any: ...
    def auto_routes(self) -> None: ...


# Called as ``factory(seed=spec.seed, **network_kwargs)``; ``netsim.Network`` itself is one.
NetworkFactory = Callable[..., BuildableNetwork]


def build_network(spec: TopologySpec, factory: NetworkFactory, **network_kwargs: Any):
    """Build the network a checked topology describes.

    Args:
        spec: from :func:`parse_topology`.
        factory: makes the empty network (``netsim.Network``, or a subclass).
        network_kwargs: extra keyword arguments for it (``trace=False``...).

    Returns:
        The network, with the spec kept as ``net.topology`` (the runner reads its programs).

    Raises:
        TopologyError: a device refused a setting; the message names the file line.
    """
    net = factory(seed=spec.seed, **network_kwargs)
    top = Where(spec.path)
    adders = {"host": net.add_host, "router": net.add_router, "switch": net.add_switch,
              "hub": net.add_hub}
    for node in spec.nodes.values():
        with _at(top.sub(f"node {node.name}"), node.line):
            adders[node.kind](node.name, **node.options)
    for link in spec.links:
        with _at(top.sub(f"link {link.index}"), link.line):
            net.link(link.a, link.b, allow_loop=spec.allow_loops, **link.params)
    if spec.attach:
        from .attachyaml import build_attach
        build_attach(net, spec, top)
    gateway_set: set[str] = set()
    for a in spec.addresses:
        node = spec.nodes[a.node]
        gateway = None
        if node.gateway and node.name not in gateway_set and \
                ipaddress.IPv4Address(node.gateway) in a.cidr.network:
            gateway = node.gateway
            gateway_set.add(node.name)
        with _at(top.sub(f"node {a.node}"), a.line):
            net.nodes[a.node].set_ip(str(a.cidr), gateway=gateway, iface=a.iface)
    for r in spec.routes:
        with _at(top.sub(f"routes of {r.node}"), r.line):
            net.nodes[r.node].add_route(r.prefix, via=r.via)
    if spec.auto_routes:
        net.auto_routes()
    net.topology = spec
    return net


class _at:
    """Turn a ValueError/KeyError raised while building into a TopologyError at ``line``."""

    def __init__(self, where: Where, line: int):
        self.where, self.line = where, line

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ, exc, tb) -> bool:
        if exc is not None and isinstance(exc, (ValueError, KeyError)) and \
                not isinstance(exc, TopologyError):
            raise self.where.error(str(exc), self.line) from exc
        return False


def load_topology(path: str | Path, factory: NetworkFactory, **network_kwargs: Any):
    """Read, check and build a YAML topology file (``Network.from_file`` calls this).

    Args:
        path: the file.
        factory: makes the empty network (``netsim.Network``).
        network_kwargs: extra arguments for it.

    Returns:
        The built network; ``net.topology`` is the :class:`TopologySpec`.

    Raises:
        TopologyError: with ``.line`` set to the offending line of the file.
    """
    spec = parse_topology(read_text(path), str(path))
    return build_network(spec, factory, **network_kwargs)
