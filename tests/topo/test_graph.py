"""to_graph: a node per device, an edge per cable, hub cables shown station by station."""

from __future__ import annotations

from netsim import Network


def small_net() -> Network:
    net = Network(seed=1)
    h1, h2, h3 = net.add_host("h1"), net.add_host("h2"), net.add_host("h3")
    s1, hub1, r1 = net.add_switch("s1"), net.add_hub("hub1"), net.add_router("r1")
    net.link(h1, s1, bandwidth="10Mbps", delay="50us", loss=0.01, mtu=1400)
    net.link(r1, s1)
    net.link(r1, hub1)
    net.link(h2, hub1, delay="2us")
    net.link(h3, hub1)
    h1.set_ip("10.0.1.10/24", gateway="10.0.1.1")
    r1.set_ip("10.0.1.1/24", iface="eth0")
    r1.set_ip("10.0.2.1/24", iface="eth1")
    h2.set_ip("10.0.2.20/24")
    h3.set_ip("10.0.2.30/24")
    return net


def test_nodes_carry_kind_and_addresses():
    g = small_net().graph
    assert {n: d["kind"] for n, d in g.nodes(data=True)} == {
        "h1": "host", "h2": "host", "h3": "host", "s1": "switch", "hub1": "hub", "r1": "router"}
    assert g.nodes["r1"]["addresses"] == [("eth0", "10.0.1.1/24"), ("eth1", "10.0.2.1/24")]
    assert g.nodes["h1"]["gateway"] == "10.0.1.1"
    assert g.nodes["s1"]["addresses"] == []


def test_point_to_point_edge_has_interfaces_and_link_parameters():
    e = small_net().graph.edges["h1", "s1"]
    assert e["interfaces"] == {"h1": "eth0", "s1": "eth0"}
    assert (e["bandwidth"], e["delay"], e["loss"], e["mtu"]) == (10_000_000, 50_000, 0.01, 1400)


def test_hub_segment_becomes_one_edge_per_station():
    g = small_net().graph
    assert sorted(g["hub1"]) == ["h2", "h3", "r1"]
    assert g.edges["hub1", "h2"]["interfaces"] == {"hub1": "eth1", "h2": "eth0"}
    assert g.edges["hub1", "r1"]["interfaces"] == {"hub1": "eth0", "r1": "eth1"}
    assert g.edges["hub1", "h2"]["delay"] == 2_000
    assert g.edges["hub1", "h2"]["medium"] == "segment"
    assert g.number_of_edges() == 5


def test_two_cables_between_the_same_pair_are_both_kept():
    net = Network()
    r1, r2 = net.add_router("r1"), net.add_router("r2")
    net.link(r1, r2)
    net.link(r1, r2)
    e = net.graph.edges["r1", "r2"]
    assert [c["interfaces"] for c in e["cables"]] == [{"r1": "eth0", "r2": "eth0"},
                                                      {"r1": "eth1", "r2": "eth1"}]


def test_hub_to_hub_cable_is_an_edge():
    net = Network()
    a, b, h = net.add_hub("hubA"), net.add_hub("hubB"), net.add_host("h1")
    net.link(a, b)
    net.link(h, b)
    g = net.graph
    assert g.has_edge("hubA", "hubB") and g.has_edge("h1", "hubB")
    assert g.edges["hubA", "hubB"]["interfaces"] == {"hubA": "eth0", "hubB": "eth0"}
