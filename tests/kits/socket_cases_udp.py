"""Socket parity cases for UDP, and what netsim does not model (see ``tests/kits/sockets.py``)."""

from __future__ import annotations

import socket
import struct

from tests.kits.sockets import IPT, SOL, UDP, case, not_modelled


def _filled(env, sock) -> None:
    """Let loopback deliver what was sent."""
    env.sleep(0.05)


# -- UDP -------------------------------------------------------------------------------------

@case("UDP", "listen and accept")
def _(env):
    u = env.socket(UDP)
    return env.attempt(lambda: u.listen()), env.attempt(u.accept)


@case("UDP", "send when not connected")
def _(env):
    return env.attempt(lambda: env.socket(UDP).send(b"x"))


@case("UDP", "sendto port 0")
def _(env):
    return env.attempt(lambda: env.socket(UDP).sendto(b"x", ("127.0.0.1", 0)))


@case("UDP", "sendto 255.255.255.255 without SO_BROADCAST")
def _(env):
    return env.attempt(lambda: env.socket(UDP).sendto(b"x", ("255.255.255.255", 9)))


@case("UDP", "connect to 255.255.255.255 without SO_BROADCAST")
def _(env):
    return env.attempt(lambda: env.socket(UDP).connect(("255.255.255.255", 9)))


@case("UDP", "65507 and 65508 bytes")
def _(env):
    u = env.socket(UDP)
    return (env.attempt(lambda: u.sendto(b"x" * 65507, ("127.0.0.1", 9))),
            env.attempt(lambda: u.sendto(b"x" * 65508, ("127.0.0.1", 9))))


@case("UDP", "getsockname after an implicit bind")
def _(env):
    u = env.socket(UDP)
    u.sendto(b"x", ("127.0.0.1", 9))
    name = u.getsockname()
    return name[0], name[1] > 0


@case("UDP", "connect to 0.0.0.0 port 0")
def _(env):
    u = env.socket(UDP)
    first = env.attempt(lambda: u.connect(("0.0.0.0", 0)))
    return first, u.getsockname()[0], env.attempt(u.getpeername)


@case("UDP", "connect to 0.0.0.0 port 9")
def _(env):
    u = env.socket(UDP)
    u.connect(("0.0.0.0", 9))
    return u.getpeername(), u.getsockname()[0]


@case("UDP", "recv(0) leaves the datagram queued")
def _(env):
    a, b = env.udp_pair()
    a.send(b"hello")
    _filled(env, b)
    return b.recv(0), b.recv(100)


@case("UDP", "recv(0) with nothing queued")
def _(env):
    a, b = env.udp_pair()
    b.settimeout(0.05)
    return env.attempt(lambda: b.recv(0)), env.attempt(lambda: b.recvfrom(0))


@case("UDP", "MSG_PEEK leaves the datagram queued")
def _(env):
    a, b = env.udp_pair()
    a.send(b"peek at me")
    _filled(env, b)
    peeked, addr = b.recvfrom(4, socket.MSG_PEEK)
    return peeked, addr == a.getsockname(), b.recv(100)


@case("UDP", "MSG_DONTWAIT on a blocking socket")
def _(env):
    _, b = env.udp_pair()
    return env.attempt(lambda: b.recv(10, socket.MSG_DONTWAIT))


@case("UDP", "recv non-blocking and with a timeout")
def _(env):
    _, b = env.udp_pair()
    b.setblocking(False)
    first = env.attempt(lambda: b.recv(10))
    b.settimeout(0.05)
    return first, env.attempt(lambda: b.recv(10))


@case("UDP", "a datagram longer than the buffer is cut")
def _(env):
    a, b = env.udp_pair()
    a.send(b"0123456789")
    a.send(b"next")
    _filled(env, b)
    return b.recv(4), b.recv(100)


@case("UDP", "connected to a closed port: the error on the next call")
def _(env):
    u = env.socket(UDP)
    u.connect(("127.0.0.1", env.closed_port()))
    u.send(b"x")
    _filled(env, u)
    first = env.attempt(lambda: u.recv(10))
    u.send(b"x")
    _filled(env, u)
    return first, env.attempt(lambda: u.send(b"y")), u.getsockopt(SOL, socket.SO_ERROR)


@case("UDP", "shutdown when not connected")
def _(env):
    return env.attempt(lambda: env.socket(UDP).shutdown(socket.SHUT_RDWR))


@case("UDP", "shutdown(SHUT_WR) when connected: send EPIPE")
def _(env):
    a, b = env.udp_pair()
    a.shutdown(socket.SHUT_WR)
    return env.attempt(lambda: a.send(b"x")), env.attempt(
        lambda: a.sendto(b"x", b.getsockname()))


