"""Socket parity cases for TCP (see ``tests/kits/sockets.py``): not connected, connect, listen and
bind, SO_REUSEADDR, data, a peer that closes or resets, options."""

from __future__ import annotations

import errno
import io
import socket
import struct

from tests.kits.sockets import IPP, IPT, SOL, case


def _filled(env, sock) -> None:
    """Let loopback deliver what was sent."""
    env.sleep(0.05)


# -- TCP: a socket that is not connected -----------------------------------------------------

@case("TCP, not connected", "send")
def _(env):
    return env.attempt(lambda: env.socket().send(b"x"))


@case("TCP, not connected", "send(b'')")
def _(env):
    return env.attempt(lambda: env.socket().send(b""))


@case("TCP, not connected", "sendall")
def _(env):
    return env.attempt(lambda: env.socket().sendall(b"x"))


@case("TCP, not connected", "sendto")
def _(env):
    return env.attempt(lambda: env.socket().sendto(b"x", ("127.0.0.1", 9)))


@case("TCP, not connected", "recv(10)")
def _(env):
    return env.attempt(lambda: env.socket().recv(10))


@case("TCP, not connected", "recv(0)")
def _(env):
    return env.attempt(lambda: env.socket().recv(0))


@case("TCP, not connected", "recvfrom(10)")
def _(env):
    return env.attempt(lambda: env.socket().recvfrom(10))


@case("TCP, not connected", "recv_into(bytearray(4))")
def _(env):
    return env.attempt(lambda: env.socket().recv_into(bytearray(4)))


@case("TCP, not connected", "shutdown(SHUT_RDWR)")
def _(env):
    return env.attempt(lambda: env.socket().shutdown(socket.SHUT_RDWR))


@case("TCP, not connected", "shutdown(7)")
def _(env):
    return env.attempt(lambda: env.socket().shutdown(7))


@case("TCP, not connected", "getpeername")
def _(env):
    return env.attempt(lambda: env.socket().getpeername())


@case("TCP, not connected", "getsockname")
def _(env):
    return env.attempt(lambda: env.socket().getsockname())


@case("TCP, not connected", "accept")
def _(env):
    return env.attempt(lambda: env.socket().accept())


@case("TCP, not connected", "SO_ERROR")
def _(env):
    return env.socket().getsockopt(SOL, socket.SO_ERROR)


# -- TCP: connect ----------------------------------------------------------------------------

@case("TCP, connect", "to a closed port")
def _(env):
    return env.attempt(lambda: env.socket().connect(("127.0.0.1", env.closed_port())))


@case("TCP, connect", "connect_ex to a closed port")
def _(env):
    return errno.errorcode[env.socket().connect_ex(("127.0.0.1", env.closed_port()))]


@case("TCP, connect", "after refused: recv, send, SO_ERROR, connect")
def _(env):
    s = env.socket()
    port = env.closed_port()
    s.connect_ex(("127.0.0.1", port))
    return (env.attempt(lambda: s.recv(1)), env.attempt(lambda: s.send(b"x")),
            s.getsockopt(SOL, socket.SO_ERROR), env.attempt(lambda: s.connect(("127.0.0.1", port))))


@case("TCP, connect", "to 0.0.0.0 (this host)")
def _(env):
    lsock, (_, port) = env.listener()
    s = env.socket()
    s.connect(("0.0.0.0", port))
    return s.getpeername()[0]


@case("TCP, connect", "to port 0")
def _(env):
    return env.attempt(lambda: env.socket().connect(("127.0.0.1", 0)))


@case("TCP, connect", "twice")
def _(env):
    c, _ = env.pair()
    return env.attempt(lambda: c.connect(env.last_listener_addr))


@case("TCP, connect", "on a listening socket")
def _(env):
    lsock, addr = env.listener()
    return env.attempt(lambda: lsock.connect(addr))


@case("TCP, connect", "non-blocking: EINPROGRESS, then None, then EISCONN")
def _(env):
    _, addr = env.listener()
    s = env.socket()
    s.setblocking(False)
    first = env.attempt(lambda: s.connect(addr))
    env.sleep(0.05)
    return first, env.attempt(lambda: s.connect(addr)), env.attempt(lambda: s.connect(addr))


@case("TCP, connect", "non-blocking refused: SO_ERROR, then connect")
def _(env):
    s = env.socket()
    s.setblocking(False)
    port = env.closed_port()
    first = env.attempt(lambda: s.connect(("127.0.0.1", port)))
    env.sleep(0.05)
    return first, s.getsockopt(SOL, socket.SO_ERROR), env.attempt(
        lambda: s.connect(("127.0.0.1", port)))


