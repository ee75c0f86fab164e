"""Decode a whole Ethernet frame into its layers, and describe it for humans.

``decode_frame`` is the one place where layers are chained: Ethernet -> (802.1Q) -> ARP or
IPv4 -> ICMP, UDP (-> TFTP) or TCP. Only a bad Ethernet header raises; a failure further in
is kept in ``Frame.error`` and the summary ends with ``[Malformed ...]``, as Wireshark marks
malformed packets without refusing to show the rest.
"""

from __future__ import annotations

import struct
from typing import Any

from . import arp as _arp
from . import ethernet as _eth
from . import icmp as _icmp
from . import ipv4 as _ipv4
from . import tcp as _tcp
from . import tftp as _tftp
from . import udp as _udp
from ._base import blank
from .errors import DecodeError

__all__ = ["Frame", "decode_frame"]

_ETH_IPV4 = _eth.ETH_IPV4
_ETH_ARP = _eth.ETH_ARP
_decode_eth = _eth.decode
_decode_arp = _arp.decode
_decode_ip = _ipv4.decode
_decode_tcp = _tcp.decode
_decode_udp = _udp.decode
_decode_icmp = _icmp.decode
_decode_tftp = _tftp.decode
_eth_from_fields = _eth.from_fields
_ip_from_fields = _ipv4.from_fields
_tcp_from_fields = _tcp.from_fields
_udp_from_fields = _udp.from_fields
_icmp_from_fields = _icmp.from_fields
_tftp_data = _tftp.data_from_fields
_tftp_ack = _tftp.ack_from_fields

# Fast path (see decode_frame): Ethernet dst+src | EtherType | IPv4 header with src+dst as one
# 8-byte field | the 20 bytes after it, read as a TCP header.
_unpack_fast = struct.Struct("!12sHBBHHHBBH8sHHIIBBHHH").unpack_from
_unpack_ts = struct.Struct("!II").unpack_from
_ETYPE_IPV4 = _eth.EtherType.IPv4
_NOP = _tcp._NOP
_NOP_NOP_TS = _tcp._NOP_NOP_TS

