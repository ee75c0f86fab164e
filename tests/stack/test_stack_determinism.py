"""Same seed and script: the same trace, frame for frame; another seed changes the random parts."""

from __future__ import annotations

from netsim import AF_INET, SOCK_DGRAM
from tests.kits.stack import three_subnets


def scenario(seed):
    net, (h1, h2, h3), _ = three_subnets(seed=seed)

    def server(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", 7))
        s.settimeout(3)
        try:
            while True:
                data, addr = s.recvfrom(100)
                s.sendto(data, addr)
        except TimeoutError:
            pass

    def client(h):
        s = h.socket(AF_INET, SOCK_DGRAM)
        s.settimeout(1)
        for i in range(3):
            s.sendto(b"msg %d" % i, ("10.0.2.1", 7))
            s.recvfrom(100)

    h2.spawn_with_host(server)
    h1.spawn_with_host(client, at="1ms")
    net.run()
    h1.ping("h3", count=2)
    h3.traceroute("h1")
    return [(ev.time_ns, ev.node, ev.iface, ev.kind, ev.frame, ev.note) for ev in net.trace]


def test_same_seed_gives_an_identical_trace():
    a, b = scenario(3), scenario(3)
    assert len(a) > 50
    assert a == b


def test_a_different_seed_changes_ephemeral_ports_and_ping_ids():
    assert scenario(3) != scenario(4)
