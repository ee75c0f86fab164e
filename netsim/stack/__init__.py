"""A node's protocol stack: Host and Router (ARP, IPv4, ICMP, UDP sockets; TCP in ``tcp``).

``Host`` and ``Router`` live here rather than in ``devices`` because both are IP nodes built on
the same ARP/IPv4/ICMP code (docs/internals.md, "Host and Router").
"""

from __future__ import annotations

from .._lazy import lazy_exports

__all__ = ["Host", "Router", "Route", "ArpEntry", "IcmpError", "UdpSocket"]

# Lazy, so that the sans-I/O TCP core (``netsim.stack.tcp``) imports without the host stack.
__getattr__, __dir__ = lazy_exports(__name__, {
    ".arp": ("ArpEntry",),
    ".host": ("Host", "Router"),
    ".icmp": ("IcmpError",),
    ".routing": ("Route",),
    ".socket": ("UdpSocket",),
})
