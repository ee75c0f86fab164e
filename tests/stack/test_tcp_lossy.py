"""Bulk TCP through a cable that loses, duplicates and reorders frames arrives byte-identical."""

from __future__ import annotations

import hashlib
import random
from socket import SHUT_WR

from netsim import AF_INET, SOCK_STREAM, Network

MB = 1 << 20


def lossy_lan(seed: int, loss: float, duplicate: float, reorder: float, trace: bool = False):
    """h1 -- s1 -- h2, the h2 cable faulty in both directions; the tracer off for speed."""
    net = Network(seed=seed, trace=trace)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    sw = net.add_switch("s1")
    net.link(h1, sw, bandwidth="1Gbps")
    bad = net.link(h2, sw, bandwidth="1Gbps", loss=loss, duplicate=duplicate, reorder=reorder)
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    return net, h1, h2, bad


def exchange(h, sock, payload: bytes) -> str:
    """Send ``payload`` from a helper task while this task reads to EOF; sha256 of what came."""
    done = []

    def writer():
        sock.sendall(payload)
        sock.shutdown(SHUT_WR)  # our FIN after the data; keep reading
        done.append(True)

    h.spawn(writer)
    digest = hashlib.sha256()
    while chunk := sock.recv(1 << 16):
        digest.update(chunk)
    while not done:
        h.sleep(0.001)
    sock.close()
    return digest.hexdigest()


def both_ways(size: int, seed: int = 1, loss=0.1, duplicate=0.1, reorder=0.1):
    rng = random.Random(seed)
    to_h2, to_h1 = rng.randbytes(size), rng.randbytes(size)
    net, h1, h2, bad = lossy_lan(seed, loss, duplicate, reorder)

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 5001))
        s.listen(1)
        conn, _ = s.accept()
        s.close()
        return exchange(h, conn, to_h1)

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 5001))
        return exchange(h, c, to_h2)

    srv = h2.spawn_with_host(server)
    cli = h1.spawn_with_host(client, at="1ms")
    net.run()
    return net, bad, (srv.result, hashlib.sha256(to_h2).hexdigest()), \
        (cli.result, hashlib.sha256(to_h1).hexdigest())


def test_ten_megabytes_each_way_at_once_survive_ten_percent_loss_duplication_and_reordering():
    """RFC 9293 3.10.7.4 (duplicates dropped, out-of-order text reassembled), RFC 6298
    (retransmission timer), RFC 5681 3.2 (fast retransmit) and RFC 9293 3.6 (both ends close
    cleanly), through the sockets over a cable with 10% loss, duplication and reordering."""
    net, bad, (at_h2, sent_h2), (at_h1, sent_h1) = both_ways(10 * MB)
    assert at_h2 == sent_h2
    assert at_h1 == sent_h1
    lost = sum(d["lost"] for d in bad.stats().values())
    assert lost > 1000  # the cable really did lose frames (about 10% of ~15,000 each way)
    assert net["h1"].tcp.conns == {} and net["h2"].tcp.conns == {}  # both ends closed cleanly


def test_one_megabyte_each_way_at_once_survives_ten_percent_loss_duplication_and_reordering():
    """As above (RFC 9293 3.10.7.4, RFC 6298, RFC 5681 3.2) with another seed and 1 MiB each way."""
    net, bad, (at_h2, sent_h2), (at_h1, sent_h1) = both_ways(MB, seed=2)
    assert (at_h2, at_h1) == (sent_h2, sent_h1)
    assert sum(d["lost"] for d in bad.stats().values()) > 100
