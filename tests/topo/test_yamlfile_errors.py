"""Every mistake in a topology file is reported with the line it is on."""

from __future__ import annotations

import pytest

from netsim.topo import TopologyError, parse_topology
from tests.kits.topo import VALID, replace_line

CASES = [
    # (line to replace, new text, expected line, words the message must contain)
    (12, "  - {a: h2, b: h9}", 12, ["link 2", "unknown node 'h9'", "nodes are h1, h2, s1"]),
    (11, "  - {a: h1, b: s1, bandwith: 100Mbps}", 11, ["link 1", "unknown key 'bandwith'",
                                                       "did you mean 'bandwidth'"]),
    (11, "  - {a: h1, b: s1, delay: 5 parsecs}", 11, ["link 1", "delay", "parsecs"]),
    (11, "  - {a: h1, b: s1, bandwidth: fast}", 11, ["link 1", "bandwidth", "'fast'"]),
    (11, "  - {a: h1, b: s1, loss: lots}", 11, ["link 1", "loss", "probability"]),
    (11, "  - {a: h1, b: s1, loss: 1.5}", 11, ["loss must be between 0 and 1"]),
    (11, "  - {a: h1, b: s1, mtu: 1500.5}", 11, ["mtu must be a whole number"]),
    (11, "  - {a: h1, b: s1, mtu: 20}", 11, ["mtu must be at least 68"]),
    (3, "  h1: {kind: host, ip: 10.0.1.300/24}", 3, ["node h1", "bad address"]),
    (3, "  h1: {kind: host, ip: 10.0.1.10}", 3, ["node h1", "prefix length"]),
    (3, "  h1: {kind: host, ip: 10.0.1.0/24}", 3, ["network address"]),
    (3, "  h1: {kind: host, ip: 10.0.1.10/24, gateway: 10.0.2.1}", 3,
     ["node h1", "gateway 10.0.2.1 is outside h1's subnet 10.0.1.0/24"]),
    (3, "  h1: {kind: host, ip: 10.0.1.10/24, gateway: ten}", 3, ["gateway must be an IPv4"]),
    (3, "  h1: {kind: hots}", 3, ["unknown kind 'hots'", "did you mean 'host'"]),
    (3, "  h1: {kind: host, colour: red}", 3, ["unknown key 'colour'"]),
    (5, "  s1: {kind: switch, aging: soon}", 5, ["aging"]),
    (4, "  h1: {kind: host, ip: 10.0.1.20/24}", 4, ["duplicate node name 'h1' (first on line 3)"]),
    (4, "  h2: {kind: host, ip: 10.0.1.10/24}", 4, ["address 10.0.1.10 is already used by h1"]),
    (1, "seed: one", 1, ["seed must be a whole number"]),
    (1, "sed: 1", 1, ["unknown key 'sed'", "did you mean 'seed'"]),
    (20, "auto_routes: maybe", 20, ["auto_routes must be true or false"]),
    (18, "  r1: [{prefix: 10.0.3.1/24, via: 10.0.2.2}]", 18,
     ["routes of r1", "host bits set", "did you mean 10.0.3.0/24"]),
    (18, "  r1: [{prefix: 10.0.3.0/24, via: 10.9.9.9}]", 18,
     ["via 10.9.9.9 is not on a subnet of r1"]),
    (18, "  s1: [{prefix: 10.0.3.0/24, via: 10.0.2.2}]", 18, ["unknown host or router 's1'"]),
    (12, "  - {a: h2, b: s1, a_ip: 10.0.1.30/24}", 4, ["eth0 of h2 is also addressed",
                                                       "line 12"]),
    (12, "  - {a: h2, b: s1, b_ip: 10.0.1.30/24}", 12, ["s1 is a switch"]),
    (12, "  - {a: h2, b: h2}", 12, ["cannot link h2 to itself"]),
    (12, "  - {a: h2}", 12, ["link 2", "missing key 'b'"]),
    (12, "  - h2 -- s1", 12, ["link 2 must be a mapping"]),
    (23, "  - {host: h2, run: udp_echo_servr, port: 9000}", 23,
     ["program 1", "unknown program 'udp_echo_servr'", "did you mean 'udp_echo_server'"]),
    (23, "  - {host: s1, run: udp_echo_server, port: 9000}", 23, ["'s1' is not a host or router"]),
    (23, "  - {host: h2, run: udp_echo_server, port: 99999}", 23, ["at most 65535"]),
    (23, "  - {host: h2, run: udp_echo_server, prot: 9000}", 23, ["unknown key for "
                                                                   "udp_echo_server 'prot'"]),
    (24, "  - {host: h1, run: udp_send, port: 9000}", 24, ["udp_send needs 'target'"]),
    (12, "  - {a: h2, b: s1", 13, ["malformed YAML"]),
    (9, "  h3: {kind: host, ip: 10.0.3.10/24, gateway: 10.0.3.1", 10, ["malformed YAML"]),
]


