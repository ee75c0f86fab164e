"""ARP for IPv4 over Ethernet (RFC 826).

Wire layout::

    offset  size  field
    0       2     hardware type (1 = Ethernet)
    2       2     protocol type (0x0800 = IPv4)
    4       1     hardware address length (6)
    5       1     protocol address length (4)
    6       2     operation (1 request, 2 reply)
    8       6     sender hardware address (sha)
    14      4     sender protocol address (spa)
    18      6     target hardware address (tha)
    24      4     target protocol address (tpa)
"""

from __future__ import annotations

import struct

from ._base import OpenEnum, WireValue, blank, lookup, open_enum, pack_error
from .addr import ZERO_MAC, ip_str, ip_to_bytes, mac_str, mac_to_bytes
from .errors import DecodeError

__all__ = ["ARP", "ArpOp", "decode", "from_fields", "ARP_REQUEST", "ARP_REPLY", "ARP_LEN",
           "HTYPE_ETHERNET"]

ARP_REQUEST = 1
ARP_REPLY = 2
HTYPE_ETHERNET = 1
ARP_LEN = 28

_ARP = struct.Struct("!HHBBH6s4s6s4s")
_unpack = _ARP.unpack_from


class ArpOp(OpenEnum):
    """ARP operation codes; unknown ones become ``op 0x0009``-style pseudo-members."""

    REQUEST = 1
    REPLY = 2
    RARP_REQUEST = 3
    RARP_REPLY = 4


_OPS = open_enum(ArpOp, "op", 16)


class ARP(WireValue):
    """An ARP packet for IPv4 over Ethernet.

    Args:
        op: ARP_REQUEST or ARP_REPLY (any 16-bit number is kept).
        sha, spa: sender MAC and IPv4 address.
        tha, tpa: target MAC (zeros in a request) and IPv4 address.
        htype, ptype: hardware and protocol types, normally 1 and 0x0800.
    """

    __slots__ = ("op", "sha", "spa", "tha", "tpa", "htype", "ptype")
    _fields = __slots__
    layer_name = "Address Resolution Protocol"

    def __init__(self, op: int, sha: str, spa: str, tha: str = ZERO_MAC, tpa: str = "0.0.0.0",
                 htype: int = HTYPE_ETHERNET, ptype: int = 0x0800):
        self.op = op
        self.sha = sha
        self.spa = spa
        self.tha = tha
        self.tpa = tpa
        self.htype = htype
        self.ptype = ptype

    @classmethod
    def decode(cls, buf: bytes) -> ARP:
        """Decode an ARP packet; see :func:`decode`."""
        return decode(buf)

    def encode(self) -> bytes:
        """Return the 28 ARP bytes (Ethernet pads the frame).

        Raises:
            ValueError: a bad address string or a field out of range.
        """
        try:
            return _ARP.pack(self.htype, self.ptype, 6, 4, self.op, mac_to_bytes(self.sha),
                             ip_to_bytes(self.spa), mac_to_bytes(self.tha), ip_to_bytes(self.tpa))
        except struct.error as exc:
            raise pack_error("ARP", exc) from None

    @property
    def is_gratuitous(self) -> bool:
        """True when sender and target protocol addresses are equal (RFC 5227 announcements)."""
        return self.spa == self.tpa

    def summary(self) -> str:
        """Wireshark-style text: ``Who has 10.0.0.2? Tell 10.0.0.1`` / ``10.0.0.2 is at ...``."""
        if self.op == ARP_REQUEST:
            if self.is_gratuitous:
                return f"Gratuitous ARP for {self.spa} (Request)"
            return f"Who has {self.tpa}? Tell {self.spa}"
        if self.op == ARP_REPLY:
            return f"{self.spa} is at {self.sha}"
        return f"ARP {lookup(_OPS, ArpOp, self.op).name} {self.spa} -> {self.tpa}"

    def describe(self) -> list[str]:
        """Tree lines."""
        return [f"Hardware type: {self.htype}", f"Protocol type: 0x{self.ptype:04x}",
                "Hardware size: 6", "Protocol size: 4",
                f"Opcode: {lookup(_OPS, ArpOp, self.op).name} ({int(self.op)})",
                f"Sender MAC address: {self.sha}", f"Sender IP address: {self.spa}",
                f"Target MAC address: {self.tha}", f"Target IP address: {self.tpa}"]


_blank = blank(ARP)


def decode(buf: bytes) -> ARP:
    """Decode an ARP packet; bytes after the 28th (Ethernet padding) are ignored.

    Raises:
        DecodeError: shorter than 28 bytes, or address lengths other than 6 and 4.
    """
    if type(buf) is not bytes:
        buf = bytes(buf)
    if len(buf) < ARP_LEN:
        raise DecodeError("ARP", "header", 0,
                          f"packet is {len(buf)} bytes, shorter than the {ARP_LEN} bytes of "
                          "Ethernet/IPv4 ARP")
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _unpack(buf)
    if hlen != 6:
        raise DecodeError("ARP", "hlen", 4, f"hardware address length {hlen} is not 6 "
                          "(only Ethernet ARP is supported)")
    if plen != 4:
        raise DecodeError("ARP", "plen", 5, f"protocol address length {plen} is not 4 "
                          "(only IPv4 ARP is supported)")
    return from_fields(op, sha, spa, tha, tpa, htype, ptype)


def from_fields(op: int, sha: bytes, spa: bytes, tha: bytes, tpa: bytes, htype: int,
                ptype: int) -> ARP:
    """Build a decoded value from fields already unpacked and checked (hlen 6, plen 4).

    The one place a received packet's value is assembled (:func:`decode` calls it).

    Args:
        op, htype, ptype: the header fields as on the wire.
        sha, tha: the 6-byte hardware addresses; spa, tpa: the 4-byte protocol addresses.
    """
    value = _blank()
    o = _OPS.get(op)
    value.op = o if o is not None else lookup(_OPS, ArpOp, op)
    value.sha = mac_str(sha)
    value.spa = ip_str(spa)
    value.tha = mac_str(tha)
    value.tpa = ip_str(tpa)
    value.htype = htype
    value.ptype = ptype
    return value
