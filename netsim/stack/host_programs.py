"""What programs on a host use: tasks, virtual time, sleeping, sockets, ping and traceroute.

A mixin of :class:`~netsim.stack.host.Host`, kept apart so the IP node itself (addresses,
input, output, forwarding) stays one readable module. Everything here reaches the node only
through ``self.kernel``, ``self.net`` and ``self.name``.
"""

from __future__ import annotations

import errno
import functools
import socket as _pysocket
from collections.abc import Callable
from typing import Any

from ..sim.kernel import Task
from ..sim.units import NS_PER_S, parse_time
from . import echo
from .sockbase import oserror
from .socket import UdpSocket
from .tasks import check_task_call
from .tcp_socket import TcpSocket

__all__ = ["HostPrograms"]


class HostPrograms:
    """Tasks, sockets and tools of a host (mixed into :class:`~netsim.stack.host.Host`)."""

    __slots__ = ()

    @property
    def now(self) -> int:
        """Virtual time in integer nanoseconds (as ``net.now``)."""
        return self.kernel.now

    @property
    def time(self) -> float:
        """Virtual time in seconds: what ``time.time()`` would say in a program."""
        return self.kernel.now / NS_PER_S

    def spawn(self, fn: Callable, *args: Any, at: str | float | None = None,
              name: str | None = None, **kwargs: Any) -> Task:
        """Run ``fn(*args, **kwargs)`` as a task on this host, like
        ``threading.Thread(target=fn, args=args).start()``: a threaded server needs one changed
        line. Use :meth:`spawn_with_host` for a function that takes the host first.

        Args:
            at: virtual time to start at (``"10ms"``); now when None.
            name: the task's name (in errors and ``net.blocked_tasks()``).

        Raises:
            TypeError: ``fn`` cannot take ``args`` (the message says whether
                ``spawn_with_host`` fits).
            ValueError: ``at`` is in the past.
        """
        check_task_call(self, "spawn", fn, args, kwargs)
        return self._spawn(fn, args, kwargs, at, name or getattr(fn, "__name__", "thread"))

    def spawn_with_host(self, fn: Callable, *args: Any, at: str | float | None = None,
                        name: str | None = None, **kwargs: Any) -> Task:
        """Run ``fn(host, *args, **kwargs)`` as a task on this host: a program written as
        ``def client(host): ...`` that reaches the network through ``host.socket``.

        Args and Raises: as :meth:`spawn` (the TypeError says whether ``spawn`` fits).
        """
        check_task_call(self, "spawn_with_host", fn, args, kwargs)
        return self._spawn(fn, (self, *args), kwargs, at, name or getattr(fn, "__name__", "task"))

    def _spawn(self, fn: Callable, args: tuple, kwargs: dict, at: str | float | None,
               name: str) -> Task:
        delay = 0
        if at is not None:
            delay = parse_time(at) - self.kernel.now
            if delay < 0:
                raise ValueError(f"cannot start {getattr(fn, '__name__', fn)!r} at {at!r}: "
                                 "that time has passed")
        target = functools.partial(fn, **kwargs) if kwargs else fn
        return self.kernel.spawn(target, *args, name=name, node=self, delay_ns=delay)

    def run_program(self, path: str, argv: list | None = None, **options: Any):
        """Run an unmodified Python program on this host (``python path argv...``), its
        ``socket``, ``time``, ``threading``, ``multiprocessing``... bound to this host and to
        virtual time. Options and the returned process: :func:`netsim.userland.run_program`."""
        from ..userland import run_program
        return run_program(self, path, argv, **options)

    def sleep(self, seconds: str | float) -> None:
        """Pause the current task for ``seconds`` of virtual time (``"10ms"`` works too)."""
        ns = parse_time(seconds)
        if self.kernel.in_task:
            self.kernel.sleep(ns)
        else:
            self.kernel.run_blocking(self.kernel.sleep, ns, name="sleep", node=self)

    # -- sockets and tools ------------------------------------------------------------------

    def allocate_fd(self) -> int:
        """A new socket descriptor: 3, 4, 5, ... (0-2 are stdin, stdout and stderr)."""
        fd = self._next_fd
        self._next_fd += 1
        return fd

    def log(self, kind: str, note: str) -> None:
        """Record a protocol event of this node in the network's trace."""
        self.net.log(self.name, kind, note)

    def socket(self, family: int = _pysocket.AF_INET, type: int = _pysocket.SOCK_DGRAM,
               proto: int = 0):
        """Create a socket like ``socket.socket(family, type, proto)``.

        Raises:
            OSError: EAFNOSUPPORT for a family other than AF_INET, EPROTONOSUPPORT for other
                types.
        """
        if family != _pysocket.AF_INET:
            raise oserror(errno.EAFNOSUPPORT)
        if type == _pysocket.SOCK_DGRAM:
            if proto not in (0, _pysocket.IPPROTO_UDP):
                raise oserror(errno.EPROTONOSUPPORT)
            return UdpSocket(self, family, type, proto)
        if type == _pysocket.SOCK_STREAM:
            return TcpSocket(self, family, type, proto)
        raise oserror(errno.EPROTONOSUPPORT)

    def ping(self, ip: str, count: int = 4, interval: float = 1.0, timeout: float = 1.0,
             size: int = 56, ttl: int | None = None):
        """Ping ``ip`` (ICMP echo) and return a :class:`netsim.stack.echo.PingResult`.

        Works inside a task or directly from a script (the simulation runs until it is done).
        """
        return self.kernel.run_blocking(echo.ping, self, ip, count, interval, timeout, size, ttl,
                                        name=f"ping {ip}", node=self)

    def traceroute(self, ip: str, max_hops: int = 30, probes: int = 1, timeout: float = 5.0):
        """Trace the route to ``ip`` with UDP probes; returns a ``TracerouteResult``."""
        return self.kernel.run_blocking(echo.traceroute, self, ip, max_hops, probes, timeout,
                                        name=f"traceroute {ip}", node=self)
