"""UDP sockets on a virtual host, shaped like Python's ``socket.socket`` (SOCK_DGRAM).

Programs written for the real ``socket`` module run unchanged once ``socket.socket(...)`` is
replaced by ``host.socket(...)``: same methods, same options (the constants are Python's own),
same exceptions with the same errno values and messages (``os.strerror``, as CPython uses).
Blocking calls yield to the simulation kernel; outside a task they run the simulation until
they can return.
"""

from __future__ import annotations

import errno
import os
import socket as _pysocket
from collections import deque
from typing import TYPE_CHECKING, Any

from ..sim.kernel import Waiters
from ..sim.units import parse_time
from ..wire import udp as wudp
from ..wire.ipv4 import PROTO_UDP
from .ipv4 import MAX_UDP_PAYLOAD

if TYPE_CHECKING:
    from .host import Host

__all__ = ["UdpSocket", "oserror", "parse_address"]

ANY = "0.0.0.0"
_RCVBUF_DEFAULT = 212992        # Linux net.core.rmem_default
_DATAGRAM_OVERHEAD = 256        # bytes charged per queued datagram besides its data
_IP_TTL = getattr(_pysocket, "IP_TTL", 2)


def oserror(code: int) -> OSError:
    """``OSError(code, strerror)``; CPython maps it to the right subclass (EAGAIN -> BlockingIOError)."""
    return OSError(code, os.strerror(code))


def parse_address(host: Host, address: Any, what: str) -> tuple[str, int]:
    """Turn a Python-style ``(host, port)`` into ``("10.0.0.2", port)``.

    ``""`` is INADDR_ANY, ``"<broadcast>"`` is 255.255.255.255 (as in CPython); node names of
    the simulated network resolve to their first address (like an /etc/hosts file).

    Raises:
        TypeError: not a 2-tuple of (str, int).
        OverflowError: port outside 0-65535.
        socket.gaierror: an unknown name.
    """
    if not isinstance(address, tuple):
        raise TypeError(f"AF_INET address must be tuple, not {type(address).__name__}")
    if len(address) != 2:
        raise TypeError("AF_INET address must be a pair (host, port)")
    name, port = address
    if not isinstance(name, str):
        raise TypeError(f"str, bytes or bytearray expected, not {type(name).__name__}")
    if not isinstance(port, int) or isinstance(port, bool):
        raise TypeError(f"'{type(port).__name__}' object cannot be interpreted as an integer")
    if not 0 <= port <= 65535:
        raise OverflowError(f"{what}(): port must be 0-65535.")
    return host.resolve(name), port


