"""A network interface: a MAC address on a medium, with counters and capture taps.

An interface is where bytes leave and enter a node. It knows nothing of protocols: it counts,
shows each frame to its taps (captures, the trace log) and hands received frames to its node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..sim.kernel import Kernel

__all__ = ["Interface", "InterfaceOwner", "Tap", "TapList"]

# tap(iface, time_ns, frame, direction ("in" | "out" | "drop" | "collision"), comment) -> None
Tap = Callable[["Interface", int, bytes, str, "str | None"], None]


class InterfaceOwner(Protocol):
    """What an interface needs from the box it belongs to (:class:`netsim.devices.Node` is one).

    Declared here, below the devices, so that ``net`` never imports ``devices``.
    """

    name: str
    kernel: Kernel

    def receive(self, iface: Interface, frame: bytes) -> str | None:
        """Handle a frame delivered to ``iface``; the returned note becomes its capture comment."""


class TapList(list):
    """``iface.taps``: a list that tells its interface when a tap may have been added, so a
    flood stops counting the interface's receptions in bulk (:mod:`netsim.net.bulk`)."""

    __slots__ = ("owner",)

    def __init__(self, owner: Interface):
        super().__init__()
        self.owner = owner

    def _added(self) -> None:
        rec = self.owner.bulk
        if rec is not None and self:
            rec.leave()

    def append(self, tap: Tap) -> None:
        list.append(self, tap)
        self._added()

    def extend(self, taps) -> None:
        list.extend(self, taps)
        self._added()

    def insert(self, index: int, tap: Tap) -> None:
        list.insert(self, index, tap)
        self._added()

    def __setitem__(self, index, value) -> None:
        list.__setitem__(self, index, value)
        self._added()

    def __iadd__(self, taps):
        list.extend(self, taps)
        self._added()
        return self

    def __imul__(self, n: int):
        list.__imul__(self, n)
        self._added()
        return self

    def __reduce_ex__(self, protocol: int):
        return (list, (list(self),))


class Interface:
    """One NIC (or switch/hub/router port): ``h1-eth0`` with MAC ``02:00:00:00:00:01``."""

    __slots__ = ("node", "name", "_fullname", "mac", "mac_bytes", "medium", "index",
                 "tx_frames", "tx_bytes", "_rx_frames", "_rx_bytes", "drops", "collisions",
                 "taps", "up", "promiscuous", "bulk", "__weakref__")

    def __init__(self, node: InterfaceOwner, name: str, mac: str, index: int):
        self.node = node
        self.name = name
        # "h1-eth0", made when first asked for (captures, stats, repr): a string per interface
        # that most interfaces of a large network never need (issue 16: per-host memory).
        self._fullname: str | None = None
        # lower case, as decoded frames spell it: Host._receive compares the two strings
        self.mac = mac = mac.lower()
        self.mac_bytes = bytes.fromhex(mac.replace(":", ""))
        self.index = index
        self.medium: Any = None
        self.tx_frames = self.tx_bytes = self._rx_frames = self._rx_bytes = 0
        self.drops = self.collisions = 0
        # mutated in place (append/remove), never replaced: it tells a flood ledger
        self.taps: list[Tap] = TapList(self)
        # the netsim.net.bulk.Member that owes this interface quiet receptions, if any
        self.bulk: Any = None
        self.up = True
        # A NIC normally drops unicast frames for other MACs before the OS sees them; a
        # capture still shows them (Wireshark puts the NIC in promiscuous mode).
        self.promiscuous = False

    @property
    def fullname(self) -> str:
        """``h1-eth0``: the node's name and the interface's (what captures call it)."""
        name = self._fullname
        if name is None:
            name = self._fullname = f"{self.node.name}-{self.name}"
        return name

    @fullname.setter
    def fullname(self, value: str) -> None:
        self._fullname = value

    # Received frames and bytes: what was delivered, plus what a flood ledger still owes
    # (netsim.net.bulk); the medium and flood paths add to _rx_frames/_rx_bytes directly.
    @property
    def rx_frames(self) -> int:
        if self.bulk is not None:
            self.bulk.settle()
        return self._rx_frames

    @rx_frames.setter
    def rx_frames(self, value: int) -> None:
        if self.bulk is not None:
            self.bulk.settle()
        self._rx_frames = value

    @property
    def rx_bytes(self) -> int:
        if self.bulk is not None:
            self.bulk.settle()
        return self._rx_bytes

    @rx_bytes.setter
    def rx_bytes(self, value: int) -> None:
        if self.bulk is not None:
            self.bulk.settle()
        self._rx_bytes = value

    @property
    def kernel(self):
        return self.node.kernel

    @property
    def connected(self) -> bool:
        return self.medium is not None

    @property
    def peer(self) -> Interface | None:
        """The interface at the other end of a point-to-point link (None on a hub segment)."""
        medium = self.medium
        return medium.peer_of(self) if medium is not None else None

    def send(self, frame: bytes, comment: str | None = None) -> None:
        """Queue ``frame`` for transmission on this interface's medium."""
        if self.medium is None or not self.up:
            self.drops += 1
            self.tap(frame, "drop", "dropped: interface not connected" if self.up else "dropped: interface down")
            return
        self.medium.transmit(self, frame, comment)

    # Called by the medium ---------------------------------------------------------------

    def transmitted(self, frame: bytes, comment: str | None) -> None:
        """The medium put ``frame`` on the wire from this interface."""
        self.tx_frames += 1
        self.tx_bytes += len(frame)
        if self.taps:
            for tap in self.taps:
                tap(self, self.node.kernel.now, frame, "out", comment)

    def deliver(self, frame: bytes) -> None:
        """The medium delivered ``frame`` to this interface: count, hand to the node, tap."""
        self._rx_frames += 1
        self._rx_bytes += len(frame)
        note = self.node.receive(self, frame)
        if self.taps:
            for tap in self.taps:
                tap(self, self.node.kernel.now, frame, "in", note)

    def tap(self, frame: bytes, direction: str, comment: str | None) -> None:
        """Show a frame that did not cross the wire (a drop) to the taps."""
        if self.taps:
            now = self.node.kernel.now
            for tap in self.taps:
                tap(self, now, frame, direction, comment)

    def counters(self) -> dict[str, int]:
        return {"tx_frames": self.tx_frames, "tx_bytes": self.tx_bytes,
                "rx_frames": self.rx_frames, "rx_bytes": self.rx_bytes,
                "drops": self.drops, "collisions": self.collisions}

    def __repr__(self) -> str:
        return f"<Interface {self.fullname} {self.mac}>"