@case("UDP", "shutdown(SHUT_RD) changes nothing")
def _(env):
    a, b = env.udp_pair()
    b.shutdown(socket.SHUT_RD)
    a.send(b"still here")
    _filled(env, b)
    return b.recv(100)


@case("UDP", "shutdown(9)")
def _(env):
    return env.attempt(lambda: env.socket(UDP).shutdown(9))


@case("UDP", "SO_REUSEADDR: both set")
def _(env):
    a, b = env.socket(UDP), env.socket(UDP)
    for s in (a, b):
        s.setsockopt(SOL, socket.SO_REUSEADDR, 1)
    a.bind(("127.0.0.1", 0))
    return env.attempt(lambda: b.bind(a.getsockname()))


@case("UDP", "SO_REUSEADDR: only the first set")
def _(env):
    a, b = env.socket(UDP), env.socket(UDP)
    a.setsockopt(SOL, socket.SO_REUSEADDR, 1)
    a.bind(("127.0.0.1", 0))
    return env.attempt(lambda: b.bind(a.getsockname()))


@case("UDP", "SO_REUSEADDR: only the second set")
def _(env):
    a, b = env.socket(UDP), env.socket(UDP)
    b.setsockopt(SOL, socket.SO_REUSEADDR, 1)
    a.bind(("127.0.0.1", 0))
    return env.attempt(lambda: b.bind(a.getsockname()))


@case("UDP", "bind twice")
def _(env):
    u = env.socket(UDP)
    u.bind(("127.0.0.1", 0))
    return env.attempt(lambda: u.bind(("127.0.0.1", 0)))


@case("UDP", "options: SO_BROADCAST, SO_KEEPALIVE, SO_RCVBUF, SO_TYPE, SO_PROTOCOL")
def _(env):
    u = env.socket(UDP)
    before = u.getsockopt(SOL, socket.SO_BROADCAST), u.getsockopt(SOL, socket.SO_KEEPALIVE)
    u.setsockopt(SOL, socket.SO_BROADCAST, 1)
    u.setsockopt(SOL, socket.SO_KEEPALIVE, 1)
    u.setsockopt(SOL, socket.SO_RCVBUF, 5000)
    return (before, u.getsockopt(SOL, socket.SO_BROADCAST), u.getsockopt(SOL, socket.SO_KEEPALIVE),
            u.getsockopt(SOL, socket.SO_RCVBUF), u.getsockopt(SOL, socket.SO_TYPE),
            u.getsockopt(SOL, socket.SO_PROTOCOL))


@case("UDP", "SO_RCVBUF default")
def _(env):
    return env.socket(UDP).getsockopt(SOL, socket.SO_RCVBUF)


@case("UDP", "a TCP option on UDP")
def _(env):
    return env.attempt(lambda: env.socket(UDP).getsockopt(IPT, socket.TCP_NODELAY))


@case("UDP", "makefile reads one datagram")
def _(env):
    a, b = env.udp_pair()
    a.send(b"datagram")
    _filled(env, b)
    f = b.makefile("rb")
    return f.read1(100) if hasattr(f, "read1") else f.read(8)


@case("UDP", "recvfrom_into")
def _(env):
    a, b = env.udp_pair()
    a.send(b"into the buffer")
    _filled(env, b)
    buf = bytearray(8)
    n, addr = b.recvfrom_into(buf)
    return n, bytes(buf), addr == a.getsockname()


# -- what netsim does not model: NotImplementedError, never a wrong answer ------------------

@not_modelled("recv(10, MSG_ERRQUEUE)")
def _(env):
    c, _ = env.pair()
    return c.recv(10, socket.MSG_ERRQUEUE)


@not_modelled("send(b'x', MSG_OOB)")
def _(env):
    c, _ = env.pair()
    return c.send(b"x", socket.MSG_OOB)


@not_modelled("dup()")
def _(env):
    return env.socket().dup()


@not_modelled("sendmsg([b'x'])")
def _(env):
    c, _ = env.pair()
    return c.sendmsg([b"x"])


@not_modelled("setsockopt(SO_REUSEPORT, 1)")
def _(env):
    return env.socket().setsockopt(SOL, socket.SO_REUSEPORT, 1)


@not_modelled("setsockopt(SO_LINGER, on, 5 s)")
def _(env):
    return env.socket().setsockopt(SOL, socket.SO_LINGER, struct.pack("ii", 1, 5))


@not_modelled("setsockopt(IPPROTO_TCP, TCP_CORK, 1)")
def _(env):
    return env.socket().setsockopt(IPT, socket.TCP_CORK, 1)
