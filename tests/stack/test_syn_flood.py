"""SYN floods: a SYN queue separate from the accept queue, SYN cookies, Linux's retry counts.

Before: five spoofed SYNs locked a ``listen(5)`` port for about two minutes, because the
backlog counted half-open connections and dropped every SYN beyond it. Linux keeps half-open
connections in a SYN queue and answers SYNs beyond it with SYN cookies; so does netsim now.
"""

from __future__ import annotations

import socket

import pytest

from netsim import Network
from netsim.stack.tcp import Connection, Listener
from netsim.stack.tcp.syncookies import MSS_TABLE, PERIOD_NS, check_cookie, make_cookie
from netsim.wire import ETH_IPV4, Ethernet, IPv4
from netsim.wire.tcp import ACK, RST, SYN, TCP

SERVER = "10.0.0.100"


def lan() -> tuple[Network, object, object, object]:
    """server, client and attacker on one switch (10.0.0.0/16)."""
    net = Network(seed=5)
    sw = net.add_switch("s1")
    server, client, attacker = (net.add_host(n) for n in ("server", "client", "attacker"))
    for h in (server, client, attacker):
        net.link(h, sw)
    server.set_ip(f"{SERVER}/16")
    client.set_ip("10.0.0.1/16")
    attacker.set_ip("10.0.0.66/16")
    return net, server, client, attacker


def spoofed_syns(net: Network, attacker, server, count: int, start_ns: int,
                 spacing_ns: int = 10_000) -> None:
    """``count`` SYNs to port 80 from addresses nobody has (10.0.100.0 onwards)."""
    iface = attacker.iface(0)
    dst_mac = server.iface(0).mac
    for i in range(count):
        src = f"10.0.{100 + i // 250}.{1 + i % 250}"
        syn = TCP(40000 + i % 20000, 80, seq=i * 7919, flags=SYN, window=64240,
                  options=(("MSS", 1460),))
        ip = IPv4(src, SERVER, 6, syn.encode(src, SERVER))
        frame = Ethernet(dst_mac, iface.mac, ETH_IPV4, ip.encode()).encode()
        net.kernel.call_at(start_ns + i * spacing_ns, iface.send, frame)


def serve(host, backlog: int, accepted: list) -> None:
    lsock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("", 80))
    lsock.listen(backlog)
    while True:
        conn, addr = lsock.accept()
        accepted.append((host.now, addr, conn.recv(100)))
        conn.close()


def connect(host, out: list) -> None:
    s = host.socket(socket.AF_INET, socket.SOCK_STREAM)
    t0 = host.now
    s.connect((SERVER, 80))
    out.append(host.now - t0)
    s.sendall(b"hello")
    s.close()


@pytest.mark.parametrize("flood", [5, 1000])
def test_a_real_client_connects_at_once_after_a_syn_flood(flood: int) -> None:
    net, server, client, attacker = lan()
    accepted: list = []
    took: list = []
    server.spawn_with_host(serve, 5, accepted)
    spoofed_syns(net, attacker, server, flood, start_ns=1_000_000)
    after_flood = 1_000_000 + flood * 10_000 + 1_000_000
    client.spawn_with_host(connect, took, at=after_flood / 1e9)
    net.run(duration="3s")
    assert took and took[0] < 1_000_000_000            # within a second of virtual time
    assert took[0] < 1_000_000                         # in fact within one round trip
    assert [(addr[0], data) for _, addr, data in accepted] == [("10.0.0.1", b"hello")]
    counters = server.tcp.counters
    # five spoofed SYNs fill the SYN queue; every later SYN, the client's too, gets a cookie
    assert counters["syn_cookies_sent"] == flood - 5 + 1
    assert counters["syn_dropped_backlog"] == 0 and counters["syn_cookies_accepted"] == 1


def test_a_half_open_connection_sends_its_syn_ack_six_times_and_goes_after_63_s() -> None:
    # Linux tcp_synack_retries = 5: SYN,ACK at 0, 1, 3, 7, 15 and 31 s, dropped at 63 s.
    net, server, client, attacker = lan()
    server.spawn_with_host(serve, 5, [])
    spoofed_syns(net, attacker, server, 1, start_ns=1_000_000)
    net.run(duration="120s")
    (traced,) = net.tcp_tracer.find("server:80")
    synacks = [row.time_ns for row in traced.ladder().rows if row.flags == "SYN,ACK"]
    offsets = [round((t - synacks[0]) / 1e9) for t in synacks]
    assert offsets == [0, 1, 3, 7, 15, 31]
    listener = server.tcp.listeners[("0.0.0.0", 80)].listener
    gone = [ev.time_ns for ev in net.trace if ev.node == "server" and ev.kind == "state"
            and "SYN_RECEIVED -> CLOSED" in ev.note]
    assert len(gone) == 1 and round((gone[0] - synacks[0]) / 1e9) == 63
    assert listener.pending == 0


# -- the listener on its own (sans-I/O) ------------------------------------------------------

LOCAL, REMOTE = ("10.0.0.100", 80), ("10.0.0.1", 5555)


