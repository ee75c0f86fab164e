"""Stream sockets on a virtual host: ``socket.socket(AF_INET, SOCK_STREAM)`` over TCP.

:class:`TcpSocket` has the methods, exceptions and errno values of Python's sockets on Linux;
what it shares with UDP sockets is in :mod:`netsim.stack.sockbase`. Each socket drives one
sans-I/O :class:`~netsim.stack.tcp.Connection` (or :class:`~netsim.stack.tcp.Listener`)
registered with its host's :class:`~netsim.stack.tcp_layer.TcpLayer`, which carries segments
and timers.

Errors follow Linux's socket layer (``tcp_sendmsg``, ``tcp_recvmsg``, ``inet_shutdown``,
``__inet_stream_connect``): an asynchronous error (a RST, a timeout, an ICMP error) is pending
until one call reports it and clears it (``sock_error``); after that a dead connection sends
EPIPE and reads ``b""``. A socket that never connected sends EPIPE and reads ENOTCONN.
"""

from __future__ import annotations

import errno
import socket as _pysocket
from typing import TYPE_CHECKING, Any

from ..trace.tcptrace import state_name
from .ports import ANY, check_local_address
from .sockbase import SocketBase, oserror, parse_address, send_args
from .sockopts import LINGER, check_flags
from .tcp import Connection, Listener, State, TcpConfig, sockopt
from .tcp.listener import SOMAXCONN

if TYPE_CHECKING:
    from .services import IpServices
    from .tcp_layer import Endpoint

__all__ = ["TcpSocket"]

_HANDSHAKE = frozenset({State.SYN_SENT, State.SYN_RECEIVED})
_SENDABLE = frozenset({State.ESTABLISHED, State.CLOSE_WAIT})
# What the socket sees as gone: Linux hands a connection in TIME_WAIT to a separate
# timewait socket, and the user's socket is then in CLOSE.
_GONE = frozenset({State.CLOSED, State.TIME_WAIT})
# States in which flush() acts even with nothing produced (forget; the FIN_WAIT_2 timer).
_FLUSH_STATES = frozenset({State.CLOSED, State.FIN_WAIT_2})
# Plain ints: the socket module's MSG_* are IntFlag members, and ``int & IntFlag`` goes
# through the Python-level enum.__and__ (four calls per datagram received).
_PEEK, _DONTWAIT = int(_pysocket.MSG_PEEK), int(_pysocket.MSG_DONTWAIT)
_WAITALL = int(_pysocket.MSG_WAITALL)
_RECV_FLAGS = _PEEK | _DONTWAIT | _WAITALL
_SEND_FLAGS = _DONTWAIT | int(_pysocket.MSG_NOSIGNAL)  # no signals to suppress here
_DEFAULT_MSS = 536          # what TCP_MAXSEG reads before a connection exists (Linux)
_SO_PROTOCOL = getattr(_pysocket, "SO_PROTOCOL", -1)
_SO_REUSEPORT = getattr(_pysocket, "SO_REUSEPORT", -1)