@case("TCP, connect", "non-blocking refused: connect reports it")
def _(env):
    s = env.socket()
    s.setblocking(False)
    port = env.closed_port()
    first = env.attempt(lambda: s.connect(("127.0.0.1", port)))
    env.sleep(0.05)
    return first, env.attempt(lambda: s.connect(("127.0.0.1", port)))


@case("TCP, connect", "address not a tuple")
def _(env):
    return env.attempt(lambda: env.socket().connect("127.0.0.1"))


@case("TCP, connect", "port out of range")
def _(env):
    return env.attempt(lambda: env.socket().connect(("127.0.0.1", 70000)))


# -- TCP: listen, accept, bind ---------------------------------------------------------------

@case("TCP, listen and bind", "listen twice")
def _(env):
    lsock, _ = env.listener()
    return env.attempt(lambda: lsock.listen(3))


@case("TCP, listen and bind", "listen on a connected socket")
def _(env):
    c, _ = env.pair()
    return env.attempt(lambda: c.listen())


@case("TCP, listen and bind", "bind twice")
def _(env):
    s = env.socket()
    s.bind(("127.0.0.1", 0))
    return env.attempt(lambda: s.bind(("127.0.0.1", 0)))


@case("TCP, listen and bind", "bind a connected socket")
def _(env):
    c, _ = env.pair()
    return env.attempt(lambda: c.bind(("127.0.0.1", 0)))


@case("TCP, listen and bind", "accept non-blocking with nothing pending")
def _(env):
    lsock, _ = env.listener()
    lsock.setblocking(False)
    return env.attempt(lsock.accept)


@case("TCP, listen and bind", "accept with a timeout")
def _(env):
    lsock, _ = env.listener()
    lsock.settimeout(0.05)
    return env.attempt(lsock.accept)


@case("TCP, listen and bind", "accept gives the client's address")
def _(env):
    lsock, addr = env.listener()
    c = env.socket()
    c.connect(addr)
    s, peer = lsock.accept()
    return peer == c.getsockname(), s.getpeername() == c.getsockname()


@case("TCP, listen and bind", "on a listening socket: send, recv, getpeername")
def _(env):
    lsock, _ = env.listener()
    return (env.attempt(lambda: lsock.send(b"x")), env.attempt(lambda: lsock.recv(1)),
            env.attempt(lsock.getpeername))


@case("TCP, listen and bind", "shutdown(SHUT_RDWR) stops listening")
def _(env):
    lsock, addr = env.listener()
    first = env.attempt(lambda: lsock.shutdown(socket.SHUT_RDWR))
    return first, env.attempt(lsock.accept), env.attempt(lambda: env.socket().connect(addr))


@case("TCP, listen and bind", "SO_ACCEPTCONN")
def _(env):
    lsock, _ = env.listener()
    return lsock.getsockopt(SOL, socket.SO_ACCEPTCONN), env.socket().getsockopt(
        SOL, socket.SO_ACCEPTCONN)


@case("TCP, SO_REUSEADDR", "both set, neither listening")
def _(env):
    a, b = env.socket(), env.socket()
    for s in (a, b):
        s.setsockopt(SOL, socket.SO_REUSEADDR, 1)
    a.bind(("127.0.0.1", 0))
    return env.attempt(lambda: b.bind(a.getsockname()))


@case("TCP, SO_REUSEADDR", "both set, the first listening")
def _(env):
    a, b = env.socket(), env.socket()
    for s in (a, b):
        s.setsockopt(SOL, socket.SO_REUSEADDR, 1)
    a.bind(("127.0.0.1", 0))
    a.listen()
    return env.attempt(lambda: b.bind(a.getsockname()))


@case("TCP, SO_REUSEADDR", "only the second set")
def _(env):
    a, b = env.socket(), env.socket()
    b.setsockopt(SOL, socket.SO_REUSEADDR, 1)
    a.bind(("127.0.0.1", 0))
    return env.attempt(lambda: b.bind(a.getsockname()))


@case("TCP, SO_REUSEADDR", "bind over TIME_WAIT: old socket had it, new has it")
def _(env):
    port = env.time_wait_port(reuse_old=True)
    n = env.socket()
    n.setsockopt(SOL, socket.SO_REUSEADDR, 1)
    return env.attempt(lambda: n.bind(("127.0.0.1", port)))


