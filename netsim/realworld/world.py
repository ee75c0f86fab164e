"""Per-network bookkeeping for everything that touches the real world.

``net.realworld`` is a :class:`RealWorld` once anything asks for it: the one real-time pacer
of the network, the real interfaces and TAPs plugged in, and the port forwarder. Attaching
anything switches real time on for every later run: outside frames arrive in wall time, so
virtual time has to follow it. :meth:`RealWorld.close` (``net.detach()``) closes every
descriptor and gives the network back its ordinary, as-fast-as-possible runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..sim.units import parse_time
from .realtime import LagReport, RealtimePacer

__all__ = ["RealWorld", "realworld_of", "paced_run", "UNSET"]

UNSET: Any = object()


class RealWorld:
    """The pacer, attached ports and forwarder of one network."""

    def __init__(self, net: Any):
        self.net = net
        self.pacer = RealtimePacer()
        self.ports: list[Any] = []
        self.forwarder: Any = None
        self.realtime = False

    # -- real time -------------------------------------------------------------------------

    def set_realtime(self, enabled: bool = True, max_lag: Any = UNSET) -> None:
        """Pace every later run to the wall clock (or stop pacing)."""
        if max_lag is not UNSET:
            self.pacer.max_lag_ns = None if max_lag is None else parse_time(max_lag)
        if not enabled and self.pacer.has_sources:
            raise ValueError("real interfaces or forwarded ports are attached: their frames "
                             "arrive in wall time, so runs must be real time (net.detach() "
                             "first)")
        self.realtime = enabled
        self.net.kernel.pacer = self.pacer if enabled else None

    @property
    def lag(self) -> LagReport:
        return self.pacer.lag

    # -- what is attached ------------------------------------------------------------------

    def add_node(self, node: Any) -> Any:
        """Register a node the real world made (a port, the forwarding gateway)."""
        return self.net.add_node(node)

    def add_port(self, port: Any) -> None:
        self.ports.append(port)
        self.pacer.watch(port.io, port.on_readable)
        self.set_realtime(True)

    def close(self) -> None:
        """Close every real descriptor; later runs are ordinary (deterministic) ones."""
        for port in self.ports:
            self.pacer.unwatch(port.io)
            port.close()
        self.ports.clear()
        if self.forwarder is not None:
            self.forwarder.close()
            self.forwarder = None
        self.pacer.close()
        self.set_realtime(False)


def realworld_of(net: Any) -> RealWorld:
    """The network's :class:`RealWorld`, made on first use."""
    world = getattr(net, "realworld", None)
    if world is None:
        world = net.realworld = RealWorld(net)
    return world


@contextmanager
def paced_run(net: Any, realtime: bool | None, max_lag: Any = UNSET) -> Iterator[RealWorld]:
    """Pace (or not) one run, then put the network's own setting back."""
    world = realworld_of(net)
    before = (world.realtime, world.pacer.max_lag_ns)
    enabled = world.realtime if realtime is None else realtime
    world.set_realtime(enabled, max_lag)
    try:
        yield world
    finally:
        world.realtime = before[0]
        world.pacer.max_lag_ns = before[1]
        net.kernel.pacer = world.pacer if before[0] or world.pacer.has_sources else None
