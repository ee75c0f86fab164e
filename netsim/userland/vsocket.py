"""The ``socket`` module of a program on a virtual host.

``socket.socket(...)`` opens a socket of the host's own stack (``host.socket``); the object a
program holds is a *descriptor* for it, as on a real OS: :meth:`socket.dup` and passing a
socket to a child process add a reference, and the stack's socket closes (FIN for TCP) only
when the last descriptor is closed. That is what keeps the classic process-per-client
server working: the parent closes its ``newSock`` right after ``start()`` and the child still
talks on the connection.

Names resolve against the simulated network (node names, dotted quads, "localhost",
"<broadcast>"), never the real DNS. ``makefile`` gives the buffered file objects
``socketserver``, ``http.server`` and ``http.client`` read and write through.
"""

from __future__ import annotations

import errno
import io
import os
import socket as _real
import types
from typing import TYPE_CHECKING, Any

from . import guard, sched
from .errors import NotVirtualisedError

if TYPE_CHECKING:
    from .process import VProcess

__all__ = ["socket", "make_module"]

AF_INET, SOCK_STREAM, SOCK_DGRAM = _real.AF_INET, _real.SOCK_STREAM, _real.SOCK_DGRAM
_DEFAULT = _real._GLOBAL_DEFAULT_TIMEOUT
_PROTO = {SOCK_STREAM: _real.IPPROTO_TCP, SOCK_DGRAM: _real.IPPROTO_UDP}


def _ebadf() -> OSError:
    return OSError(errno.EBADF, os.strerror(errno.EBADF))


class Shared:
    """One socket of the host stack and the number of descriptors that refer to it."""

    __slots__ = ("sock", "refs", "pump", "listening")

    def __init__(self, sock: Any):
        self.sock = sock
        self.refs = 1
        self.pump: Any = None       # vselect.Pump, once select() watched this socket
        self.listening = False

    def release(self) -> None:
        self.refs -= 1
        if self.refs == 0:
            self.sock.close()


