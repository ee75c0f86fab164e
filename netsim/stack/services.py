"""Node services: what the protocol layers of a stack need from the node they run on.

ARP, ICMP, UDP, TCP and the sockets are written against these two protocols, never against
:class:`~netsim.stack.host.Host` itself, so a layer can be read (and tested) knowing only this
page. ``Host`` implements both; a test can pass any object with the same members.

:class:`NodeServices` is the link-level seam (ARP uses nothing else); :class:`IpServices` adds
the IP layer and the node's other protocol layers, which the transports and sockets use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..net.interface import Interface
    from ..sim.kernel import Kernel
    from ..wire.icmp import ICMP
    from ..wire.ipv4 import IPv4
    from .icmp import IcmpError, IcmpLayer
    from .routing import IfAddr
    from .tcp_layer import TcpLayer
    from .udp import UdpLayer

__all__ = ["NodeServices", "IpServices"]


class NodeServices(Protocol):
    """The node as its link-level layers see it.

    Attributes:
        name: the node's name, for notes and logs.
        kernel: the simulation kernel (clock, timers, the seeded RNG).
        counters: the node's stack counters (``host.stats()``); layers increment them.
    """

    name: str
    kernel: Kernel
    counters: dict[str, int]

    def transmit(self, iface: Interface, frame: bytes, comment: str | None = None) -> None:
        """Put an Ethernet frame on ``iface``.

        A frame produced while the node handles a received frame leaves after the node's
        processing latency; a frame sent later on the same interface waits behind it, so
        frames leave in the order the stack produced them.
        """
        ...

    def interface_address(self, iface: Interface) -> IfAddr | None:
        """The IPv4 address configured on ``iface``, or None."""
        ...

    def next_hop_unreachable(self, datagram: bytes, iface: Interface) -> None:
        """Neighbour resolution on ``iface`` gave up on ``datagram`` (its next hop never
        answered): the node tells the datagram's sender (ICMP host unreachable, RFC 1812
        4.3.3.1)."""
        ...

    def allocate_fd(self) -> int:
        """A new file descriptor number for a socket (3, 4, 5, ... per node)."""
        ...

    def log(self, kind: str, note: str) -> None:
        """Record a protocol event of this node in the network's trace (kind "arp", ...)."""
        ...


class IpServices(NodeServices, Protocol):
    """The node as its transports (ICMP, UDP, TCP), sockets and tools see it.

    Attributes:
        default_ttl: TTL of datagrams the node originates.
        icmp, udp, tcp: the node's other protocol layers (UDP reports port unreachable
            through ICMP; sockets bind through UDP and TCP).
    """

    default_ttl: int
    icmp: IcmpLayer
    udp: UdpLayer
    tcp: TcpLayer

    def ip_send(self, dst: str, proto: int, payload: bytes, src: str | None = None,
                ttl: int | None = None, tos: int = 0, df: bool = False,
                comment: str | None = None) -> None:
        """Route, fragment and send an IPv4 datagram (OSError ENETUNREACH, EMSGSIZE)."""
        ...

    def source_for(self, dst: str) -> str:
        """The source address the node uses towards ``dst`` (OSError ENETUNREACH)."""
        ...

    def is_local(self, ip: str) -> bool:
        """True for one of the node's addresses or a loopback address."""
        ...

    def is_broadcast(self, ip: str) -> bool:
        """True for 255.255.255.255 and the directed broadcast of an attached subnet."""
        ...

    def resolve(self, name: str) -> str:
        """A socket address (dotted quad, "", "<broadcast>", "localhost", a node name) as an
        address (socket.gaierror for an unknown name)."""
        ...

    def name_of(self, ip: str) -> str | None:
        """The name of the node owning ``ip`` (a stand-in for reverse DNS), or None."""
        ...

    def register_protocol(self, proto: int,
                          handler: Callable[[IPv4, Interface | None], str | None]) -> None:
        """Deliver datagrams of IP protocol ``proto`` to ``handler(ip, iface)``."""
        ...

    def register_icmp_error_handler(self, proto: int,
                                    handler: Callable[[IcmpError], None]) -> None:
        """Hand ICMP errors quoting a datagram of protocol ``proto`` to ``handler``."""
        ...

    def add_icmp_listener(self, fn: Callable[[IPv4, ICMP], None]) -> Callable[[], None]:
        """Show every ICMP message the node receives to ``fn(ip, icmp)``; returns a remover."""
        ...
