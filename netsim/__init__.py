"""netsim: a network protocol simulator and packet lab.

Hosts, hubs, switches and routers exchange real Ethernet/ARP/IPv4/ICMP/UDP/TCP/TFTP bytes in
deterministic virtual time; programs on virtual hosts are plain blocking socket code.

    >>> from netsim import Network
    >>> net = Network(seed=1)
"""

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

from .network import Network, NetworkCapture
from .wire.errors import DecodeError

__version__ = "0.1.0"

__all__ = ["Network", "NetworkCapture", "DecodeError", "AF_INET", "SOCK_DGRAM", "SOCK_STREAM",
           "SOL_SOCKET", "SO_BROADCAST", "SO_REUSEADDR", "IPPROTO_TCP", "IPPROTO_UDP",
           "TCP_NODELAY", "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "__version__"]
