"""The topology of a :class:`netsim.Network` as a networkx graph.

One graph node per device (attributes ``kind`` host/router/switch/hub, ``addresses`` as
``[(iface, "10.0.0.1/24"), ...]``, ``gateway`` for hosts) and one edge per cable (attributes
``interfaces`` ``{node_name: iface_name}`` for both ends, ``bandwidth`` in bit/s, ``delay`` in
ns, ``loss``, ``mtu``). A hub makes one shared medium, yet the graph shows what a person sees
on the bench: a cable from the hub to each station.

Two cables between the same pair of devices keep the first one's attributes on the edge and
list every cable in the edge attribute ``cables`` (dicts with ``interfaces`` and the link
parameters), so nothing is lost when the graph feeds the route computation.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

__all__ = ["to_graph", "node_kind", "KINDS", "cable_ends"]

KINDS = ("host", "router", "switch", "hub")


def node_kind(node: Any) -> str:
    """The kind of a device: "host", "router", "switch", "hub" (or its ``kind`` attribute).

    Args:
        node: a device of a network.

    Returns:
        The kind as a lower-case string.
    """
    kind = getattr(node, "kind", None)
    if kind in KINDS:
        return kind
    for cls in type(node).__mro__:
        if cls.__name__.lower() in KINDS:
            return cls.__name__.lower()
    return str(kind or type(node).__name__.lower())


def _addresses(node: Any) -> list[tuple[str, str]]:
    addresses = getattr(node, "addresses", None)
    if not callable(addresses):
        return []
    return [(str(iface), str(cidr)) for iface, cidr in addresses()]


def _mac_number(iface: Any) -> int:
    return int(iface.mac.replace(":", ""), 16)


def cable_ends(net: Any) -> list[tuple[Any, Any, dict[str, Any]]]:
    """Every cable of ``net``: its two interfaces and its parameters, in the order made.

    Point-to-point links give their two ends. A hub's shared medium (a
    :class:`netsim.net.segment.Segment`) records each station's cable (``stations``) and each
    hub-to-hub cable (``trunks``). For a shared medium that records neither, each hub port is
    paired with the interface made by the same ``net.link`` call: ``Network.link`` adds both
    ends back to back, so they have consecutive MAC addresses.

    Args:
        net: a :class:`netsim.Network`.

    Returns:
        A list of ``(iface_a, iface_b, attrs)``; ``attrs`` has bandwidth (bit/s), delay (ns),
        loss, mtu and medium ("link" or "segment").
    """
    cables: list[tuple[Any, Any, dict[str, Any]]] = []
    seen: set[int] = set()
    loose: list[Any] = []
    for node in net.nodes.values():
        for iface in node.interfaces:
            medium = iface.medium
            if medium is None or id(iface) in seen:
                continue
            peer = iface.peer
            if peer is not None:
                seen.update((id(iface), id(peer)))
                cables.append((iface, peer, _attrs(medium, medium)))
            elif hasattr(medium, "stations") and hasattr(medium, "trunks"):
                if id(medium) not in seen:
                    seen.add(id(medium))
                    cables.extend(_segment_cables(medium))
            else:
                loose.append(iface)
    for a, b in _pair_by_mac(loose):
        cables.append((a, b, _attrs(a.medium, a.medium)))
    cables.sort(key=lambda c: min(_mac_number(c[0]), _mac_number(c[1])))
    return cables


def _segment_cables(segment: Any) -> list[tuple[Any, Any, dict[str, Any]]]:
    cables = [(st.port, iface, _attrs(segment, st)) for iface, st in segment.stations.items()]
    done: set[int] = set()
    for trunks in segment.trunks.values():
        for local, remote, _hub, delay_ns in trunks:
            if id(local) not in done:
                done.update((id(local), id(remote)))
                cables.append((local, remote, {**_attrs(segment, segment), "delay": delay_ns}))
    return cables


def _pair_by_mac(members: list[Any]) -> list[tuple[Any, Any]]:
    """Pair interfaces on shared media by MAC adjacency (made by the same ``link`` call)."""
    by_number = {_mac_number(i): i for i in members}
    pairs = []
    used: set[int] = set()
    for number in sorted(by_number):
        if number in used or number + 1 not in by_number or number + 1 in used:
            continue
        used.update((number, number + 1))
        pairs.append((by_number[number], by_number[number + 1]))
    return pairs


def _attrs(medium: Any, cable: Any) -> dict[str, Any]:
    """Bit rate from the medium; delay, loss and MTU from the cable (the same for a Link)."""
    return {
        "bandwidth": getattr(medium, "bandwidth_bps", None),
        "delay": getattr(cable, "delay_ns", None),
        "loss": getattr(cable, "loss", None),
        "mtu": getattr(cable, "mtu", None),
        "medium": str(getattr(medium, "kind", type(medium).__name__.lower())),
    }


def to_graph(net: Any) -> nx.Graph:
    """Build the topology graph of ``net``.

    Args:
        net: a :class:`netsim.Network`.

    Returns:
        An ``nx.Graph`` with a node per device and an edge per cable (see the module docstring
        for the attributes).
    """
    g = nx.Graph()
    for name, node in net.nodes.items():
        g.add_node(name, kind=node_kind(node), addresses=_addresses(node),
                   gateway=getattr(node, "gateway", None),
                   macs={i.name: i.mac for i in node.interfaces})
    for ia, ib, attrs in cable_ends(net):
        u, v = ia.node.name, ib.node.name
        cable = {"interfaces": {u: ia.name, v: ib.name}, **attrs}
        if g.has_edge(u, v):
            g.edges[u, v]["cables"].append(cable)
            continue
        g.add_edge(u, v, interfaces=cable["interfaces"], cables=[cable], **attrs)
    return g
