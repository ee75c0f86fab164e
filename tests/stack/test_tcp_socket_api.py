"""TCP stream sockets on virtual hosts behave like Python's ``socket`` on Linux.

Every test drives ``host.socket(AF_INET, SOCK_STREAM)`` on two hosts and a switch; names
follow the state and the stimulus (``test_<state>_<stimulus>``), as in smoltcp.
"""

from __future__ import annotations

import errno
import hashlib
import socket as pysocket

import pytest

from netsim import AF_INET, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET, Network
from netsim.wire import tcp as wtcp
from netsim.wire.frame import decode_frame

IPPROTO_TCP, TCP_NODELAY = pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY
SHUT_WR = pysocket.SHUT_WR
S = 1_000_000_000


def lan(seed: int = 1, **link):
    """h1 10.0.0.1 and h2 10.0.0.2 on switch s1; returns (net, h1, h2, link of h2)."""
    net = Network(seed=seed)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    sw = net.add_switch("s1")
    net.link(h1, sw)
    l2 = net.link(h2, sw, **link)
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    return net, h1, h2, l2


def tcp_segments(net, node: str, kind: str = "tx") -> list[wtcp.TCP]:
    """TCP segments a node transmitted (``kind="tx"``) or received, in trace order."""
    out = []
    for ev in net.trace:
        if ev.node == node and ev.kind == kind and ev.frame is not None:
            fr = decode_frame(ev.frame)
            if fr.tcp is not None:
                out.append(fr.tcp)
    return out


def echo_server(host, port: int = 7, count: int = 1, results: list | None = None):
    """Accept ``count`` connections one after the other and echo each until EOF."""
    s = host.socket(AF_INET, SOCK_STREAM)
    s.bind(("", port))
    s.listen(5)
    for _ in range(count):
        conn, addr = s.accept()
        while data := conn.recv(4096):
            conn.sendall(data)
        conn.close()
        if results is not None:
            results.append(addr)
    s.close()


# -- connect, accept, data, EOF ---------------------------------------------------------------

def test_established_echo_round_trip_and_recv_returns_empty_bytes_at_eof():
    """RFC 9293 3.6.1 (shutdown(SHUT_WR) half-closes) and 3.10.3 (RECEIVE after the peer's FIN with
    nothing left: "connection closing", which recv() returns as b"", again and again)."""
    net, h1, h2, _ = lan()
    served = []
    h2.spawn_with_host(echo_server, 7, 1, served)

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 7))
        assert c.state == "ESTABLISHED"
        c.sendall(b"hello, tcp")
        got = c.recv(1024)
        c.shutdown(SHUT_WR)
        eof = c.recv(1024), c.recv(1024)  # EOF is sticky
        c.close()
        return got, eof

    task = h1.spawn_with_host(client, at="1ms")
    net.run()
    got, eof = task.result
    assert got == b"hello, tcp"
    assert eof == (b"", b"")
    assert served and served[0][0] == "10.0.0.1"
    assert net.blocked_tasks() == []


def test_listen_accept_returns_a_connected_socket_with_the_peer_address():
    """RFC 9293 3.10.1 (a passive OPEN with an unspecified foreign socket accepts any caller) and
    3.10.7.2 (the SYN fills in the foreign socket, which accept() returns); getpeername() before
    connecting is ENOTCONN."""
    net, h1, h2, _ = lan()

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("0.0.0.0", 8080))
        s.listen()
        conn, addr = s.accept()
        names = (conn.getsockname(), conn.getpeername(), addr, s.getsockname())
        conn.close()
        s.close()
        return names

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        with pytest.raises(OSError) as info:
            c.getpeername()
        assert info.value.errno == errno.ENOTCONN
        c.connect(("h2", 8080))  # node names resolve like /etc/hosts
        names = c.getsockname(), c.getpeername()
        assert c.recv(10) == b""
        c.close()
        return names

    srv = h2.spawn_with_host(server)
    cli = h1.spawn_with_host(client, at="1ms")
    net.run()
    (c_local, c_peer) = cli.result
    s_local, s_peer, addr, listen_name = srv.result
    assert c_peer == ("10.0.0.2", 8080) and s_local == ("10.0.0.2", 8080)
    assert s_peer == addr == c_local
    assert c_local[0] == "10.0.0.1" and 32768 <= c_local[1] <= 60999  # Linux ephemeral range
    assert listen_name == ("0.0.0.0", 8080)


