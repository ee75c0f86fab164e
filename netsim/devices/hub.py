"""A hub: a multiport repeater. Every port shares one half-duplex collision domain.

The hub itself makes no decisions: the :class:`netsim.net.segment.Segment` behind it runs
CSMA/CD for the stations and repeats each successfully sent frame out of every other port.
What the hub adds is the bookkeeping a student looks at: the ``repeated to 3 ports`` note on
the frame coming in, and its ``repeated`` and ``collisions`` counters.
"""

from __future__ import annotations

from typing import Any

from ..net.interface import Interface
from ..net.segment import Segment
from .node import Node

__all__ = ["Hub"]


class Hub(Node):
    """A repeater hub (IEEE 802.3 clause 9).

    Args:
        net: the owning network (or any object with ``kernel`` and ``allocate_mac()``).
        name: the node name, e.g. ``"hub1"``.
    """

    kind = "hub"

    def __init__(self, net: Any, name: str):
        super().__init__(net, name)
        self.segment: Segment | None = None
        self.repeated = 0
        self.collisions = 0   # collided attempts by stations plugged into this hub

    def connect(self, port: Interface, other: Interface, *, bandwidth_bps: int, delay_ns: int,
                loss: float = 0.0, mtu: int = 1500, queue_len: int = 100,
                duplicate: float = 0.0, reorder: float = 0.0) -> Segment:
        """Plug the cable whose ends are our ``port`` and ``other`` into the collision domain.

        ``other`` is a station (host NIC, switch or router port) or a port of another hub, in
        which case the two hubs' domains merge.

        Args:
            port: one of this hub's interfaces.
            other: the interface at the far end of the cable.
            bandwidth_bps: bit rate; every cable of a collision domain must share it.
            delay_ns: propagation delay of the cable.
            loss: probability that a frame is spoilt on this cable (the station's cable only).
            mtu: largest payload the station may send.
            queue_len: frames the station's transmit queue holds behind the one on the wire.
            duplicate: must be 0: a shared wire cannot duplicate frames.
            reorder: must be 0: a shared wire cannot reorder frames.

        Returns:
            The :class:`Segment`, which is now the ``medium`` of both interfaces.

        Raises:
            ValueError: unsupported parameters, mixed bit rates, or a loop of hubs.
        """
        if port.node is not self:
            raise ValueError(f"{port.fullname} is not a port of {self.name}")
        if duplicate or reorder:
            raise ValueError(f"{self.name}: a hub's shared medium cannot duplicate or reorder "
                             "frames; use a switch and a point-to-point link for that")
        other_hub = other.node if isinstance(other.node, Hub) else None
        if other_hub is not None and loss:
            raise ValueError(f"loss on a hub-to-hub cable ({self.name}-{other_hub.name}) is not "
                             "modelled; put the loss on a station's cable")
        segment = self.segment or (other_hub.segment if other_hub is not None else None)
        if segment is None:
            segment = Segment(self.kernel, bandwidth_bps)
        if segment.bandwidth_bps != bandwidth_bps:
            raise ValueError(f"{self.name}: every cable of a collision domain must run at "
                             f"{segment.bandwidth_bps} bit/s, not {bandwidth_bps}")
        segment.add_hub(self)
        if other_hub is None:
            segment.attach(other, port, delay_ns=delay_ns, loss=loss, mtu=mtu,
                           queue_len=queue_len)
            return segment
        if other_hub.segment is not None and other_hub.segment is not segment:
            segment.merge(other_hub.segment)
        segment.add_trunk(port, other, delay_ns)
        return segment

    def receive(self, iface: Interface, frame: bytes) -> str:
        """A frame fully reached ``iface``; the segment repeats it. Returns the capture note."""
        self.repeated += 1
        n = sum(1 for p in self.interfaces if p is not iface and p.medium is not None)
        return f"repeated to {n} port{'s' if n != 1 else ''}"

    def stats(self) -> dict[str, Any]:
        """Counters: frames repeated, collided attempts of stations on this hub, ports in use."""
        return {"repeated": self.repeated, "collisions": self.collisions,
                "ports": sum(1 for p in self.interfaces if p.medium is not None)}
