"""The base of every box on the network: a name, interfaces, and a receive hook."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ..net.interface import Interface

if TYPE_CHECKING:
    from ..sim.kernel import Kernel

__all__ = ["Node"]


class Node:
    """A device with interfaces named eth0, eth1, ... in the order links are made.

    Subclasses override :meth:`receive`. ``net`` is the owning :class:`netsim.Network` (or any
    object with ``kernel`` and ``allocate_mac()``), so devices can be tested on their own.
    """

    kind = "node"

    def __init__(self, net: Any, name: str):
        self.net = net
        self.name = name
        self.kernel: Kernel = net.kernel
        self.interfaces: list[Interface] = []

    def add_interface(self, mac: str | None = None) -> Interface:
        # Interned: every node's "eth0" is one string object, so hashing (iface name, ip)
        # keys reads a string that is in the cache (issue 16, flat networks), and a large
        # network keeps one copy.
        iface = Interface(self, sys.intern(f"eth{len(self.interfaces)}"),
                          mac or self.net.allocate_mac(), len(self.interfaces))
        self.interfaces.append(iface)
        return iface

    def iface(self, name: str | int) -> Interface:
        """The interface called ``name`` ("eth1") or with that index."""
        if isinstance(name, int):
            return self.interfaces[name]
        for iface in self.interfaces:
            if iface.name == name or iface.fullname == name:
                return iface
        raise KeyError(f"{self.name} has no interface {name!r}; it has "
                       f"{', '.join(i.name for i in self.interfaces) or 'none'}")

    def receive(self, iface: Interface, frame: bytes) -> str | None:
        """Handle a frame that arrived on ``iface``; return a note for the capture, or None."""
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
