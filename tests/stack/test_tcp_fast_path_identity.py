"""Lossy TCP scenes give, byte for byte, what they gave before the per-segment fast paths
(issue 16: TCP bulk speed): capture bytes, tracer ladders and congestion rows, TCP counters,
``kernel.events_run``, the final clock and what the programs saw, digested together.

The digests were taken from the tree before the change (commit baa429d) and the same script
gave them after it. The scenes cover SACK and timestamps on and off (the option-less encode
and decode fast paths, and the general ones), loss, duplication and reordering (RTO and fast
retransmit), a reader that closes early (RST on data after close), and ``step()`` between
runs.
"""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
from socket import SHUT_WR

import pytest

from netsim import AF_INET, SOCK_STREAM, Network


def scene(seed, loss, dup, reo, sack, ts, size, nodelay=False, close_early=False):
    """h1 -- s1 -- h2 with a faulty h2 cable, h1 sending ``size`` bytes; a digest of all
    it showed, its events_run and its capture size. (``nodelay`` is unused: kept so the
    case tuples stay those the digests were taken with.)"""
    net = Network(seed=seed, trace=True)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    sw = net.add_switch("s1")
    net.link(h1, sw, bandwidth="100Mbps", delay="1ms")
    net.link(h2, sw, bandwidth="100Mbps", loss=loss, duplicate=dup, reorder=reo)
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    for h in (h1, h2):
        h.tcp.config.sysctl("net.ipv4.tcp_sack", int(sack))
        h.tcp.config.sysctl("net.ipv4.tcp_timestamps", int(ts))
    rng = random.Random(seed)
    data = rng.randbytes(size)
    got = []

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 5001))
        s.listen(1)
        c, _ = s.accept()
        n = 0
        while chunk := c.recv(rng.choice([100, 1000, 65536])):
            n += len(chunk)
            if close_early and n > size // 3:
                break
        got.append(n)
        c.close()

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 5001))
        try:
            c.sendall(data)
            c.shutdown(SHUT_WR)
            c.recv(10)
        except OSError as e:
            got.append(("err", e.errno))
        c.close()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x.pcapng")
        with net.capture(path):
            h2.spawn_with_host(server)
            h1.spawn_with_host(client, at="1ms")
            net.run(until="0.2s")
            for _ in range(50):
                if not net.kernel.step():
                    break
            net.run()
        cap = open(path, "rb").read()
    lad = repr([(str(c.ladder()), c.congestion()) for c in net.tcp_tracer.find("")])
    counters = (dict(h1.tcp.counters), dict(h2.tcp.counters))
    return hashlib.sha256(repr((cap, lad, counters, net.kernel.events_run, net.kernel.now, got)).encode()).hexdigest()[:16], net.kernel.events_run, len(cap)


CASES = [((1, 0.05, 0.02, 0.05, True, True, 300000), 'ae8e1edc48e795c7', 1955),
         ((2, 0.1, 0.05, 0.1, False, False, 200000), 'e9d66a90ea9b1e2c', 1373),
         ((3, 0.2, 0.0, 0.0, True, False, 100000), '57b150cee56b1b6d', 716),
         ((4, 0.0, 0.0, 0.0, False, False, 500000), 'f822377be466a373', 3235),
         ((5, 0.3, 0.1, 0.1, False, True, 50000), 'b269d3218dd5bec4', 437),
         ((6, 0.1, 0.0, 0.1, True, True, 300000, False, True), 'e656d042040b9736', 690)]


@pytest.mark.parametrize(("args", "digest", "events"), CASES)
def test_lossy_scene_is_unchanged(args, digest, events):
    got, events_run, _ = scene(*args)
    assert (got, events_run) == (digest, events)
