"""Small raw test nodes for layer-2 tests: they send hand-built Ethernet frames and record
what reaches them, with no IP stack in the way."""

from __future__ import annotations

import struct

from netsim import Network
from netsim.devices.node import Node

BROADCAST = "ff:ff:ff:ff:ff:ff"
ETH_EXPERIMENTAL = 0x88B5  # IEEE 802 local experimental EtherType


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def eth_frame(dst: str, src: str, payload: bytes = b"", ethertype: int = ETH_EXPERIMENTAL) -> bytes:
    """An Ethernet II frame padded to the 60-byte minimum (no FCS), built with struct."""
    frame = struct.pack("!6s6sH", mac_bytes(dst), mac_bytes(src), ethertype) + payload
    return frame.ljust(60, b"\0")


class RawNode(Node):
    """A station that records every frame delivered to it: (time_ns, iface name, frame)."""

    kind = "host"

    def __init__(self, net, name: str):
        super().__init__(net, name)
        self.received: list[tuple[int, str, bytes]] = []

    @property
    def mac(self) -> str:
        return self.interfaces[0].mac

    def receive(self, iface, frame: bytes) -> None:
        self.received.append((self.kernel.now, iface.name, frame))
        return None

    def send_to(self, dst: str, payload: bytes = b"", size: int = 60) -> bytes:
        frame = eth_frame(dst, self.mac, payload).ljust(size, b"\0")
        self.interfaces[0].send(frame)
        return frame

    def payloads(self) -> list[bytes]:
        return [f[14:] for _, _, f in self.received]


def add_raw(net: Network, *names: str) -> list[RawNode]:
    return [net.add_node(RawNode(net, n)) for n in names]
