"""The route planner on hand-made topology graphs (no simulator needed)."""

from __future__ import annotations

import networkx as nx

from netsim.topo.routes import PlannedRoute, broadcast_domains, plan_routes


class G:
    """A tiny builder for topology graphs shaped like ``to_graph``'s."""

    def __init__(self) -> None:
        self.g = nx.Graph()
        self.ports: dict[str, int] = {}

    def node(self, name: str, kind: str, gateway: str | None = None) -> G:
        self.g.add_node(name, kind=kind, addresses=[], gateway=gateway)
        self.ports[name] = 0
        return self

    def link(self, a: str, b: str, a_ip: str | None = None, b_ip: str | None = None) -> G:
        ifs = {}
        for name, ip in ((a, a_ip), (b, b_ip)):
            ifs[name] = f"eth{self.ports[name]}"
            self.ports[name] += 1
            if ip:
                self.g.nodes[name]["addresses"].append((ifs[name], ip))
        cable = {"interfaces": ifs}
        if self.g.has_edge(a, b):
            self.g.edges[a, b]["cables"].append(cable)
        else:
            self.g.add_edge(a, b, interfaces=ifs, cables=[cable])
        return self


def three_subnets_in_a_line(gateway: bool = False) -> nx.Graph:
    """h1 - s1 - r1 - r2 - hub1 - h3: 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24."""
    b = G()
    b.node("h1", "host", "10.0.1.1" if gateway else None).node("s1", "switch")
    b.node("r1", "router").node("r2", "router").node("hub1", "hub").node("h3", "host")
    b.link("h1", "s1", "10.0.1.10/24").link("r1", "s1", "10.0.1.1/24")
    b.link("r1", "r2", "10.0.2.1/24", "10.0.2.2/24")
    b.link("r2", "hub1", "10.0.3.1/24").link("h3", "hub1", "10.0.3.10/24")
    return b.g


def test_line_routers_get_the_far_subnet_via_their_neighbour():
    plan = plan_routes(three_subnets_in_a_line())
    assert PlannedRoute("r1", "10.0.3.0/24", "10.0.2.2", "eth1") in plan
    assert PlannedRoute("r2", "10.0.1.0/24", "10.0.2.1", "eth0") in plan


def test_line_hosts_without_gateway_get_their_only_router_as_default():
    plan = plan_routes(three_subnets_in_a_line())
    assert PlannedRoute("h1", "0.0.0.0/0", "10.0.1.1", "eth0") in plan
    assert PlannedRoute("h3", "0.0.0.0/0", "10.0.3.1", "eth0") in plan
    assert len(plan) == 4


def test_host_with_a_gateway_is_left_alone():
    plan = plan_routes(three_subnets_in_a_line(gateway=True))
    assert not [r for r in plan if r.node == "h1"]


def test_broadcast_domains_join_hosts_through_switches_and_hubs_only():
    domains = broadcast_domains(three_subnets_in_a_line())
    assert domains == [{("h1", "eth0"), ("r1", "eth0")}, {("h3", "eth0"), ("r2", "eth1")},
                       {("r1", "eth1"), ("r2", "eth0")}]


def triangle(extra_r3_r1: bool = True) -> nx.Graph:
    """r1, r2, r3 in a triangle, each with a LAN; plus a far LAN behind r3."""
    b = G()
    for r in ("r1", "r2", "r3"):
        b.node(r, "router")
    b.node("r4", "router")
    b.link("r1", "r2", "10.12.0.1/24", "10.12.0.2/24")
    b.link("r2", "r3", "10.23.0.2/24", "10.23.0.3/24")
    if extra_r3_r1:
        b.link("r3", "r1", "10.13.0.3/24", "10.13.0.1/24")
    b.link("r3", "r4", "10.34.0.3/24", "10.34.0.4/24")
    b.node("h4", "host").node("s4", "switch")
    b.link("r4", "s4", "10.4.0.1/24").link("h4", "s4", "10.4.0.10/24")
    return b.g


