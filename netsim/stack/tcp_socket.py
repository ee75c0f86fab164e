"""Stream sockets on a virtual host: the glue between the sans-I/O TCP core and the host stack.

:class:`TcpLayer` is a host's TCP: it demultiplexes segments by 4-tuple to connections and by
local address to listening sockets, answers strays with RST (RFC 9293 3.10.7.1), runs each
connection's timers on the kernel, and reports every segment and state change to the
network's :class:`~netsim.trace.tcptrace.TcpTracer`. State changes also become capture
comments: on the received segment that caused them, or on the first segment a user call sent.

:class:`TcpSocket` is ``socket.socket(AF_INET, SOCK_STREAM)`` for virtual hosts, with the
same methods, exceptions and errno values as Python's.
"""

from __future__ import annotations

import errno
import socket as _pysocket
from typing import TYPE_CHECKING, Any

from ..sim.kernel import Waiters
from ..sim.units import parse_time
from ..trace.tcptrace import TcpTracer, state_name
from ..wire import tcp as wtcp
from ..wire.errors import DecodeError
from .socket import oserror, parse_address
from .tcp import (
    CongestionUpdate,
    Connected,
    Connection,
    Error,
    Listener,
    State,
    StateChange,
    TcpConfig,
    Writable,
    rst_for,
    sockopt,
)

if TYPE_CHECKING:
    from .host import Host

__all__ = ["TcpLayer", "TcpSocket", "tcp_layer"]

ANY = "0.0.0.0"
PROTO_TCP = 6
EPHEMERAL_LOW, EPHEMERAL_HIGH = 32768, 60999  # Linux ip_local_port_range
_HANDSHAKE = frozenset({State.SYN_SENT, State.SYN_RECEIVED})
_SENDABLE = frozenset({State.ESTABLISHED, State.CLOSE_WAIT})
_ICMP_UNREACH = 3


def tcp_layer(host: Host) -> TcpLayer:
    """The host's TCP layer, created (and registered with its IP layer) on first use."""
    layer = host.__dict__.get("tcp")
    if layer is None:
        layer = TcpLayer(host)
    return layer


def tracer_of(net: Any) -> TcpTracer:
    """The network's TCP tracer (one per network, shared by all hosts)."""
    tracer = getattr(net, "tcp_tracer", None)
    if tracer is None:
        tracer = TcpTracer()
        net.tcp_tracer = tracer
    return tracer


class _Endpoint:
    """A connection registered in the demultiplexer, with its timer and its waiting tasks."""

    __slots__ = ("conn", "local", "remote", "sock", "listener_sock", "timer", "deadline",
                 "waiters", "label", "peer_label", "error")

    def __init__(self, layer: TcpLayer, conn: Connection, local: tuple[str, int],
                 remote: tuple[str, int]):
        self.conn = conn
        self.local, self.remote = local, remote
        self.sock: TcpSocket | None = None
        self.listener_sock: TcpSocket | None = None
        self.timer = None
        self.deadline: int | None = None
        self.waiters = Waiters(layer.kernel)
        self.label = layer.label(*local)
        self.peer_label = layer.label(*remote)
        self.error = 0