def test_established_sendall_of_one_megabyte_arrives_intact():
    """RFC 9293 3.10.2 (SEND queues the data) and 3.8.6 (flow control: no more than the window in
    flight): 1 MiB arrives byte-exact and in order."""
    net, h1, h2, _ = lan()
    data = bytes(range(256)) * 4096  # 1 MiB

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 5001))
        s.listen(1)
        conn, _ = s.accept()
        digest, n = hashlib.sha256(), 0
        while chunk := conn.recv(65536):
            digest.update(chunk)
            n += len(chunk)
        conn.close()
        return n, digest.hexdigest()

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 5001))
        c.sendall(data)
        c.close()

    srv = h2.spawn_with_host(server)
    h1.spawn_with_host(client, at="1ms")
    net.run()
    assert srv.result == (len(data), hashlib.sha256(data).hexdigest())


# -- refused, unreachable, timed out -----------------------------------------------------------

def test_syn_sent_receives_rst_raises_connection_refused():
    """RFC 9293 3.10.7.1 (a SYN to a port nobody listens on is answered
    <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>) and 3.10.7.3 (that RST in SYN_SENT: connection
    refused, from connect() and connect_ex())."""
    net, h1, h2, _ = lan()

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        with pytest.raises(ConnectionRefusedError) as info:
            c.connect(("10.0.0.2", 81))
        c2 = h.socket(AF_INET, SOCK_STREAM)
        code = c2.connect_ex(("10.0.0.2", 81))
        return info.value.errno, info.value.strerror, code

    task = h1.spawn_with_host(client)
    net.run()
    assert task.result == (errno.ECONNREFUSED, "Connection refused", errno.ECONNREFUSED)
    rsts = [s for s in tcp_segments(net, "h2") if s.flags & wtcp.RST]
    assert len(rsts) == 2 and all(s.flags & wtcp.ACK for s in rsts)


def test_syn_sent_to_an_address_nobody_owns_raises_ehostunreach_when_arp_fails():
    """RFC 1122 2.3.2.2 (ARP: a datagram waiting for an unresolved next hop is discarded when
    resolution fails) and RFC 9293 3.9.2 (TCP acts on errors from the layer below): connect()
    fails with EHOSTUNREACH, as on Linux."""
    # Linux: the neighbour entry fails after 3 probes and connect() reports "No route to
    # host" (EHOSTUNREACH), not a timeout: the SYN never left the host.
    net, h1, h2, _ = lan()

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        t0 = h.now
        with pytest.raises(OSError) as info:
            c.connect(("10.0.0.99", 80))
        return info.value.errno, h.now - t0

    task = h1.spawn_with_host(client)
    net.run()
    code, elapsed = task.result
    assert code == errno.EHOSTUNREACH
    assert elapsed < 10 * S  # ARP gave up long before the SYN retries would have


def test_syn_sent_over_a_dead_cable_raises_ehostunreach_since_arp_fails_first():
    """RFC 1122 2.3.2.2 and RFC 9293 3.9.2, as above: a dead cable also eats the ARP requests, so
    connect() fails with EHOSTUNREACH."""
    # A cable with loss=1.0 also eats the ARP requests, so the outcome is the same as an
    # empty address: EHOSTUNREACH (this is what Linux reports for an unplugged LAN peer).
    net, h1, h2, _ = lan(loss=1.0)

    def client(h):
        with pytest.raises(OSError) as info:
            h.socket(AF_INET, SOCK_STREAM).connect(("10.0.0.2", 80))
        return info.value.errno

    task = h1.spawn_with_host(client)
    net.run()
    assert task.result == errno.EHOSTUNREACH


