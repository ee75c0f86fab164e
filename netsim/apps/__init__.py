"""Applications on top of the stack: ping and traceroute, TFTP (sans-I/O core and drivers)."""

from .ping import PingResult, TracerouteResult, ping, traceroute

__all__ = ["PingResult", "TracerouteResult", "ping", "traceroute"]
