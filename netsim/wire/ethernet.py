"""Ethernet II frames with an optional IEEE 802.1Q tag.

Wire layout (IEEE 802.3 clause 3, 802.1Q clause 9)::

    offset  size  field
    0       6     destination MAC
    6       6     source MAC
    12      2     EtherType, or 0x8100 (TPID) when tagged, then:
    14      2       TCI: PCP (3 bits) | DEI (1 bit) | VLAN id (12 bits)
    16      2       EtherType
    14/18   ...   payload (padded to a 60-byte frame on encode; no FCS)
"""

from __future__ import annotations

import struct

from ._base import OpenEnum, WireValue, blank, lookup, open_enum, pack_error
from .addr import _MAC_BYTES, _mac_pair, _mac_pair_get, mac_to_bytes
from .errors import DecodeError

__all__ = ["Ethernet", "EtherType", "decode", "from_fields", "ETH_IPV4", "ETH_ARP", "ETH_VLAN",
           "ETH_IPV6", "ETH_HEADER_LEN", "MIN_FRAME_LEN", "ethertype_name", "ipv4_frame"]

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_VLAN = 0x8100
ETH_IPV6 = 0x86DD
ETH_HEADER_LEN = 14
VLAN_HEADER_LEN = 18
MIN_FRAME_LEN = 60  # 64 bytes on the wire minus the 4-byte FCS (802.3 clause 4.4.2)

_HDR = struct.Struct("!6s6sH")
_TAG = struct.Struct("!HH")
_HDR_TAGGED = struct.Struct("!6s6sHHH")
_unpack_hdr = struct.Struct("!12sH").unpack_from  # both MACs as one key for the pair cache
_unpack_tag = _TAG.unpack_from


class EtherType(OpenEnum):
    """EtherType numbers; unknown ones decode to pseudo-members named ``ethertype 0x88cc``."""

    IPv4 = 0x0800
    ARP = 0x0806
    VLAN = 0x8100
    IPv6 = 0x86DD
    LLDP = 0x88CC


_ETHERTYPES = open_enum(EtherType, "ethertype", 16)


def ethertype_name(value: int) -> str:
    """Return ``"IPv4"``, ``"ARP"``... or ``"ethertype 0x88b5"`` for an unknown number."""
    return lookup(_ETHERTYPES, EtherType, value).name


class Ethernet(WireValue):
    """An Ethernet II frame (without FCS).

    Args:
        dst, src: MAC addresses as strings.
        ethertype: the payload's EtherType (the inner one when tagged).
        payload: the bytes after the header (decode keeps any padding here).
        vlan: 802.1Q VLAN id (0..4095), or None for an untagged frame.
        pcp, dei: 802.1Q priority code point and drop eligible indicator.
    """

    __slots__ = ("dst", "src", "ethertype", "payload", "vlan", "pcp", "dei")
    _fields = __slots__
    layer_name = "Ethernet II"

    def __init__(self, dst: str, src: str, ethertype: int, payload: bytes = b"",
                 vlan: int | None = None, pcp: int = 0, dei: int = 0):
        self.dst = dst
        self.src = src
        self.ethertype = ethertype
        self.payload = payload
        self.vlan = vlan
        self.pcp = pcp
        self.dei = dei

    @classmethod
    def decode(cls, buf: bytes) -> Ethernet:
        """Decode a frame; see :func:`decode`."""
        return decode(buf)

    def encode(self) -> bytes:
        """Return the frame bytes, zero-padded to 60 bytes.

        Raises:
            ValueError: a bad MAC string or a field out of range.
        """
        try:
            if self.vlan is None:
                head = _HDR.pack(mac_to_bytes(self.dst), mac_to_bytes(self.src), self.ethertype)
            else:
                tci = (self.pcp << 13) | (self.dei << 12) | self.vlan
                if self.vlan > 0xFFF or self.pcp > 7 or self.dei > 1:
                    raise ValueError("Ethernet: vlan must be 0..4095, pcp 0..7, dei 0..1")
                head = _HDR_TAGGED.pack(mac_to_bytes(self.dst), mac_to_bytes(self.src), ETH_VLAN,
                                        tci, self.ethertype)
        except struct.error as exc:
            raise pack_error("Ethernet", exc) from None
        frame = head + self.payload
        if len(frame) < MIN_FRAME_LEN:
            frame += bytes(MIN_FRAME_LEN - len(frame))
        return frame

    def summary(self) -> str:
        """``src -> dst EtherType`` with the VLAN tag if any."""
        tag = f" VLAN {self.vlan}" if self.vlan is not None else ""
        return f"{self.src} -> {self.dst}{tag} {ethertype_name(self.ethertype)}"

    def describe(self) -> list[str]:
        """Tree lines, without the 802.1Q fields (shown as their own layer)."""
        return [f"Destination: {self.dst}", f"Source: {self.src}",
                f"Type: {ethertype_name(self.ethertype)} (0x{self.ethertype:04x})"]


