"""A MAC given in capitals is kept as frames spell it, so unicast to it is received."""

from __future__ import annotations

from netsim import Network
from netsim.wire.ethernet import ETH_IPV4, Ethernet


def test_an_interface_with_an_upper_case_mac_takes_its_unicast():
    net = Network(seed=1)
    h = net.add_host("h1")
    iface = h.add_interface(mac="02:AB:CD:00:00:01")
    assert iface.mac == "02:ab:cd:00:00:01"
    assert iface.mac_bytes == bytes.fromhex("02abcd000001")
    frame = Ethernet("02:ab:cd:00:00:01", "02:00:00:00:00:09", ETH_IPV4, b"\x45").encode()
    note = h.receive(iface, frame)
    assert h.counters["not_for_me"] == 0 and note.startswith("malformed IPv4")
