"""What UDP and TCP sockets on a virtual host share: descriptors, timeouts, blocking, options.

Both socket classes are shaped like Python's ``socket.socket``: same methods, same constants
(Python's own), same exceptions with the same errno values and messages (``os.strerror``, as
CPython uses). A new socket takes its timeout from ``socket.getdefaulttimeout()``, as
``socket.socket()`` does. Blocking calls yield to the simulation kernel; outside a task they
run the simulation until they can return.
"""

from __future__ import annotations

import errno
import os
import socket as _pysocket
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..sim.kernel import Waiters
from ..sim.units import parse_time

if TYPE_CHECKING:
    from .services import IpServices

__all__ = ["SocketBase", "oserror", "parse_address"]


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


def option_value(value: Any) -> int:
    """A ``setsockopt`` value as an int: an int, a bool, or bytes in host (little) byte order."""
    if isinstance(value, (bytes, bytearray)):
        return int.from_bytes(value, "little")
    return int(value)


class SocketBase(ABC):
    """The part of ``socket.socket`` that does not depend on the transport.

    Subclasses set the address fields and implement ``connect``, ``recv``, ``_release``
    (what closing frees), ``_take_error`` (SO_ERROR), ``_names`` (for the repr) and, for their
    own options, ``_setopt`` / ``_getopt``.
    """

    # Options whose value is text, not a number (TCP_CONGESTION: b"cubic"): passed on as given.
    _RAW_OPTIONS: frozenset[tuple[int, int]] = frozenset()

    __slots__ = ("host", "family", "type", "proto", "reuseaddr", "_timeout", "_waiters", "_fd",
                 "__weakref__")

    def __init__(self, host: IpServices, family: int, type: int, proto: int):
        self.host = host
        self.family = _pysocket.AddressFamily(family)
        self.type = _pysocket.SocketKind(type)
        self.proto = proto
        self.reuseaddr = False
        self._timeout: float | None = _pysocket.getdefaulttimeout()
        self._waiters = Waiters(host.kernel)
        self._fd = host.allocate_fd()

    # -- for subclasses --------------------------------------------------------------------

    def _check(self) -> None:
        if self._fd < 0:
            raise oserror(errno.EBADF)

    def _wait(self, waiters: Waiters, ready: Callable[[], Any], what: str) -> None:
        """Block until ``ready()``, honouring the socket timeout as CPython does.

        Raises:
            BlockingIOError: EAGAIN on a non-blocking socket that is not ready.
            TimeoutError: "timed out" once the timeout has passed.
            OSError: EBADF when the socket was closed while waiting.
        """
        if ready():
            return
        if self._timeout == 0.0:
            raise oserror(errno.EAGAIN)
        kernel = self.host.kernel
        deadline = None if self._timeout is None else kernel.now + parse_time(self._timeout)
        while not ready():
            remaining = None if deadline is None else max(0, deadline - kernel.now)
            if kernel.in_task:
                waiters.wait(what, remaining)
            else:
                kernel.run_blocking(waiters.wait, what, remaining, name=what, node=self.host)
            self._check()

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

    def _setopt(self, level: int, option: int, value: int) -> bool:
        return False

    def _getopt(self, level: int, option: int, buflen: int | None = None) -> Any:
        return None

    # -- Python socket API -----------------------------------------------------------------

    @abstractmethod
    def connect(self, address: tuple[str, int]) -> None:
        """Connect to ``address`` (see the subclass for what that means)."""

    @abstractmethod
    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        """Receive up to ``bufsize`` bytes."""

    def connect_ex(self, address: tuple[str, int]) -> int:
        """Like :meth:`connect` but returns an errno (0 on success) instead of raising."""
        try:
            self.connect(address)
        except OSError as exc:
            return exc.errno or errno.EIO
        return 0

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Receive into a writable buffer; returns the number of bytes stored."""
        view = memoryview(buffer)
        data = self.recv(nbytes or len(view), flags)
        view[:len(data)] = data
        return len(data)

    def setsockopt(self, level: int, option: int, value: Any, optlen: int | None = None) -> None:
        """Set an option: SO_REUSEADDR here, the transport's own in the subclass.

        Raises:
            OSError: ENOPROTOOPT for an option the socket does not have.
        """
        self._check()
        v = value if (level, option) in self._RAW_OPTIONS else option_value(value)
        if level == _pysocket.SOL_SOCKET and option == _pysocket.SO_REUSEADDR:
            self.reuseaddr = bool(v)
        elif not self._setopt(level, option, v):
            raise oserror(errno.ENOPROTOOPT)

    def getsockopt(self, level: int, option: int, buflen: int | None = None) -> Any:
        """Read an option set with :meth:`setsockopt`, or SO_TYPE / SO_ERROR (clears the error)."""
        self._check()
        if level == _pysocket.SOL_SOCKET:
            if option == _pysocket.SO_REUSEADDR:
                return int(self.reuseaddr)
            if option == _pysocket.SO_TYPE:
                return int(self.type)
            if option == _pysocket.SO_ERROR:
                # Reading SO_ERROR clears the pending error (Linux sock_error()).
                return self._take_error()
        got = self._getopt(level, option, buflen)
        if got is None:
            raise oserror(errno.ENOPROTOOPT)
        return got

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
        """Close the socket; later calls raise EBADF. Closing twice is harmless."""
        if self._fd < 0:
            return
        self._fd = -1
        self._release()

    def detach(self) -> int:
        """Put the socket in the closed state without closing what it holds; returns the fd."""
        fd, self._fd = self._fd, -1
        return fd

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
