"""Numbers out of range, names that are not nodes, hubs at two rates, absurd nesting: each is
refused while parsing, with its line and a message that says what is allowed."""

from __future__ import annotations

import pytest

from netsim import Network
from netsim.topo import TopologyError, parse_topology
from netsim.topo.yamlfile import build_network
from tests.kits.topo import VALID, replace_line


def error_of(text: str) -> TopologyError:
    with pytest.raises(TopologyError) as info:
        parse_topology(text, "t.yaml")
    return info.value


CASES = [
    # (line of VALID to replace, new text, words the message must contain)
    (11, "  - {a: h1, b: s1, bandwidth: 1e300}", ["link 1", "bandwidth must be at least 1bps and "
                                                  "at most 400Gbps, got 1e300"]),
    (11, "  - {a: h1, b: s1, bandwidth: 1e400}", ["link 1", "bandwidth", "allowed: at least"]),
    (11, "  - {a: h1, b: s1, bandwidth: 0.5}", ["bandwidth: rate must be positive",
                                                "allowed: at least 1bps and at most 400Gbps"]),
    (11, "  - {a: h1, b: s1, delay: 1e20s}", ["delay must be at least 0s and at most 100s, "
                                              "got 1e20s"]),
    (11, "  - {a: h1, b: s1, delay: 1e400s}", ["delay"]),
    (11, "  - {a: h1, b: s1, mtu: 100000000000}", ["mtu must be at least 68 and at most 65535"]),
    (11, "  - {a: h1, b: s1, queue: 0}", ["queue must be at least 1 and at most 1000000"]),
    (5, "  s1: {kind: switch, aging: 1s}", ["aging must be at least 10s"]),
    (1, "seed: -1", ["seed must be at least 0"]),
    (23, "  - {host: h2, run: udp_echo_server, port: 0}", ["port must be at least 1 and at most "
                                                           "65535"]),
    (24, "  - {host: h1, run: udp_send, target: h2, port: 9000, count: 0}", ["count must be"]),
    (24, "  - {host: h1, run: udp_send, target: h2, port: 9000, timeout: 0s}",
     ["timeout must be more than 0s"]),
    (24, "  - {host: h1, run: udp_send, target: h2, port: 9000, at: 172800s}",
     ["at must be at least 0s and at most 86400s"]),
    (24, "  - {host: h1, run: udp_send, target: dave, port: 9000}",
     ["program 2", "target: no node named 'dave'", "hosts and routers: h1, h2, r1, r2, h3",
      "or give an IPv4 address"]),
    (24, "  - {host: h1, run: udp_send, target: h22, port: 9000}", ["did you mean 'h2'?"]),
    (24, "  - {host: h1, run: udp_send, target: 10.0.1.300, port: 9000}",
     ["target must be an IPv4 address"]),
]


@pytest.mark.parametrize(("lineno", "new", "words"), CASES, ids=[c[1].strip()[:50] for c in CASES])
def test_out_of_range_and_unknown_names_are_refused_with_the_line(lineno, new, words):
    err = error_of(replace_line(VALID, lineno, new))
    assert err.line == lineno, str(err)
    for w in words:
        assert w in str(err), str(err)


def test_the_valid_file_still_parses():
    assert parse_topology(VALID).links


HUB_LAN = """\
nodes:
  h1: {kind: host}
  h2: {kind: host}
  s1: {kind: switch}
  hub1: {kind: hub}
  hub2: {kind: hub}
links:
  - {a: h1, b: s1}
  - {a: h2, b: hub1, bandwidth: 10Mbps}
"""


def test_a_switch_cabled_to_a_10mbps_hub_at_the_default_rate_is_explained():
    err = error_of(HUB_LAN + "  - {a: s1, b: hub1}\n")
    assert err.line == 10
    msg = str(err)
    for w in ("link 3", "s1-hub1 runs at the default 100Mbps", "hub1's collision domain runs at "
              "10Mbps (set by link 2, h2-hub1, line 9)", "a hub repeats every bit",
              "give this link bandwidth: 10Mbps"):
        assert w in msg, msg


def test_cabled_hubs_are_one_domain_whichever_order_the_links_come_in():
    # hub2 gets its rate first, then the cable joining the hubs makes them one domain
    err = error_of(HUB_LAN + "  - {a: s1, b: hub2}\n  - {a: hub1, b: hub2, bandwidth: 10Mbps}\n")
    assert err.line == 10 and "hub2's collision domain runs at 10Mbps" in str(err)


def test_a_switch_at_the_hubs_rate_is_fine(tmp_path):
    spec = parse_topology(HUB_LAN + "  - {a: s1, b: hub1, bandwidth: 10Mbps}\n")
    net = build_network(spec, Network)
    assert net.nodes["s1"].iface("eth1").medium is net.nodes["h2"].iface("eth0").medium


@pytest.mark.parametrize("opener", ["[", "{a: ", "- "])
def test_absurd_nesting_is_one_clear_error(opener):
    err = error_of("nodes: " + opener * 5000 + "\n")
    assert "nested too deeply" in str(err) or "malformed YAML" in str(err)
    assert str(err).startswith("t.yaml")


def test_capture_names_interfaces_or_nodes():
    text = VALID + "capture: [h1-eth0, r2]\n"
    assert parse_topology(text).capture == ["h1-eth0", "r2"]
    err = error_of(VALID + "capture: [r1-eth7]\n")
    assert "no node or interface named 'r1-eth7' (r1 has r1-eth0, r1-eth1)" in str(err)
    assert err.line == VALID.count("\n") + 1
    assert "the list is empty" in str(error_of(VALID + "capture: []\n"))
    assert "capture must be a list" in str(error_of(VALID + "capture: h1-eth0\n"))
