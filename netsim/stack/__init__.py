"""A node's protocol stack: Host and Router (ARP, IPv4, ICMP, UDP sockets; TCP in ``tcp``).

``Host`` and ``Router`` live here rather than in ``devices`` because both are IP nodes built on
the same ARP/IPv4/ICMP code (docs/internals.md, "Host and Router").
"""

from __future__ import annotations

from .arp import ArpEntry
from .host import Host, Router
from .icmp import IcmpError
from .routing import Route
from .socket import UdpSocket

__all__ = ["Host", "Router", "Route", "ArpEntry", "IcmpError", "UdpSocket"]
