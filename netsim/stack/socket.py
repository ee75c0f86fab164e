"""UDP sockets on a virtual host, shaped like Python's ``socket.socket`` (SOCK_DGRAM).

Programs written for the real ``socket`` module run unchanged once ``socket.socket(...)`` is
replaced by ``host.socket(...)``. What all sockets share (descriptors, timeouts, blocking,
SO_REUSEADDR, SO_ERROR) is in :mod:`netsim.stack.sockbase`; the port rules are in
:mod:`netsim.stack.ports`.
"""

from __future__ import annotations

import errno
import socket as _pysocket
from collections import deque
from typing import TYPE_CHECKING, Any

from ..wire import udp as wudp
from ..wire.addr import _ip_int_get
from ..wire.ipv4 import PROTO_UDP
from .ipv4 import MAX_UDP_PAYLOAD
from .ports import ANY, check_local_address
from .sockbase import SocketBase, oserror, parse_address, send_args
from .sockopts import check_flags

if TYPE_CHECKING:
    from .services import IpServices

__all__ = ["UdpSocket"]

_RCVBUF_DEFAULT = 212992        # Linux net.core.rmem_default
_DATAGRAM_OVERHEAD = 256        # bytes charged per queued datagram besides its data
_IP_TTL = getattr(_pysocket, "IP_TTL", 2)
# Plain ints: the socket module's MSG_* are IntFlag members, and ``int & IntFlag`` goes
# through the Python-level enum.__and__ (four calls per datagram received).
_PEEK, _DONTWAIT = int(_pysocket.MSG_PEEK), int(_pysocket.MSG_DONTWAIT)
_RECV_FLAGS = _PEEK | _DONTWAIT
_SEND_FLAGS = _DONTWAIT | int(_pysocket.MSG_NOSIGNAL)  # sendto never blocks here
_SO_PROTOCOL = getattr(_pysocket, "SO_PROTOCOL", -1)


