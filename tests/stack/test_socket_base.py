"""What UDP and TCP sockets share behaves the same for both (``stack/sockbase.py``).

Descriptors, timeouts (including ``socket.setdefaulttimeout``), blocking mode, ``connect_ex``,
the SOL_SOCKET options, close and repr; one port table module; one ICMP-to-errno table.
"""

from __future__ import annotations

import errno
import socket as pysocket

import pytest

from netsim import AF_INET, SO_REUSEADDR, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET
from netsim.stack.ports import EPHEMERAL_HIGH, EPHEMERAL_LOW
from tests.kits.stack import pair, three_subnets

KINDS = pytest.mark.parametrize("kind", [SOCK_DGRAM, SOCK_STREAM], ids=["udp", "tcp"])


@pytest.fixture
def default_timeout():
    """Set ``socket.setdefaulttimeout`` for one test, then restore it."""
    before = pysocket.getdefaulttimeout()
    yield pysocket.setdefaulttimeout
    pysocket.setdefaulttimeout(before)


@KINDS
def test_a_new_socket_takes_the_default_timeout_as_socket_socket_does(kind, default_timeout):
    _, h1, _ = pair()
    default_timeout(2.5)
    s = h1.socket(AF_INET, kind)
    assert (s.gettimeout(), s.timeout, s.getblocking()) == (2.5, 2.5, True)
    default_timeout(None)
    assert h1.socket(AF_INET, kind).gettimeout() is None


@KINDS
def test_the_default_timeout_makes_a_blocking_recv_time_out(kind, default_timeout):
    net, h1, h2 = pair()
    default_timeout(0.5)

    def prog(h):
        s = h.socket(AF_INET, kind)
        if kind == SOCK_STREAM:
            srv = h2.socket(AF_INET, SOCK_STREAM)
            srv.bind(("", 80))
            srv.listen()
            s.connect(("10.0.0.2", 80))
        else:
            s.bind(("", 5000))
        t0 = h.now
        with pytest.raises(TimeoutError, match="timed out"):
            s.recv(10)
        return h.now - t0

    assert net.kernel.run_blocking(prog, h1) == 500_000_000


@KINDS
def test_timeout_and_blocking_settings_follow_python(kind):
    _, h1, _ = pair()
    s = h1.socket(AF_INET, kind)
    with pytest.raises(ValueError, match="Timeout value out of range"):
        s.settimeout(-1)
    s.setblocking(False)
    assert (s.gettimeout(), s.getblocking()) == (0.0, False)
    s.settimeout(3)
    assert s.gettimeout() == 3.0 and isinstance(s.gettimeout(), float)


@KINDS
def test_reuseaddr_reads_back_and_accepts_a_bytes_value(kind):
    _, h1, _ = pair()
    s = h1.socket(AF_INET, kind)
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    assert s.getsockopt(SOL_SOCKET, SO_REUSEADDR) == 1
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, (0).to_bytes(4, "little"))  # an int in C's layout
    assert s.getsockopt(SOL_SOCKET, SO_REUSEADDR) == 0
    assert s.getsockopt(SOL_SOCKET, pysocket.SO_TYPE) == kind


@KINDS
def test_close_frees_the_descriptor_and_the_repr_says_so(kind):
    _, h1, _ = pair()
    s = h1.socket(AF_INET, kind)
    s.bind(("10.0.0.1", 4000))
    text = repr(s)
    assert text.startswith(f"<netsim.socket fd={s.fileno()}, ")
    assert "host=h1" in text and "laddr=('10.0.0.1', 4000)" in text
    s.close()
    assert s.closed and s.fileno() == -1 and repr(s).startswith("<netsim.socket [closed] fd=-1")
    with pytest.raises(OSError) as info:
        s.getsockname()
    assert info.value.errno == errno.EBADF
    s.close()  # twice is harmless


def test_the_tcp_repr_shows_the_connection_state():
    _, h1, _ = pair()
    s = h1.socket(AF_INET, SOCK_STREAM)
    s.bind(("", 80))
    s.listen()
    assert repr(s).endswith(", state=LISTEN>")


@KINDS
def test_connect_ex_returns_the_errno_instead_of_raising(kind):
    net, h1, _ = pair()

    def prog(h):
        s = h.socket(AF_INET, kind)
        return s.connect_ex(("10.9.9.9", 80)), h.socket(AF_INET, SOCK_DGRAM).connect_ex(
            ("10.0.0.2", 9))

    assert net.kernel.run_blocking(prog, h1) == (errno.ENETUNREACH, 0)


@KINDS
def test_both_transports_draw_ephemeral_ports_from_the_one_range(kind):
    net, h1, _ = pair()
    s = h1.socket(AF_INET, kind)
    s.bind(("", 0))
    assert EPHEMERAL_LOW <= s.getsockname()[1] <= EPHEMERAL_HIGH


def test_an_icmp_net_unreachable_means_enetunreach_to_udp_and_to_tcp_alike():
    # RFC 1122 3.2.2.1 and Linux's icmp_err_convert: code 0 (net unreachable) is
    # ENETUNREACH, a hard error; a connecting TCP socket aborts with it (tcp_v4_err).
    net, (h1, _, _), _ = three_subnets()

    def prog(h):
        u = h.socket(AF_INET, SOCK_DGRAM)
        u.connect(("10.0.9.9", 9))  # h1 has a default route; r1 has none for 10.0.9.0/24
        u.send(b"x")
        u.settimeout(1)
        with pytest.raises(OSError) as udp_error:
            u.recv(10)
        with pytest.raises(OSError) as tcp_error:
            h.socket(AF_INET, SOCK_STREAM).connect(("10.0.9.9", 80))
        return udp_error.value.errno, tcp_error.value.errno

    assert net.kernel.run_blocking(prog, h1) == (errno.ENETUNREACH, errno.ENETUNREACH)
