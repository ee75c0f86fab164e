"""TFTP: a sans-I/O core (``session``, ``options``) with drivers for real OS sockets
(``os_driver``: a selectors server and a blocking client), for the simulator (``sim_driver``),
and the ``tftp`` command line (``cli``)."""

from __future__ import annotations

from netsim.apps.tftp.options import Negotiated, OptionError, negotiate
from netsim.apps.tftp.session import (
    Session,
    State,
    Stats,
    client_read,
    client_write,
    server_read,
    server_write,
)

__all__ = [
    "Negotiated", "OptionError", "negotiate", "Session", "State", "Stats",
    "client_read", "client_write", "server_read", "server_write",
]