class UdpSocket(SocketBase):
    """A SOCK_DGRAM socket on a virtual host. Create it with ``host.socket(AF_INET, SOCK_DGRAM)``."""

    __slots__ = ("local_ip", "local_port", "peer", "broadcast", "ttl", "rcvbuf", "sndbuf",
                 "queue", "queued_bytes", "error", "drops", "keepalive", "_shut_wr")

    kind = "UDP"

    def __init__(self, host: IpServices, family: int = _pysocket.AF_INET,
                 type: int = _pysocket.SOCK_DGRAM, proto: int = 0):
        super().__init__(host, family, type, proto)
        self.local_ip = ANY
        self.local_port = 0
        self.peer: tuple[str, int] | None = None
        self.broadcast = False
        self.ttl: int | None = None
        self.rcvbuf = _RCVBUF_DEFAULT
        self.sndbuf = _RCVBUF_DEFAULT
        self.queue: deque[tuple[bytes, tuple[str, int]]] = deque()
        self.queued_bytes = 0
        self.error = 0
        self.drops = 0
        self.keepalive = False   # Linux lets a UDP socket set it; it does nothing
        self._shut_wr = False

    # -- helpers ---------------------------------------------------------------------------

    def _raise_pending(self) -> None:
        code = self._take_error()
        if code:
            raise oserror(code)

    def _autobind(self) -> None:
        if self.local_port == 0:
            self.local_port = self.host.udp.bind(self, self.local_ip, 0)

    # -- Python socket API -----------------------------------------------------------------

    def bind(self, address: tuple[str, int]) -> None:
        """Bind to ``(ip, port)``: "" / "0.0.0.0" (any), an own address, or a broadcast address.

        Raises:
            OSError: EINVAL if already bound, EADDRNOTAVAIL for a foreign address,
                EADDRINUSE when the port is taken (see SO_REUSEADDR), EBADF after close.
        """
        self._check()
        ip, port = parse_address(self.host, address, "bind")
        if self.local_port:
            raise oserror(errno.EINVAL)
        check_local_address(self.host, ip, broadcast_ok=True)
        self.local_port = self.host.udp.bind(self, ip, port)
        self.local_ip = ip

    def connect(self, address: tuple[str, int]) -> None:
        """Fix the peer: ``send``/``recv`` then talk only to it, and ICMP errors are reported.

        The wildcard 0.0.0.0 means this host (Linux routes it to 127.0.0.1, or to the bound
        address); a peer port of 0 leaves ``getpeername`` answering ENOTCONN, as on Linux.

        Raises:
            OSError: ENETUNREACH with no route; PermissionError for a broadcast peer without
                SO_BROADCAST.
        """
        self._check()
        ip, port = parse_address(self.host, address, "connect")
        if ip == ANY:
            ip = self.local_ip if self.local_ip != ANY and not self.host.is_broadcast(
                self.local_ip) else "127.0.0.1"
        if self.host.is_broadcast(ip) and not self.broadcast:
            raise oserror(errno.EACCES)
        src = self.host.source_for(ip)  # raises ENETUNREACH
        self._autobind()
        if self.local_ip == ANY and not self.host.is_broadcast(ip):
            self.local_ip = src  # Linux fixes the source address on connect
        self.peer = (ip, port)

    def sendto(self, data: bytes, *args: Any) -> int:
        """Send one datagram to ``address``; ``sendto(data, flags, address)`` also works.

        Returns:
            The number of bytes sent.

        Raises:
            PermissionError: EACCES, a broadcast destination without SO_BROADCAST.
            OSError: EMSGSIZE (> 65507 bytes), ENETUNREACH (no route), a pending ICMP error
                (ConnectionRefusedError...), EBADF after close.
        """
        # The common call, sendto(bytes, (dotted quad, port)), checked in a few tests that
        # cannot raise; anything else takes the general checks below, in their order.
        if len(args) == 1 and self._fd >= 0 and data.__class__ is bytes:
            address = args[0]
            if address.__class__ is tuple and len(address) == 2:
                ip, port = address
                if (ip.__class__ is str and port.__class__ is int and 0 <= port <= 65535
                        and _ip_int_get(ip) is not None):  # a dotted quad resolves to itself
                    return self._send(data, ip, port)
        flags, address = send_args(args)
        self._check()
        data = self._bytes(data)
        check_flags(flags, _SEND_FLAGS, "sendto", self.kind)
        ip, port = parse_address(self.host, address, "sendto")
        return self._send(data, ip, port)

    def send(self, data: bytes, flags: int = 0) -> int:
        """Send to the connected peer.

        Raises:
            OSError: EDESTADDRREQ when not connected; otherwise as :meth:`sendto`.
        """
        self._check()
        data = self._bytes(data)
        check_flags(flags, _SEND_FLAGS, "send", self.kind)
        if self._shut_wr:
            raise oserror(errno.EPIPE)
        if self.peer is None:
            raise oserror(errno.EDESTADDRREQ)
        if self.peer[1] == 0:
            # connected to port 0 (Linux keeps "connected" but sends the datagram nowhere)
            self._raise_pending()
            self._autobind()
            return len(data)
        return self._send(data, *self.peer)

    def sendall(self, data: bytes, flags: int = 0) -> None:
        """As :meth:`send` (a datagram is sent whole or not at all)."""
        self.send(data, flags)

    @staticmethod
    def _bytes(data: Any) -> bytes:
        if isinstance(data, str) or not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'")
        return bytes(data)

    def _send(self, data: bytes, ip: str, port: int) -> int:
        if self._shut_wr:
            raise oserror(errno.EPIPE)
        if self.error:
            self._raise_pending()
        if len(data) > MAX_UDP_PAYLOAD:
            raise oserror(errno.EMSGSIZE)
        if port == 0:
            raise oserror(errno.EINVAL)
        host = self.host
        if host.is_broadcast(ip) and not self.broadcast:
            raise oserror(errno.EACCES)
        src = self.local_ip
        if src == ANY or host.is_broadcast(src):
            src = host.source_for(ip)  # raises ENETUNREACH
        if not self.local_port:
            self._autobind()
        host.ip_send(ip, PROTO_UDP, wudp.encode_datagram(self.local_port, port, data, src, ip),
                     src=src, ttl=self.ttl)
        host.counters["udp_tx"] += 1
        return len(data)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, tuple[str, int]]:
        """Receive one datagram: ``(data, (ip, port))``; data beyond ``bufsize`` is discarded.

        Raises:
            TimeoutError: "timed out" after the socket timeout.
            BlockingIOError: EAGAIN on a non-blocking socket with nothing queued.
            OSError: a pending ICMP error (ConnectionRefusedError...), EBADF after close.
        """
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        if self._fd < 0:
            self._check()  # raises EBADF
        if flags.__class__ is not int or flags:
            flags = check_flags(flags, _RECV_FLAGS, "recvfrom", self.kind)
        if not (self.queue or self.error):  # _wait would return at once (its first test)
            what = f"recvfrom on {self.host.name} port {self.local_port}"
            if self._timeout is None and not flags & _DONTWAIT and self.host.kernel.in_task:
                # _wait's loop for a blocking socket in a task (no deadline), in this frame
                waiters = self._waiters
                while True:
                    waiters.wait(what, None)
                    self._check()
                    if self.queue or self.error:
                        break
            else:
                self._wait(self._waiters, lambda: bool(self.queue or self.error), what,
                           bool(flags & _DONTWAIT))
        if not self.queue:
            self._raise_pending()
        # a datagram that is queued is returned before a later error (Linux does the same)
        if flags & _PEEK:
            data, addr = self.queue[0]
        else:
            data, addr = self.queue.popleft()
            self.queued_bytes -= len(data) + _DATAGRAM_OVERHEAD
        return data[:bufsize], addr

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive one datagram's data (see :meth:`recvfrom`).

        ``recv(0)`` returns ``b""`` at once and leaves the queue alone: CPython answers it
        without asking the kernel.
        """
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if bufsize == 0:
            return b""
        return self.recvfrom(bufsize, flags)[0]

    def recvfrom_into(self, buffer, nbytes: int = 0, flags: int = 0) -> tuple[int, tuple[str, int]]:
        """Receive into a writable buffer; returns ``(nbytes, address)``."""
        view = memoryview(buffer).cast("B")
        if nbytes < 0:
            raise ValueError("negative buffersize in recvfrom_into")
        if len(view) < nbytes:
            raise ValueError("nbytes is greater than the length of the buffer")
        data, addr = self.recvfrom(nbytes or len(view), flags)
        view[:len(data)] = data
        return len(data), addr

    def listen(self, backlog: int = 0) -> None:
        """Raises EOPNOTSUPP: datagram sockets do not listen (Linux ``sock_no_listen``)."""
        self._check()
        raise oserror(errno.EOPNOTSUPP)

    def accept(self) -> None:
        """Raises EOPNOTSUPP: datagram sockets do not accept (Linux ``sock_no_accept``)."""
        self._check()
        raise oserror(errno.EOPNOTSUPP)

    def shutdown(self, how: int) -> None:
        """SHUT_WR makes later sends fail with EPIPE; SHUT_RD changes nothing for UDP on
        Linux (datagrams are still queued and read).

        Raises:
            OSError: EINVAL for another ``how``; ENOTCONN on a socket that is not connected
                (the shutdown still takes effect, as on Linux).
        """
        self._check()
        if how not in (_pysocket.SHUT_RD, _pysocket.SHUT_WR, _pysocket.SHUT_RDWR):
            raise oserror(errno.EINVAL)
        if how in (_pysocket.SHUT_WR, _pysocket.SHUT_RDWR):
            self._shut_wr = True
        if self.peer is None:
            raise oserror(errno.ENOTCONN)

    # -- Datagram arrival (called by UdpLayer) ---------------------------------------------

    def deliver(self, data: bytes, addr: tuple[str, int]) -> str | None:
        """Queue a received datagram; returns a note if it had to be dropped."""
        cost = len(data) + _DATAGRAM_OVERHEAD
        if self.queued_bytes + cost > self.rcvbuf:
            self.drops += 1
            self.host.counters["udp_rcvbuf_drops"] += 1
            return f"socket receive queue full on port {self.local_port}: dropped"
        self.queue.append((data, addr))
        self.queued_bytes += cost
        self._waiters.notify()
        return None

    def set_error(self, code: int) -> None:
        """Record an asynchronous error (an ICMP error), raised by the next call."""
        self.error = code
        self.wake_all()

    # -- options and introspection ---------------------------------------------------------

    def _setopt(self, level: int, option: int, v: int, raw: object = None) -> bool:
        """SOL_SOCKET: SO_BROADCAST, SO_RCVBUF, SO_SNDBUF, SO_KEEPALIVE (no effect on UDP, as
        on Linux); IPPROTO_IP: IP_TTL.

        Raises:
            OSError: EINVAL for a TTL outside 1-255 (-1 restores the default); EOPNOTSUPP for
                a TCP option.
        """
        if level == _pysocket.IPPROTO_TCP:
            raise oserror(errno.EOPNOTSUPP)
        if level == _pysocket.SOL_SOCKET:
            if option == _pysocket.SO_BROADCAST:
                self.broadcast = bool(v)
            elif option == _pysocket.SO_KEEPALIVE:
                self.keepalive = bool(v)
            elif option == _pysocket.SO_RCVBUF:
                self.rcvbuf = max(2304, 2 * v)  # Linux doubles the value (socket(7))
            elif option == _pysocket.SO_SNDBUF:
                self.sndbuf = max(4608, 2 * v)
            else:
                return False
            return True
        if level == _pysocket.IPPROTO_IP and option == _IP_TTL:
            if v == -1:
                self.ttl = None
            elif not 1 <= v <= 255:
                raise oserror(errno.EINVAL)
            else:
                self.ttl = v
            return True
        return False

    def _getopt(self, level: int, option: int) -> int | None:
        if level == _pysocket.IPPROTO_TCP:
            raise oserror(errno.EOPNOTSUPP)
        if level == _pysocket.SOL_SOCKET:
            return {_pysocket.SO_BROADCAST: int(self.broadcast), _pysocket.SO_RCVBUF: self.rcvbuf,
                    _pysocket.SO_SNDBUF: self.sndbuf, _pysocket.SO_KEEPALIVE: int(self.keepalive),
                    _pysocket.SO_ACCEPTCONN: 0, _SO_PROTOCOL: _pysocket.IPPROTO_UDP}.get(option)
        elif level == _pysocket.IPPROTO_IP and option == _IP_TTL:
            return self.ttl if self.ttl is not None else self.host.default_ttl
        return None

    def _take_error(self) -> int:
        code, self.error = self.error, 0
        return code

    def getsockname(self) -> tuple[str, int]:
        self._check()
        return (self.local_ip, self.local_port)

    def getpeername(self) -> tuple[str, int]:
        self._check()
        if self.peer is None or self.peer[1] == 0:
            raise oserror(errno.ENOTCONN)
        return self.peer

    def _release(self) -> None:
        """Release the port and drop what is queued; blocked readers see EBADF."""
        if self.local_port:
            self.host.udp.unbind(self)
        self.queue.clear()
        self.queued_bytes = 0
        self.wake_all()

    def _names(self) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
        return ((self.local_ip, self.local_port) if self.local_port else None), self.peer