def test_syn_sent_to_a_peer_that_drops_tcp_raises_timeout_error_etimedout_after_backoff():
    """RFC 6298 5.5 (the SYN's timer doubles: resent after 1, 2, 4, 8, 16, 32 s) and 2.5 (a 60 s
    cap); RFC 9293 3.8.3 (past R2 the attempt fails): TimeoutError, ETIMEDOUT."""
    # A peer that answers ARP but silently drops TCP (iptables -j DROP): the SYN is resent
    # after 1, 2, 4, 8, 16 and 32 s (tcp_syn_retries = 6) and connect() gives up one more
    # doubled RTO after the last one with ETIMEDOUT (Python: TimeoutError [Errno 110]
    # Connection timed out). That last wait is 60 s here, the RFC 6298 (2.5) cap TcpConfig
    # uses, where Linux (TCP_RTO_MAX = 120 s) waits 64 s: 123 s in all instead of 127 s.
    net, h1, h2, l2 = lan()

    def is_tcp(frame: bytes) -> bool:
        return decode_frame(frame).tcp is not None

    l2.drop_when(is_tcp, count=10**9, reason="dropped by the peer's firewall")

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        t0 = h.now
        with pytest.raises(TimeoutError) as info:
            c.connect(("10.0.0.2", 80))
        return info.value.errno, info.value.strerror, h.now - t0

    task = h1.spawn_with_host(client)
    net.run()
    code, text, elapsed = task.result
    assert (code, text) == (errno.ETIMEDOUT, "Connection timed out")
    syns = [ev.time_ns for ev in net.trace if ev.node == "h1" and ev.kind == "tx"
            and ev.frame and (t := decode_frame(ev.frame).tcp) and t.flags & wtcp.SYN]
    gaps = [round((b - a) / S) for a, b in zip(syns, syns[1:])]
    assert gaps == [1, 2, 4, 8, 16, 32]
    assert round(elapsed / S) == 63 + 60


@pytest.mark.parametrize("call", ["connect", "recv", "accept"])
def test_socket_timeout_expires_with_timeout_error_timed_out(call):
    """RFC 9293 3.9.1 leaves call timeouts to the user interface; settimeout() is the socket API's,
    not the RFC's USER TIMEOUT (3.10.8): an expired wait in connect(), recv() or accept() raises
    TimeoutError("timed out") after exactly that time."""
    net, h1, h2, l2 = lan()
    l2.drop_when(lambda f: decode_frame(f).tcp is not None and call == "connect", count=10**9)

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 7))
        s.listen()
        if call == "accept":
            s.settimeout(0.5)
            t0 = h.now
            with pytest.raises(TimeoutError) as info:
                s.accept()
            return str(info.value), info.value.errno, h.now - t0
        conn, _ = s.accept()
        h.sleep(5)
        conn.close()

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        if call == "accept":
            return None
        c.settimeout(0.5)
        assert c.gettimeout() == 0.5
        t0 = h.now
        with pytest.raises(TimeoutError) as info:
            if call == "connect":
                c.connect(("10.0.0.2", 7))
            else:
                c.connect(("10.0.0.2", 7))
                t0 = h.now
                c.recv(10)
        return str(info.value), info.value.errno, h.now - t0

    srv = h2.spawn_with_host(server)
    cli = h1.spawn_with_host(client, at="1ms")
    net.run(until="10s")
    text, code, waited = (srv if call == "accept" else cli).result
    assert (text, code) == ("timed out", None)  # CPython's socket.timeout message
    assert waited == S // 2


# -- closing -----------------------------------------------------------------------------------

