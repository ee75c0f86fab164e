"""Automatic static routes computed from the topology graph.

The computation works on the graph of :func:`netsim.topo.graph.to_graph`, in three steps:

1. **Broadcast domains.** Cut the graph at every IP interface: hosts and routers end a
   broadcast domain, switches and hubs extend it. Each connected piece is one layer-2 domain,
   and the IP interfaces in it form its subnet(s).
2. **The router-level graph.** A bipartite graph joins each router to each subnet it has an
   address on (both halves of the hop weigh 1, so a path's length is twice its router hops).
3. **Next hops.** For a router R and a subnet S it is not on, every neighbouring router N
   (sharing a subnet T with R) is a candidate, costing 2 + the networkx shortest path length
   from N to S. The cheapest wins; ties go to the smallest router name, then the smallest
   shared subnet, so the same topology always yields the same table. The next hop is N's
   address on T.

A host without a gateway gets a default route to the one router on its subnet; on a subnet
with several routers (or a host on several subnets) it gets specific routes instead, chosen
the same way. A host with a gateway is left alone.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import networkx as nx

__all__ = ["PlannedRoute", "broadcast_domains", "plan_routes", "auto_routes"]

DEFAULT = "0.0.0.0/0"
_IP_KINDS = ("host", "router")


@dataclass(frozen=True, order=True)
class PlannedRoute:
    """One route the planner wants: on ``node``, ``prefix`` via ``via`` out of ``iface``."""

    node: str
    prefix: str
    via: str
    iface: str


def _ip_ifaces(g: nx.Graph) -> list[tuple[str, str, ipaddress.IPv4Interface]]:
    out = []
    for name, data in g.nodes(data=True):
        if data.get("kind") in _IP_KINDS:
            for iface, cidr in data.get("addresses", ()):
                out.append((name, iface, ipaddress.ip_interface(cidr)))
    return out


def broadcast_domains(g: nx.Graph) -> list[set[tuple[str, str]]]:
    """Split the topology into layer-2 broadcast domains.

    Args:
        g: a topology graph from :func:`netsim.topo.graph.to_graph`.

    Returns:
        One set per domain holding the ``(node, iface)`` IP interfaces in it, sorted by their
        smallest member so the order is stable. Domains without an IP interface are left out.
    """
    d = nx.Graph()

    def end(node: str, iface: str) -> Any:
        # An IP interface is a domain's edge; a switch or hub is the domain's inside.
        return (node, iface) if g.nodes[node].get("kind") in _IP_KINDS else node

    for u, v, data in g.edges(data=True):
        for cable in data.get("cables") or [{"interfaces": data["interfaces"]}]:
            ifs = cable["interfaces"]
            d.add_edge(end(u, ifs[u]), end(v, ifs[v]))
    for name, iface, _ in _ip_ifaces(g):
        d.add_node((name, iface))
    domains = []
    for comp in nx.connected_components(d):
        ips = {x for x in comp if isinstance(x, tuple)}
        if ips:
            domains.append(ips)
    domains.sort(key=min)
    return domains


def _subnets(g: nx.Graph) -> dict[tuple[int, str], list[tuple[str, str, str]]]:
    """Each subnet, keyed by (domain index, network), with its ``(node, iface, ip)`` members.

    Keying by domain keeps apart two cables that reuse a prefix without being joined: a
    router can only be a next hop for nodes in its own broadcast domain.
    """
    domain_of = {}
    for index, dom in enumerate(broadcast_domains(g)):
        for member in dom:
            domain_of[member] = index
    members: dict[tuple[int, str], list[tuple[str, str, str]]] = {}
    for name, iface, addr in _ip_ifaces(g):
        key = (domain_of[(name, iface)], str(addr.network))
        members.setdefault(key, []).append((name, iface, str(addr.ip)))
    return dict(sorted(members.items()))


def _router_graph(g: nx.Graph, members) -> nx.Graph:
    """The bipartite graph joining each router to each subnet it has an address on."""
    rg = nx.Graph()
    for key, on in members.items():
        rg.add_node(("net", key))
        for name, _, _ in on:
            if g.nodes[name]["kind"] == "router":
                rg.add_edge(("router", name), ("net", key))
    return rg


def _best_hop(source: str, targets: list, rg: nx.Graph, members, cache: dict) -> tuple | None:
    """The cheapest (cost, router, subnet, router ip, source iface) towards any of ``targets``."""
    best = None
    for target in targets:
        if target not in cache:
            cache[target] = nx.single_source_shortest_path_length(rg, ("net", target))
        dist = cache[target]
        for key, on in members.items():
            mine = [iface for name, iface, _ in on if name == source]
            if not mine:
                continue
            for name, _, ip in on:
                if name == source or ("router", name) not in dist:
                    continue
                choice = (dist[("router", name)] + 2, name, _net_key(key[1]), ip, mine[0])
                if best is None or choice < best:
                    best = choice
    return best


def plan_routes(g: nx.Graph) -> list[PlannedRoute]:
    """Compute the static routes :func:`auto_routes` would install.

    Args:
        g: a topology graph from :func:`netsim.topo.graph.to_graph`.

    Returns:
        Routes in node-name then prefix order; prefix "0.0.0.0/0" is a host's default route.
    """
    members = _subnets(g)
    rg = _router_graph(g, members)
    by_network: dict[str, list] = {}
    for key in members:
        by_network.setdefault(key[1], []).append(key)
    plan: list[PlannedRoute] = []
    cache: dict = {}
    for name, data in sorted(g.nodes(data=True)):
        kind = data.get("kind")
        if kind not in _IP_KINDS or not data.get("addresses"):
            continue
        own = [key for key, on in members.items() if any(n == name for n, _, _ in on)]
        if kind == "host":
            if data.get("gateway"):
                continue
            gateways = {(ip, iface) for key in own for (n, _, ip) in members[key]
                        if g.nodes[n]["kind"] == "router" and n != name
                        for iface in [_iface_in(members[key], name)]}
            if len(gateways) == 1 and len(own) == 1:
                (ip, iface), = gateways
                plan.append(PlannedRoute(name, DEFAULT, ip, iface))
                continue
        own_networks = {key[1] for key in own}
        for network in sorted(set(by_network) - own_networks, key=_net_key):
            hop = _best_hop(name, by_network[network], rg, members, cache)
            if hop is not None:
                plan.append(PlannedRoute(name, network, hop[3], hop[4]))
    return plan


def _iface_in(on: list[tuple[str, str, str]], name: str) -> str:
    return next(iface for n, iface, _ in on if n == name)


def _net_key(subnet: str) -> tuple[int, int]:
    n = ipaddress.ip_network(subnet)
    return int(n.network_address), n.prefixlen


def auto_routes(net: Any) -> list[PlannedRoute]:
    """Install static routes on every router and gateway-less host of ``net``.

    Routes the node already has for the same prefix (connected ones, or static routes set by
    hand or by a topology file) are kept and not duplicated.

    Args:
        net: a :class:`netsim.Network` whose addresses are set.

    Returns:
        The routes that were added.
    """
    from .graph import to_graph

    added = []
    for route in plan_routes(to_graph(net)):
        node = net.nodes[route.node]
        present = {str(r.prefix) for r in node.routes()}
        if route.prefix in present:
            continue
        node.add_route(route.prefix, via=route.via)
        added.append(route)
    return added