class UdpSocket:
    """A SOCK_DGRAM socket on a virtual host. Create it with ``host.socket(AF_INET, SOCK_DGRAM)``."""

    __slots__ = ("host", "family", "type", "proto", "local_ip", "local_port", "peer",
                 "broadcast", "reuseaddr", "ttl", "rcvbuf", "sndbuf", "queue", "queued_bytes",
                 "error", "_timeout", "_waiters", "_fd", "drops", "__weakref__")

    def __init__(self, host: Host, family: int = _pysocket.AF_INET,
                 type: int = _pysocket.SOCK_DGRAM, proto: int = 0):
        self.host = host
        self.family = _pysocket.AddressFamily(family)
        self.type = _pysocket.SocketKind(type)
        self.proto = proto
        self.local_ip = ANY
        self.local_port = 0
        self.peer: tuple[str, int] | None = None
        self.broadcast = False
        self.reuseaddr = False
        self.ttl: int | None = None
        self.rcvbuf = _RCVBUF_DEFAULT
        self.sndbuf = _RCVBUF_DEFAULT
        self.queue: deque[tuple[bytes, tuple[str, int]]] = deque()
        self.queued_bytes = 0
        self.error = 0
        self.drops = 0
        self._timeout: float | None = None
        self._waiters = Waiters(host.kernel)
        self._fd = host._new_fd()

    # -- helpers ---------------------------------------------------------------------------

    def _check(self) -> None:
        if self._fd < 0:
            raise oserror(errno.EBADF)

    def _raise_pending(self) -> None:
        if self.error:
            code, self.error = self.error, 0
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
        if ip != ANY and not (self.host.is_local(ip) or self.host.is_broadcast(ip)):
            raise oserror(errno.EADDRNOTAVAIL)
        self.local_port = self.host.udp.bind(self, ip, port)
        self.local_ip = ip

    def connect(self, address: tuple[str, int]) -> None:
        """Fix the peer: ``send``/``recv`` then talk only to it, and ICMP errors are reported.

        Raises:
            OSError: ENETUNREACH with no route; PermissionError for a broadcast peer without
                SO_BROADCAST.
        """
        self._check()
        ip, port = parse_address(self.host, address, "connect")
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
        if len(args) == 1:
            address = args[0]
        elif len(args) == 2:
            address = args[1]
        else:
            raise TypeError(f"sendto() takes 2 or 3 arguments ({len(args) + 1} given)")
        self._check()
        data = self._bytes(data)
        ip, port = parse_address(self.host, address, "sendto")
        return self._send(data, ip, port)

    def send(self, data: bytes, flags: int = 0) -> int:
        """Send to the connected peer.

        Raises:
            OSError: EDESTADDRREQ when not connected; otherwise as :meth:`sendto`.
        """
        self._check()
        data = self._bytes(data)
        if self.peer is None:
            raise oserror(errno.EDESTADDRREQ)
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
        self._autobind()
        payload = wudp.UDP(self.local_port, port, data).encode(src, ip)
        host.ip_send(ip, PROTO_UDP, payload, src=src, ttl=self.ttl)
        host.counters["udp_tx"] += 1
        return len(data)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, tuple[str, int]]:
        """Receive one datagram: ``(data, (ip, port))``; data beyond ``bufsize`` is discarded.

        Raises:
            TimeoutError: "timed out" after the socket timeout.
            BlockingIOError: EAGAIN on a non-blocking socket with nothing queued.
            OSError: a pending ICMP error (ConnectionRefusedError...), EBADF after close.
        """
        self._check()
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        self._wait_readable()
        data, addr = self.queue.popleft()
        self.queued_bytes -= len(data) + _DATAGRAM_OVERHEAD
        return data[:bufsize], addr

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive one datagram's data (see :meth:`recvfrom`)."""
        return self.recvfrom(bufsize, flags)[0]

    def recvfrom_into(self, buffer, nbytes: int = 0, flags: int = 0) -> tuple[int, tuple[str, int]]:
        """Receive into a writable buffer; returns ``(nbytes, address)``."""
        view = memoryview(buffer)
        data, addr = self.recvfrom(nbytes or len(view), flags)
        view[:len(data)] = data
        return len(data), addr

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into a writable buffer; returns the number of bytes stored."""
        return self.recvfrom_into(buffer, nbytes, flags)[0]

    def _wait_readable(self) -> None:
        kernel = self.host.kernel
        deadline = None
        if self._timeout:
            deadline = kernel.now + parse_time(self._timeout)
        while not self.queue:
            self._raise_pending()
            if self._timeout == 0.0:
                raise oserror(errno.EAGAIN)
            remaining = None if deadline is None else max(0, deadline - kernel.now)
            what = f"recvfrom on {self.host.name} port {self.local_port}"
            if kernel.in_task:
                self._waiters.wait(what, remaining)
            else:
                kernel.run_blocking(self._waiters.wait, what, remaining,
                                    name=what, node=self.host)
            self._check()
        # a datagram that is queued is returned before a later error (Linux does the same)

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
        self._waiters.notify_all()

    # -- options and introspection ---------------------------------------------------------

    def setsockopt(self, level: int, option: int, value: Any, optlen: int | None = None) -> None:
        """SOL_SOCKET: SO_BROADCAST, SO_REUSEADDR, SO_RCVBUF, SO_SNDBUF; IPPROTO_IP: IP_TTL.

        Raises:
            OSError: ENOPROTOOPT for an unsupported option; EINVAL for a bad TTL.
        """
        self._check()
        v = int.from_bytes(value, "little") if isinstance(value, (bytes, bytearray)) else int(value)
        if level == _pysocket.SOL_SOCKET:
            if option == _pysocket.SO_BROADCAST:
                self.broadcast = bool(v)
            elif option == _pysocket.SO_REUSEADDR:
                self.reuseaddr = bool(v)
            elif option == _pysocket.SO_RCVBUF:
                self.rcvbuf = max(2304, 2 * v)  # Linux doubles the value (socket(7))
            elif option == _pysocket.SO_SNDBUF:
                self.sndbuf = max(4608, 2 * v)
            else:
                raise oserror(errno.ENOPROTOOPT)
        elif level == _pysocket.IPPROTO_IP and option == _IP_TTL:
            if v == -1:
                self.ttl = None
            elif not 1 <= v <= 255:
                raise oserror(errno.EINVAL)
            else:
                self.ttl = v
        else:
            raise oserror(errno.ENOPROTOOPT)

    def getsockopt(self, level: int, option: int, buflen: int | None = None) -> int:
        """Read an option set with :meth:`setsockopt`, or SO_TYPE / SO_ERROR (clears the error)."""
        self._check()
        if level == _pysocket.SOL_SOCKET:
            if option == _pysocket.SO_BROADCAST:
                return int(self.broadcast)
            if option == _pysocket.SO_REUSEADDR:
                return int(self.reuseaddr)
            if option == _pysocket.SO_RCVBUF:
                return self.rcvbuf
            if option == _pysocket.SO_SNDBUF:
                return self.sndbuf
            if option == _pysocket.SO_TYPE:
                return int(self.type)
            if option == _pysocket.SO_ERROR:
                code, self.error = self.error, 0
                return code
        elif level == _pysocket.IPPROTO_IP and option == _IP_TTL:
            return self.ttl if self.ttl is not None else self.host.default_ttl
        raise oserror(errno.ENOPROTOOPT)

    def settimeout(self, value: float | None) -> None:
        """None blocks forever, 0 is non-blocking, else seconds before TimeoutError."""
        if value is not None:
            value = float(value)
            if value < 0:
                raise ValueError("Timeout value out of range")
        self._timeout = value

    def gettimeout(self) -> float | None:
        return self._timeout

    @property
    def timeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    def getsockname(self) -> tuple[str, int]:
        self._check()
        return (self.local_ip, self.local_port)

    def getpeername(self) -> tuple[str, int]:
        self._check()
        if self.peer is None:
            raise oserror(errno.ENOTCONN)
        return self.peer

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        """Release the port; later calls raise EBADF. Closing twice is harmless."""
        if self._fd < 0:
            return
        if self.local_port:
            self.host.udp.unbind(self)
        self._fd = -1
        self.queue.clear()
        self.queued_bytes = 0
        self._waiters.notify_all()

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def __enter__(self) -> UdpSocket:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._fd < 0:
            return (f"<netsim.socket [closed] fd=-1, family={self.family!s}, "
                    f"type={self.type!s}, proto={self.proto}>")
        text = (f"<netsim.socket fd={self._fd}, family={self.family!s}, type={self.type!s}, "
                f"proto={self.proto}, host={self.host.name}")
        if self.local_port:
            text += f", laddr={(self.local_ip, self.local_port)}"
        if self.peer:
            text += f", raddr={self.peer}"
        return text + ">"
