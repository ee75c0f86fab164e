"""Frames for the viewer: the layered tree with each field's bytes, and the filter fields.

The page only renders, so everything it shows about a frame is computed here, once per
distinct frame:

* :func:`tree` — Wireshark's middle pane: one entry per layer, each with its ``describe()``
  lines (the wording of :meth:`netsim.wire.frame.Frame.tree`, so the terminal stepper and the
  page say the same thing) and, for each line, the byte range it was read from, so the page
  can highlight the field in the hex dump. TCP flags and options get one child per bit or
  option.
* :func:`filter_fields` — the values netsim's display filters (:mod:`netsim.trace.filters`)
  read from a frame, by filter field name, so the page can evaluate any filter expression
  itself. ``tests/viewer/test_filters_js.py`` checks that the page and
  :func:`~netsim.trace.filters.compile_filter` pick the same rows.

Offsets follow the header layouts of RFC 894 (Ethernet II), IEEE 802.1Q, RFC 826 (ARP),
RFC 791 (IPv4), RFC 792 (ICMP), RFC 768 (UDP), RFC 9293 (TCP) and RFC 1350 (TFTP).
"""

from __future__ import annotations

from typing import Any

from ..wire import tcp as wtcp
from ..wire.errors import DecodeError
from ..wire.frame import Frame, decode_frame

__all__ = ["tree", "filter_fields", "decode", "FILTER_FIELDS", "PROTOCOLS"]

# Field -> (offset, length) inside its layer, keyed by the name before the ':' of the layer's
# describe() line. A line whose name is not here covers its whole layer.
_ETH = {"Destination": (0, 6), "Source": (6, 6), "Type": (12, 2)}
_ARP = {"Hardware type": (0, 2), "Protocol type": (2, 2), "Hardware size": (4, 1),
        "Protocol size": (5, 1), "Opcode": (6, 2), "Sender MAC address": (8, 6),
        "Sender IP address": (14, 4), "Target MAC address": (18, 6),
        "Target IP address": (24, 4)}
_IPV4 = {"Version": (0, 1), "Header length": (0, 1), "Type of service": (1, 1),
         "Total length": (2, 2), "Identification": (4, 2), "Flags": (6, 1),
         "Fragment offset": (6, 2), "Time to live": (8, 1), "Protocol": (9, 1),
         "Header checksum": (10, 2), "Source": (12, 4), "Destination": (16, 4)}
_ICMP = {"Type": (0, 1), "Code": (1, 1), "Checksum": (2, 2), "Identifier": (4, 2),
         "Sequence number": (6, 2), "MTU of next hop": (6, 2)}
_UDP = {"Source port": (0, 2), "Destination port": (2, 2), "Length": (4, 2), "Checksum": (6, 2)}
_TCP = {"Source port": (0, 2), "Destination port": (2, 2), "Sequence number": (4, 4),
        "Acknowledgment number": (8, 4), "Header length": (12, 1), "Flags": (12, 2),
        "Window": (14, 2), "Checksum": (16, 2), "Urgent pointer": (18, 2)}
_TCP_BITS = (("NS", 0x100), ("CWR", 0x80), ("ECE", 0x40), ("URG", 0x20), ("ACK", 0x10),
             ("PSH", 0x08), ("RST", 0x04), ("SYN", 0x02), ("FIN", 0x01))

#: The protocol words of the display filters (``arp``, ``tcp`` ...).
PROTOCOLS = ("eth", "arp", "ip", "icmp", "udp", "tcp", "tftp")



def _get(layer: str, attr: str, convert=None):
    def read(frame: Frame) -> Any:
        value = getattr(frame, layer)
        if value is None:
            return None
        value = getattr(value, attr)
        return convert(value) if convert is not None else value
    return read


#: Filter field name -> how to read it from a decoded frame (None when the layer is absent).
FILTER_FIELDS: dict[str, Any] = {
    "eth.src": _get("eth", "src"), "eth.dst": _get("eth", "dst"),
    "ip.src": _get("ip", "src"), "ip.dst": _get("ip", "dst"), "ip.ttl": _get("ip", "ttl"),
    "ip.proto": _get("ip", "proto", int),
    "tcp.srcport": _get("tcp", "sport"), "tcp.dstport": _get("tcp", "dport"),
    "tcp.seq": _get("tcp", "seq"), "tcp.ack": _get("tcp", "ack"),
    "tcp.window": _get("tcp", "window"), "tcp.len": _get("tcp", "payload", len),
    "tcp.flags": _get("tcp", "flags", int),
    "udp.srcport": _get("udp", "sport"), "udp.dstport": _get("udp", "dport"),
    "icmp.type": _get("icmp", "type", int), "arp.opcode": _get("arp", "op", int),
    "frame.len": lambda f: len(f.data),
}