class TcpLayer:
    """One host's TCP: demultiplexing, timers, RSTs for strays, tracing."""

    def __init__(self, host: Host):
        self.host = host
        self.kernel = host.kernel
        self.config = TcpConfig()
        self.conns: dict[tuple[str, int, str, int], _Endpoint] = {}
        self.listeners: dict[tuple[str, int], TcpSocket] = {}
        self.bound: set[TcpSocket] = set()
        self.by_conn: dict[int, _Endpoint] = {}
        self.counters = {"segments_in": 0, "segments_out": 0, "rst_sent": 0, "bad_checksum": 0,
                         "malformed": 0, "syn_dropped_backlog": 0}
        self.tracer = tracer_of(host.net)
        # Called with (endpoint label, CongestionUpdate) on every change of a connection's
        # cwnd, ssthresh, RTT estimate or recovery state: for a tracer or a lab to record.
        self.on_congestion = None
        # Network(trace=False) is for speed: the tracer then keeps state changes only, not a
        # ladder row per segment.
        self.trace_segments = bool(getattr(host.net, "_tracing", True))
        host.__dict__["tcp"] = self
        host.register_protocol(PROTO_TCP, self.on_ip)
        host.register_icmp_error_handler(PROTO_TCP, self.on_icmp_error)

    # -- names -----------------------------------------------------------------------------

    def label(self, ip: str, port: int) -> str:
        """``h1:49152``: the node owning ``ip`` (or the address itself) and the port."""
        owner = self.host.name if self.host.is_local(ip) else _owner_of(self.host.net, ip)
        return f"{owner or ip}:{port}"

    def isn(self, local: tuple | None = None, remote: tuple | None = None) -> int:
        """An initial sequence number from the network's seeded RNG (RFC 6528 in spirit)."""
        return self.kernel.rng.getrandbits(32)

    # -- ports -----------------------------------------------------------------------------

    def _port_users(self, port: int) -> list[tuple[str, Any]]:
        users: list[tuple[str, Any]] = [(s.local[0], s) for s in self.bound if s.local[1] == port]
        users += [(ep.local[0], ep) for ep in self.conns.values() if ep.local[1] == port]
        return users

    def port_free(self, ip: str, port: int, reuseaddr: bool, me: TcpSocket | None = None) -> bool:
        """Linux's rule: a port is taken by a listener or a live connection on an overlapping
        address; a connection in TIME-WAIT only blocks a socket without SO_REUSEADDR."""
        for addr, user in self._port_users(port):
            if user is me or (user is not None and getattr(user, "sock", None) is me and me):
                continue
            if not (addr == ip or ANY in (addr, ip)):
                continue
            if isinstance(user, _Endpoint) and user.conn.state is State.TIME_WAIT and reuseaddr:
                continue
            return False
        return True

    def ephemeral(self, ip: str) -> int:
        span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
        start = self.kernel.rng.randrange(span)
        for i in range(span):
            port = EPHEMERAL_LOW + (start + i) % span
            if self.port_free(ip, port, False):
                return port
        raise oserror(errno.EADDRNOTAVAIL)

    # -- connections -----------------------------------------------------------------------

    def register(self, conn: Connection, local: tuple[str, int], remote: tuple[str, int]) -> _Endpoint:
        ep = _Endpoint(self, conn, local, remote)
        self.conns[(local[0], local[1], remote[0], remote[1])] = ep
        self.by_conn[id(conn)] = ep
        return ep

    def _forget(self, ep: _Endpoint) -> None:
        key = (ep.local[0], ep.local[1], ep.remote[0], ep.remote[1])
        if self.conns.get(key) is ep:
            del self.conns[key]
        self.by_conn.pop(id(ep.conn), None)
        self.kernel.cancel(ep.timer)
        ep.timer = ep.deadline = None

    def flush(self, ep: _Endpoint, from_rx: bool = False) -> str | None:
        """Send what the connection produced, report its events, re-arm its timer.

        Returns the state-change note when called for a received segment (it becomes the
        capture comment of that segment).
        """
        conn = ep.conn
        segs = conn.pending_segments()
        notes: list[str] = []
        wake = False
        for ev in conn.pop_events():
            if isinstance(ev, StateChange):
                old, new = state_name(ev.old), state_name(ev.new)
                if ep.listener_sock is not None and old == "CLOSED" and new == "LISTEN":
                    continue  # a listener's child starts in LISTEN: the socket was already there
                self.tracer.state(ev.time, ep.label, ep.peer_label, old, new)
                text = f"{self.host.name}: {old} -> {new}"
                self.host.net.log(self.host.name, "state", text)
                notes.append(text)
            elif isinstance(ev, CongestionUpdate):
                if self.on_congestion is not None:
                    self.on_congestion(ep.label, ev)
            elif isinstance(ev, Writable):
                # Like Linux (sk_stream_write_space), wake a blocked writer only once a third
                # of the send buffer is free: sendall then queues big chunks, not one
                # segment's worth per ACK.
                wake = wake or conn.send_space * 3 >= conn.cfg.snd_buf
            else:
                wake = True
                if isinstance(ev, Connected) and ep.listener_sock is not None:
                    ep.listener_sock._waiters.notify_all()
                elif isinstance(ev, Error):
                    ep.error = ev.errno
        comment = "; ".join(notes) if notes and not from_rx else None
        for seg in segs:
            self.send_segment(ep.local, ep.remote, seg, comment, (ep.label, ep.peer_label))
            comment = None
        if wake or notes:
            ep.waiters.notify_all()
            if ep.listener_sock is not None and conn.state is State.CLOSED:
                ep.listener_sock._waiters.notify_all()
        if conn.state is State.CLOSED:
            self._forget(ep)
        else:
            self._arm(ep)
        return "; ".join(notes) if notes and from_rx else None

    def _arm(self, ep: _Endpoint) -> None:
        deadline = ep.conn.next_deadline()
        if deadline == ep.deadline:
            return
        self.kernel.cancel(ep.timer)
        ep.deadline = deadline
        ep.timer = None if deadline is None else self.kernel.call_at(
            max(deadline, self.kernel.now), self._on_timer, ep)

    def _on_timer(self, ep: _Endpoint) -> None:
        ep.timer = ep.deadline = None
        ep.conn.on_timer(self.kernel.now)
        self.flush(ep)

    def send_segment(self, local: tuple[str, int], remote: tuple[str, int], seg: wtcp.TCP,
                     comment: str | None = None, labels: tuple[str, str] | None = None) -> None:
        """Encode ``seg`` for ``local`` -> ``remote`` and hand it to IP (and to the tracer)."""
        self.counters["segments_out"] += 1
        if self.trace_segments:
            src, dst = labels or (self.label(*local), self.label(*remote))
            self.tracer.segment(self.kernel.now, src, dst, seg, "out")
        raw = seg.encode(local[0], remote[0])
        try:
            self.host.ip_send(remote[0], PROTO_TCP, raw, src=local[0], comment=comment)
        except OSError:
            # No route: the segment is lost like any other; TCP's timers will retry or give up.
            pass

    # -- input -----------------------------------------------------------------------------

    def on_ip(self, ip, iface) -> str | None:
        """A datagram with protocol 6 arrived: find its connection or listener, or answer RST."""
        try:
            seg = wtcp.decode(ip.payload, ip.src, ip.dst)
        except DecodeError as exc:
            self.counters["malformed"] += 1
            return f"malformed TCP segment dropped: {exc}"
        if seg.checksum_ok is False:
            self.counters["bad_checksum"] += 1
            return "bad TCP checksum: dropped"
        self.counters["segments_in"] += 1
        now = self.kernel.now
        ep = self.conns.get((ip.dst, seg.dport, ip.src, seg.sport))
        if self.trace_segments:
            src, dst = ((ep.peer_label, ep.label) if ep is not None else
                        (self.label(ip.src, seg.sport), self.label(ip.dst, seg.dport)))
            self.tracer.segment(now, src, dst, seg, "in")
        lsock = self.listeners.get((ip.dst, seg.dport)) or self.listeners.get((ANY, seg.dport))
        isn = None
        if ep is not None:
            # RFC 6191 / RFC 1122 4.2.2.13: a listener may take a new SYN from TIME-WAIT.
            isn = ep.conn.accept_new_syn(seg, now) if lsock is not None else None
            if isn is None:
                ep.conn.receive(seg, now)
                return self.flush(ep, from_rx=True)
            self.flush(ep)
        if lsock is not None:
            return self._to_listener(lsock, ip, seg, now, isn)
        rst = rst_for(seg)
        if rst is None:
            return "no socket for this segment: dropped"
        self.counters["rst_sent"] += 1
        self.send_segment((ip.dst, seg.dport), (ip.src, seg.sport), rst)
        return f"port {seg.dport} closed: RST sent"

    def _to_listener(self, lsock: TcpSocket, ip, seg: wtcp.TCP, now: int,
                     isn: int | None = None) -> str | None:
        lst = lsock._listener
        dropped = lst.dropped_syns
        child = lst.receive(seg, (ip.src, seg.sport), now, isn)
        for remote, reply in lst.pending_replies():
            self.counters["rst_sent"] += 1
            self.send_segment((ip.dst, seg.dport), remote, reply)
        if child is not None:
            ep = self.register(child, (ip.dst, seg.dport), (ip.src, seg.sport))
            ep.listener_sock = lsock
            return self.flush(ep, from_rx=True)
        if lst.dropped_syns > dropped:
            self.counters["syn_dropped_backlog"] += 1
            return f"SYN dropped: listen backlog of {lst.backlog} is full"
        return None

    def on_icmp_error(self, err) -> None:
        """ICMP destination unreachable for a connection still in SYN-SENT aborts it (as Linux
        does); later errors are soft (RFC 1122 4.2.3.9) and only remembered."""
        if err.type != _ICMP_UNREACH or err.sport is None:
            return
        ep = self.conns.get((err.quoted.src, err.sport, err.quoted.dst, err.dport))
        if ep is None:
            return
        code = {2: errno.ENOPROTOOPT, 3: errno.ECONNREFUSED}.get(err.code, errno.EHOSTUNREACH)
        if ep.conn.state is State.SYN_SENT:
            ep.error = code
            self._forget(ep)
            ep.waiters.notify_all()


