"""The TCP protocol core: sans-I/O connections, a listener, and a packetdrill-style runner.

Public names: :class:`Connection`, :class:`Listener`, :class:`TcpConfig` (with Linux sysctl
names, :data:`SYSCTLS`), the event classes (:class:`CongestionUpdate` traces cwnd, ssthresh,
the RTT estimate and the recovery state), :class:`State`, :func:`rst_for`, and
:mod:`.states`' diagram helpers; congestion-control modules are in :mod:`.cc`. See
``connection.py`` for how a driver feeds segments and timers in and takes segments and
events out.
"""

from __future__ import annotations

from .config import SYSCTLS
from .connection import Connection
from .events import (
                     CongestionUpdate,
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
           "DataAvailable", "Eof", "Error", "Reset", "Writable", "TcpEvent", "CongestionUpdate",
           "SYSCTLS"]
