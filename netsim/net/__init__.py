"""The physical layer: interfaces, full-duplex links and the half-duplex hub segment."""

from .interface import Interface, Tap
from .link import WIRE_OVERHEAD, Link
from .segment import Segment

__all__ = ["Interface", "Tap", "Link", "Segment", "WIRE_OVERHEAD"]