@pytest.mark.parametrize(("lineno", "new", "expected_line", "words"), CASES,
                         ids=[c[1].strip()[:40] for c in CASES])
def test_error_names_the_line_and_the_problem(lineno, new, expected_line, words):
    with pytest.raises(TopologyError) as info:
        parse_topology(replace_line(VALID, lineno, new), "topo.yaml")
    err = info.value
    assert err.line == expected_line, str(err)
    assert str(err).startswith(f"topo.yaml:{expected_line}: "), str(err)
    for word in words:
        assert word in str(err), (word, str(err))


def test_topology_error_is_a_value_error():
    assert issubclass(TopologyError, ValueError)


def test_unknown_node_message_matches_the_documented_format():
    text = "nodes:\n  h1: {kind: host}\n  h2: {kind: host}\n  s1: {kind: switch}\nlinks:\n" \
           "  - {a: h1, b: s1}\n  - {a: h2, b: s1}\n  - {a: h9, b: s1}\n"
    with pytest.raises(TopologyError) as info:
        parse_topology(text, "topo.yaml")
    assert str(info.value) == "topo.yaml:8: link 3: unknown node 'h9' (nodes are h1, h2, s1)"


def test_empty_file_is_refused():
    with pytest.raises(TopologyError, match="empty"):
        parse_topology("", "topo.yaml")


def test_missing_nodes_is_refused():
    with pytest.raises(TopologyError, match="missing key 'nodes'") as info:
        parse_topology("seed: 1\n", "topo.yaml")
    assert info.value.line == 1


def test_a_loop_of_switches_is_refused_and_named():
    text = ("nodes:\n  s1: {kind: switch}\n  s2: {kind: switch}\n  s3: {kind: switch}\n"
            "links:\n  - {a: s1, b: s2}\n  - {a: s2, b: s3}\n  - {a: s3, b: s1}\n")
    with pytest.raises(TopologyError) as info:
        parse_topology(text, "topo.yaml")
    assert info.value.line == 8  # the cable that closes the loop
    assert "s1 - s2 - s3 - s1: a loop of switches makes a broadcast storm" in str(info.value)
    assert "allow_loops: true" in str(info.value)


def test_two_cables_between_two_switches_are_a_loop():
    text = ("nodes:\n  s1: {kind: switch}\n  s2: {kind: switch}\n"
            "links:\n  - {a: s1, b: s2}\n  - {a: s2, b: s1}\n")
    with pytest.raises(TopologyError, match="s1 - s2 - s1") as info:
        parse_topology(text, "topo.yaml")
    assert info.value.line == 6


def test_a_loop_through_a_hub_says_switches_and_hubs():
    text = ("nodes:\n  s1: {kind: switch}\n  s2: {kind: switch}\n  hub1: {kind: hub}\n"
            "links:\n  - {a: s1, b: hub1}\n  - {a: hub1, b: s2}\n  - {a: s2, b: s1}\n")
    with pytest.raises(TopologyError, match="hub1 - s1 - s2 - hub1: a loop of switches and hubs"):
        parse_topology(text, "topo.yaml")


def test_routers_in_a_ring_are_not_a_layer2_loop():
    text = ("nodes:\n  r1: {kind: router}\n  r2: {kind: router}\n  r3: {kind: router}\n"
            "links:\n  - {a: r1, b: r2}\n  - {a: r2, b: r3}\n  - {a: r3, b: r1}\n")
    assert len(parse_topology(text).links) == 3


def test_allow_loops_accepts_the_loop():
    text = ("allow_loops: true\nnodes:\n  s1: {kind: switch}\n  s2: {kind: switch}\n"
            "  s3: {kind: switch}\nlinks:\n  - {a: s1, b: s2}\n  - {a: s2, b: s3}\n"
            "  - {a: s3, b: s1}\n")
    assert len(parse_topology(text).links) == 3


def test_unreadable_file_is_a_topology_error(tmp_path):
    from netsim import Network
    from netsim.topo import load_topology
    with pytest.raises(TopologyError, match="cannot read"):
        load_topology(tmp_path / "missing.yaml", Network)
