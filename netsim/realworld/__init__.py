"""The simulation meets the real world: real-time runs, real interfaces, forwarded ports, live captures.

* :mod:`.realtime`: a pacer that holds virtual time to the wall clock (``net.run(realtime=True)``)
  and lets events from outside in; lag reports; the hard limit.
* :mod:`.oslink` and :mod:`.port`: an AF_PACKET socket on an existing Linux interface or a TAP
  device as the far end of a simulated cable (``net.attach``, ``net.add_tap``).
* :mod:`.forward`: real UDP/TCP sockets relayed through a virtual gateway host (``net.forward``).
* :mod:`.live`: pcapng streamed to a pipe, FIFO or stdout (``net.capture(stream)``).

Imports are lazy: nothing here is loaded (or touches the OS) until a network asks for it.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["RealtimePacer", "LagReport", "RealtimeLagError", "RealPort", "RealWorldWarning",
           "MissingCapability", "LiveCapture", "LiveStream", "LiveReaderGone", "RealWorld",
           "parse_forward"]

_WHERE = {"RealtimePacer": "realtime", "LagReport": "realtime", "RealtimeLagError": "realtime",
          "RealPort": "port", "RealWorldWarning": "port", "MissingCapability": "oslink",
          "LiveCapture": "live", "LiveStream": "live", "LiveReaderGone": "live",
          "RealWorld": "world", "parse_forward": "forward"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
