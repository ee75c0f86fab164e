"""netsim: a network protocol simulator and packet lab.

Hosts, hubs, switches and routers exchange real Ethernet/ARP/IPv4/ICMP/UDP/TCP/TFTP bytes in
deterministic virtual time; programs on virtual hosts are plain blocking socket code.

    >>> from netsim import Network
    >>> net = Network(seed=1)
"""

from __future__ import annotations

from socket import (
    AF_INET,
    IPPROTO_TCP,
    IPPROTO_UDP,
    SHUT_RD,
    SHUT_RDWR,
    SHUT_WR,
    SO_BROADCAST,
    SO_REUSEADDR,
    SOCK_DGRAM,
    SOCK_STREAM,
    SOL_SOCKET,
    TCP_NODELAY,
)

from ._lazy import lazy_exports

__version__ = "0.1.0"

__all__ = ["Network", "NetworkCapture", "DecodeError", "AF_INET", "SOCK_DGRAM", "SOCK_STREAM",
           "SOL_SOCKET", "SO_BROADCAST", "SO_REUSEADDR", "IPPROTO_TCP", "IPPROTO_UDP",
           "TCP_NODELAY", "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "__version__"]

# Lazy, so that ``import netsim.wire`` (or any codec or sans-I/O core) does not load the whole
# simulator: ``netsim.Network`` imports it on first use.
__getattr__, __dir__ = lazy_exports(__name__, {
    ".network": ("Network", "NetworkCapture"),
    ".wire.errors": ("DecodeError",),
})