class Frame:
    """A decoded frame: one attribute per layer, None when absent.

    Attributes:
        data: the frame bytes.
        eth: the Ethernet value.
        vlan: the 802.1Q VLAN id, or None.
        arp, ip, icmp, udp, tcp, tftp: layer values or None.
        payload: the innermost bytes no decoder claimed (TCP data, UDP data that is not TFTP,
            an unknown EtherType's payload), or None.
        error: the DecodeError of the first layer that failed, or None.
    """

    # No __slots__ here on purpose: class-level None defaults mean decode_frame only stores the
    # layers a frame has (measured: cheaper than initialising eleven slots).
    vlan: int | None = None
    arp: _arp.ARP | None = None
    ip: _ipv4.IPv4 | None = None
    icmp: _icmp.ICMP | None = None
    udp: _udp.UDP | None = None
    tcp: _tcp.TCP | None = None
    tftp: Any = None
    payload: bytes | None = None
    error: DecodeError | None = None

    def __init__(self, data: bytes, eth: _eth.Ethernet):
        self.data = data
        self.eth = eth
        self.vlan = eth.vlan

    def __repr__(self) -> str:
        return f"Frame({self.summary()!r})"

    @property
    def layers(self) -> list[Any]:
        """Decoded layer values, outermost first."""
        return [v for v in (self.eth, self.arp, self.ip, self.icmp, self.udp, self.tcp,
                            self.tftp) if v is not None]

    @property
    def malformed(self) -> bool:
        """True when a layer below Ethernet failed to decode."""
        return self.error is not None

    def summary(self) -> str:
        """One line in the spirit of Wireshark's Info column, e.g.
        ``10.0.0.1 -> 10.0.0.2 TCP 49152 -> 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460``."""
        eth = self.eth
        tag = f"[VLAN {self.vlan}] " if self.vlan is not None else ""
        ip = self.ip
        if self.arp is not None:
            text = f"{eth.src} -> {eth.dst} ARP {self.arp.summary()}"
        elif ip is not None:
            head = f"{ip.src} -> {ip.dst}"
            if self.tcp is not None:
                text = f"{head} TCP {self.tcp.summary()}"
            elif self.tftp is not None:
                text = f"{head} TFTP {self.tftp.summary()}"
            elif self.udp is not None:
                text = f"{head} UDP {self.udp.summary()}"
            elif self.icmp is not None:
                text = f"{head} ICMP {self.icmp.summary(ttl=ip.ttl)}"
            elif ip.is_fragment:
                text = (f"{head} IPv4 Fragmented IP protocol (proto={_ipv4.proto_name(ip.proto)}"
                        f" {int(ip.proto)}, off={ip.frag_offset}, ID={ip.ident:04x})"
                        + (" [MF]" if ip.mf else ""))
            elif self.error is None:
                text = f"{head} {_ipv4.proto_name(ip.proto)} Len={len(ip.payload)}"
            else:
                text = f"{head} {_ipv4.proto_name(ip.proto)}"
        else:
            name = _eth.ethertype_name(eth.ethertype)
            text = f"{eth.src} -> {eth.dst} {name}"
            if self.error is None:
                text += f" Len={len(eth.payload)}"
        if self.error is not None:
            text += f" [Malformed {self.error}]"
        return tag + text

    def tree(self) -> list[tuple[str, list[str]]]:
        """Return ``[(layer name, ["field: value", ...]), ...]``, outermost layer first."""
        out: list[tuple[str, list[str]]] = [("Ethernet II", self.eth.describe())]
        if self.vlan is not None:
            out.append(("802.1Q Virtual LAN", [f"Priority: {self.eth.pcp}",
                                               f"DEI: {self.eth.dei}", f"ID: {self.vlan}"]))
        for value in (self.arp, self.ip, self.icmp, self.udp, self.tcp, self.tftp):
            if value is not None:
                out.append((_layer_name(value), _describe(value)))
        if self.payload:
            shown = bytes(self.payload[:32]).hex()
            more = "..." if len(self.payload) > 32 else ""
            out.append(("Data", [f"Length: {len(self.payload)}", f"Data: {shown}{more}"]))
        if self.error is not None:
            err = self.error
            out.append(("Malformed packet", [f"Layer: {err.layer}", f"Field: {err.field}",
                                             f"Offset: {err.offset}", f"Error: {err.message}"]))
        return out


def _layer_name(value: Any) -> str:
    name = getattr(value, "layer_name", "")
    if name:
        return name
    mod = type(value).__module__.rsplit(".", 1)[-1]
    return "Trivial File Transfer Protocol" if mod == "tftp" else type(value).__name__


def _describe(value: Any) -> list[str]:
    describe = getattr(value, "describe", None)
    if describe is not None:
        return describe()
    fields = getattr(value, "_fields", ()) or getattr(value, "__slots__", ())
    return [f"{f}: {getattr(value, f)!r}" for f in fields]


_blank_frame = blank(Frame)