def test_fin_wait_half_close_peer_keeps_sending_after_our_shutdown_wr():
    """RFC 9293 3.6.1 (half-closed connections: after our FIN the peer in CLOSE_WAIT may still
    send, and we receive in FIN_WAIT_2) and 3.10.2 (SEND after our FIN: "connection closing",
    BrokenPipeError)."""
    net, h1, h2, _ = lan()

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 7))
        s.listen()
        conn, _ = s.accept()
        got = b""
        while chunk := conn.recv(100):
            got += chunk
        assert conn.state == "CLOSE_WAIT"
        conn.sendall(b"reply after your FIN: " + got[::-1])  # still allowed in CLOSE_WAIT
        conn.close()
        return got

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 7))
        c.sendall(b"request")
        c.shutdown(SHUT_WR)
        with pytest.raises(BrokenPipeError):
            c.send(b"more")
        states = [c.state]
        got = b""
        while chunk := c.recv(100):
            got += chunk
            states.append(c.state)
        c.close()
        return got, states

    srv = h2.spawn_with_host(server)
    cli = h1.spawn_with_host(client, at="1ms")
    net.run()
    assert srv.result == b"request"
    got, states = cli.result
    assert got == b"reply after your FIN: tseuqer"
    assert states[0] in ("FIN_WAIT_1", "FIN_WAIT_2")
    traced = net.tcp_tracer.find("h1")[0]
    h1_path = [i.new for i in traced.items if getattr(i, "endpoint", "").startswith("h1:")]
    assert h1_path[-4:] == ["FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSED"]


def test_established_both_close_at_once_go_through_closing_to_time_wait():
    """RFC 9293 3.6 (simultaneous close) and 3.10.7.4 (eighth check): both FINs cross, and each end
    goes FIN_WAIT_1 -> CLOSING -> TIME_WAIT."""
    net, h1, h2, _ = lan()
    rendezvous = 50_000_000  # both programs close at exactly t = 50 ms

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 7))
        s.listen()
        conn, _ = s.accept()
        h.sleep((rendezvous - h.now) / S)
        conn.close()
        s.close()

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 7))
        h.sleep((rendezvous - h.now) / S)
        c.close()

    h2.spawn_with_host(server)
    h1.spawn_with_host(client, at="1ms")
    net.run()
    conn = net.tcp_tracer.connections[0]
    paths = {}
    for item in conn.items:
        if hasattr(item, "endpoint"):
            paths.setdefault(item.endpoint.split(":")[0], []).append(item.new)
    for host in ("h1", "h2"):
        assert paths[host][-4:] == ["FIN_WAIT_1", "CLOSING", "TIME_WAIT", "CLOSED"], paths
    fins = [s for s in tcp_segments(net, "h1") + tcp_segments(net, "h2") if s.flags & wtcp.FIN]
    assert len(fins) == 2  # one FIN each way, no retransmission


def test_closed_simultaneous_open_of_two_bound_sockets_connects_with_one_connection():
    """RFC 9293 3.5 (simultaneous open) and 3.10.7.3 (fourth check: a SYN without ACK in SYN_SENT):
    both ends go SYN_SENT -> SYN_RECEIVED -> ESTABLISHED, one connection."""
    net, h1, h2, _ = lan()

    def peer(h, my_port, other, other_port):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", my_port))
        s.connect((other, other_port))
        s.sendall(f"hi from {h.name}".encode())
        got = s.recv(100)
        names = s.getsockname(), s.getpeername()
        s.close()
        return got, names

    a = h1.spawn_with_host(peer, 5000, "10.0.0.2", 6000, at="1ms")
    b = h2.spawn_with_host(peer, 6000, "10.0.0.1", 5000, at="1ms")
    net.run()
    assert a.result == (b"hi from h2", (("10.0.0.1", 5000), ("10.0.0.2", 6000)))
    assert b.result == (b"hi from h1", (("10.0.0.2", 6000), ("10.0.0.1", 5000)))
    conn = net.tcp_tracer.connections[0]
    opened = [(i.endpoint, i.old, i.new) for i in conn.items
              if hasattr(i, "endpoint") and i.new in ("SYN_RECEIVED", "ESTABLISHED")]
    # RFC 9293 figure 8: both ends go SYN_SENT -> SYN_RECEIVED -> ESTABLISHED
    assert sorted(opened) == [("h1:5000", "SYN_RECEIVED", "ESTABLISHED"),
                              ("h1:5000", "SYN_SENT", "SYN_RECEIVED"),
                              ("h2:6000", "SYN_RECEIVED", "ESTABLISHED"),
                              ("h2:6000", "SYN_SENT", "SYN_RECEIVED")]
    assert not any(s.flags & wtcp.RST for s in tcp_segments(net, "h1") + tcp_segments(net, "h2"))


