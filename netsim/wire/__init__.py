"""Wire formats: byte-exact codecs for Ethernet II (+802.1Q), ARP, IPv4, ICMP, UDP, TCP, TFTP.

Each header module has ``decode(buf)`` and a small value class with ``encode()``; addresses are
strings; lengths and checksums are computed on encode when left None. Bad input raises only
:class:`DecodeError`. ``decode_frame`` chains the layers of a captured frame.
"""

from __future__ import annotations

from . import addr, arp, checksum, ethernet, icmp, ipv4, tcp, tftp, udp
from .addr import (
    BROADCAST_IP,
    BROADCAST_MAC,
    ZERO_IP,
    ZERO_MAC,
    int_to_ip,
    ip_str,
    ip_to_bytes,
    ip_to_int,
    mac_str,
    mac_to_bytes,
)
from .arp import ARP, ARP_REPLY, ARP_REQUEST
from .checksum import internet_checksum, ones_sum, pseudo_header_sum
from .errors import DecodeError
from .ethernet import ETH_ARP, ETH_IPV4, ETH_IPV6, ETH_VLAN, MIN_FRAME_LEN, Ethernet, EtherType
from .frame import Frame, decode_frame
from .icmp import ICMP, ICMPType
from .ipv4 import PROTO_ICMP, PROTO_TCP, PROTO_UDP, IPProto, IPv4
from .tcp import ACK, CWR, ECE, FIN, NS, PSH, RST, SYN, TCP, URG, flags_str, tcp_option
from .udp import UDP

__all__ = [
    "DecodeError", "decode_frame", "Frame",
    "Ethernet", "EtherType", "ARP", "IPv4", "IPProto", "ICMP", "ICMPType", "UDP", "TCP",
    "addr", "arp", "checksum", "ethernet", "icmp", "ipv4", "tcp", "udp", "tftp",
    "BROADCAST_MAC", "ZERO_MAC", "BROADCAST_IP", "ZERO_IP",
    "mac_str", "mac_to_bytes", "ip_str", "ip_to_bytes", "ip_to_int", "int_to_ip",
    "internet_checksum", "ones_sum", "pseudo_header_sum",
    "ETH_IPV4", "ETH_ARP", "ETH_VLAN", "ETH_IPV6", "MIN_FRAME_LEN", "ARP_REQUEST", "ARP_REPLY",
    "PROTO_ICMP", "PROTO_TCP", "PROTO_UDP",
    "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS", "flags_str", "tcp_option",
]
