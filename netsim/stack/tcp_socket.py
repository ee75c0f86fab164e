"""Stream sockets on a virtual host: ``socket.socket(AF_INET, SOCK_STREAM)`` over TCP.

:class:`TcpSocket` has the methods, exceptions and errno values of Python's sockets; what it
shares with UDP sockets is in :mod:`netsim.stack.sockbase`. Each socket drives one sans-I/O
:class:`~netsim.stack.tcp.Connection` (or :class:`~netsim.stack.tcp.Listener`) registered with
its host's :class:`~netsim.stack.tcp_layer.TcpLayer`, which carries segments and timers.
"""

from __future__ import annotations

import errno
import socket as _pysocket
from typing import TYPE_CHECKING, Any

from ..trace.tcptrace import state_name
from .ports import ANY, check_local_address
from .sockbase import SocketBase, oserror, parse_address
from .tcp import Connection, Listener, State, TcpConfig, sockopt

if TYPE_CHECKING:
    from .services import IpServices
    from .tcp_layer import Endpoint

__all__ = ["TcpSocket"]

_HANDSHAKE = frozenset({State.SYN_SENT, State.SYN_RECEIVED})
_SENDABLE = frozenset({State.ESTABLISHED, State.CLOSE_WAIT})


class TcpSocket(SocketBase):
    """A SOCK_STREAM socket on a virtual host: ``host.socket(AF_INET, SOCK_STREAM)``.

    Attributes:
        local: the bound ``(ip, port)``, or None.
        listener: the sans-I/O :class:`~netsim.stack.tcp.Listener` once listening, else None.
    """

    __slots__ = ("layer", "local", "listener", "nodelay", "_ep", "_shut_rd", "_tcp_opts")
    _RAW_OPTIONS = frozenset({(_pysocket.IPPROTO_TCP, _pysocket.TCP_CONGESTION)})

    def __init__(self, host: IpServices, family: int = _pysocket.AF_INET,
                 type: int = _pysocket.SOCK_STREAM, proto: int = 0, _ep: Endpoint | None = None):
        if proto not in (0, _pysocket.IPPROTO_TCP):
            raise oserror(errno.EPROTONOSUPPORT)
        super().__init__(host, family, type, proto)
        self.layer = host.tcp
        self.local: tuple[str, int] | None = _ep.local if _ep else None
        self.listener: Listener | None = None
        self.nodelay = False
        self._ep = _ep
        self._shut_rd = False
        self._tcp_opts: dict[str, Any] = {}  # TcpConfig fields set by socket options
        if _ep is not None:
            _ep.sock = self

    # -- helpers ---------------------------------------------------------------------------

    def _config(self) -> TcpConfig:
        base = self.layer.config
        cfg = TcpConfig(**{f: getattr(base, f) for f in base.__dataclass_fields__})
        cfg.nodelay = self.nodelay or base.nodelay
        for name, value in self._tcp_opts.items():
            setattr(cfg, name, value)
        return cfg

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
        if self.listener is not None:
            return "LISTEN"
        return state_name(self._ep.conn.state) if self._ep else "CLOSED"

    # -- setup -----------------------------------------------------------------------------

    def bind(self, address: tuple[str, int]) -> None:
        """Bind to ``(ip, port)``; port 0 picks an ephemeral port.

        Raises:
            OSError: EINVAL if already bound, EADDRNOTAVAIL for a foreign address, EADDRINUSE
                when the port is taken (a TIME_WAIT connection only without SO_REUSEADDR).
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

    def listen(self, backlog: int = 128) -> None:
        """Start accepting connections; at most ``backlog`` wait to be accepted."""
        self._check()
        if self._ep is not None:
            raise oserror(errno.EINVAL)
        if self.local is None:
            self.bind(("", 0))
        if self.listener is None:
            self.listener = Listener(self.local, max(1, backlog), self.layer.isn, self._config())
            self.layer.listeners[self.local] = self
            self.layer.tracer.listen(f"{self.host.name}:{self.local[1]}")
        else:
            self.listener.backlog = max(1, backlog)

    def accept(self) -> tuple[TcpSocket, tuple[str, int]]:
        """Wait for a connection that completed the handshake: ``(socket, (ip, port))``."""
        self._check()
        lst = self.listener
        if lst is None:
            raise oserror(errno.EINVAL)
        got: list[Connection] = []

        def ready() -> bool:
            if not got:
                conn = lst.accept()
                if conn is not None:
                    got.append(conn)
            return bool(got)

        self._wait(self._waiters, ready, f"accept on port {self.local[1]} on {self.host.name}")
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
        if self.listener is not None:
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
                       f"connect to {ip}:{port} on {self.host.name}")
        except TimeoutError:
            self._abandon()
            raise
        code = self._take_error() or conn.error
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

    def _abandon(self) -> None:
        if self._ep is not None:
            self.layer.forget(self._ep)
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
            return bool(ep.error or conn.send_space > 0 or conn.state not in _SENDABLE
                        and conn.state not in _HANDSHAKE)

        self._wait(ep.waiters, ready, f"send on {self.host.name}")
        code = self._take_error()
        if code:
            self._raise_error(code)
        if conn.state is State.CLOSED:
            # The error (ECONNRESET, ETIMEDOUT) was reported once already; Linux's
            # sk_stream_wait_connect answers EPIPE on a closed socket from then on.
            raise oserror(errno.EPIPE)
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
        self._wait(ep.waiters, lambda: bool(conn.readable or conn.at_eof or ep.error
                                            or conn.state is State.CLOSED),
                   f"recv on {self.host.name}")
        if conn.readable:
            data = conn.recv(bufsize, self.host.kernel.now)
            self.layer.flush(ep)  # a window update if reading opened the window
            return data
        # After the peer's FIN, EOF comes first and the error stays pending (Linux checks
        # SOCK_DONE before sk_err); otherwise the error is reported once, then EOF.
        code = 0 if conn.at_eof else self._take_error()
        if code:
            self._raise_error(code)
        return b""

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

    def _release(self) -> None:
        """Close: FIN (or RST if unread data is left, as Linux does); the connection lingers
        on without the socket through FIN_WAIT and TIME_WAIT."""
        self.layer.bound.discard(self)
        if self.listener is not None:
            self.layer.listeners.pop(self.local, None)
            self.layer.tracer.listen(f"{self.host.name}:{self.local[1]}", active=False)
            now = self.host.kernel.now
            for ep in [e for e in self.layer.conns.values() if e.listener_sock is self]:
                ep.conn.abort(now)
                self.layer.flush(ep)
            self.listener = None
            self.wake_all()
        ep = self._ep
        if ep is not None:
            ep.sock = None
            if ep.conn.state is not State.CLOSED:
                ep.conn.close(self.host.kernel.now)
                self.layer.flush(ep)
            ep.waiters.notify_all()

    # -- options and names -----------------------------------------------------------------

    def _setopt(self, level: int, option: int, value: Any) -> bool:
        """TCP_NODELAY, and the options of the core (``tcp/sockopt.py``): SO_KEEPALIVE,
        TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, TCP_CONGESTION, TCP_QUICKACK, SO_RCVBUF, SO_SNDBUF;
        SO_LINGER is accepted and ignored (linger is not modelled)."""
        if level == _pysocket.IPPROTO_TCP and option == _pysocket.TCP_NODELAY:
            self.nodelay = bool(value)
        if level == _pysocket.SOL_SOCKET and option == _pysocket.SO_LINGER:
            return True
        fields = sockopt.config_changes(level, option, value)
        if fields is None:
            return False
        self._tcp_opts.update(fields)
        if self.listener is not None:  # future children inherit it, as on Linux
            for name, v in fields.items():
                setattr(self.listener.cfg, name, v)
        if self._ep is not None:
            sockopt.apply(self._ep.conn, fields, self.host.kernel.now)
            self.layer.flush(self._ep)
        return True

    def _getopt(self, level: int, option: int, buflen: int | None = None) -> Any:
        cfg = self._ep.conn.cfg if self._ep is not None else self._config()
        return sockopt.config_value(cfg, level, option, buflen or 0)

    def tcp_info(self) -> dict:
        """Linux's ``TCP_INFO`` as a dict (``tcpi_snd_cwnd``, ``tcpi_rtt``...).

        Raises:
            OSError: ENOTCONN before the socket has a connection.
        """
        if self._ep is None:
            raise oserror(errno.ENOTCONN)
        return self._ep.conn.info()

    def _take_error(self) -> int:
        """The pending error, cleared as Linux's sock_error() clears sk_err: ECONNRESET (or
        ETIMEDOUT...) reaches the first call that looks, and only that one."""
        code = self._ep.error if self._ep else 0
        if code:
            self._ep.error = 0
        return code

    def getsockname(self) -> tuple[str, int]:
        self._check()
        return self.local or (ANY, 0)

    def getpeername(self) -> tuple[str, int]:
        self._check()
        if self._ep is None or self._ep.conn.state in (State.CLOSED, State.SYN_SENT):
            raise oserror(errno.ENOTCONN)
        return self._ep.remote

    def _names(self) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
        return self.local, (self._ep.remote if self._ep else None)

    def _repr_extra(self) -> str:
        return f", state={self.state}"