@case("TCP, SO_REUSEADDR", "bind over TIME_WAIT: only the new socket has it")
def _(env):
    port = env.time_wait_port(reuse_old=False)
    n = env.socket()
    n.setsockopt(SOL, socket.SO_REUSEADDR, 1)
    return env.attempt(lambda: n.bind(("127.0.0.1", port)))


@case("TCP, SO_REUSEADDR", "bind over TIME_WAIT: neither")
def _(env):
    port = env.time_wait_port(reuse_old=False)
    return env.attempt(lambda: env.socket().bind(("127.0.0.1", port)))


# -- TCP: data -------------------------------------------------------------------------------

@case("TCP, data", "recv non-blocking with nothing queued")
def _(env):
    c, _ = env.pair()
    c.setblocking(False)
    return env.attempt(lambda: c.recv(10))


@case("TCP, data", "recv with a timeout")
def _(env):
    c, _ = env.pair()
    c.settimeout(0.05)
    return env.attempt(lambda: c.recv(10))


@case("TCP, data", "recv(0) with nothing queued")
def _(env):
    c, _ = env.pair()
    return env.attempt(lambda: c.recv(0))


@case("TCP, data", "recv(10, MSG_DONTWAIT) on a blocking socket")
def _(env):
    c, _ = env.pair()
    return env.attempt(lambda: c.recv(10, socket.MSG_DONTWAIT))


@case("TCP, data", "recv(10, MSG_DONTWAIT) with a timeout")
def _(env):
    c, _ = env.pair()
    c.settimeout(0.05)
    return env.attempt(lambda: c.recv(10, socket.MSG_DONTWAIT))


@case("TCP, data", "MSG_PEEK leaves the data queued")
def _(env):
    c, s = env.pair()
    s.sendall(b"peekaboo")
    _filled(env, c)
    return c.recv(4, socket.MSG_PEEK), c.recv(4, socket.MSG_PEEK), c.recv(100)


@case("TCP, data", "MSG_WAITALL waits for every byte")
def _(env):
    c, s = env.pair()
    s.sendall(b"abc")
    _filled(env, c)
    s.sendall(b"defg")
    s.shutdown(socket.SHUT_WR)
    return c.recv(6, socket.MSG_WAITALL), c.recv(6, socket.MSG_WAITALL), c.recv(6)


@case("TCP, data", "recv(-1)")
def _(env):
    c, _ = env.pair()
    return env.attempt(lambda: c.recv(-1))


@case("TCP, data", "send a str")
def _(env):
    c, _ = env.pair()
    return env.attempt(lambda: c.send("text"))


@case("TCP, data", "sendto ignores the address")
def _(env):
    c, s = env.pair()
    n = c.sendto(b"via sendto", ("127.0.0.1", 9))
    _filled(env, s)
    return n, s.recv(100)


@case("TCP, data", "recvfrom gives no address")
def _(env):
    c, s = env.pair()
    s.sendall(b"data")
    _filled(env, c)
    return c.recvfrom(100)


@case("TCP, data", "recv_into and recvfrom_into")
def _(env):
    c, s = env.pair()
    s.sendall(b"0123456789")
    _filled(env, c)
    buf = bytearray(4)
    got = c.recv_into(buf), bytes(buf), c.recvfrom_into(bytearray(10))
    return got, env.attempt(lambda: c.recv_into(bytearray(2), 5))


@case("TCP, data", "makefile: readline and write")
def _(env):
    c, s = env.pair()
    f = c.makefile("rwb")
    f.write(b"line one\n")
    f.flush()
    s.sendall(b"first\nsecond\n")
    _filled(env, c)
    lines = f.readline(), f.readline()
    _filled(env, s)
    return lines, s.recv(100)


@case("TCP, data", "makefile text mode and close order")
def _(env):
    c, s = env.pair()
    f = c.makefile("r", encoding="ascii")
    s.sendall(b"hello\n")
    _filled(env, c)
    c.close()                 # the file keeps the socket open
    line = f.readline()
    f.close()
    return line, c.fileno()


@case("TCP, data", "sendfile")
def _(env):
    c, s = env.pair()
    n = c.sendfile(io.BytesIO(b"file contents"))
    _filled(env, s)
    return n, s.recv(100)


@case("TCP, data", "shutdown(SHUT_WR): we send EPIPE, the peer reads b''")
def _(env):
    c, s = env.pair()
    c.shutdown(socket.SHUT_WR)
    _filled(env, s)
    return env.attempt(lambda: c.send(b"x")), s.recv(10), s.send(b"still open")


