"""The Network facade owns what it offers: attributes exist from the start, addresses have one
owner lookup that follows ``set_ip``, nodes built elsewhere join through ``add_node``."""

from __future__ import annotations

from socket import AF_INET, SOCK_STREAM

import pytest

from netsim import Network
from netsim.devices.node import Node
from tests.kits.stack import lan


def test_a_network_with_only_a_switch_has_its_tracer_and_topology():
    net = Network()
    net.add_switch("s1")
    assert net.tcp_tracer.connections == []
    assert net.topology is None
    assert net.tracing is True
    assert Network(trace=False).tracing is False


def test_owner_of_names_the_node_with_the_address_or_none():
    net, _, (h1, _h2) = lan(2)
    assert net.owner_of("10.0.0.2") == "h2"
    assert net.owner_of("10.0.0.9") is None
    h1.set_ip("10.0.0.9/24")  # an address nobody had a moment ago
    assert net.owner_of("10.0.0.9") == "h1"


def _serve_once(host):
    s = host.socket(AF_INET, SOCK_STREAM)
    s.bind(("", 80))
    s.listen()
    conn, _ = s.accept()
    conn.recv(10)
    conn.close()
    s.close()


def _connect_once(host):
    c = host.socket(AF_INET, SOCK_STREAM)
    c.connect(("10.0.0.2", 80))
    c.sendall(b"hi")
    c.close()


def test_a_moved_address_is_traced_as_its_new_owners():
    """10.0.0.2 moves from h2 to h3: a later connection to it is h3's, not h2's."""
    net, _, (h1, h2, h3, h4) = lan(4)
    h2.spawn_with_host(_serve_once)
    h1.spawn_with_host(_connect_once, at="1ms")
    net.run(until="1s")
    assert any(ep == "h2:80" for ep in net.tcp_tracer.connections[0].endpoints)

    h2.set_ip("10.0.0.20/24")
    h3.set_ip("10.0.0.2/24")
    h3.spawn_with_host(_serve_once)
    h4.spawn_with_host(_connect_once, at="1001ms")  # h4 has no stale ARP entry for 10.0.0.2
    net.run(until="2s")
    second = net.tcp_tracer.connections[1]
    assert "h3:80" in second.endpoints and "h2:80" not in second.endpoints


class _Station(Node):
    kind = "host"

    def receive(self, iface, frame):
        return None


def test_add_node_takes_a_node_built_elsewhere_and_checks_its_name():
    net = Network()
    station = net.add_node(_Station(net, "st1"))
    assert net["st1"] is station
    with pytest.raises(ValueError, match="already exists"):
        net.add_node(_Station(net, "st1"))
    with pytest.raises(ValueError, match="letters, digits"):
        net.add_node(_Station(net, "bad name"))


def test_observe_reports_each_new_network_only_inside_the_block():
    seen = []
    with Network.observe(seen.append):
        inside = Network()
    Network()
    assert seen == [inside]


def test_a_driven_network_ignores_run_and_records_no_capture(tmp_path):
    net = Network()
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    net.link(h1, h2)
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    h1.spawn_with_host(lambda h: h.ping("10.0.0.2", count=1))
    net.driven = True
    with net.capture(tmp_path / "x.pcapng") as cap:
        net.run()
    assert net.now == 0 and cap.frames == 0 and not (tmp_path / "x.pcapng").exists()
    net.driven = False
    net.run()
    assert net.now > 0
