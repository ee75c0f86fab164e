"""Applications on top of the stack: TFTP (a sans-I/O core with drivers for real OS sockets
and for virtual hosts); ping and traceroute, whose engine is ``netsim.stack.echo``."""

from ..stack.echo import PingResult, TracerouteResult, ping, traceroute
from . import tftp

__all__ = ["PingResult", "TracerouteResult", "ping", "traceroute", "tftp"]
