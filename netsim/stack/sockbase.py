"""What UDP and TCP sockets on a virtual host share: descriptors, timeouts, blocking, options.

Both socket classes are shaped like Python's ``socket.socket``: same methods, same constants
(Python's own), same exceptions with the same errno values and messages (``os.strerror``, as
CPython uses). A new socket takes its timeout from ``socket.getdefaulttimeout()``, as
``socket.socket()`` does. Blocking calls yield to the simulation kernel; outside a task they
run the simulation until they can return. ``tests/stack/test_socket_parity.py`` runs the same
operations on these sockets and on real ones (loopback) and compares what each raises;
``docs/sockets.md`` has the table.

What CPython itself adds on top of the system calls is copied here too: ``recv(0)`` returns
``b""`` at once, ``MSG_DONTWAIT`` on a socket with a timeout waits for that timeout (CPython
polls first), ``makefile`` wraps the socket in ``socket.SocketIO``. A ``socket.socket``
method netsim does not model (``dup``, ``sendmsg``...) raises ``NotImplementedError`` naming
it, never ``AttributeError``.
"""

from __future__ import annotations

import errno
import io
import os
import socket as _pysocket
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..sim.kernel import Waiters
from ..sim.units import parse_time
from .sockopts import not_modelled_option, option_value, pack_option

if TYPE_CHECKING:
    from .services import IpServices

__all__ = ["SocketBase", "oserror", "parse_address", "option_value", "send_args"]


def oserror(code: int) -> OSError:
    """``OSError(code, strerror)``; CPython maps it to the right subclass (EAGAIN -> BlockingIOError)."""
    return OSError(code, os.strerror(code))


def parse_address(node: IpServices, address: Any, what: str) -> tuple[str, int]:
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
    return node.resolve(name), port


def send_args(args: tuple) -> tuple[int, Any]:
    """``sendto(data, address)`` or ``sendto(data, flags, address)``: ``(flags, address)``."""
    if len(args) == 1:
        return 0, args[0]
    if len(args) == 2:
        return args[0], args[1]
    raise TypeError(f"sendto() takes 2 or 3 arguments ({len(args) + 1} given)")


def _not_modelled(name: str, why: str) -> Callable[..., Any]:
    def method(self: SocketBase, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"netsim sockets do not model socket.{name}(): {why}")
    method.__name__ = name
    method.__doc__ = f"Not modelled ({why}): raises NotImplementedError."
    return method