def test_triangle_takes_the_direct_edge_not_the_long_way_round():
    plan = {(r.node, r.prefix): r for r in plan_routes(triangle())}
    # r1 reaches r3's far subnet via r3 directly (2 hops), not via r2 (3 hops).
    assert plan["r1", "10.34.0.0/24"].via == "10.13.0.3"
    assert plan["r1", "10.4.0.0/24"].via == "10.13.0.3"
    assert plan["r2", "10.4.0.0/24"].via == "10.23.0.3"
    assert plan["r4", "10.12.0.0/24"].via == "10.34.0.3"


def test_triangle_ties_go_to_the_smallest_router_name():
    plan = {(r.node, r.prefix): r for r in plan_routes(triangle())}
    # 10.23.0.0/24 (r2-r3) is one router away from r1 either way: r2 < r3 wins.
    assert plan["r1", "10.23.0.0/24"].via == "10.12.0.2"
    # r3 reaches 10.12.0.0/24 via r1 or r2 at equal cost: r1 wins.
    assert plan["r3", "10.12.0.0/24"].via == "10.13.0.1"


def test_plan_is_the_same_whatever_the_insertion_order():
    g = triangle()
    shuffled = nx.Graph()
    shuffled.add_nodes_from(reversed(list(g.nodes(data=True))))
    shuffled.add_edges_from(reversed(list(g.edges(data=True))))
    assert plan_routes(shuffled) == plan_routes(g)


def test_without_the_direct_edge_the_path_goes_round():
    plan = {(r.node, r.prefix): r for r in plan_routes(triangle(extra_r3_r1=False))}
    assert plan["r1", "10.4.0.0/24"].via == "10.12.0.2"


def test_host_on_a_subnet_with_two_routers_gets_specific_routes():
    b = G()
    b.node("h1", "host").node("s1", "switch").node("r1", "router").node("r2", "router")
    b.link("h1", "s1", "10.0.1.10/24").link("r1", "s1", "10.0.1.1/24")
    b.link("r2", "s1", "10.0.1.2/24")
    b.link("r1", "r2", "10.0.9.1/30", "10.0.9.2/30")  # a back link, not a stub
    b.node("r3", "router")
    b.link("r2", "r3", "10.0.2.1/24", "10.0.2.2/24")
    plan = [r for r in plan_routes(b.g) if r.node == "h1"]
    assert PlannedRoute("h1", "10.0.2.0/24", "10.0.1.2", "eth0") in plan
    assert PlannedRoute("h1", "10.0.9.0/30", "10.0.1.1", "eth0") in plan
    assert all(r.prefix != "0.0.0.0/0" for r in plan)


def test_unreachable_subnet_gets_no_route():
    b = G()
    b.node("r1", "router").node("r2", "router").node("r3", "router").node("r4", "router")
    b.link("r1", "r2", "10.0.1.1/24", "10.0.1.2/24")
    b.link("r3", "r4", "10.0.2.1/24", "10.0.2.2/24")
    assert plan_routes(b.g) == []


def test_same_prefix_on_two_unjoined_cables_is_not_one_subnet():
    b = G()
    b.node("r1", "router").node("r2", "router").node("r3", "router")
    b.link("r1", "r2", "10.0.1.1/24", "10.0.1.2/24")
    b.link("r2", "r3", "10.0.2.2/24", "10.0.2.3/24")
    b.node("x", "router")
    b.link("x", "r3", "10.0.1.5/24", "10.0.3.3/24")  # reuses 10.0.1.0/24 elsewhere
    plan = {(r.node, r.prefix): r for r in plan_routes(b.g)}
    # r1 reaches 10.0.3.0/24 via r2 (its own cable's neighbour), never via "x"
    assert plan["r1", "10.0.3.0/24"].via == "10.0.1.2"
