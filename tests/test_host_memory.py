"""Per-host memory (issue 16): the parts made on first use behave as the eager ones did, and
the memory a host costs does not grow with the size of the network.

Speed and absolute sizes are measured by ``benchmarks/host_memory.py``, never asserted here.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from benchmarks import host_memory
from netsim import AF_INET, SOCK_DGRAM, Network
from netsim.stack.ipv4 import Reassembler
from netsim.stack.tcp import TcpConfig
from netsim.stack.tcp_layer import _COUNTERS as TCP_COUNTERS


def two_hosts() -> tuple[Network, object, object]:
    net = Network(seed=1, trace=False)
    a, b = net.add_host("a"), net.add_host("b")
    net.link(a, b)
    a.set_ip("10.0.0.1/24")
    b.set_ip("10.0.0.2/24")
    return net, a, b


# -- made on first use ---------------------------------------------------------------------

LAZY_TCP = {"config": TcpConfig(), "conns": {}, "listeners": {}, "bound": set(), "by_conn": {},
            "_by_port": {}, "counters": dict.fromkeys(TCP_COUNTERS, 0)}


@pytest.mark.parametrize("name", list(LAZY_TCP))
def test_a_tcp_layer_makes_each_table_when_first_read_and_keeps_it(name):
    _, a, b = two_hosts()
    assert name not in vars(a.tcp)  # not made by building the host
    first = getattr(a.tcp, name)
    assert first == LAZY_TCP[name] and type(first) is type(LAZY_TCP[name])
    assert getattr(a.tcp, name) is first            # the same object on every read
    assert getattr(b.tcp, name) is not first        # and one per layer
    replaced = type(first)()
    setattr(a.tcp, name, replaced)                  # _unregister rebinds its tables
    assert getattr(a.tcp, name) is replaced


def test_tcp_counters_list_every_name_in_order_after_a_connection():
    net, a, b = two_hosts()

    def server(h):
        s = h.socket(AF_INET, 1)
        s.bind(("", 80))
        s.listen()
        conn, _ = s.accept()
        conn.close()

    def client(h):
        s = h.socket(AF_INET, 1)
        s.connect(("10.0.0.2", 80))
        s.close()

    b.spawn_with_host(server)
    a.spawn_with_host(client, at="1ms")
    net.run(duration="1s")
    assert list(a.tcp.counters) == list(TCP_COUNTERS)
    assert a.tcp.counters["segments_out"] > 0 and b.tcp.counters["segments_in"] > 0


def test_the_reassembler_is_made_on_first_use_and_stats_read_it():
    _, a, _ = two_hosts()
    assert "reassembler" not in vars(a)
    assert a.stats()["reassembly_timeouts"] == 0 and a.stats()["reassembly_oversize"] == 0
    r = a.reassembler
    assert isinstance(r, Reassembler) and a.reassembler is r
    assert r.on_timeout == a._reassembly_timeout and r.kernel is a.kernel


def test_a_fragmented_datagram_is_reassembled_by_a_host_that_never_had_one():
    net, a, b = two_hosts()
    got = []

    def rx(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", 9))
        got.append(s.recvfrom(65535)[0])

    def tx(h):
        h.socket(AF_INET, SOCK_DGRAM).sendto(bytes(range(256)) * 20, ("10.0.0.2", 9))

    b.spawn_with_host(rx)
    a.spawn_with_host(tx, at="1ms")
    net.run(duration="1s")
    assert got == [bytes(range(256)) * 20]
    assert b.stats()["reassembled"] == 1 and b.reassembler.completed == 1


def test_the_udp_port_table_is_shared_and_read_only_until_the_first_bind():
    _, a, b = two_hosts()
    empty = a.udp.ports
    assert empty == {} and b.udp.ports is empty
    with pytest.raises(TypeError):
        empty[9] = []  # type: ignore[index]
    s = a.socket(AF_INET, SOCK_DGRAM)
    s.bind(("", 9))
    assert type(a.udp.ports) is dict and list(a.udp.ports) == [9]
    assert b.udp.ports is empty and empty == {}
    s.close()
    assert a.udp.ports == {}


# -- addresses -----------------------------------------------------------------------------

@pytest.mark.parametrize("count", [1, 2, 4, 5, 8])
def test_local_and_broadcast_addresses_with_any_number_of_interfaces(count):
    net = Network(seed=1, trace=False)
    r = net.add_router("r")
    for i in range(count):
        net.link(r, net.add_host(f"h{i}"))
        r.set_ip(f"10.0.{i}.1/24", iface=i)
    for i in range(count):
        assert r.is_local(f"10.0.{i}.1") and not r.is_local(f"10.0.{i}.2")
        assert r.is_broadcast(f"10.0.{i}.255") and not r.is_broadcast(f"10.0.{i}.254")
    assert not r.is_local("10.0.99.1") and not r.is_broadcast("10.0.99.255")
    r.set_ip("10.9.0.1/16", iface=0)  # replacing an address forgets the old one
    assert r.is_local("10.9.0.1") and not r.is_local("10.0.0.1")
    assert r.is_broadcast("10.9.255.255") and not r.is_broadcast("10.0.0.255")
    assert r.is_local("127.0.0.1") and r.is_broadcast("255.255.255.255")


def test_hosts_of_one_subnet_keep_their_routes_apart():
    net = Network(seed=1, trace=False)
    sw = net.add_switch("sw")
    hosts = [net.add_host(f"h{i}") for i in range(3)]
    for i, h in enumerate(hosts):
        net.link(h, sw)
        h.set_ip(f"10.1.0.{i + 1}/16", gateway="10.1.0.254")
    assert [h.routes() for h in hosts[1:]] == [hosts[0].routes()] * 2
    hosts[0].set_ip("192.168.7.1/24")          # replaces its connected route
    hosts[1].add_route("10.9.0.0/16", via="10.1.0.253")
    assert [str(r) for r in hosts[0].routes()] == ["192.168.7.0/24 dev eth0 (connected)"]
    assert [str(r) for r in hosts[1].routes()] == [
        "10.1.0.0/16 dev eth0 (connected)", "10.9.0.0/16 via 10.1.0.253 dev eth0 (static)",
        "0.0.0.0/0 via 10.1.0.254 dev eth0 (default)"]
    assert [str(r) for r in hosts[2].routes()] == [
        "10.1.0.0/16 dev eth0 (connected)", "0.0.0.0/0 via 10.1.0.254 dev eth0 (default)"]
    assert hosts[2].interface_address(hosts[2].interfaces[0]).broadcast == "10.1.255.255"
    assert hosts[0].interface_address(hosts[0].interfaces[0]).broadcast == "192.168.7.255"


# -- interfaces and cables -----------------------------------------------------------------

def test_interface_names_beyond_the_shared_ones_and_fullnames():
    net = Network(seed=1, trace=False)
    sw = net.add_switch("sw")
    for i in range(260):
        net.link(net.add_host(f"h{i}"), sw)
    assert [i.name for i in sw.interfaces] == [f"eth{n}" for n in range(260)]
    assert sw.interfaces[257].fullname == "sw-eth257" and sw.iface("sw-eth259").index == 259
    port = net["h3"].interfaces[0]
    assert port.fullname == "h3-eth0" and repr(port) == f"<Interface h3-eth0 {port.mac}>"
    port.fullname = "enp0s3"  # a real-world port names its interface after the real one
    assert port.fullname == "enp0s3" and net["h3"].iface("enp0s3") is port


def test_a_cable_counts_and_drops_each_direction_apart():
    net, a, b = two_hosts()
    link = net.links[0]
    link.drop_when(lambda frame: frame[12:14] == b"\x08\x00", count=1, direction=b.interfaces[0])
    assert a.ping("10.0.0.2", count=3).received == 2  # b's first IPv4 frame (a reply) lost
    stats = link.stats()
    assert list(stats) == ["a-eth0->b-eth0", "b-eth0->a-eth0"]
    assert stats["b-eth0->a-eth0"]["lost"] == 1 and stats["a-eth0->b-eth0"]["lost"] == 0
    assert stats["a-eth0->b-eth0"]["frames"] == a.interfaces[0].tx_frames


# -- flat across N -------------------------------------------------------------------------

def traced(n: int) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        net = host_memory.build(n)
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del net
    return used


def test_the_memory_each_host_adds_does_not_grow_with_the_network():
    host_memory.build(host_memory.FANOUT)  # imports and first-use caches
    small, medium, large = traced(200), traced(600), traced(1800)
    # The bytes each further host adds, from 200 to 600 hosts and from 600 to 1800: a table
    # that grows with N per host (a set of every host, a list per host of others) shows as
    # a later step costing more than an earlier one. 10 % covers dict and list resizes.
    early, late = (medium - small) / 400, (large - medium) / 1200
    assert late <= early * 1.10, (early, late)