def decode_frame(data: bytes, tftp_ports: tuple[int, ...] = (69,)) -> Frame:
    """Decode every layer of an Ethernet frame.

    Args:
        data: the frame (no FCS).
        tftp_ports: UDP ports (either side) whose payload is decoded as TFTP. Port 69 only
            catches requests; pass the transfer's ports to dissect DATA/ACK as well.

    Returns:
        A :class:`Frame`. Problems below Ethernet are in ``frame.error``; fragments are not
        reassembled (only an unfragmented datagram's transport header is decoded).

    Raises:
        DecodeError: the Ethernet header itself is truncated.
    """
    # Fast path for the frames a simulation is made of: untagged Ethernet, IPv4 without options
    # and not fragmented, whole. One unpack reads every header field up to byte 54 (a TCP
    # header without options; for UDP the same words are length|checksum and the TFTP
    # opcode|block; for ICMP type|code, checksum and the rest word), and each layer's
    # ``from_fields`` builds its value from them. Anything else, or anything a layer decoder
    # would reject, goes to the layer decoders, which raise the same errors; tests check that
    # both paths build equal values.
    n = len(data)
    if n < 54 or data.__class__ is not bytes:
        return _decode_general(data, tftp_ports)
    (macs, ethertype, vihl, tos, total, ident, frag, ttl, proto, ipck, ips,
     sport, dport, seq, ack, b12, b13, window, tck, urgent) = _unpack_fast(data)
    end = 14 + total
    if ethertype != 0x0800 or vihl != 0x45 or frag & 0x3FFF or total < 20 or end > n:
        return _decode_general(data, tftp_ports)
    frame = _blank_frame()
    frame.data = data
    frame.eth = _eth_from_fields(macs, _ETYPE_IPV4, data[14:], None, 0, 0)
    frame.ip = ip = _ip_from_fields(data, 14, 20, tos, total, ident, frag, ttl, proto, ipck, ips)
    if proto == 6:
        hl = (b12 >> 4) << 2
        if hl == 20 and total >= 40:
            options: tuple[Any, ...] = ()
        elif hl == 32 and total >= 52 and data[54:58] == _NOP_NOP_TS:
            options = (_NOP, _NOP, ("Timestamp", _unpack_ts(data, 58)))
        else:  # other options or a bad header: the TCP decoder parses or rejects them
            return _decode_transport(frame, ip, tftp_ports)
        frame.tcp = seg = _tcp_from_fields(data, 34, end, sport, dport, seq, ack, b12, b13,
                                           window, tck, urgent, options, None, None, True)
        frame.payload = seg.payload
        return frame
    ulen = seq >> 16  # for UDP, the length and checksum are the 32 bits at offset 38
    if proto == 17 and total >= 28 and 8 <= ulen <= total - 20:
        frame.udp = dgram = _udp_from_fields(data, 34, sport, dport, ulen, seq & 0xFFFF,
                                             None, None, True)
        if sport not in tftp_ports and dport not in tftp_ports:
            frame.payload = dgram.payload
            return frame
        op = ack >> 16  # TFTP opcode and block number: the 32 bits at offset 42
        if ulen >= 12 and op == 3:
            frame.tftp = _tftp_data(ack & 0xFFFF, data[46:34 + ulen])
        elif ulen >= 12 and op == 4:
            frame.tftp = _tftp_ack(ack & 0xFFFF)
        else:
            try:
                frame.tftp = _decode_tftp(dgram.payload)
            except DecodeError as err:
                frame.error = err
        return frame
    if proto == 1 and total >= 28:
        frame.icmp = _icmp_from_fields(data, 34, end, sport >> 8, sport & 0xFF, dport,
                                       data[38:42])
        return frame
    return _decode_transport(frame, ip, tftp_ports)  # other protocols, and what they reject


def _decode_general(data: bytes, tftp_ports: tuple[int, ...]) -> Frame:
    """Layer-by-layer decoding for every frame the fast path does not take."""
    eth = _decode_eth(data)
    frame = _blank_frame()
    frame.data = data
    frame.eth = eth
    frame.vlan = eth.vlan
    ethertype = eth.ethertype
    try:
        if ethertype == _ETH_IPV4:
            ip = frame.ip = _decode_ip(eth.payload)
        elif ethertype == _ETH_ARP:
            frame.arp = _decode_arp(eth.payload)
            return frame
        else:
            frame.payload = eth.payload
            return frame
    except DecodeError as err:
        frame.error = err
        return frame
    return _decode_transport(frame, ip, tftp_ports)


def _decode_transport(frame: Frame, ip: _ipv4.IPv4, tftp_ports: tuple[int, ...]) -> Frame:
    """Decode what an IPv4 datagram carries with the layer decoders (a failure goes to
    ``frame.error``); fragments are left as payload."""
    if ip.mf or ip.frag_offset:
        frame.payload = ip.payload
        return frame
    proto = ip.proto
    try:
        if proto == 6:
            frame.tcp = seg = _decode_tcp(ip.payload, ip.src, ip.dst)
            frame.payload = seg.payload
        elif proto == 17:
            frame.udp = dgram = _decode_udp(ip.payload, ip.src, ip.dst)
            if dgram.sport in tftp_ports or dgram.dport in tftp_ports:
                frame.tftp = _decode_tftp(dgram.payload)
            else:
                frame.payload = dgram.payload
        elif proto == 1:
            frame.icmp = _decode_icmp(ip.payload)
        else:
            frame.payload = ip.payload
    except DecodeError as err:
        frame.error = err
    return frame