def decode(data: bytes) -> Frame | None:
    """``decode_frame(data)``, or None when even the Ethernet header is cut short."""
    try:
        return decode_frame(data)
    except DecodeError:
        return None


def filter_fields(frame: Frame | None) -> dict[str, Any]:
    """The filter-visible values of one frame: ``{"p": [protocols], field: value, ...}``.

    Absent fields are left out (a filter comparing them is false, as in
    :mod:`netsim.trace.filters`); an undecodable frame gives ``{"bad": 1}``: no protocol and
    no field matches it.
    """
    if frame is None:
        return {"bad": 1}
    out: dict[str, Any] = {"p": [p for p in PROTOCOLS if getattr(frame, p) is not None]}
    for name, get in FILTER_FIELDS.items():
        value = get(frame)
        if value is not None:
            out[name] = value
    return out


# -- the tree ---------------------------------------------------------------------------------

def _lines(layer: str, lines: list[str], base: int, size: int, table: dict[str, tuple[int, int]]
           ) -> list[list[Any]]:
    """``[label, offset, length]`` per describe() line, offsets absolute in the frame."""
    out = []
    for line in lines:
        name = line.split(":", 1)[0]
        off, n = table.get(name, (0, size))
        out.append([line, base + off, n])
    return out


def _tcp_children(seg: wtcp.TCP, fields: list[list[Any]], base: int, hl: int, data: bytes) -> None:
    for entry in fields:
        name = entry[0].split(":", 1)[0]
        if name == "Flags":
            entry.append([[f"{'1' if seg.flags & bit else '0'} {label}"
                           + (": set" if seg.flags & bit else ""), base + 12, 2]
                          for label, bit in _TCP_BITS])
        elif name == "Options":
            entry[1], entry[2] = base + 20, hl - 20
            entry.append(_option_children(data, base + 20, base + hl))
        elif name == "Data":
            entry[1], entry[2] = base + hl, len(seg.payload)


def _option_children(data: bytes, start: int, end: int) -> list[list[Any]]:
    """One child per TCP option with its bytes (RFC 9293 3.1: kind, length, value)."""
    out, i = [], start
    while i < end:
        kind = data[i]
        if kind == 0:
            out.append(["End of option list (EOL)", i, end - i])
            break
        if kind == 1:
            out.append(["No-operation (NOP)", i, 1])
            i += 1
            continue
        if i + 1 >= end or data[i + 1] < 2:
            out.append([f"Option kind {kind}: [malformed]", i, end - i])
            break
        n = min(data[i + 1], end - i)
        body = data[i + 2:i + n]
        out.append([_option_label(kind, body), i, n])
        i += n
    return out


def _option_label(kind: int, body: bytes) -> str:
    if kind == 2 and len(body) == 2:
        return f"Maximum segment size (MSS): {int.from_bytes(body, 'big')}"
    if kind == 3 and len(body) == 1:
        return f"Window scale: {body[0]} (multiply by {1 << min(body[0], 14)})"
    if kind == 4:
        return "SACK permitted"
    if kind == 5:
        blocks = [f"{int.from_bytes(body[j:j + 4], 'big')}-{int.from_bytes(body[j + 4:j + 8], 'big')}"
                  for j in range(0, len(body) - 7, 8)]
        return "SACK: " + ", ".join(blocks)
    if kind == 8 and len(body) == 8:
        return (f"Timestamps: TSval {int.from_bytes(body[:4], 'big')}, "
                f"TSecr {int.from_bytes(body[4:], 'big')}")
    return f"Option kind {kind}: {body.hex()}"