def test_established_close_with_unread_data_sends_rst_and_peer_recv_raises_connection_reset():
    """RFC 2525 2.17 (close with unread data sends RST, as Linux) and RFC 9293 3.10.7.4 (second
    check: the RST resets the peer, whose recv() raises ConnectionResetError)."""
    net, h1, h2, _ = lan()

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 7))
        s.listen()
        conn, _ = s.accept()
        h.sleep(0.01)      # the request has arrived, unread
        conn.close()       # Linux: RST instead of FIN (RFC 2525 2.17)
        s.close()

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 7))
        c.sendall(b"you will never read this")
        with pytest.raises(ConnectionResetError) as info:
            c.recv(100)
        err = info.value.errno, info.value.strerror
        with pytest.raises(OSError):
            c.send(b"x")
        c.close()
        return err

    h2.spawn_with_host(server)
    cli = h1.spawn_with_host(client, at="1ms")
    net.run()
    assert cli.result == (errno.ECONNRESET, "Connection reset by peer")
    sent = tcp_segments(net, "h2")
    assert any(s.flags & wtcp.RST for s in sent)
    assert not any(s.flags & wtcp.FIN for s in sent)


# -- ports and addresses -----------------------------------------------------------------------

def _time_wait_then_bind(reuse: bool):
    net, h1, h2, _ = lan()
    net_h2_cfg = h2.tcp.config
    assert net_h2_cfg.msl_ns == 30 * S  # TIME_WAIT lasts 2*MSL = 60 s

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        if reuse:
            s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        s.bind(("", 7000))
        s.listen()
        conn, _ = s.accept()
        conn.close()       # the server closes first: its end goes to TIME_WAIT
        s.close()
        h.sleep(1)
        assert [ep.conn.state.name for ep in h.tcp.conns.values()] == ["TIME_WAIT"]
        again = h.socket(AF_INET, SOCK_STREAM)
        if reuse:
            again.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        try:
            again.bind(("", 7000))
        except OSError as exc:
            return exc.errno
        again.listen()
        conn, _ = again.accept()  # the restarted server serves a new client
        data = conn.recv(10)
        conn.close()
        return data

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 7000))
        assert c.recv(10) == b""
        c.close()
        if reuse:
            h.sleep(2)
            c = h.socket(AF_INET, SOCK_STREAM)
            c.connect(("10.0.0.2", 7000))
            c.sendall(b"again")
            c.close()

    srv = h2.spawn_with_host(server)
    h1.spawn_with_host(client, at="1ms")
    net.run()
    return srv.result


def test_time_wait_blocks_bind_with_eaddrinuse_without_so_reuseaddr():
    """RFC 9293 3.6 (TIME_WAIT keeps the connection for 2 MSL): as on Linux, bind() to its port
    fails with EADDRINUSE without SO_REUSEADDR."""
    assert _time_wait_then_bind(reuse=False) == errno.EADDRINUSE


def test_time_wait_allows_bind_and_listen_with_so_reuseaddr():
    """RFC 9293 3.6 (TIME_WAIT holds the old connection's socket pair for 2 MSL) and 3.4 (a
    new client is another pair): with SO_REUSEADDR the restarted server binds the port
    meanwhile and serves it."""
    assert _time_wait_then_bind(reuse=True) == b"again"