def _owner_of(net: Any, ip: str) -> str | None:
    cache = net.__dict__.setdefault("_ip_owner_cache", {})
    if ip not in cache:
        for node in getattr(net, "nodes", {}).values():
            addresses = getattr(node, "addresses", None)
            if addresses is not None and any(c.split("/")[0] == ip for _, c in addresses()):
                cache[ip] = node.name
                break
        else:
            return None
    return cache[ip]


class TcpSocket:
    """A SOCK_STREAM socket on a virtual host: ``host.socket(AF_INET, SOCK_STREAM)``."""

    def __init__(self, host: Host, family: int = _pysocket.AF_INET,
                 type: int = _pysocket.SOCK_STREAM, proto: int = 0, _ep: _Endpoint | None = None):
        if proto not in (0, _pysocket.IPPROTO_TCP):
            raise oserror(errno.EPROTONOSUPPORT)
        self.host = host
        self.layer = tcp_layer(host)
        self.family = _pysocket.AddressFamily(family)
        self.type = _pysocket.SocketKind(type)
        self.proto = proto
        self.local: tuple[str, int] | None = _ep.local if _ep else None
        self._ep = _ep
        self._listener: Listener | None = None
        self._waiters = Waiters(host.kernel)
        self._timeout: float | None = _pysocket.getdefaulttimeout()
        self.reuseaddr = False
        self.nodelay = False
        self._tcp_opts: dict[str, Any] = {}  # TcpConfig fields set by socket options
        self._shut_rd = False
        self._fd = host._new_fd()
        if _ep is not None:
            _ep.sock = self

    # -- helpers ---------------------------------------------------------------------------

    def _check(self) -> None:
        if self._fd < 0:
            raise oserror(errno.EBADF)

    def _config(self) -> TcpConfig:
        base = self.layer.config
        cfg = TcpConfig(**{f: getattr(base, f) for f in base.__dataclass_fields__})
        cfg.nodelay = self.nodelay or base.nodelay
        for name, value in self._tcp_opts.items():
            setattr(cfg, name, value)
        return cfg

    def _wait(self, waiters: Waiters, ready, what: str) -> None:
        """Block until ``ready()``; honours the socket timeout like CPython (``TimeoutError``)."""
        if ready():
            return
        if self._timeout == 0.0:
            raise oserror(errno.EAGAIN)
        kernel = self.host.kernel
        deadline = None if self._timeout is None else kernel.now + parse_time(self._timeout)
        what = f"{what} on {self.host.name}"
        while not ready():
            remaining = None if deadline is None else max(0, deadline - kernel.now)
            if kernel.in_task:
                waiters.wait(what, remaining)
            else:
                kernel.run_blocking(waiters.wait, what, remaining, name=what, node=self.host)
            self._check()

    def _raise_error(self, code: int) -> None:
        if code == errno.ETIMEDOUT:
            raise TimeoutError(errno.ETIMEDOUT, "Connection timed out")
        raise oserror(code)

    @property
    def _conn(self) -> Connection:
        if self._ep is None:
            raise oserror(errno.ENOTCONN)
        return self._ep.conn

    @property
    def state(self) -> str:
        """The RFC 9293 state of this socket's connection ("LISTEN" for a listening socket)."""
        if self._listener is not None:
            return "LISTEN"
        return state_name(self._ep.conn.state) if self._ep else "CLOSED"

    # -- setup -----------------------------------------------------------------------------

    def bind(self, address: tuple[str, int]) -> None:
        """Bind to ``(ip, port)``; port 0 picks an ephemeral port.

        Raises:
            OSError: EINVAL if already bound, EADDRNOTAVAIL for a foreign address, EADDRINUSE
                when the port is taken (a TIME-WAIT connection only without SO_REUSEADDR).
        """
        self._check()
        ip, port = parse_address(self.host, address, "bind")
        if self.local is not None:
            raise oserror(errno.EINVAL)
        if ip != ANY and not self.host.is_local(ip):
            raise oserror(errno.EADDRNOTAVAIL)
        if port == 0:
            port = self.layer.ephemeral(ip)
        elif not self.layer.port_free(ip, port, self.reuseaddr, self):
            raise oserror(errno.EADDRINUSE)
        self.local = (ip, port)
        self.layer.bound.add(self)

    def listen(self, backlog: int = 128) -> None:
        """Start accepting connections; at most ``backlog`` wait to be accepted."""
        self._check()
        if self._ep is not None:
            raise oserror(errno.EINVAL)
        if self.local is None:
            self.bind(("", 0))
        if self._listener is None:
            self._listener = Listener(self.local, max(1, backlog), self.layer.isn, self._config())
            self.layer.listeners[self.local] = self
            self.layer.tracer.listen(f"{self.host.name}:{self.local[1]}")
        else:
            self._listener.backlog = max(1, backlog)

    def accept(self) -> tuple[TcpSocket, tuple[str, int]]:
        """Wait for a connection that completed the handshake: ``(socket, (ip, port))``."""
        self._check()
        lst = self._listener
        if lst is None:
            raise oserror(errno.EINVAL)
        got: list[Connection] = []

        def ready() -> bool:
            if not got:
                conn = lst.accept()
                if conn is not None:
                    got.append(conn)
            return bool(got)

        self._wait(self._waiters, ready, f"accept on port {self.local[1]}")
        ep = self.layer.by_conn[id(got[0])]
        ep.listener_sock = None
        sock = TcpSocket(self.host, self.family, self.type, self.proto, _ep=ep)
        sock.nodelay = self.nodelay
        sock._tcp_opts = dict(self._tcp_opts)
        return sock, ep.remote

    def connect(self, address: tuple[str, int]) -> None:
        """Open a connection (three-way handshake) to ``address``.

        Raises:
            ConnectionRefusedError: the peer answered RST (nothing listens there).
            TimeoutError: the SYN retries ran out (ETIMEDOUT), or the socket timeout expired.
            OSError: EISCONN, ENETUNREACH, EHOSTUNREACH (ICMP), BlockingIOError (EINPROGRESS)
                on a non-blocking socket.
        """
        self._check()
        if self._ep is not None:
            self._connect_again()
            return
        if self._listener is not None:
            raise oserror(errno.EINVAL)
        ip, port = parse_address(self.host, address, "connect")
        src = self.host.source_for(ip)
        if self.local is None:
            self.local = (src, self.layer.ephemeral(src))
        elif self.local[0] == ANY:
            self.local = (src, self.local[1])
        self.layer.bound.discard(self)
        remote = (ip, port)
        if (self.local[0], self.local[1], ip, port) in self.layer.conns:
            raise oserror(errno.EADDRNOTAVAIL)
        conn = Connection(self.local, remote, self.layer.isn(self.local, remote), self._config())
        ep = self._ep = self.layer.register(conn, self.local, remote)
        ep.sock = self
        conn.open_active(self.host.kernel.now)
        self.layer.flush(ep)
        if self._timeout == 0.0:
            raise oserror(errno.EINPROGRESS)
        try:
            self._wait(ep.waiters, lambda: ep.error or conn.state not in _HANDSHAKE,
                       f"connect to {ip}:{port}")
        except TimeoutError:
            self._abandon()
            raise
        code = ep.error or conn.error
        if code:
            self._abandon()
            self._raise_error(code)
        if conn.state is State.CLOSED:
            self._abandon()
            raise oserror(errno.ECONNREFUSED)

    def _connect_again(self) -> None:
        """``connect`` on a socket that already has a connection, as Linux answers it: EALREADY
        while a non-blocking handshake runs, its error once if it failed, else EISCONN."""
        ep = self._ep
        if ep.conn.state in _HANDSHAKE and not ep.error:
            raise oserror(errno.EALREADY)
        code = ep.error or ep.conn.error
        if code and ep.conn.state is not State.ESTABLISHED:
            self._abandon()  # Linux lets a socket whose connect failed try again
            self._raise_error(code)
        raise oserror(errno.EISCONN)

    def connect_ex(self, address: tuple[str, int]) -> int:
        """Like :meth:`connect` but returns an errno (0 on success) instead of raising."""
        try:
            self.connect(address)
        except OSError as exc:
            return exc.errno or errno.EIO
        return 0

    def _abandon(self) -> None:
        if self._ep is not None:
            self.layer._forget(self._ep)
            self._ep = None

    # -- data ------------------------------------------------------------------------------

    def send(self, data: bytes, flags: int = 0) -> int:
        """Queue bytes for sending; returns how many were accepted (waits for buffer space)."""
        self._check()
        conn = self._conn
        ep = self._ep
        view = memoryview(data).cast("B")  # no copy: sendall passes what is left of its data
        if not view:
            return 0

        def ready() -> bool:
            return bool(ep.error or conn.error or conn.send_space > 0 or conn.state not in _SENDABLE
                        and conn.state not in _HANDSHAKE)

        self._wait(ep.waiters, ready, "send")
        code = ep.error or conn.error
        if code:
            self._raise_error(code)
        n = conn.send(bytes(view[:conn.send_space]), self.host.kernel.now)
        self.layer.flush(ep)
        return n

    def sendall(self, data: bytes, flags: int = 0) -> None:
        """Send every byte of ``data`` (waiting for buffer space as needed)."""
        view = memoryview(bytes(data))
        while view:
            n = self.send(view, flags)
            view = view[n:]

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Up to ``bufsize`` bytes; ``b""`` once the peer closed and everything was read.

        Raises:
            ConnectionResetError: the peer reset the connection.
            TimeoutError: the socket timeout expired.
        """
        self._check()
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        conn = self._conn
        ep = self._ep
        if self._shut_rd:
            return b""
        self._wait(ep.waiters, lambda: bool(conn.readable or conn.at_eof or ep.error or conn.error
                                            or conn.state is State.CLOSED), "recv")
        if conn.readable:
            data = conn.recv(bufsize, self.host.kernel.now)
            self.layer.flush(ep)  # a window update if reading opened the window
            return data
        code = ep.error or conn.error
        if code and not conn.at_eof:
            self._raise_error(code)
        return b""

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer)
        data = self.recv(nbytes or len(view), flags)
        view[:len(data)] = data
        return len(data)

    def shutdown(self, how: int) -> None:
        """SHUT_WR sends FIN (half-close: we can still receive); SHUT_RD stops reading."""
        self._check()
        conn = self._conn
        if how not in (_pysocket.SHUT_RD, _pysocket.SHUT_WR, _pysocket.SHUT_RDWR):
            raise oserror(errno.EINVAL)
        if how in (_pysocket.SHUT_RD, _pysocket.SHUT_RDWR):
            self._shut_rd = True
        if how in (_pysocket.SHUT_WR, _pysocket.SHUT_RDWR) and conn.state is not State.CLOSED:
            conn.shutdown_write(self.host.kernel.now)
            self.layer.flush(self._ep)

    def close(self) -> None:
        """Close: FIN (or RST if unread data is left, as Linux does); the connection lingers
        on without the socket through FIN-WAIT and TIME-WAIT."""
        if self._fd < 0:
            return
        self._fd = -1
        self.layer.bound.discard(self)
        if self._listener is not None:
            self.layer.listeners.pop(self.local, None)
            self.layer.tracer.listen(f"{self.host.name}:{self.local[1]}", active=False)
            now = self.host.kernel.now
            for ep in [e for e in self.layer.conns.values() if e.listener_sock is self]:
                ep.conn.abort(now)
                self.layer.flush(ep)
            self._listener = None
            self._waiters.notify_all()
        ep = self._ep
        if ep is not None:
            ep.sock = None
            if ep.conn.state is not State.CLOSED:
                ep.conn.close(self.host.kernel.now)
                self.layer.flush(ep)
            ep.waiters.notify_all()

    def detach(self) -> int:
        fd, self._fd = self._fd, -1
        return fd

    # -- options and names -----------------------------------------------------------------

    def setsockopt(self, level: int, option: int, value: Any) -> None:
        self._check()
        if level == _pysocket.SOL_SOCKET and option == _pysocket.SO_REUSEADDR:
            self.reuseaddr = bool(value)
        elif level == _pysocket.IPPROTO_TCP and option == _pysocket.TCP_NODELAY:
            self.nodelay = bool(value)
            if self._ep is not None:
                self._ep.conn.cfg.nodelay = self.nodelay
        elif level == _pysocket.SOL_SOCKET and option == _pysocket.SO_LINGER:
            pass  # accepted and ignored: linger is not modelled
        elif not self._set_tcp_option(level, option, value):
            raise oserror(errno.ENOPROTOOPT)

    def getsockopt(self, level: int, option: int, buflen: int = 0) -> int:
        self._check()
        if level == _pysocket.SOL_SOCKET and option == _pysocket.SO_REUSEADDR:
            return int(self.reuseaddr)
        if level == _pysocket.IPPROTO_TCP and option == _pysocket.TCP_NODELAY:
            return int(self.nodelay)
        if level == _pysocket.SOL_SOCKET and option == _pysocket.SO_ERROR:
            # Reading SO_ERROR clears the pending error (Linux sock_error()).
            code = self._ep.error if self._ep else 0
            if code:
                self._ep.error = 0
            return code
        if level == _pysocket.SOL_SOCKET and option == _pysocket.SO_TYPE:
            return int(self.type)
        return self._get_tcp_option(level, option, buflen)

    # -- keepalive, congestion control, buffers: options of the core (tcp/sockopt.py) -------

    def _set_tcp_option(self, level: int, option: int, value: Any) -> bool:
        fields = sockopt.config_changes(level, option, value)
        if fields is None:
            return False
        self._tcp_opts.update(fields)
        if self._listener is not None:  # future children inherit it, as on Linux
            for name, v in fields.items():
                setattr(self._listener.cfg, name, v)
        if self._ep is not None:
            sockopt.apply(self._ep.conn, fields, self.host.kernel.now)
            self.layer.flush(self._ep)
        return True

    def _get_tcp_option(self, level: int, option: int, buflen: int) -> Any:
        cfg = self._ep.conn.cfg if self._ep is not None else self._config()
        value = sockopt.config_value(cfg, level, option, buflen)
        if value is None:
            raise oserror(errno.ENOPROTOOPT)
        return value

    def tcp_info(self) -> dict:
        """Linux's ``TCP_INFO`` as a dict (``tcpi_snd_cwnd``, ``tcpi_rtt``...).

        Raises:
            OSError: ENOTCONN before the socket has a connection.
        """
        return self._conn.info()

    def getsockname(self) -> tuple[str, int]:
        self._check()
        return self.local or (ANY, 0)

    def getpeername(self) -> tuple[str, int]:
        self._check()
        if self._ep is None or self._ep.conn.state in (State.CLOSED, State.SYN_SENT):
            raise oserror(errno.ENOTCONN)
        return self._ep.remote

    def settimeout(self, value: float | None) -> None:
        if value is not None and value < 0:
            raise ValueError("Timeout value out of range")
        self._timeout = None if value is None else float(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    def fileno(self) -> int:
        return self._fd

    def __enter__(self) -> TcpSocket:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        local = f"{self.local[0]}:{self.local[1]}" if self.local else "unbound"
        peer = f" -> {self._ep.remote[0]}:{self._ep.remote[1]}" if self._ep else ""
        return f"<TcpSocket {self.host.name} {local}{peer} {self.state}>"