def tree(data: bytes, frame: Frame | None = None) -> list[list[Any]]:
    """The layered tree of a frame: ``[[layer name, offset, length, [field, ...]], ...]``.

    A field is ``[label, offset, length]`` plus, for TCP flags and options, a list of child
    fields of the same shape. Offsets and lengths are in bytes of ``data``.
    """
    frame = frame if frame is not None else decode(data)
    n = len(data)
    if frame is None:
        return [["Undecodable frame", 0, n, [[f"{n} bytes: shorter than an Ethernet header", 0, n]]]]
    eth = frame.eth
    l2 = 18 if frame.vlan is not None else 14
    eth_table = dict(_ETH)
    if frame.vlan is not None:
        eth_table["Type"] = (16, 2)
    layers: list[list[Any]] = [["Ethernet II", 0, l2, _lines("eth", eth.describe(), 0, l2, eth_table)]]
    if frame.vlan is not None:
        layers.append(["802.1Q Virtual LAN", 12, 4,
                       [[f"Priority: {eth.pcp}", 14, 1], [f"DEI: {eth.dei}", 14, 1],
                        [f"ID: {frame.vlan}", 14, 2]]])
    off = l2
    if frame.arp is not None:
        layers.append([frame.arp.layer_name, off, 28, _lines("arp", frame.arp.describe(), off, 28, _ARP)])
    ip = frame.ip
    if ip is not None:
        hl = ip.header_length
        total = min(ip.total_length or n - off, n - off)
        fields = _lines("ip", ip.describe(), off, hl, _IPV4)
        for entry in fields:
            if entry[0].startswith("Options:"):
                entry[1], entry[2] = off + 20, hl - 20
        layers.append([ip.layer_name, off, hl, fields])
        _transport(frame, data, layers, off + hl, off + total)
    elif frame.arp is None and frame.payload:
        layers.append(_data_layer(off, len(frame.payload)))
    covered = max(layer[1] + layer[2] for layer in layers)
    if covered < n and frame.error is None:
        # Ethernet pads short frames to 60 bytes (IEEE 802.3 4.2.3.3); Wireshark lists the
        # padding under the Ethernet layer.
        layers[0][3].append([f"Padding: {n - covered} bytes", covered, n - covered])
    if frame.error is not None:
        err = frame.error
        start = layers[-1][1] + layers[-1][2] if len(layers) > 1 else off
        layers.append(["Malformed packet", min(start, n), max(0, n - start),
                       [[f"Layer: {err.layer}", start, 0], [f"Field: {err.field}", start, 0],
                        [f"Offset: {err.offset}", start, 0], [f"Error: {err.message}", start, 0]]])
    return layers


def _transport(frame: Frame, data: bytes, layers: list[list[Any]], off: int, end: int) -> None:
    size = end - off
    if frame.icmp is not None:
        fields = _lines("icmp", frame.icmp.describe(), off, size, _ICMP)
        for entry in fields:
            if entry[0].startswith(("Data:", "Quoted datagram:")):
                entry[1], entry[2] = off + 8, size - 8
        layers.append([frame.icmp.layer_name, off, size, fields])
    elif frame.udp is not None:
        fields = _lines("udp", frame.udp.describe(), off, 8, _UDP)
        for entry in fields:
            if entry[0].startswith("Data:"):
                entry[1], entry[2] = off + 8, size - 8
        layers.append([frame.udp.layer_name, off, 8, fields])
        if frame.tftp is not None:
            layers.append(["Trivial File Transfer Protocol", off + 8, size - 8,
                           _tftp_fields(frame.tftp, off + 8, size - 8)])
        elif frame.payload:
            layers.append(_data_layer(off + 8, len(frame.payload)))
    elif frame.tcp is not None:
        seg = frame.tcp
        hl = (data[off + 12] >> 4) * 4
        fields = _lines("tcp", seg.describe(), off, hl, _TCP)
        _tcp_children(seg, fields, off, hl, data)
        layers.append([seg.layer_name, off, hl, fields])
        if seg.payload:
            layers.append(_data_layer(off + hl, len(seg.payload)))
    elif frame.payload:
        layers.append(_data_layer(off, len(frame.payload)))


def _tftp_fields(value: Any, off: int, size: int) -> list[list[Any]]:
    """RFC 1350 section 5: a 2-byte opcode, then a 2-byte block or error code, or strings."""
    opcode = {"Request": None, "Data": 3, "Ack": 4, "Error": 5, "OAck": 6}.get(type(value).__name__)
    opcode = getattr(value, "opcode", opcode)
    fields = [[f"Opcode: {opcode}", off, 2]]
    if hasattr(value, "block"):
        fields.append([f"Block: {value.block}", off + 2, 2])
    if hasattr(value, "code"):
        fields.append([f"Error code: {value.code}", off + 2, 2])
        fields.append([f"Error message: {value.message}", off + 4, size - 4])
    if hasattr(value, "filename"):
        fields.append([f"Filename: {value.filename}", off + 2, len(value.filename) + 1])
        fields.append([f"Mode: {value.mode}", off + 3 + len(value.filename), len(value.mode) + 1])
    if hasattr(value, "data"):
        fields.append([f"Data: {len(value.data)} bytes", off + 4, size - 4])
    for name, val in getattr(value, "options", ()):
        fields.append([f"Option: {name}={val}", off + 2, size - 2])
    return fields


def _data_layer(off: int, n: int) -> list[Any]:
    return ["Data", off, n, [[f"Length: {n}", off, n]]]