def test_listen_second_listener_on_the_same_port_raises_eaddrinuse():
    """RFC 9293 3.9.1.1 (OPEN names the local socket a listener owns): a second bind() of the port
    fails with EADDRINUSE, even with SO_REUSEADDR, as on Linux, and succeeds once the listener
    is closed."""
    net, h1, h2, _ = lan()

    def prog(h):
        a = h.socket(AF_INET, SOCK_STREAM)
        a.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        a.bind(("", 80))
        a.listen()
        codes = []
        for addr in (("", 80), ("10.0.0.1", 80)):
            b = h.socket(AF_INET, SOCK_STREAM)
            b.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)  # no help against a listener
            with pytest.raises(OSError) as info:
                b.bind(addr)
            codes.append((info.value.errno, info.value.strerror))
            b.close()
        a.close()
        c = h.socket(AF_INET, SOCK_STREAM)
        c.bind(("", 80))  # free again once the listener is closed
        c.close()
        return codes

    task = h1.spawn_with_host(prog)
    net.run()
    assert task.result == [(errno.EADDRINUSE, "Address already in use")] * 2


def test_listen_backlog_full_answers_cookies_and_clients_are_served_after_retrying():
    """RFC 9293 3.10.7.2 (each SYN starts a connection in SYN_RECEIVED); past listen()'s backlog
    the SYN is answered with a SYN cookie (RFC 4987 3.6), as on Linux, and every client is
    served."""
    net = Network(seed=3)
    sw = net.add_switch("s1")
    server_host = net.add_host("srv")
    net.link(server_host, sw)
    server_host.set_ip("10.0.0.100/24")
    clients = []
    for i in range(5):
        h = net.add_host(f"c{i}")
        net.link(h, sw)
        h.set_ip(f"10.0.0.{i + 1}/24")
        clients.append(h)

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 9))
        s.listen(2)
        h.sleep(0.1)   # a slow server: everybody's SYN arrives before the first accept
        served = []
        for _ in range(5):
            conn, addr = s.accept()
            served.append((addr[0], conn.recv(10)))
            conn.close()
        s.close()
        return served

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.100", 9))
        c.sendall(h.name.encode())
        assert c.recv(10) == b""
        c.close()
        return h.now

    srv = server_host.spawn_with_host(server)
    tasks = [h.spawn_with_host(client, at="1ms") for h in clients]
    net.run()
    assert sorted(d for _, d in srv.result) == [b"c0", b"c1", b"c2", b"c3", b"c4"]
    # Linux: 2 SYNs queue, 3 get SYN cookies; 3 connections fit the accept queue (backlog + 1)
    # and the ACKs of the other 2 are dropped until the clients retransmit their data.
    counters = server_host.tcp.counters
    assert counters["syn_cookies_sent"] == 3 and counters["listen_overflows"] >= 2
    done = sorted(t.result for t in tasks)
    # three served at once when the server wakes (0.1 s), the other two only after their data
    # went again: sent at 1 ms, again after the 200 ms minimum RTO (RFC 6298 (2.4), Linux's)
    assert done[2] - done[0] < S // 100 and done[3] >= S // 1000 + S // 5


def test_bind_twice_raises_einval_and_to_a_foreign_address_eaddrnotavail():
    """The socket API (bind(2)), not an RFC behaviour: binding twice is EINVAL, to an address the
    host lacks EADDRNOTAVAIL; port 0 takes an ephemeral port from Linux's range (RFC 6056 2.1)."""
    net, h1, h2, _ = lan()

    def prog(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 0))
        port = s.getsockname()[1]
        with pytest.raises(OSError) as twice:
            s.bind(("", 0))
        with pytest.raises(OSError) as foreign:
            h.socket(AF_INET, SOCK_STREAM).bind(("10.0.0.2", 80))
        return port, twice.value.errno, foreign.value.errno

    task = h1.spawn_with_host(prog)
    net.run()
    port, twice, foreign = task.result
    assert 32768 <= port <= 60999
    assert (twice, foreign) == (errno.EINVAL, errno.EADDRNOTAVAIL)


