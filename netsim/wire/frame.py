"""Decode a whole Ethernet frame into its layers, and describe it for humans.

``decode_frame`` is the one place where layers are chained: Ethernet -> (802.1Q) -> ARP or
IPv4 -> ICMP, UDP (-> TFTP) or TCP. Only a bad Ethernet header raises; a failure further in
is kept in ``Frame.error`` and the summary ends with ``[Malformed ...]``, as Wireshark marks
malformed packets without refusing to show the rest.
"""

from __future__ import annotations

from typing import Any

from . import arp as _arp
from . import ethernet as _eth
from . import icmp as _icmp
from . import ipv4 as _ipv4
from . import tcp as _tcp
from . import udp as _udp
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
_tftp_decode: Any = None


def _load_tftp() -> Any:
    """Import the TFTP codec lazily (another module of this package, maybe not there yet)."""
    global _tftp_decode
    if _tftp_decode is None:
        try:
            from . import tftp
        except ImportError:
            _tftp_decode = False
        else:
            _tftp_decode = tftp.decode
    return _tftp_decode


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
    eth = _decode_eth(data)
    frame = Frame(data, eth)
    ethertype = eth.ethertype
    try:
        if ethertype == _ETH_IPV4:
            frame.ip = ip = _decode_ip(eth.payload)
            if ip.mf or ip.frag_offset:
                frame.payload = ip.payload
                return frame
            proto = ip.proto
            if proto == 6:
                frame.tcp = seg = _decode_tcp(ip.payload, ip.src, ip.dst)
                frame.payload = seg.payload
            elif proto == 17:
                frame.udp = dgram = _decode_udp(ip.payload, ip.src, ip.dst)
                if dgram.sport in tftp_ports or dgram.dport in tftp_ports:
                    tftp = _tftp_decode if _tftp_decode is not None else _load_tftp()
                    if tftp:
                        frame.tftp = tftp(dgram.payload)
                        return frame
                frame.payload = dgram.payload
            elif proto == 1:
                frame.icmp = _decode_icmp(ip.payload)
            else:
                frame.payload = ip.payload
        elif ethertype == _ETH_ARP:
            frame.arp = _decode_arp(eth.payload)
        else:
            frame.payload = eth.payload
    except DecodeError as err:
        frame.error = err
    return frame