def _full_listener(secret: bytes = b"k") -> Listener:
    lst = Listener(LOCAL, 1, lambda _l, _r: 777, secret=secret)
    lst.receive(TCP(1, 80, seq=5, flags=SYN), ("10.9.9.9", 1), 0)   # fills the SYN queue
    assert lst.syn_queue == 1
    return lst


def test_a_syn_beyond_the_syn_queue_gets_a_cookie_and_its_ack_makes_the_connection() -> None:
    lst = _full_listener()
    client = Connection(REMOTE, LOCAL, 4242)
    client.open_active(0)
    (syn,) = client.pending_segments()
    assert lst.receive(syn, REMOTE, 10) is None and lst.cookies_sent == 1
    ((to, synack),) = lst.pending_replies()
    assert to == REMOTE and synack.flags == SYN | ACK and synack.ack == 4243
    assert dict(synack.options)["MSS"] == 1460
    client.receive(synack, 20)
    client.send(b"first bytes", 20)
    segs = client.pending_segments()
    assert [s.flags & (SYN | RST) for s in segs] == [0, 0]
    child = lst.receive(segs[0], REMOTE, 30)           # the ACK: the cookie checks out
    assert child is not None and child.state.value == "ESTABLISHED"
    assert child.iss == synack.seq and child.peer_mss == 1460
    child.receive(segs[1], 30)
    assert child.recv(100) == b"first bytes"
    assert lst.accept() is child and lst.cookies_accepted == 1


def test_a_forged_or_stale_cookie_is_answered_with_rst() -> None:
    lst = _full_listener()
    lst.receive(TCP(REMOTE[1], 80, seq=100, flags=SYN), REMOTE, 0)
    ((_, synack),) = lst.pending_replies()
    forged = TCP(REMOTE[1], 80, seq=101, ack=(synack.seq ^ 0x00A5A5A5) + 1, flags=ACK)
    assert lst.receive(forged, REMOTE, 1) is None and lst.cookies_failed == 1
    ((_, rst),) = lst.pending_replies()
    assert rst.flags == RST and rst.seq == forged.ack
    late = TCP(REMOTE[1], 80, seq=101, ack=synack.seq + 1, flags=ACK)
    assert lst.receive(late, REMOTE, 2 * PERIOD_NS + 1) is None     # two minutes later
    assert lst.pending_replies()[0][1].flags == RST


def test_cookies_keep_the_mss_and_depend_on_the_addresses_and_the_secret() -> None:
    for mss in (536, 1000, 1300, 1400, 1440, 1460, 9000):
        c = make_cookie(b"s", LOCAL, REMOTE, 99, mss, 0)
        assert check_cookie(b"s", LOCAL, REMOTE, 99, c, PERIOD_NS + 5) == max(
            m for m in MSS_TABLE if m <= max(mss, 536))
        assert check_cookie(b"t", LOCAL, REMOTE, 99, c, 0) is None
        assert check_cookie(b"s", LOCAL, ("10.0.0.2", 5555), 99, c, 0) is None
        assert check_cookie(b"s", LOCAL, REMOTE, 99 + 12345, c, 0) is None


def test_without_cookies_a_syn_beyond_the_syn_queue_is_dropped() -> None:
    lst = Listener(LOCAL, 1, lambda _l, _r: 777, syncookies=False)
    lst.receive(TCP(1, 80, seq=5, flags=SYN), ("10.9.9.9", 1), 0)
    assert lst.receive(TCP(2, 80, seq=5, flags=SYN), ("10.9.9.9", 2), 0) is None
    assert lst.dropped_syns == 1 and lst.pending_replies() == []


def test_a_full_accept_queue_drops_syns_and_completing_acks() -> None:
    # backlog 0: Linux lets one established connection wait, and cookies every SYN.
    lst = Listener(LOCAL, 0, lambda _l, _r: 777)
    clients = []
    for port in (1, 2):
        c = Connection(("10.0.0.9", port), LOCAL, 1000 * port)
        c.open_active(0)
        lst.receive(c.pending_segments()[0], ("10.0.0.9", port), 0)
        ((_, synack),) = lst.pending_replies()
        c.receive(synack, 1)
        clients.append(c)
    children = [lst.receive(c.pending_segments()[0], ("10.0.0.9", port), 2)
                for c, port in zip(clients, (1, 2), strict=True)]
    assert children[0] is not None and children[1] is None and lst.overflows == 1
    assert lst.receive(TCP(3, 80, seq=5, flags=SYN), ("10.0.0.9", 3), 3) is None
    assert lst.dropped_syns == 1 and lst.pending_replies() == []


def test_an_option_set_on_one_accepted_socket_does_not_change_its_siblings() -> None:
    lst = Listener(LOCAL, 5, lambda _l, _r: 777)
    a = lst.receive(TCP(1, 80, seq=5, flags=SYN), ("10.0.0.9", 1), 0)
    b = lst.receive(TCP(2, 80, seq=5, flags=SYN), ("10.0.0.9", 2), 0)
    a.cfg.nodelay = True
    assert b.cfg.nodelay is False and lst.cfg.nodelay is False
    assert a.cfg.syn_retries == lst.cfg.synack_retries == 5