class socket:  # noqa: N801 - the stdlib's name
    """``socket.socket`` for programs on a virtual host (AF_INET; SOCK_STREAM or SOCK_DGRAM)."""

    __slots__ = ("_proc", "_shared", "_fd", "_closed", "_io_refs", "_timeout", "__weakref__")

    def __init__(self, family: int = -1, type: int = -1, proto: int = -1, fileno: Any = None):
        if fileno is not None:
            raise NotVirtualisedError("socket.socket(fileno=...)",
                                      "a virtual host has no real file descriptors")
        family = AF_INET if family == -1 else family
        type = SOCK_STREAM if type == -1 else type
        proc = sched.current_process("socket.socket()")
        self._attach(proc, Shared(proc.host.socket(family, type, 0 if proto == -1 else proto)))

    def _attach(self, proc: VProcess, shared: Shared) -> None:
        self._proc = proc
        self._shared = shared
        self._closed = False
        self._io_refs = 0
        self._timeout = proc.default_timeout
        self._fd = proc.add_fd(self, shared)

    @classmethod
    def _adopt(cls, proc: VProcess, shared: Shared) -> socket:
        """A new descriptor in ``proc`` for ``shared`` (whose reference the caller took)."""
        sock = cls.__new__(cls)
        sock._attach(proc, shared)
        return sock

    def _u(self) -> Any:
        """The stack's socket, with this descriptor's timeout applied for the coming call."""
        if self._fd < 0:
            raise _ebadf()
        u = self._shared.sock
        u.settimeout(self._timeout)
        return u

    def _pump(self) -> Any:
        """The read-ahead of select(), when it holds data or a read is outstanding."""
        pump = self._shared.pump
        return pump if pump is not None and pump.active() else None

    # -- properties -------------------------------------------------------------------------

    @property
    def family(self) -> _real.AddressFamily:
        return _real.AddressFamily(self._shared.sock.family)

    @property
    def type(self) -> _real.SocketKind:
        return _real.SocketKind(self._shared.sock.type)

    @property
    def proto(self) -> int:
        return self._shared.sock.proto

    @property
    def timeout(self) -> float | None:
        return self._timeout

    # -- setup --------------------------------------------------------------------------------

    def bind(self, address: Any) -> None:
        self._u().bind(address)

    def listen(self, backlog: int = min(_real.SOMAXCONN, 128)) -> None:
        self._u().listen(backlog)
        self._shared.listening = True

    def connect(self, address: Any) -> None:
        self._u().connect(address)

    def connect_ex(self, address: Any) -> int:
        try:
            self.connect(address)
        except OSError as exc:
            return exc.errno or errno.EIO
        return 0

    def accept(self) -> tuple[socket, Any]:
        pump = self._pump()
        if pump is not None:
            conn, addr = pump.take(self, "accept")
        else:
            conn, addr = self._u().accept()
        # like CPython's accept(): the new socket has the default timeout, not the listener's
        return socket._adopt(self._proc, Shared(conn)), addr

    # -- data ---------------------------------------------------------------------------------

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        pump = self._pump()
        if pump is not None:
            if bufsize < 0:
                raise ValueError("negative buffersize in recv")
            return pump.take(self, "recv", bufsize)
        return self._u().recv(bufsize, flags)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        pump = self._pump()
        if pump is not None:
            return pump.take(self, "recvfrom", bufsize)
        return self._u().recvfrom(bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        if self._pump() is not None:
            data = self.recv(nbytes or len(view), flags)
            view[:len(data)] = data
            return len(data)
        return self._u().recv_into(view, nbytes, flags)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        view = memoryview(buffer).cast("B")
        data, addr = self.recvfrom(nbytes or len(view), flags)
        view[:len(data)] = data
        return len(data), addr

    def send(self, data: Any, flags: int = 0) -> int:
        return self._u().send(data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._u().sendall(data, flags)

    def sendto(self, data: Any, *args: Any) -> int:
        return self._u().sendto(data, *args)

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """Send a file's bytes with ``send`` (CPython's fallback when os.sendfile cannot)."""
        if offset:
            file.seek(offset)
        total = 0
        while count is None or total < count:
            chunk = file.read(8192 if count is None else min(8192, count - total))
            if not chunk:
                break
            self.sendall(chunk)
            total += len(chunk)
        return total

    def shutdown(self, how: int) -> None:
        if self._fd < 0:
            raise _ebadf()
        self._shared.sock.shutdown(how)

    # -- options and names ----------------------------------------------------------------------

    def setsockopt(self, level: int, option: int, value: Any, optlen: Any = None) -> None:
        self._u().setsockopt(level, option, value)

    def getsockopt(self, level: int, option: int, buflen: int = 0) -> Any:
        return self._u().getsockopt(level, option)

    def getsockname(self) -> Any:
        return self._u().getsockname()

    def getpeername(self) -> Any:
        return self._u().getpeername()

    def settimeout(self, value: float | None) -> None:
        if value is not None:
            if not isinstance(value, (int, float)):
                raise TypeError("Timeout value must be int, float or None")
            if value < 0:
                raise ValueError("Timeout value out of range")
            value = float(value)
        self._timeout = value

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    def fileno(self) -> int:
        return self._fd

    # -- descriptors --------------------------------------------------------------------------

    def dup(self) -> socket:
        """A second descriptor for the same socket (``os.dup``)."""
        if self._fd < 0:
            raise _ebadf()
        self._shared.refs += 1
        return socket._adopt(self._proc, self._shared)

    def close(self) -> None:
        """Close this descriptor; the socket itself closes with its last descriptor."""
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def _real_close(self) -> None:
        if self._fd < 0:
            return
        self._proc.drop_fd(self._fd)
        self._fd = -1
        self._shared.release()

    def detach(self) -> int:
        fd, self._fd = self._fd, -1
        self._closed = True
        self._proc.drop_fd(fd)
        return fd

    def _decref_socketios(self) -> None:
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed:
            self.close()

    def makefile(self, mode: str = "r", buffering: int | None = None, *, encoding: str | None = None,
                 errors: str | None = None, newline: str | None = None) -> Any:
        """File objects over the socket, as CPython builds them (SocketIO + buffering)."""
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
        writing = "w" in mode
        reading = "r" in mode or not writing
        raw = _real.SocketIO(self, ("r" if reading else "") + ("w" if writing else ""))
        self._io_refs += 1
        if buffering is None:
            buffering = -1
        if buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if "b" not in mode:
                raise ValueError("unbuffered streams must be binary")
            return raw
        if reading and writing:
            buffer: Any = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if "b" in mode:
            return buffer
        text = io.TextIOWrapper(buffer, encoding, errors, newline)
        text.mode = mode
        return text

    def __enter__(self) -> socket:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # The OS closes a descriptor nobody holds any more; so does CPython's socket object.
        try:
            if self._fd >= 0 and self._io_refs <= 0:
                self._real_close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass

    def __reduce__(self) -> Any:
        raise TypeError(f"cannot pickle {type(self).__name__!r} object")

    def __getattr__(self, name: str) -> Any:
        # Extras of the host stack's sockets (``sock.state`` of a TCP socket...).
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._shared.sock, name)

    def __repr__(self) -> str:
        if self._fd < 0:
            return f"<socket.socket [closed] fd=-1, family={self.family}, type={self.type}, proto={self.proto}>"
        text = f"<socket.socket fd={self._fd}, family={self.family}, type={self.type}, proto={self.proto}"
        for label, fn in (("laddr", self._shared.sock.getsockname),
                          ("raddr", self._shared.sock.getpeername)):
            try:
                addr = fn()
            except OSError:
                continue
            if addr and addr != ("0.0.0.0", 0):
                text += f", {label}={addr}"
        return text + ">"


# -- the module -------------------------------------------------------------------------------

def _service_port(port: Any) -> int:
    if port is None:
        return 0
    if isinstance(port, int):
        return port
    if isinstance(port, bytes):
        port = port.decode()
    if isinstance(port, str):
        if port.isdigit():
            return int(port)
        try:
            with guard.allow_real():
                return _real.getservbyname(port)
        except OSError:
            raise _real.gaierror(_real.EAI_SERVICE, "Servname not supported for ai_socktype") from None
    raise TypeError("getaddrinfo() argument 2 must be integer or string")


def _owner(host: Any, ip: str) -> str | None:
    for node in getattr(host.net, "nodes", {}).values():
        addresses = getattr(node, "addresses", None)
        if addresses is not None and any(c.split("/")[0] == ip for _, c in addresses()):
            return node.name
    return None


def make_module(proc: VProcess) -> types.ModuleType:
    host = proc.host
    m = types.ModuleType("socket", _real.__doc__)
    m.__dict__.update({k: v for k, v in _real.__dict__.items()
                       if k.isupper() or k in ("AddressFamily", "SocketKind", "MsgFlag",
                                               "AddressInfo", "error", "herror", "gaierror",
                                               "timeout", "htons", "htonl", "ntohs", "ntohl",
                                               "inet_aton", "inet_ntoa", "inet_pton", "inet_ntop",
                                               "SocketIO", "_GLOBAL_DEFAULT_TIMEOUT",
                                               "CMSG_LEN", "CMSG_SPACE", "getprotobyname")})

    def resolve(name: Any) -> str:
        if isinstance(name, bytes):
            name = name.decode()
        if not isinstance(name, str):
            raise TypeError(f"str, bytes or bytearray expected, not {type(name).__name__}")
        return host.resolve(name)

    def getaddrinfo(hostname: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                    flags: int = 0) -> list:
        if family not in (0, AF_INET):
            raise _real.gaierror(_real.EAI_FAMILY, "Address family for hostname not supported")
        if hostname is None:
            ip = "0.0.0.0" if flags & _real.AI_PASSIVE else "127.0.0.1"
        else:
            ip = resolve(hostname)
        number = _service_port(port)
        kinds = [type] if type else [SOCK_STREAM, SOCK_DGRAM, _real.SOCK_RAW]
        canon = hostname if flags & _real.AI_CANONNAME and hostname else ""
        return [(_real.AddressFamily.AF_INET, _real.SocketKind(k), proto or _PROTO.get(k, 0),
                 canon, (ip, number)) for k in kinds]

    def gethostname() -> str:
        return host.name

    def gethostbyname(name: Any) -> str:
        return resolve(name)

    def gethostbyname_ex(name: Any) -> tuple[str, list, list]:
        ip = resolve(name)
        return (_owner(host, ip) or name, [], [ip])

    def gethostbyaddr(ip: str) -> tuple[str, list, list]:
        addr = resolve(ip)
        owner = host.name if addr.startswith("127.") else _owner(host, addr)
        if owner is None:
            raise _real.herror(1, "Unknown host")
        return (owner, [], [addr])

    def getfqdn(name: str = "") -> str:
        name = name.strip()
        if not name or name in ("0.0.0.0", "::"):
            return host.name
        try:
            return gethostbyaddr(name)[0]
        except (OSError, TypeError):
            return name

    def getnameinfo(sockaddr: tuple, flags: int) -> tuple[str, str]:
        ip, port = sockaddr[:2]
        name = ip if flags & _real.NI_NUMERICHOST else (_owner(host, ip) or ip)
        return name, str(port)

    def getdefaulttimeout() -> float | None:
        return proc.default_timeout

    def setdefaulttimeout(timeout: float | None) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError("Timeout value out of range")
        proc.default_timeout = None if timeout is None else float(timeout)

    def create_connection(address: tuple, timeout: Any = _DEFAULT, source_address: Any = None,
                          *, all_errors: bool = False) -> socket:
        hostname, port = address
        errors: list[OSError] = []
        for af, kind, proto, _canon, sa in getaddrinfo(hostname, port, 0, SOCK_STREAM):
            sock = None
            try:
                sock = socket(af, kind, proto)
                if timeout is not _DEFAULT:
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sa)
                return sock
            except OSError as exc:
                errors.append(exc)
                if sock is not None:
                    sock.close()
        if not errors:
            raise OSError("getaddrinfo returns an empty list")
        if all_errors:
            raise ExceptionGroup("create_connection failed", errors)
        raise errors[0]

    def create_server(address: tuple, *, family: int = AF_INET, backlog: int | None = None,
                      reuse_port: bool = False, dualstack_ipv6: bool = False) -> socket:
        sock = socket(family, SOCK_STREAM)
        try:
            sock.setsockopt(_real.SOL_SOCKET, _real.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(*([] if backlog is None else [backlog]))
        except BaseException:
            sock.close()
            raise
        return sock

    def refused(name: str) -> Any:
        def fn(*args: Any, **kwargs: Any) -> Any:
            raise NotVirtualisedError(f"socket.{name}", "a virtual host has no real file "
                                      "descriptors or pipes; use two sockets over the network")
        fn.__name__ = name
        return fn

    m.__dict__.update(
        socket=socket, SocketType=socket, getaddrinfo=getaddrinfo, gethostname=gethostname,
        gethostbyname=gethostbyname, gethostbyname_ex=gethostbyname_ex,
        gethostbyaddr=gethostbyaddr, getfqdn=getfqdn, getnameinfo=getnameinfo,
        getdefaulttimeout=getdefaulttimeout, setdefaulttimeout=setdefaulttimeout,
        create_connection=create_connection, create_server=create_server,
        has_ipv6=False, has_dualstack_ipv6=lambda: False,
        socketpair=refused("socketpair"), fromfd=refused("fromfd"), dup=refused("dup"),
        getservbyname=lambda name, proto=None: _service_port(name),
    )
    return m
