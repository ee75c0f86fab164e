"""Orphaned connections: what happens after the application closed its socket.

RFC 9293 3.10.7.4 and RFC 2525 2.17 (as Linux does): data arriving for a socket that will
never read it is answered with RST, so the sender learns it was lost; an orphan in FIN_WAIT_2
waits for the peer's FIN at most ``tcp_fin_timeout`` (60 s). The errno sequences the sender
then sees are compared with real sockets in ``test_socket_parity.py``.
"""

from __future__ import annotations

import socket

import pytest

from netsim import Network
from netsim.wire.frame import decode_frame
from netsim.wire.tcp import RST


def pair() -> tuple[Network, object, object]:
    net = Network(seed=2)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    net.link(h1, h2, delay="1ms")
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    return net, h1, h2


def server(host, out: dict, close_after: float = 0.0, how: str = "close") -> None:
    lsock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("", 7))
    lsock.listen(4)
    conn, _ = lsock.accept()
    host.sleep(close_after)
    if how == "close":
        conn.close()
    else:
        conn.shutdown(socket.SHUT_RDWR)
        out["server_sock"] = conn
    lsock.close()


def outcome(call) -> str:
    try:
        result = call()
    except OSError as exc:
        return type(exc).__name__
    return repr(result)


def test_data_after_close_is_answered_with_rst_and_the_sender_gets_epipe() -> None:
    net, h1, h2 = pair()
    out: dict = {}
    h2.spawn_with_host(server, out)

    def client(host) -> None:
        s = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("10.0.0.2", 7))
        host.sleep(0.1)                      # the server has closed: we are in CLOSE_WAIT
        out["first"] = outcome(lambda: s.send(b"lost"))
        host.sleep(0.1)                      # its RST is back
        out["second"] = outcome(lambda: s.send(b"more"))
        out["recv"] = outcome(lambda: s.recv(10))
    h1.spawn_with_host(client)
    net.run()
    assert out == {"first": "4", "second": "BrokenPipeError", "recv": "b''"}
    rst = [ev for ev in net.trace if ev.node == "h2" and ev.kind == "tx"
           and (f := decode_frame(ev.frame)).tcp is not None and f.tcp.flags & RST]
    assert len(rst) == 1
    notes = [ev.note for ev in net.trace if ev.node == "h2" and ev.kind == "rx" and ev.note]
    assert any(n.startswith("data after close: RST sent (4 bytes") for n in notes)
    assert not h1.tcp.conns and not h2.tcp.conns     # both ends are gone


def test_sendall_of_a_megabyte_to_a_peer_that_closed_raises() -> None:
    net, h1, h2 = pair()
    out: dict = {}
    h2.spawn_with_host(server, out)

    def client(host) -> None:
        s = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("10.0.0.2", 7))
        host.sleep(0.1)
        with pytest.raises(BrokenPipeError):
            s.sendall(b"x" * 1_000_000)
        out["raised at"] = host.now
    h1.spawn_with_host(client)
    net.run()
    assert "raised at" in out


def test_an_orphan_in_fin_wait_2_is_deleted_after_tcp_fin_timeout() -> None:
    net, h1, h2 = pair()
    out: dict = {}
    h2.spawn_with_host(server, out)

    def client(host) -> None:   # never closes: the server's end waits in FIN_WAIT_2
        s = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("10.0.0.2", 7))
        out["client"] = s
        host.sleep(300)
    h1.spawn_with_host(client)
    net.run(duration="59s")
    (ep,) = h2.tcp.conns.values()
    assert ep.conn.state.value == "FIN_WAIT_2"
    net.run(duration="2s")
    assert not h2.tcp.conns
    gone = [ev for ev in net.trace if ev.node == "h2" and ev.kind == "state"
            and "FIN_WAIT_2 -> CLOSED" in ev.note]
    assert len(gone) == 1 and 60.0 <= gone[0].time_ns / 1e9 <= 60.1
    # nothing was sent: the peer is not told (Linux drops the orphan in silence)
    assert out["client"].state == "CLOSE_WAIT"
    (traced,) = net.tcp_tracer.find("h2:7")
    assert traced.states["h2:7"] == "CLOSED"


def test_a_socket_still_open_in_fin_wait_2_is_not_timed_out() -> None:
    # shutdown(SHUT_WR) keeps the socket: the application may still read, so no timer.
    net, h1, h2 = pair()
    out: dict = {}

    def half_closer(host) -> None:
        lsock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("", 7))
        lsock.listen(4)
        conn, _ = lsock.accept()
        conn.shutdown(socket.SHUT_WR)
        out["data"] = conn.recv(10)            # arrives after 100 s: still read
    h2.spawn_with_host(half_closer)

    def client(host) -> None:
        s = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("10.0.0.2", 7))
        host.sleep(100)
        s.sendall(b"late")
        host.sleep(1)
    h1.spawn_with_host(client)
    net.run()
    assert out["data"] == b"late"


def test_new_data_after_shutdown_rdwr_resets_and_both_ends_see_linux_errors() -> None:
    net, h1, h2 = pair()
    out: dict = {}
    h2.spawn_with_host(server, out, 0.0, "shutdown")

    def client(host) -> None:
        s = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("10.0.0.2", 7))
        host.sleep(0.1)
        out["send1"] = outcome(lambda: s.send(b"a"))
        host.sleep(0.1)
        out["send2"] = outcome(lambda: s.send(b"a"))
        out["server recv"] = outcome(lambda: out["server_sock"].recv(10))
        out["server send"] = outcome(lambda: out["server_sock"].send(b"x"))
    h1.spawn_with_host(client)
    net.run()
    assert (out["send1"], out["send2"], out["server recv"], out["server send"]) == (
        "1", "BrokenPipeError", "ConnectionResetError", "BrokenPipeError")


def test_an_old_retransmission_after_close_is_acked_not_reset() -> None:
    # Only data beyond RCV.NXT is "new": a duplicate of what was already received is not.
    net, h1, h2 = pair()
    got: dict = {}

    def reader(host) -> None:
        lsock = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("", 7))
        lsock.listen(4)
        conn, _ = lsock.accept()
        got["data"] = conn.recv(10)
        conn.close()
    h2.spawn_with_host(reader)
    link = net.links[0]
    # lose h2's ACK of the data and its FIN (which repeats that ACK): h1 retransmits the data
    # after h2 has closed
    link.drop_when(lambda f: (d := decode_frame(f)).tcp is not None
                   and not d.tcp.flags & 0x02, count=2, direction=h2.iface(0))

    def client(host) -> None:
        s = host.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("10.0.0.2", 7))
        s.send(b"hello")
        host.sleep(3)
        got["after"] = outcome(lambda: s.send(b"x"))
    h1.spawn_with_host(client)
    net.run()
    assert got["data"] == b"hello" and got["after"] == "1"
    hellos = [ev.note for ev in net.trace if ev.node == "h2" and ev.kind == "rx"
              and (f := decode_frame(ev.frame)).tcp is not None and f.tcp.payload == b"hello"]
    assert len(hellos) == 2 and "data after close" not in (hellos[1] or "")
    resets = [ev.note for ev in net.trace if ev.node == "h2" and ev.kind == "rx"
              and (ev.note or "").startswith("data after close")]
    assert len(resets) == 1 and h2.tcp.counters["rst_sent"] == 1   # for the new "x" only
