"""Layer-2 devices: the Node base class, the repeater Hub and the learning Switch.

Hosts and routers (IP nodes) live in :mod:`netsim.stack`.
"""

from .hub import Hub
from .node import Node
from .switch import MacEntry, MacTable, Switch

__all__ = ["Node", "Hub", "Switch", "MacTable", "MacEntry"]