# -- options -----------------------------------------------------------------------------------

@pytest.mark.parametrize("nodelay", [False, True])
def test_established_small_writes_are_coalesced_by_nagle_unless_tcp_nodelay(nodelay):
    """RFC 9293 3.7.4 (Nagle: small writes wait while data is unacknowledged and leave together;
    TCP_NODELAY sends each at once)."""
    net, h1, h2, _ = lan()

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 7))
        s.listen()
        conn, _ = s.accept()
        got = b""
        while chunk := conn.recv(100):
            got += chunk
        conn.close()
        return got

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        if nodelay:
            c.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)
        assert c.getsockopt(IPPROTO_TCP, TCP_NODELAY) == int(nodelay)
        c.connect(("10.0.0.2", 7))
        for ch in b"abcdefghij":  # ten 1-byte writes at the same instant
            c.send(bytes([ch]))
        c.close()

    srv = h2.spawn_with_host(server)
    h1.spawn_with_host(client, at="1ms")
    net.run()
    assert srv.result == b"abcdefghij"
    data_segments = [s for s in tcp_segments(net, "h1") if s.payload]
    # Nagle (RFC 9293 3.7.4): one small segment in flight; the other nine wait for its ACK.
    assert len(data_segments) == (10 if nodelay else 2)


def test_setsockopt_unknown_option_raises_enoprotoopt_and_so_type_is_stream():
    """The socket API (setsockopt(2)); RFC 9293 3.9.1 leaves the user interface to the system: an
    unknown option is ENOPROTOOPT, SO_TYPE reads SOCK_STREAM."""
    net, h1, h2, _ = lan()

    def prog(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        with pytest.raises(OSError) as info:
            s.setsockopt(SOL_SOCKET, 0x7777, 1)
        return info.value.errno, s.getsockopt(SOL_SOCKET, pysocket.SO_TYPE), s.type, s.family

    task = h1.spawn_with_host(prog)
    net.run()
    assert task.result == (errno.ENOPROTOOPT, SOCK_STREAM, SOCK_STREAM, AF_INET)


# -- non-blocking ------------------------------------------------------------------------------

def test_non_blocking_connect_raises_blocking_io_error_then_completes_in_the_background():
    """RFC 9293 3.9.1.1 (OPEN returns at once; the handshake of 3.5 completes later): a
    non-blocking connect() raises EINPROGRESS, a repeat EALREADY, and once ESTABLISHED EISCONN,
    as connect(2)."""
    net, h1, h2, _ = lan()
    h2.spawn_with_host(echo_server, 7, 1)

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.setblocking(False)
        with pytest.raises(BlockingIOError) as info:
            c.connect(("10.0.0.2", 7))
        first = info.value.errno
        with pytest.raises(OSError) as again:
            c.connect(("10.0.0.2", 7))  # still in progress
        in_progress = again.value.errno
        with pytest.raises(BlockingIOError):
            c.recv(10)                  # nothing to read yet: EAGAIN
        h.sleep(0.01)
        established = c.state, c.getsockopt(SOL_SOCKET, pysocket.SO_ERROR)
        assert c.connect(("10.0.0.2", 7)) is None  # Linux: the first call after it completed
        with pytest.raises(OSError) as done:
            c.connect(("10.0.0.2", 7))
        c.send(b"ping")
        h.sleep(0.01)
        data = c.recv(10)
        c.close()
        return first, in_progress, established, done.value.errno, data

    task = h1.spawn_with_host(client, at="1ms")
    net.run()
    assert task.result == (errno.EINPROGRESS, errno.EALREADY, ("ESTABLISHED", 0),
                           errno.EISCONN, b"ping")


def test_non_blocking_connect_to_closed_port_reports_econnrefused_via_so_error():
    """RFC 9293 3.10.7.3 (an RST in SYN_SENT refuses the connection), reported asynchronously
    through SO_ERROR (connect(2)), which reading clears."""
    net, h1, h2, _ = lan()

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.setblocking(False)
        assert c.connect_ex(("10.0.0.2", 1)) == errno.EINPROGRESS
        h.sleep(0.01)
        return c.getsockopt(SOL_SOCKET, pysocket.SO_ERROR), c.getsockopt(SOL_SOCKET,
                                                                         pysocket.SO_ERROR)

    task = h1.spawn_with_host(client)
    net.run()
    assert task.result == (errno.ECONNREFUSED, 0)  # SO_ERROR is cleared once read


def test_non_blocking_accept_with_nothing_pending_raises_blocking_io_error():
    """RFC 9293 3.10.7.2 (no connection has finished its handshake): a non-blocking accept() raises
    EAGAIN, as accept(2)."""
    net, h1, h2, _ = lan()

    def prog(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 7))
        s.listen()
        s.setblocking(False)
        with pytest.raises(BlockingIOError) as info:
            s.accept()
        return info.value.errno

    task = h1.spawn_with_host(prog)
    net.run()
    assert task.result == errno.EAGAIN