class SocketBase(ABC):
    """The part of ``socket.socket`` that does not depend on the transport.

    Subclasses set the address fields and implement ``connect``, ``recv``, ``send``,
    ``_release`` (what closing frees), ``_take_error`` (SO_ERROR), ``_names`` (for the repr)
    and, for their own options, ``_setopt`` / ``_getopt``.
    """

    __slots__ = ("host", "family", "type", "proto", "reuseaddr", "_timeout", "_waiters", "_fd",
                 "_io_refs", "_closed", "__weakref__")

    #: "udp" or "tcp", for messages
    kind = "netsim"

    def __init__(self, host: IpServices, family: int, type: int, proto: int):
        self.host = host
        self.family = _pysocket.AddressFamily(family)
        self.type = _pysocket.SocketKind(type)
        self.proto = proto
        self.reuseaddr = False
        self._timeout: float | None = _pysocket.getdefaulttimeout()
        self._waiters = Waiters(host.kernel)
        self._fd = host.allocate_fd()
        self._io_refs = 0
        self._closed = False

    # -- for subclasses --------------------------------------------------------------------

    def _check(self) -> None:
        if self._fd < 0:
            raise oserror(errno.EBADF)

    def _wait(self, waiters: Waiters, ready: Callable[[], Any], what: str,
              dontwait: bool = False) -> None:
        """Block until ``ready()``, honouring the socket timeout as CPython does.

        ``dontwait`` (``MSG_DONTWAIT``) makes a blocking socket fail at once; on a socket with
        a timeout CPython polls for that long first, so the flag changes nothing there.

        Raises:
            BlockingIOError: EAGAIN on a non-blocking socket that is not ready.
            TimeoutError: "timed out" once the timeout has passed.
            OSError: EBADF when the socket was closed while waiting.
        """
        if ready():
            return
        if self._timeout == 0.0 or (dontwait and self._timeout is None):
            raise oserror(errno.EAGAIN)
        kernel = self.host.kernel
        deadline = None if self._timeout is None else kernel.now + parse_time(self._timeout)
        while True:  # ready() was just false: the first test of the loop is not repeated
            remaining = None if deadline is None else max(0, deadline - kernel.now)
            if kernel.in_task:
                waiters.wait(what, remaining)
            else:
                kernel.run_blocking(waiters.wait, what, remaining, name=what, node=self.host)
            self._check()
            if ready():
                return

    def wake_all(self) -> None:
        """Wake every task blocked on this socket (its protocol layer calls this)."""
        self._waiters.notify_all()

    @abstractmethod
    def _release(self) -> None:
        """Free what the socket holds (its port, its connection); called once, by close."""

    @abstractmethod
    def _take_error(self) -> int:
        """Return and clear the pending asynchronous error (0 when none)."""

    @abstractmethod
    def _names(self) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
        """``(local address, peer address)`` for the repr; None for an unset one."""

    def _setopt(self, level: int, option: int, value: int, raw: Any) -> bool:
        return False

    def _getopt(self, level: int, option: int) -> int | tuple[int, int] | None:
        return None

    # -- Python socket API -----------------------------------------------------------------

    @abstractmethod
    def connect(self, address: tuple[str, int]) -> None:
        """Connect to ``address`` (see the subclass for what that means)."""

    @abstractmethod
    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive up to ``bufsize`` bytes."""

    @abstractmethod
    def send(self, data: bytes, flags: int = 0) -> int:
        """Send ``data``."""

    def connect_ex(self, address: tuple[str, int]) -> int:
        """Like :meth:`connect` but returns an errno (0 on success) instead of raising."""
        try:
            self.connect(address)
        except OSError as exc:
            if exc.errno is None:
                raise
            return exc.errno
        return 0

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into a writable buffer; returns the number of bytes stored.

        Raises:
            ValueError: a negative ``nbytes``, or more than the buffer holds (CPython's words).
        """
        view = memoryview(buffer).cast("B")
        if nbytes < 0:
            raise ValueError("negative buffersize in recv_into")
        if nbytes == 0:
            nbytes = len(view)
        if len(view) < nbytes:
            raise ValueError("buffer too small for requested bytes")
        if nbytes == 0:
            self._check()
            return 0  # CPython asks for nothing and gets nothing
        data = self.recv(nbytes, flags)
        view[:len(data)] = data
        return len(data)

    def sendfile(self, file, offset: int = 0, count: int | None = None) -> int:
        """Send a binary file's contents with :meth:`send` (CPython's fallback when
        ``os.sendfile`` cannot be used); returns the number of bytes sent."""
        if "b" not in getattr(file, "mode", "b"):
            raise ValueError("file should be opened in binary mode")
        if not self.type & _pysocket.SOCK_STREAM:
            raise ValueError("only SOCK_STREAM type sockets are supported")
        if count is not None and (not isinstance(count, int) or count <= 0):
            raise ValueError(f"count must be a positive integer (got {count!r})")
        if offset:
            file.seek(offset)
        total = 0
        while count is None or total < count:
            chunk = file.read(min(8192, count - total) if count is not None else 8192)
            if not chunk:
                break
            self.sendall(chunk)
            total += len(chunk)
        if hasattr(file, "seek"):
            file.seek(offset + total)
        return total

    def sendall(self, data: bytes, flags: int = 0) -> None:
        """Send every byte of ``data`` (waiting for buffer space as needed)."""
        view = memoryview(data).cast("B")
        while view:
            n = self.send(view, flags)
            view = view[n:]

    def setsockopt(self, level: int, option: int, value: Any, optlen: int | None = None) -> None:
        """Set an option: SO_REUSEADDR here, the transport's own in the subclass.

        Raises:
            OSError: ENOPROTOOPT for an option Linux does not know either.
            NotImplementedError: an option Linux has but netsim does not model, named.
        """
        self._check()
        v = 0 if value is None else option_value(value)
        if level == _pysocket.SOL_SOCKET and option == _pysocket.SO_REUSEADDR:
            self.reuseaddr = bool(v)
        elif not self._setopt(level, option, v, value):
            raise not_modelled_option(level, option, self.kind) or oserror(errno.ENOPROTOOPT)

    def getsockopt(self, level: int, option: int, buflen: int | None = None) -> int | bytes:
        """Read an option set with :meth:`setsockopt`, or SO_TYPE / SO_ERROR (clears the error).

        With ``buflen``, the option's C value as that many bytes (as CPython returns it).
        """
        self._check()
        got: int | tuple[int, int] | None = None
        if level == _pysocket.SOL_SOCKET:
            if option == _pysocket.SO_REUSEADDR:
                got = int(self.reuseaddr)
            elif option == _pysocket.SO_TYPE:
                got = int(self.type)
            elif option == _pysocket.SO_ERROR:
                # Reading SO_ERROR clears the pending error (Linux sock_error()).
                got = self._take_error()
            elif option == getattr(_pysocket, "SO_DOMAIN", -1):
                got = int(self.family)
        if got is None:
            got = self._getopt(level, option)
        if got is None:
            raise not_modelled_option(level, option, self.kind) or oserror(errno.ENOPROTOOPT)
        return pack_option(got, buflen)

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

    def fileno(self) -> int:
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self) -> None:
        """Close the socket; later calls raise EBADF. Closing twice is harmless.

        As with ``socket.socket``, a file from :meth:`makefile` keeps the socket open until
        it is closed too.
        """
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def _real_close(self) -> None:
        if self._fd < 0:
            return
        self._fd = -1
        self._release()

    def _decref_socketios(self) -> None:
        # called by socket.SocketIO.close()
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed:
            self.close()

    def makefile(self, mode: str = "r", buffering: int | None = None, *,
                 encoding: str | None = None, errors: str | None = None,
                 newline: str | None = None):
        """A file object reading and writing through this socket, as ``socket.makefile``
        (the same ``socket.SocketIO`` underneath)."""
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
        writing = "w" in mode
        reading = "r" in mode or not writing
        binary = "b" in mode
        raw = _pysocket.SocketIO(self, ("r" if reading else "") + ("w" if writing else ""))
        self._io_refs += 1
        if buffering is None or buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if not binary:
                raise ValueError("unbuffered streams must be binary")
            return raw
        if reading and writing:
            buffer: Any = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if binary:
            return buffer
        text = io.TextIOWrapper(buffer, io.text_encoding(encoding), errors, newline)
        text.mode = mode
        return text

    def detach(self) -> int:
        """Put the socket in the closed state without closing what it holds; returns the fd."""
        self._closed = True
        fd, self._fd = self._fd, -1
        return fd

    dup = _not_modelled("dup", "a second descriptor of the same socket; share the object "
                        "itself between tasks instead")
    recvmsg = _not_modelled("recvmsg", "ancillary data; use recvfrom()")
    recvmsg_into = _not_modelled("recvmsg_into", "ancillary data; use recvfrom_into()")
    sendmsg = _not_modelled("sendmsg", "ancillary data; use sendto()")
    sendmsg_afalg = _not_modelled("sendmsg_afalg", "AF_ALG sockets")
    get_inheritable = _not_modelled("get_inheritable", "descriptors inherited by child "
                                    "processes (there are none)")
    set_inheritable = _not_modelled("set_inheritable", "descriptors inherited by child "
                                    "processes (there are none)")

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._fd < 0:
            return (f"<netsim.socket [closed] fd=-1, family={self.family!s}, "
                    f"type={self.type!s}, proto={self.proto}>")
        text = (f"<netsim.socket fd={self._fd}, family={self.family!s}, type={self.type!s}, "
                f"proto={self.proto}, host={self.host.name}")
        laddr, raddr = self._names()
        if laddr:
            text += f", laddr={laddr}"
        if raddr:
            text += f", raddr={raddr}"
        return text + self._repr_extra() + ">"

    def _repr_extra(self) -> str:
        return ""
