"""The ``attach:`` section of topology files: checked with lines, built in file order.

Building is tested with a Network whose ``attach``/``add_tap`` cable a plain switch instead of
opening a real interface, so these tests need no privileges; the namespace tests build the
real thing.
"""

from __future__ import annotations

import textwrap

import pytest

from netsim import Network
from netsim.topo.yamlfile import TopologyError, build_network, parse_topology

BASE = """\
nodes:
  r1: {kind: router}
  s1: {kind: switch}
  h1: {kind: host, ip: 10.0.9.10/24, gateway: 10.0.9.1}
links:
  - {a: h1, b: s1}
  - {a: r1, b: s1, a_ip: 10.0.9.1/24}
"""


class CablingNetwork(Network):
    """Records what the file asked for and cables a stand-in switch for each real port."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: list[tuple] = []

    def attach(self, node, ifname, **options):
        self.asked.append(("attach", node, ifname, options))
        self.link(node, self.add_switch(f"real-{ifname}"), **options)

    def add_tap(self, tapname, node, **options):
        self.asked.append(("tap", node, tapname, dict(options)))
        options.pop("linux_ip", None)
        self.link(node, self.add_switch(f"real-{tapname}"), **options)


def _spec(attach: str, base: str = BASE):
    return parse_topology(base + "attach:\n" + textwrap.indent(textwrap.dedent(attach), "  "),
                          "t.yaml")


def test_attach_cables_come_after_the_links_and_take_addresses_and_link_parameters():
    spec = _spec("""\
        - {node: r1, interface: veth0, ip: 10.0.1.1/24, delay: 100us, loss: 0.01}
        - {node: lone, tap: tap0, linux_ip: 10.0.5.254/24}
        - {node: s1, interface: eth9}
        """, BASE.replace("links:", "  lone: {kind: host, ip: 10.0.5.10/24}\nlinks:"))
    net = build_network(spec, CablingNetwork)
    assert net.asked == [
        ("attach", "r1", "veth0", {"delay": "100000ns", "loss": 0.01}),
        ("tap", "lone", "tap0", {"linux_ip": "10.0.5.254/24"}),
        ("attach", "s1", "eth9", {}),
    ]
    assert net["r1"].addresses() == [("eth0", "10.0.9.1/24"), ("eth1", "10.0.1.1/24")]
    # a host whose only cable is an attach has it as eth0, so its node-level ip: applies
    assert net["lone"].addresses() == [("eth0", "10.0.5.10/24")]
    assert [i.name for i in net["s1"].interfaces] == ["eth0", "eth1", "eth2"]


@pytest.mark.parametrize("entry,line,message", [
    ("{node: nope, interface: veth0}", 9, "unknown node 'nope'"),
    ("{node: s1}", 9, "give exactly one of 'interface'"),
    ("{node: s1, interface: veth0, tap: tap0}", 9, "give exactly one of 'interface'"),
    ("{node: s1, interface: veth0, ip: 10.0.0.1/24}", 9, "s1 is a switch; only hosts and routers"),
    ("{node: r1, interface: veth0, linux_ip: 10.0.0.1/24}", 9, "linux_ip is for a tap"),
    ("{node: r1, interface: 'a b'}", 9, "is not a Linux interface name"),
    ("{node: r1, interface: averyveryverylongname}", 9, "is not a Linux interface name"),
    ("{node: r1, interface: veth0, ip: 10.0.9.10/24}", 9, "already used by h1"),
    ("{node: r1, interface: veth0, colour: red}", 9, "colour"),
])
def test_attach_mistakes_name_their_line(entry, line, message):
    with pytest.raises(TopologyError) as info:
        _spec(f"- {entry}\n")
    assert info.value.line == line and message in str(info.value)
    assert str(info.value).startswith(f"t.yaml:{line}: ")
