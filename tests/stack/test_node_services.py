"""The node-services seam: the stack's layers need only what ``stack/services.py`` declares.

ARP runs here on a stand-in node that implements nothing but :class:`NodeServices`; ``Host``
implements both protocols; and no module reaches into another's privates any more.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from netsim.sim.kernel import Kernel
from netsim.sim.units import NS_PER_S
from netsim.stack.arp import ArpLayer
from netsim.stack.routing import IfAddr
from netsim.stack.services import IpServices, NodeServices
from netsim.wire import ethernet
from netsim.wire.arp import ARP, ARP_REPLY, ARP_REQUEST
from netsim.wire.arp import decode as arp_decode
from tests.kits.stack import pair

ROOT = Path(__file__).resolve().parents[2]
MAC = "02:00:00:00:00:01"
PEER_MAC = "02:00:00:00:00:99"


class StandInNode:
    """A node made of NodeServices only: it records what ARP asks of it."""

    def __init__(self):
        self.name = "n1"
        self.kernel = Kernel(seed=1)
        self.counters = {k: 0 for k in ("arp_rx", "arp_requests_sent", "arp_replies_sent",
                                         "arp_failures", "arp_queue_drops")}
        self.iface = SimpleNamespace(name="eth0", mac=MAC)
        self.sent: list[tuple[int, bytes, str | None]] = []
        self.unreachable: list[bytes] = []
        self.logged: list[tuple[str, str]] = []

    def transmit(self, iface, frame, comment=None):
        self.sent.append((self.kernel.now, frame, comment))

    def interface_address(self, iface):
        return IfAddr(iface, "10.0.0.1", 24)

    def next_hop_unreachable(self, datagram, iface):
        self.unreachable.append(datagram)

    def allocate_fd(self):
        return 3

    def log(self, kind, note):
        self.logged.append((kind, note))


def protocol_members(proto) -> set[str]:
    names = set()
    for klass in proto.__mro__:
        if klass.__name__ in ("Protocol", "Generic", "object"):
            continue
        names |= set(getattr(klass, "__annotations__", {}))
        names |= {n for n, v in vars(klass).items() if callable(v) and not n.startswith("_")}
    return names


def test_arp_resolves_through_node_services_alone():
    node = StandInNode()
    arp = ArpLayer(node)
    note = arp.send_ip(node.iface, "10.0.0.2", b"datagram", comment="first")
    assert note == "ARP request queued 1 packet for 10.0.0.2"
    (_, frame, _), = node.sent
    eth = ethernet.decode(frame)
    assert (eth.dst, arp_decode(eth.payload).op) == ("ff:ff:ff:ff:ff:ff", ARP_REQUEST)
    # the reply releases the queued datagram, with its capture comment, to the learned MAC
    reply = ARP(ARP_REPLY, PEER_MAC, "10.0.0.2", MAC, "10.0.0.1")
    arp.receive(node.iface, reply)
    _, released, comment = node.sent[-1]
    assert ethernet.decode(released).dst == PEER_MAC and comment == "first"
    assert ("arp", f"10.0.0.2 is at {PEER_MAC}: sent 1 queued packet") in node.logged


def test_arp_failure_is_handed_to_the_node_after_three_requests_a_second_apart():
    # RFC 1812 4.3.3.1: the node, not ARP, decides what to tell the sender.
    node = StandInNode()
    arp = ArpLayer(node)
    arp.send_ip(node.iface, "10.0.0.9", b"lost one")
    node.kernel.run()
    assert [t for t, _, _ in node.sent] == [0, NS_PER_S, 2 * NS_PER_S]
    assert node.unreachable == [b"lost one"]
    assert node.counters["arp_failures"] == 1


def test_host_implements_both_protocols():
    _, h1, _ = pair()
    members = protocol_members(IpServices)
    assert protocol_members(NodeServices) <= members
    assert {"transmit", "interface_address", "next_hop_unreachable", "allocate_fd", "log",
            "kernel", "counters", "ip_send", "name_of", "tcp"} <= members
    missing = sorted(m for m in members if not hasattr(h1, m))
    assert missing == []


def test_allocate_fd_numbers_sockets_from_three_like_a_fresh_process():
    _, h1, _ = pair()
    from netsim import AF_INET, SOCK_DGRAM, SOCK_STREAM
    fds = [h1.socket(AF_INET, kind).fileno() for kind in (SOCK_DGRAM, SOCK_STREAM, SOCK_DGRAM)]
    assert fds == [3, 4, 5]


def test_no_module_calls_the_former_private_seams_of_another():
    # self._x inside the owning class is fine; obj._x from elsewhere is what the seam replaced.
    pattern = re.compile(r"(?<!self)\.(_xmit|_new_fd|_ifaddr|_tracing|_local|_arp_failed)\b"
                         r"|\"(_local|_tracing)\"")
    offenders = []
    for folder in ("netsim", "labs", "tests", "examples", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == Path(__file__).resolve():
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