@case("TCP, data", "shutdown(SHUT_RD): queued data, then b''")
def _(env):
    c, s = env.pair()
    s.sendall(b"queued")
    _filled(env, c)
    c.shutdown(socket.SHUT_RD)
    return c.recv(100), c.recv(100)


@case("TCP, data", "shutdown(SHUT_RD): data sent afterwards is still read")
def _(env):
    c, s = env.pair()
    c.shutdown(socket.SHUT_RD)
    s.sendall(b"later")
    _filled(env, c)
    return c.recv(100)


@case("TCP, data", "shutdown twice")
def _(env):
    c, _ = env.pair()
    c.shutdown(socket.SHUT_WR)
    return env.attempt(lambda: c.shutdown(socket.SHUT_WR))


# -- TCP: the peer closes or resets ----------------------------------------------------------

@case("TCP, peer closed", "recv after the peer closed")
def _(env):
    c, s = env.pair()
    s.close()
    _filled(env, c)
    return c.recv(10), c.recv(10)


@case("TCP, peer closed", "send, RST comes back, send again, recv")
def _(env):
    c, s = env.pair()
    s.close()
    _filled(env, c)
    first = env.attempt(lambda: c.send(b"lost"))
    _filled(env, c)
    return (first, env.attempt(lambda: c.send(b"x")), env.attempt(lambda: c.send(b"x")),
            env.attempt(lambda: c.recv(10)), c.getsockopt(SOL, socket.SO_ERROR))


@case("TCP, peer closed", "after the RST: recv first, then send")
def _(env):
    c, s = env.pair()
    s.close()
    _filled(env, c)
    c.send(b"lost")
    _filled(env, c)
    return env.attempt(lambda: c.recv(10)), env.attempt(lambda: c.send(b"x"))


@case("TCP, peer closed", "sendall(1 MB)")
def _(env):
    c, s = env.pair()
    s.close()
    _filled(env, c)
    return env.attempt(lambda: c.sendall(b"x" * 1_000_000))


@case("TCP, peer reset", "recv: ECONNRESET once, then b''")
def _(env):
    c, s = env.pair()
    c.sendall(b"unread")
    _filled(env, s)
    s.close()                     # unread data: the peer resets
    _filled(env, c)
    return (env.attempt(lambda: c.recv(10)), env.attempt(lambda: c.recv(10)),
            env.attempt(lambda: c.send(b"x")))


@case("TCP, peer reset", "send: ECONNRESET once, then EPIPE")
def _(env):
    c, s = env.pair()
    c.sendall(b"unread")
    _filled(env, s)
    s.close()
    _filled(env, c)
    return (env.attempt(lambda: c.send(b"x")), env.attempt(lambda: c.send(b"x")),
            env.attempt(lambda: c.recv(10)))


@case("TCP, peer reset", "SO_ERROR reports it once")
def _(env):
    c, s = env.pair()
    c.sendall(b"unread")
    _filled(env, s)
    s.close()
    _filled(env, c)
    return (errno.errorcode[c.getsockopt(SOL, socket.SO_ERROR)],
            c.getsockopt(SOL, socket.SO_ERROR), env.attempt(lambda: c.send(b"x")),
            env.attempt(lambda: c.recv(10)))


@case("TCP, peer reset", "after the reset: getpeername, shutdown, connect")
def _(env):
    c, s = env.pair()
    c.sendall(b"unread")
    _filled(env, s)
    s.close()
    _filled(env, c)
    c.getsockopt(SOL, socket.SO_ERROR)
    return (env.attempt(c.getpeername), env.attempt(lambda: c.shutdown(socket.SHUT_RDWR)),
            env.attempt(lambda: c.connect(env.last_listener_addr)))


@case("TCP, peer reset", "shutdown(SHUT_RDWR), then the peer sends")
def _(env):
    c, s = env.pair()
    c.shutdown(socket.SHUT_RDWR)
    _filled(env, s)
    first = env.attempt(lambda: s.send(b"a"))
    _filled(env, s)
    return (first, env.attempt(lambda: s.send(b"a")), env.attempt(lambda: c.recv(10)),
            env.attempt(lambda: c.send(b"x")))