_blank = blank(Ethernet)
_IPV4_TYPE = ETH_IPV4.to_bytes(2, "big")
_mac_bytes_get = _MAC_BYTES.get  # mac_to_bytes's cache: a hit is a checked address


def ipv4_frame(dst: str, src_raw: bytes, datagram: bytes) -> bytes:
    """``Ethernet(dst, src, ETH_IPV4, datagram).encode()`` byte for byte, for the frame every
    unicast IPv4 datagram leaves in (``src_raw``: the sender's 6 MAC bytes, as
    ``Interface.mac_bytes``)."""
    frame = (_mac_bytes_get(dst) or mac_to_bytes(dst)) + src_raw + _IPV4_TYPE + datagram
    if len(frame) < MIN_FRAME_LEN:
        frame += bytes(MIN_FRAME_LEN - len(frame))
    return frame


def decode(buf: bytes) -> Ethernet:
    """Decode an Ethernet II frame, with or without one 802.1Q tag.

    Args:
        buf: the frame without FCS (bytes, bytearray or memoryview).

    Returns:
        An :class:`Ethernet` whose payload is everything after the header (padding included).

    Raises:
        DecodeError: shorter than the (tagged) header.
    """
    if type(buf) is not bytes:
        buf = bytes(buf)
    n = len(buf)
    if n < ETH_HEADER_LEN:
        raise DecodeError("Ethernet", "header", 0,
                          f"frame is {n} bytes, shorter than the {ETH_HEADER_LEN}-byte header")
    macs, ethertype = _unpack_hdr(buf)
    if ethertype != ETH_VLAN:
        member = _ETHERTYPES.get(ethertype)  # _ethertype(), inlined for the common frame
        return from_fields(macs, member if member is not None else _ethertype(ethertype),
                           buf[ETH_HEADER_LEN:])
    if n < VLAN_HEADER_LEN:
        raise DecodeError("802.1Q", "tci", 14, f"tagged frame is {n} bytes, shorter than "
                          f"the {VLAN_HEADER_LEN}-byte tagged header")
    tci, ethertype = _unpack_tag(buf, 14)
    return from_fields(macs, _ethertype(ethertype), buf[VLAN_HEADER_LEN:], tci & 0xFFF,
                       tci >> 13, (tci >> 12) & 1)


def _ethertype(number: int) -> EtherType:
    member = _ETHERTYPES.get(number)
    return member if member is not None else lookup(_ETHERTYPES, EtherType, number)


def from_fields(macs: bytes, ethertype: int, payload: bytes, vlan: int | None = None,
                pcp: int = 0, dei: int = 0) -> Ethernet:
    """Build a decoded value from header fields already unpacked and checked.

    The one place a received frame's value is assembled: :func:`decode` calls it after its
    length checks, ``decode_frame``'s fast path with the fields of its single unpack.

    Args:
        macs: the 12 address bytes as on the wire, destination then source.
        ethertype: the :class:`EtherType` member (the inner one when tagged).
        payload: the bytes after the header.
        vlan, pcp, dei: the 802.1Q tag's fields, vlan None when untagged.
    """
    value = _blank()
    pair = _mac_pair_get(macs)
    value.dst, value.src = pair if pair is not None else _mac_pair(macs)
    value.ethertype = ethertype
    value.payload = payload
    value.vlan = vlan
    value.pcp = pcp
    value.dei = dei
    return value
