"""The evidence: every frame on the student's NIC, numbered as in the capture written for them.

A :class:`Recorder` taps one interface (the student's host), writes a pcapng file the student
opens in Wireshark, and keeps a compact :class:`Pkt` per frame for the judges. Frame numbers
are the file's own (Wireshark's ``frame.number``), so "frame 12" in a report card is frame 12
in the file. A scenario may leave frames out of the file (``keep``: the 65,000 blocks between
the start of a 32 MB transfer and its rollover); those keep ``no=None`` and the next frame
written says in its packet comment how many were left out.

Frames are parsed by hand (Ethernet II, IPv4, UDP, TCP: fixed offsets), because a 32 MB
transfer is 131,000 frames and the full decoders would double the scenario's run time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..capture import PcapngWriter

__all__ = ["Pkt", "Recorder", "parse"]

_ETH_IPV4 = 0x0800
_UDP, _TCP = 17, 6
_PORTS = struct.Struct("!HH")
_TCP_HEAD = struct.Struct("!HHIIBB")
# How much of a UDP payload a record keeps: whole TFTP control packets and small datagrams,
# only the header of a big DATA block (the bytes themselves are compared on disk).
_KEEP_UDP = 1600


class Pkt:
    """One frame: where it went, and the transport fields the judges read.

    ``dir`` is "out" (sent by the captured host), "in" (received by it) or "drop" (never left
    it); ``lost`` says the link lost it on the way (the sender's capture still shows it, with
    a comment). ``data`` is the UDP or TCP payload (a big UDP payload only in part: ``size``
    is its real length).
    """

    __slots__ = ("no", "t", "dir", "proto", "src", "sport", "dst", "dport", "data", "size",
                 "flags", "seq", "ack", "comment", "lost", "eth_dst")

    def __init__(self) -> None:
        self.no: int | None = None
        self.t = 0
        self.dir = ""
        self.proto = "other"
        self.src = self.dst = ""
        self.sport = self.dport = 0
        self.data = b""
        self.size = 0
        self.flags = 0
        self.seq = self.ack = 0
        self.comment: str | None = None
        self.lost = False
        self.eth_dst = b""

    @property
    def seconds(self) -> float:
        return self.t / 1e9

    def ref(self) -> str:
        """``frame 12`` (or ``a frame left out of the capture``)."""
        return f"frame {self.no}" if self.no is not None else "(a frame left out of the capture)"

    def __repr__(self) -> str:
        return (f"<Pkt {self.no} {self.dir} {self.proto} {self.src}:{self.sport} -> "
                f"{self.dst}:{self.dport} {self.size}B>")


def parse(frame: bytes) -> Pkt:
    """The fields of one Ethernet frame (IPv4 UDP/TCP in detail, the rest as "arp"/"other")."""
    p = Pkt()
    p.eth_dst = frame[:6]
    if len(frame) < 34:
        return p
    ethertype = (frame[12] << 8) | frame[13]
    if ethertype == 0x0806:
        p.proto = "arp"
        return p
    if ethertype != _ETH_IPV4:
        return p
    ihl = (frame[14] & 0x0F) * 4
    proto = frame[23]
    p.src = ".".join(map(str, frame[26:30]))
    p.dst = ".".join(map(str, frame[30:34]))
    total = (frame[16] << 8) | frame[17]
    end = 14 + total
    off = 14 + ihl
    if proto == 1:
        p.proto = "icmp"
        p.data = frame[off:end]
        p.size = len(p.data)
        return p
    if proto == _UDP and len(frame) >= off + 8:
        p.proto = "udp"
        p.sport, p.dport = _PORTS.unpack_from(frame, off)
        p.size = end - off - 8
        p.data = frame[off + 8:min(end, off + 8 + _KEEP_UDP)]
    elif proto == _TCP and len(frame) >= off + 20:
        p.proto = "tcp"
        p.sport, p.dport, p.seq, p.ack, hlen, p.flags = _TCP_HEAD.unpack_from(frame, off)
        start = off + (hlen >> 4) * 4
        p.data = frame[start:end]
        p.size = len(p.data)
    return p


class Recorder:
    """Tap ``iface``: a :class:`Pkt` per frame in :attr:`pkts`, the frames in a pcapng file.

    Args:
        iface: the interface to capture (the student's NIC).
        path: the pcapng file (parents created); None records without a file.
        keep: ``keep(pkt) -> bool`` chooses the frames written to the file (all by default).
        on_packet: called with each :class:`Pkt` as it happens (reference peers that react
            to what the student sends, e.g. "drop the first RRQ").
    """

    def __init__(self, iface: Any, path: Path | None, keep: Callable[[Pkt], bool] | None = None,
                 on_packet: Callable[[Pkt], None] | None = None):
        self.iface = iface
        self.path = path
        self.pkts: list[Pkt] = []
        self.keep = keep
        self.on_packet = on_packet
        self.written = 0
        self.left_out = 0
        self._pending_gap = 0
        self._writer: PcapngWriter | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = PcapngWriter(str(path))
            node = iface.node
            self._if_id = self._writer.add_interface(
                iface.fullname, description=f"{node.kind} {node.name} port {iface.name} "
                                            f"({iface.mac}): the program's NIC")
        iface.taps.append(self._tap)

    def _tap(self, _iface: Any, time_ns: int, frame: bytes, direction: str,
             comment: str | None) -> None:
        p = parse(frame)
        p.t = time_ns
        p.dir = direction
        p.comment = comment
        p.lost = bool(comment) and "lost" in comment and direction == "out"
        self.pkts.append(p)
        if self._writer is not None:
            if self.keep is None or self.keep(p):
                self.written += 1
                p.no = self.written
                if self._pending_gap:
                    note = f"{self._pending_gap} frames left out of this capture before this one"
                    comment = f"{comment}; {note}" if comment else note
                    self._pending_gap = 0
                self._writer.write(self._if_id, time_ns, frame, comment=comment,
                                   direction=direction if direction != "drop" else "out")
            else:
                self.left_out += 1
                self._pending_gap += 1
        if self.on_packet is not None:
            self.on_packet(p)

    def close(self) -> None:
        """Stop tapping and finish the file."""
        if self._tap in self.iface.taps:
            self.iface.taps.remove(self._tap)
        if self._writer is not None:
            self._writer.close()
            self._writer = None
