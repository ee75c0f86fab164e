"""Capture files: streaming pcapng and pcap writers, and a reader for both formats."""

from .pcap import PcapWriter
from .pcapng import LINKTYPE_ETHERNET, PcapngWriter
from .reader import CapturedFrame, read_capture

__all__ = ["CapturedFrame", "LINKTYPE_ETHERNET", "PcapWriter", "PcapngWriter", "read_capture"]