def test_closed_socket_operations_raise_ebadf():
    """RFC 9293 3.10.4 (after CLOSE the connection's calls fail): the socket API reports EBADF;
    closing twice is harmless, as in Python."""
    net, h1, h2, _ = lan()

    def prog(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.close()
        s.close()  # closing twice is fine, as in Python
        codes = []
        for call in (lambda: s.bind(("", 0)), lambda: s.connect(("10.0.0.2", 7)),
                     lambda: s.listen()):
            with pytest.raises(OSError) as info:
                call()
            codes.append(info.value.errno)
        return codes, s.fileno()

    task = h1.spawn_with_host(prog)
    net.run()
    assert task.result == ([errno.EBADF] * 3, -1)


# -- flow control ------------------------------------------------------------------------------

def test_established_both_windows_zero_probe_forever_without_an_ack_war_or_a_timeout():
    """RFC 9293 3.8.6.1 and RFC 1122 4.2.2.17 (zero-window probing goes on as long as the receiver
    answers; it is no reason to give up) and 3.10.7.4 (first check: a probe beyond the window is
    ACKed, not answered in a loop)."""
    # Two programs that only write (the classic application deadlock) fill both receive
    # windows. As on Linux, both ends then probe the closed window with backed-off persist
    # timers for as long as the peer answers: no ETIMEDOUT, and no storm of ACKs answering
    # ACKs (each probe byte counts in SND.MAX, which the peer cannot accept).
    net, h1, h2, _ = lan()
    errors = []

    def writer(h, sock):
        try:
            sock.sendall(bytes(300_000))
        except OSError as exc:
            errors.append(exc)

    def server(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 7))
        s.listen()
        conn, _ = s.accept()
        writer(h, conn)

    def client(h):
        c = h.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 7))
        writer(h, c)

    h2.spawn_with_host(server)
    h1.spawn_with_host(client, at="1ms")
    # an ACK war would never let virtual time advance: stop it after 20,000 trace events
    net.kernel.run(until_ns=600 * S, stop=lambda: len(net.trace) > 20_000)
    assert net.now == 600 * S
    assert errors == []
    assert len(net.blocked_tasks()) == 2
    segments = tcp_segments(net, "h1") + tcp_segments(net, "h2")
    assert len(segments) < 1000  # ~2 x 130 data segments, their ACKs, and a few probes
    probes = [s for s in tcp_segments(net, "h1") if len(s.payload) == 1]
    assert 3 <= len(probes) <= 20
    assert all(ep.conn.state.name == "ESTABLISHED" for h in (h1, h2) for ep in h.tcp.conns.values())