class TcpSocket(SocketBase):
    """A SOCK_STREAM socket on a virtual host: ``host.socket(AF_INET, SOCK_STREAM)``.

    Attributes:
        local: the bound ``(ip, port)``, or None.
        listener: the sans-I/O :class:`~netsim.stack.tcp.Listener` once listening, else None.
        shut_rd: ``shutdown(SHUT_RD)`` was called: reads stop waiting, and new data for a
            connection that also sent its FIN is answered with RST.
    """

    __slots__ = ("layer", "local", "listener", "nodelay", "_ep", "shut_rd", "_shut_wr",
                 "_connecting", "keepalive", "broadcast", "rcvbuf", "sndbuf", "linger",
                 "mss", "ttl", "_tcp_opts")

    kind = "TCP"

    def __init__(self, host: IpServices, family: int = _pysocket.AF_INET,
                 type: int = _pysocket.SOCK_STREAM, proto: int = 0, _ep: Endpoint | None = None):
        if proto not in (0, _pysocket.IPPROTO_TCP):
            raise oserror(errno.EPROTONOSUPPORT)
        super().__init__(host, family, type, proto)
        self.layer = host.tcp
        self.local: tuple[str, int] | None = _ep.local if _ep else None
        self.listener: Listener | None = None
        self.nodelay = self.keepalive = self.broadcast = False
        self._ep = _ep
        self.shut_rd = self._shut_wr = self._connecting = False
        self.rcvbuf: int | None = None    # SO_RCVBUF as getsockopt reports it (doubled)
        self.sndbuf: int | None = None
        self.linger = (0, 0)
        self.mss: int | None = None
        self.ttl: int | None = None
        self._tcp_opts: dict[str, Any] = {}  # TcpConfig fields set by options (tcp/sockopt.py)
        if _ep is not None:
            _ep.sock = self

    # -- helpers ---------------------------------------------------------------------------

    def _config(self) -> TcpConfig:
        base = self.layer.config
        cfg = TcpConfig(**{f: getattr(base, f) for f in base.__dataclass_fields__})
        self._apply(cfg)
        return cfg

    def _apply(self, cfg: TcpConfig) -> None:
        """The socket's options into a connection's tunables."""
        for name, value in self._tcp_opts.items():   # buffers, keepalive, congestion control
            setattr(cfg, name, value)
        cfg.nodelay = self.nodelay or self.layer.config.nodelay
        if self.mss is not None:
            cfg.mss = self.mss

    def _take_error(self) -> int:
        ep = self._ep
        if ep is None or not ep.error:
            return 0
        code, ep.error = ep.error, 0
        return code

    def _raise_pending(self) -> None:
        code = self._take_error()
        if code:
            raise oserror(code)

    def _abandon(self) -> None:
        if self._ep is not None:
            self.layer.forget(self._ep)
            self._ep = None
        self._connecting = False

    @property
    def state(self) -> str:
        """The RFC 9293 state of this socket's connection ("LISTEN" for a listening socket)."""
        if self.listener is not None:
            return "LISTEN"
        return state_name(self._ep.conn.state) if self._ep else "CLOSED"

    # -- setup -----------------------------------------------------------------------------

    def bind(self, address: tuple[str, int]) -> None:
        """Bind to ``(ip, port)``; port 0 picks an ephemeral port.

        Raises:
            OSError: EINVAL if already bound, EADDRNOTAVAIL for a foreign address, EADDRINUSE
                when the port is taken (see SO_REUSEADDR: both sockets need it).
        """
        self._check()
        ip, port = parse_address(self.host, address, "bind")
        if self.local is not None:
            raise oserror(errno.EINVAL)
        check_local_address(self.host, ip, broadcast_ok=False)
        if port == 0:
            port = self.layer.ephemeral(ip)
        elif not self.layer.port_free(ip, port, self.reuseaddr, self):
            raise oserror(errno.EADDRINUSE)
        self.local = (ip, port)
        self.layer.bound.add(self)

    def listen(self, backlog: int = min(_pysocket.SOMAXCONN, 128)) -> None:
        """Start accepting connections.

        ``backlog`` bounds both the queue of half-open connections (beyond it, SYNs get SYN
        cookies) and the queue of established ones waiting for :meth:`accept` (beyond
        ``backlog + 1`` of them, new SYNs are dropped), as on Linux; negative counts as 0
        (CPython) and more than 4096 as 4096 (``net.core.somaxconn``).

        Raises:
            OSError: EINVAL on a connected socket; EADDRINUSE when another socket listens
                on the port.
        """
        self._check()
        if self._ep is not None:
            raise oserror(errno.EINVAL)
        if self.local is None:
            self.bind(("", 0))
        backlog = max(backlog, 0)
        if self.listener is None:
            others = [s for s in self.layer.bound if s is not self and s.local[1] == self.local[1]
                      and s.listener is not None and (s.local[0] == ANY or self.local[0] == ANY
                                                      or s.local[0] == self.local[0])]
            if others:
                raise oserror(errno.EADDRINUSE)  # bound side by side (SO_REUSEADDR), one listens
            self.listener = Listener(self.local, backlog, self.layer.isn, self._config(),
                                     secret=self.layer.cookie_secret)
            self.layer.listeners[self.local] = self
            self.layer.tracer.listen(f"{self.host.name}:{self.local[1]}")
        else:
            self.listener.backlog = min(backlog, SOMAXCONN)

    def accept(self) -> tuple[TcpSocket, tuple[str, int]]:
        """Wait for a connection that completed the handshake: ``(socket, (ip, port))``.

        Raises:
            OSError: EINVAL on a socket that is not listening; BlockingIOError (EAGAIN) on a
                non-blocking one with nothing to accept; TimeoutError after the timeout.
        """
        self._check()
        lst = self.listener
        if lst is None:
            raise oserror(errno.EINVAL)
        got: list[Connection] = []

        def ready() -> bool:
            if self.listener is None:
                return True  # shut down while waiting
            if not got:
                conn = lst.accept()
                if conn is not None:
                    got.append(conn)
            return bool(got)

        self._wait(self._waiters, ready, f"accept on port {self.local[1]} on {self.host.name}")
        if not got:
            raise oserror(errno.EINVAL)
        ep = self.layer.by_conn[id(got[0])]
        ep.listener_sock = None
        sock = TcpSocket(self.host, self.family, self.type, self.proto, _ep=ep)
        sock.nodelay, sock.keepalive, sock.reuseaddr = self.nodelay, self.keepalive, self.reuseaddr
        sock._tcp_opts = dict(self._tcp_opts)
        sock.ttl = ep.ttl = self.ttl
        if _pysocket.getdefaulttimeout() is None and self.gettimeout():
            sock.setblocking(True)  # what socket.accept() does
        return sock, ep.remote

    def _stop_listening(self) -> None:
        self.layer.listeners.pop(self.local, None)
        self.layer.tracer.listen(f"{self.host.name}:{self.local[1]}", active=False)
        now = self.host.kernel.now
        for ep in [e for e in self.layer.conns.values() if e.listener_sock is self]:
            ep.conn.abort(now)
            self.layer.flush(ep)
        self.listener = None
        self.wake_all()

    def connect(self, address: tuple[str, int]) -> None:
        """Open a connection (three-way handshake) to ``address``.

        Raises:
            ConnectionRefusedError: the peer answered RST (nothing listens there).
            TimeoutError: the SYN retries ran out (ETIMEDOUT), or the socket timeout expired.
            OSError: EISCONN (connected or listening), EALREADY, ENETUNREACH, EHOSTUNREACH
                (ICMP), BlockingIOError (EINPROGRESS) on a non-blocking socket.
        """
        self._check()
        ip, port = parse_address(self.host, address, "connect")
        if self.listener is not None:
            raise oserror(errno.EISCONN)
        if self._ep is not None:
            self._connect_again()
            return
        if ip == ANY:
            # Linux routes the wildcard destination to the host itself (ip_route_output).
            ip = self.local[0] if self.local and self.local[0] != ANY else "127.0.0.1"
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
        ep.ttl = self.ttl
        self._connecting = True
        conn.open_active(self.host.kernel.now)
        self.layer.flush(ep)
        if self._timeout == 0.0:
            raise oserror(errno.EINPROGRESS)
        self._finish_connect()

    def _finish_connect(self) -> None:
        ep = self._ep
        conn = ep.conn
        try:
            self._wait(ep.waiters, lambda: ep.error or conn.state not in _HANDSHAKE,
                       f"connect to {ep.remote[0]}:{ep.remote[1]} on {self.host.name}")
        except TimeoutError:
            self._abandon()
            raise
        if ep.error or conn.state is State.CLOSED:
            # refused, timed out or unreachable; Linux lets the socket try again afterwards
            code = self._take_error() or errno.ECONNABORTED
            self._abandon()
            raise oserror(code)
        self._connecting = False

    def _connect_again(self) -> None:
        """``connect`` on a socket that already has a connection, as Linux answers it: EISCONN
        once connected; for a non-blocking connect, EALREADY while the handshake runs, its
        error once if it failed, success once if it worked."""
        ep = self._ep
        if not self._connecting:
            raise oserror(errno.EISCONN)
        if ep.conn.state in _HANDSHAKE and not ep.error and self._timeout == 0.0:
            raise oserror(errno.EALREADY)
        self._finish_connect()

    # -- data ------------------------------------------------------------------------------

    def send(self, data: bytes, flags: int = 0) -> int:
        """Queue bytes for sending; returns how many were accepted (waits for buffer space).

        Raises:
            BrokenPipeError: EPIPE when not connected, after ``shutdown(SHUT_WR)``, or once
                the connection is gone and its error was reported.
            ConnectionResetError: the peer reset the connection (reported once).
            BlockingIOError: EAGAIN when non-blocking (or ``MSG_DONTWAIT``) and the buffer is
                full.
        """
        self._check()
        flags = check_flags(flags, _SEND_FLAGS, "send", self.kind)
        view = memoryview(data).cast("B")  # no copy: sendall passes what is left of its data
        ep = self._ep
        if ep is None:
            raise oserror(errno.EPIPE)  # never connected (Linux sk_stream_wait_connect)
        conn = ep.conn

        def ready() -> bool:
            st = conn.state
            return bool(ep.error or self._shut_wr or st not in _HANDSHAKE
                        and (st not in _SENDABLE or conn.send_space > 0))

        self._wait(ep.waiters, ready, f"send on {self.host.name}",
                   bool(flags & _DONTWAIT))
        self._raise_pending()
        if self._shut_wr or conn.state not in _SENDABLE:
            raise oserror(errno.EPIPE)
        if not view:
            return 0
        n = conn.send(bytes(view[:conn.send_space]), self.host.kernel.now)
        self.layer.flush(ep)
        return n

    def sendto(self, data: bytes, *args: Any) -> int:
        """``send``: a connected stream socket ignores the address (Linux), after CPython
        checked it; ``sendto(data, flags, address)`` works too."""
        flags, address = send_args(args)
        self._check()
        parse_address(self.host, address, "sendto")
        return self.send(data, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Up to ``bufsize`` bytes; ``b""`` once the peer closed and everything was read.

        Flags: ``MSG_PEEK`` (the data stays queued), ``MSG_DONTWAIT``, ``MSG_WAITALL``.

        Raises:
            ConnectionResetError: the peer reset the connection (reported once, then b"").
            OSError: ENOTCONN on a socket that is not connected.
            TimeoutError: the socket timeout expired.
        """
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if bufsize == 0:
            return b""  # CPython answers recv(0) itself, whatever the socket
        return self._recv(bufsize, flags)

    def _recv(self, bufsize: int, flags: int) -> bytes:
        self._check()
        if flags.__class__ is not int or flags:  # (plain 0, the usual, needs no check)
            flags = check_flags(flags, _RECV_FLAGS, "recv", self.kind)
        ep = self._ep
        if ep is None or self.listener is not None:
            raise oserror(errno.ENOTCONN)
        conn = ep.conn
        peek = bool(flags & _PEEK)
        want = bufsize if flags & _WAITALL and not peek else 1

        rcvq, sm = conn._rcvq, conn.sm  # (conn.readable and conn.state, without the calls)

        def ready() -> bool:
            return bool(len(rcvq) >= want or conn.eof or ep.error or self.shut_rd
                        or sm.state is State.CLOSED)

        self._wait(ep.waiters, ready, f"recv on {self.host.name}",
                   bool(flags & _DONTWAIT))
        if conn.readable:
            if peek:
                return conn.peek(bufsize)
            data = conn.recv(bufsize, self.host.kernel.now)
            # A window update if reading opened the window. With nothing produced, flush()
            # would do nothing (no segment, no event, the timer's deadline unchanged, not
            # CLOSED to forget nor FIN_WAIT_2 to time), so it is skipped: once per read.
            timers = conn._timers
            if (conn._out or conn._events or conn.sm.state in _FLUSH_STATES
                    or (min(timers.values()) if timers else None) != ep.deadline):
                self.layer.flush(ep)
            return data
        if not conn.eof:         # a FIN read to the end beats a later error (Linux SOCK_DONE)
            self._raise_pending()
        return b""

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, None]:
        """``(data, None)``: a stream socket has no per-message address (as CPython)."""
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        return self._recv(bufsize, flags), None

    def recvfrom_into(self, buffer, nbytes: int = 0, flags: int = 0) -> tuple[int, None]:
        """``(nbytes, None)``, as :meth:`recvfrom`."""
        return self.recv_into(buffer, nbytes, flags), None

    def shutdown(self, how: int) -> None:
        """SHUT_WR sends FIN (half-close: we can still receive); SHUT_RD stops reading.

        Raises:
            OSError: EINVAL for another ``how``; ENOTCONN when there is no connection (or it
                is gone). On a listening socket SHUT_RD stops listening (Linux).
        """
        self._check()
        if how not in (_pysocket.SHUT_RD, _pysocket.SHUT_WR, _pysocket.SHUT_RDWR):
            raise oserror(errno.EINVAL)
        rd = how in (_pysocket.SHUT_RD, _pysocket.SHUT_RDWR)
        wr = how in (_pysocket.SHUT_WR, _pysocket.SHUT_RDWR)
        if self.listener is not None:
            if rd:
                self._stop_listening()
            return
        ep = self._ep
        self.shut_rd, self._shut_wr = self.shut_rd or rd, self._shut_wr or wr
        if ep is None or ep.conn.state in _GONE:
            raise oserror(errno.ENOTCONN)
        if ep.conn.state is State.SYN_SENT:
            ep.conn.close(self.host.kernel.now)  # Linux disconnects a connect in progress
            self.layer.flush(ep)
            self._abandon()
            return
        if wr:
            ep.conn.shutdown_write(self.host.kernel.now)
            self.layer.flush(ep)
        ep.waiters.notify_all()

    def _release(self) -> None:
        """Close: FIN (or RST if unread data is left, or with SO_LINGER 0, as Linux does);
        the connection lingers on without the socket through FIN_WAIT and TIME_WAIT."""
        self.layer.bound.discard(self)
        if self.listener is not None:
            self._stop_listening()
        ep = self._ep
        if ep is not None:
            ep.sock = None
            ep.reuse = self.reuseaddr
            now = self.host.kernel.now
            if ep.conn.state is not State.CLOSED:
                if self.linger[0] and self.linger[1] == 0:
                    ep.conn.abort(now)   # SO_LINGER with a zero timeout: abortive close
                else:
                    ep.conn.close(now)
                self.layer.flush(ep)
            ep.waiters.notify_all()
            self._ep = None  # a closed socket holds nothing (the program may keep the object)

    # -- options and names -----------------------------------------------------------------

    def _setopt(self, level: int, option: int, v: int, raw: Any) -> bool:
        """SOL_SOCKET: SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF, SO_BROADCAST (no effect on TCP, as
        on Linux), SO_LINGER (off, or on with 0: abortive close); IPPROTO_TCP: TCP_NODELAY,
        TCP_MAXSEG; IPPROTO_IP: IP_TTL."""
        ep = self._ep
        text = level == _pysocket.IPPROTO_TCP and option == _pysocket.TCP_CONGESTION
        fields = sockopt.config_changes(level, option, raw if text else v)
        if fields is not None:  # an option of the TCP core: keepalive, buffers, cc, quickack
            if level == _pysocket.SOL_SOCKET and option == _pysocket.SO_KEEPALIVE:
                self.keepalive = bool(v)
            if level == _pysocket.IPPROTO_TCP and option == _pysocket.TCP_NODELAY:
                self.nodelay = bool(v)
            self._tcp_opts.update(fields)
            if self.listener is not None:  # future children inherit it, as on Linux
                for name, value in fields.items():
                    setattr(self.listener.cfg, name, value)
            if ep is not None:
                sockopt.apply(ep.conn, fields, self.host.kernel.now)
                self._apply(ep.conn.cfg)
                self.layer.flush(ep)
            return True
        if level == _pysocket.SOL_SOCKET:
            if option == _pysocket.SO_BROADCAST:
                self.broadcast = bool(v)
            elif option == _pysocket.SO_LINGER:
                self.linger = _linger(raw)
            elif option == _SO_REUSEPORT:
                if v:
                    raise NotImplementedError("netsim TCP sockets do not model SO_REUSEPORT "
                                              "(several listeners sharing one port)")
            else:
                return False
        elif level == _pysocket.IPPROTO_TCP and option == _pysocket.TCP_NODELAY:
            self.nodelay = bool(v)
        elif level == _pysocket.IPPROTO_TCP and option == _pysocket.TCP_MAXSEG:
            if not 88 <= v <= 32767:  # Linux TCP_MIN_MSS .. MAX_TCP_WINDOW
                raise oserror(errno.EINVAL)
            self.mss = v
        elif level == _pysocket.IPPROTO_IP and option == _pysocket.IP_TTL:
            if v != -1 and not 1 <= v <= 255:
                raise oserror(errno.EINVAL)
            self.ttl = None if v == -1 else v
            if ep is not None:
                ep.ttl = self.ttl
            return True
        else:
            return False
        if ep is not None:
            self._apply(ep.conn.cfg)
        return True

    def _getopt(self, level: int, option: int) -> Any:
        cfg = self._ep.conn.cfg if self._ep is not None else self._config()
        got = sockopt.config_value(cfg, level, option)
        if got is not None:  # keepalive, buffers, TCP_NODELAY, TCP_KEEP*, TCP_CONGESTION
            return got
        if level == _pysocket.SOL_SOCKET:
            return {_pysocket.SO_BROADCAST: int(self.broadcast),
                    _pysocket.SO_LINGER: self.linger,
                    _pysocket.SO_ACCEPTCONN: int(self.listener is not None),
                    _SO_PROTOCOL: _pysocket.IPPROTO_TCP,
                    _SO_REUSEPORT: 0}.get(option)
        if level == _pysocket.IPPROTO_TCP:
            if option == _pysocket.TCP_NODELAY:
                return int(self.nodelay)
            if option == _pysocket.TCP_MAXSEG:
                if self._ep is not None and self._ep.conn.state not in _HANDSHAKE:
                    return self._ep.conn.eff_mss
                return self.mss or _DEFAULT_MSS
        if level == _pysocket.IPPROTO_IP and option == _pysocket.IP_TTL:
            return self.ttl if self.ttl is not None else self.host.default_ttl
        return None

    def tcp_info(self) -> dict:
        """Linux's ``TCP_INFO`` as a dict (``tcpi_snd_cwnd``, ``tcpi_rtt``...).

        Raises:
            OSError: ENOTCONN before the socket has a connection.
        """
        if self._ep is None:
            raise oserror(errno.ENOTCONN)
        return self._ep.conn.info()

    def getsockname(self) -> tuple[str, int]:
        self._check()
        return self.local or (ANY, 0)

    def getpeername(self) -> tuple[str, int]:
        """The peer's address. Raises ENOTCONN unless a connection is up (Linux answers ENOTCONN
        in CLOSE and SYN_SENT, and a socket whose connection ended is in CLOSE)."""
        self._check()
        if (self._ep is None or self.listener is not None
                or self._ep.conn.state in _GONE or self._ep.conn.state is State.SYN_SENT):
            raise oserror(errno.ENOTCONN)
        return self._ep.remote

    def _names(self) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
        return self.local, (self._ep.remote if self._ep else None)

    def _repr_extra(self) -> str:
        return f", state={self.state}"


def _linger(raw: Any) -> tuple[int, int]:
    """``struct linger`` from a setsockopt value.

    Raises:
        OSError: EINVAL for a value shorter than the struct (a plain int, as on Linux).
        NotImplementedError: linger with a timeout (close would block until the data is
            acknowledged).
    """
    if not isinstance(raw, (bytes, bytearray)) or len(raw) < LINGER.size:
        raise oserror(errno.EINVAL)
    onoff, seconds = LINGER.unpack_from(raw)
    if onoff and seconds > 0:
        raise NotImplementedError("netsim TCP sockets do not model SO_LINGER with a timeout "
                                  "(close() waiting for the data to be acknowledged); "
                                  "linger 0 (an abortive close) is modelled")
    return (1 if onoff else 0, max(seconds, 0))
