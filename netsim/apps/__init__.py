"""Applications on top of the stack: ping and traceroute, and TFTP (a sans-I/O core with
drivers for real OS sockets and for virtual hosts)."""

from . import tftp
from .ping import PingResult, TracerouteResult, ping, traceroute

__all__ = ["PingResult", "TracerouteResult", "ping", "traceroute", "tftp"]
