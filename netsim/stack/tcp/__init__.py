"""The TCP protocol core: sans-I/O connections, a listener, and a packetdrill-style runner.

Public names: :class:`Connection`, :class:`Listener`, :class:`TcpConfig`, the event classes,
:class:`State`, :func:`rst_for`, and :mod:`.states`' diagram helpers. See ``connection.py``
for how a driver feeds segments and timers in and takes segments and events out.
"""

from __future__ import annotations

from .connection import Connection
from .events import (
                     Connected,
                     DataAvailable,
                     Eof,
                     Error,
                     Reset,
                     StateChange,
                     TcpConfig,
                     TcpEvent,
                     Writable,
)
from .listener import Listener
from .segment import rst_for, seg_len
from .states import TRANSITIONS, Ev, State, TcpStateError, to_dot, to_text

__all__ = ["Connection", "Listener", "TcpConfig", "State", "Ev", "TRANSITIONS", "TcpStateError",
           "to_dot", "to_text", "rst_for", "seg_len", "StateChange", "Connected",
           "DataAvailable", "Eof", "Error", "Reset", "Writable", "TcpEvent"]
