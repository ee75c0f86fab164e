"""Applications on top of the stack: TFTP (a sans-I/O core with drivers for real OS sockets
and for virtual hosts); ping and traceroute, whose engine is ``netsim.stack.echo``."""

from __future__ import annotations

from .._lazy import lazy_exports

__all__ = ["PingResult", "TracerouteResult", "ping", "traceroute", "tftp"]

# Lazy, so that the sans-I/O TFTP core (``netsim.apps.tftp``) imports without the host stack.
__getattr__, __dir__ = lazy_exports(__name__, {
    ".": ("tftp",),
    "..stack.echo": ("PingResult", "TracerouteResult", "ping", "traceroute"),
})