@case("TCP, peer reset", "close with SO_LINGER 0 resets")
def _(env):
    c, s = env.pair()
    c.setsockopt(SOL, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    _filled(env, s)
    return env.attempt(lambda: s.recv(10))


@case("TCP, closed", "after both ends closed: getpeername, recv, send, shutdown")
def _(env):
    c, s = env.pair()
    c.shutdown(socket.SHUT_WR)
    _filled(env, s)
    s.close()
    _filled(env, c)
    return (env.attempt(c.getpeername), env.attempt(lambda: c.recv(1)),
            env.attempt(lambda: c.send(b"x")), env.attempt(lambda: c.shutdown(socket.SHUT_RDWR)))


@case("TCP, closed", "calls on a closed socket")
def _(env):
    s = env.socket()
    s.close()
    return (env.attempt(lambda: s.send(b"x")), env.attempt(lambda: s.recv(1)),
            env.attempt(lambda: s.recv(0)), env.attempt(lambda: s.recvfrom(0)),
            env.attempt(s.getsockname), s.fileno(), env.attempt(s.close))


# -- TCP: options ----------------------------------------------------------------------------

@case("TCP, options", "SO_KEEPALIVE: default, set, get")
def _(env):
    s = env.socket()
    before = s.getsockopt(SOL, socket.SO_KEEPALIVE)
    s.setsockopt(SOL, socket.SO_KEEPALIVE, 1)
    return before, s.getsockopt(SOL, socket.SO_KEEPALIVE)


@case("TCP, options", "SO_RCVBUF: set 5000, get the doubled value")
def _(env):
    s = env.socket()
    s.setsockopt(SOL, socket.SO_RCVBUF, 5000)
    return s.getsockopt(SOL, socket.SO_RCVBUF)


@case("TCP, options", "SO_RCVBUF default")
def _(env):
    return env.socket().getsockopt(SOL, socket.SO_RCVBUF)


@case("TCP, options", "SO_SNDBUF: set 8000, get the doubled value")
def _(env):
    s = env.socket()
    s.setsockopt(SOL, socket.SO_SNDBUF, 8000)
    return s.getsockopt(SOL, socket.SO_SNDBUF)


@case("TCP, options", "SO_BROADCAST on TCP")
def _(env):
    s = env.socket()
    before = s.getsockopt(SOL, socket.SO_BROADCAST)
    s.setsockopt(SOL, socket.SO_BROADCAST, 1)
    return before, s.getsockopt(SOL, socket.SO_BROADCAST)


@case("TCP, options", "SO_LINGER: default, set, get as struct")
def _(env):
    s = env.socket()
    before = s.getsockopt(SOL, socket.SO_LINGER)
    s.setsockopt(SOL, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return before, struct.unpack("ii", s.getsockopt(SOL, socket.SO_LINGER, 8)), env.attempt(
        lambda: s.setsockopt(SOL, socket.SO_LINGER, 1))


@case("TCP, options", "TCP_NODELAY")
def _(env):
    s = env.socket()
    before = s.getsockopt(IPT, socket.TCP_NODELAY)
    s.setsockopt(IPT, socket.TCP_NODELAY, True)
    return before, s.getsockopt(IPT, socket.TCP_NODELAY)


@case("TCP, options", "IP_TTL")
def _(env):
    s = env.socket()
    before = s.getsockopt(IPP, socket.IP_TTL)
    s.setsockopt(IPP, socket.IP_TTL, 5)
    return before, s.getsockopt(IPP, socket.IP_TTL), env.attempt(
        lambda: s.setsockopt(IPP, socket.IP_TTL, 300))


@case("TCP, options", "SO_TYPE, SO_REUSEADDR, SO_REUSEPORT, SO_PROTOCOL")
def _(env):
    s = env.socket()
    return (s.getsockopt(SOL, socket.SO_TYPE), s.getsockopt(SOL, socket.SO_REUSEADDR),
            s.getsockopt(SOL, socket.SO_REUSEPORT), s.getsockopt(SOL, socket.SO_PROTOCOL))


@case("TCP, options", "an option number Linux does not know")
def _(env):
    return env.attempt(lambda: env.socket().getsockopt(SOL, 9999))


@case("TCP, options", "getsockopt with buflen 0, 4 and out of range")
def _(env):
    s = env.socket()
    return (s.getsockopt(SOL, socket.SO_TYPE, 0), s.getsockopt(SOL, socket.SO_TYPE, 4),
            env.attempt(lambda: s.getsockopt(SOL, socket.SO_TYPE, -1)),
            env.attempt(lambda: s.getsockopt(SOL, socket.SO_TYPE, 2000)))


@case("TCP, options", "timeouts and blocking")
def _(env):
    s = env.socket()
    before = s.gettimeout(), s.getblocking()
    s.settimeout(2.5)
    mid = s.gettimeout(), s.getblocking()
    s.setblocking(False)
    return before, mid, (s.gettimeout(), s.getblocking()), env.attempt(
        lambda: s.settimeout(-1))
