"""Ladders from a capture file: one per TCP connection, each end's states inferred.

Works on any capture (ours or tcpdump's: Ethernet, raw IPv4, loopback or Linux cooked frames).
A segment seen on several interfaces of a netsim capture is one row, leaving when first seen and
arriving when last seen; the states come from :func:`netsim.stack.tcp.infer.infer_states`,
which runs the TCP core's own transition table over the segments (an observer's guess, as in
Wireshark's TCP analysis: TIME_WAIT never visibly ends, and a simultaneous close seen from a
single point looks like an ordinary close).
"""

from __future__ import annotations

from collections import Counter

from ...capture.reader import read_capture
from ...sim.units import NS_PER_S
from ...stack.tcp.infer import infer_states
from ...wire import ipv4 as _ipv4
from ...wire import tcp as _tcp
from ...wire.errors import DecodeError
from ...wire.frame import decode_frame
from .diagram import Ladder
from .model import LadderRow, StateChange, option_text, sack_blocks

__all__ = ["ladders_from_capture", "connections_from_capture"]


class _Copy:
    """One segment, possibly seen on several interfaces of one capture."""

    __slots__ = ("first_ns", "last_ns", "src", "dst", "tcp", "ifaces", "first_dir",
                 "first_iface", "comments")

    def __init__(self, time_ns, src, dst, tcp, iface, direction, comments):
        self.first_ns = self.last_ns = time_ns
        self.src, self.dst, self.tcp = src, dst, tcp
        self.ifaces = {iface}
        self.first_iface, self.first_dir = iface, direction
        self.comments = list(comments)


_SLL = {113: (14, 16), 276: (0, 20)}     # Linux cooked captures: (protocol offset, header length)


def _segment(frame) -> tuple[str, str, bytes, _tcp.TCP] | None:
    """(src ip, dst ip, TCP bytes, TCP value) of an IPv4/TCP frame, else None."""
    try:
        if frame.linktype == 1:
            decoded = decode_frame(frame.data)
            ip = decoded.ip
            if ip is None or decoded.tcp is None:
                return None
            return ip.src, ip.dst, ip.payload, decoded.tcp
        data = frame.data
        if frame.linktype in _SLL:
            at, size = _SLL[frame.linktype]
            if data[at:at + 2] != b"\x08\x00":
                return None
            data = data[size:]
        elif frame.linktype == 0:      # BSD loopback: 4-byte address family
            data = data[4:]
        elif frame.linktype not in (101, 228):
            return None
        ip = _ipv4.decode(data)
        if ip.proto != _ipv4.PROTO_TCP or ip.is_fragment:
            return None
        return ip.src, ip.dst, ip.payload, _tcp.decode(ip.payload)
    except DecodeError:
        return None


def _collect(path, window_ns: int) -> list[_Copy]:
    """Read the capture, keep TCP segments, merge sightings of one segment on several
    interfaces. A sighting joins the latest copy with the same addresses and TCP bytes when it
    is within ``window_ns`` of it and on an interface that copy was not yet seen on; the same
    bytes again on the same interface are a retransmission."""
    copies: list[_Copy] = []
    latest: dict[tuple, _Copy] = {}
    for frame in read_capture(path):
        seg = _segment(frame)
        if seg is None:
            continue
        src_ip, dst_ip, raw, tcp = seg
        iface = frame.if_name if frame.if_name is not None else f"#{frame.if_id}"
        key = (src_ip, dst_ip, raw)
        copy = latest.get(key)
        if copy is not None and iface not in copy.ifaces \
                and frame.time_ns - copy.first_ns <= window_ns:
            copy.ifaces.add(iface)
            copy.last_ns = frame.time_ns
            copy.comments.extend(c for c in frame.comments if c not in copy.comments)
            continue
        copy = _Copy(frame.time_ns, (src_ip, tcp.sport), (dst_ip, tcp.dport), tcp, iface,
                     frame.direction, frame.comments)
        latest[key] = copy
        copies.append(copy)
    return copies


def _node_names(copies: list[_Copy]) -> dict[str, str]:
    """IP -> node, learned from netsim interface names (``h1-eth0``): the first sighting of a
    segment leaving ("out") is on the interface of the host that sent it."""
    votes: dict[str, Counter] = {}
    for copy in copies:
        if copy.first_dir == "out" and "-" in copy.first_iface:
            node = copy.first_iface.rsplit("-", 1)[0]
            votes.setdefault(copy.src[0], Counter())[node] += 1
    return {ip: counter.most_common(1)[0][0] for ip, counter in votes.items()}


def _split_connections(copies: list[_Copy]) -> list[list[_Copy]]:
    """Group by 4-tuple; a fresh SYN with a new ISN after a FIN or RST starts a new connection
    (the 4-tuple reused after TIME_WAIT)."""
    current: dict[frozenset, list[_Copy]] = {}
    closing: set[frozenset] = set()
    isn: dict[tuple, int] = {}
    conns: list[list[_Copy]] = []
    for copy in copies:
        key = frozenset((copy.src, copy.dst))
        flags = copy.tcp.flags
        fresh_syn = flags & _tcp.SYN and not flags & _tcp.ACK
        if key not in current or (fresh_syn and key in closing
                                  and isn.get(copy.src) != copy.tcp.seq):
            current[key] = []
            conns.append(current[key])
            closing.discard(key)
            isn = {k: v for k, v in isn.items() if frozenset((k[0], k[1])) != key}
        current[key].append(copy)
        if fresh_syn:
            isn[(copy.src, copy.dst)] = copy.tcp.seq
        if flags & (_tcp.FIN | _tcp.RST):
            closing.add(key)
    return conns


def ladders_from_capture(path, dedup_window_ns: int = NS_PER_S, names: bool = True
                         ) -> list[Ladder]:
    """Build one ladder per TCP connection found in a capture.

    Args:
        path: a pcap or pcapng file (Ethernet, raw IPv4 or Linux cooked frames), or a binary
            file object.
        dedup_window_ns: how far apart two sightings of the same segment on different
            interfaces may be and still count as one segment.
        names: label endpoints with netsim node names (``h1:49152``) when the capture's
            interface names tell which node sent what; otherwise ``10.0.0.1:49152``.

    Returns:
        Ladders in order of each connection's first segment, initiator on the left; seq/ack
        absolute in the rows (the renderers make them relative). Windows are scaled when both
        SYNs carried a window-scale option. A segment is marked lost when its receiver's
        interfaces are in the capture but never saw it.

    Raises:
        DecodeError: the capture itself is corrupt (frames that do not decode are skipped).
    """
    ladders = []
    for endpoints, rows in connections_from_capture(path, dedup_window_ns, names):
        ladders.append(_ladder(endpoints, rows))
    return ladders


def connections_from_capture(path, dedup_window_ns: int = NS_PER_S, names: bool = True
                             ) -> list[tuple[tuple[str, str], list[LadderRow]]]:
    """The segments of each TCP connection in a capture, without inferring states.

    Same arguments and grouping as :func:`ladders_from_capture` (which adds the states);
    ``netsim tcpgraph`` draws from these rows.

    Returns:
        ``((initiator, responder), rows)`` per connection, in order of first segment.
    """
    copies = _collect(path, dedup_window_ns)
    node_of = _node_names(copies) if names else {}
    captured_nodes = {c.rsplit("-", 1)[0] for copy in copies for c in copy.ifaces if "-" in c}
    return [_rows(conn, node_of, captured_nodes) for conn in _split_connections(copies)]


def _rows(conn: list[_Copy], node_of: dict[str, str], captured_nodes: set[str]
          ) -> tuple[tuple[str, str], list[LadderRow]]:
    def label(addr: tuple[str, int]) -> str:
        return f"{node_of.get(addr[0], addr[0])}:{addr[1]}"

    opener = next((c for c in conn if c.tcp.flags & _tcp.SYN and not c.tcp.flags & _tcp.ACK),
                  conn[0])
    left, right = opener.src, opener.dst
    scale: dict[tuple, int] = {}
    for copy in conn:
        if copy.tcp.flags & _tcp.SYN:
            ws = _tcp.tcp_option(copy.tcp.options, "WScale")
            scale[copy.src] = ws if ws is not None else -1
    scaled = len(scale) == 2 and min(scale.values()) >= 0   # RFC 7323 2.2: both must offer it
    rows = []
    for copy in conn:
        tcp = copy.tcp
        window = tcp.window
        if scaled and not tcp.flags & _tcp.SYN:
            window <<= min(scale[copy.src], 14)
        receiver = node_of.get(copy.dst[0])
        lost = receiver in captured_nodes and not any(
            i.rsplit("-", 1)[0] == receiver for i in copy.ifaces if "-" in i)
        arrive = copy.last_ns if len(copy.ifaces) > 1 and not lost else None
        rows.append(LadderRow(copy.first_ns, label(copy.src), label(copy.dst),
                              _tcp.flags_str(tcp.flags), tcp.seq, tcp.ack, len(tcp.payload),
                              window, option_text(tcp.options), "; ".join(copy.comments),
                              lost, arrive, sack_blocks(tcp.options)))
    return (label(left), label(right)), rows


def _ladder(endpoints: tuple[str, str], rows: list[LadderRow]) -> Ladder:
    initial, changes = infer_states(rows, endpoints)
    # A row sorts before the state changes its own sightings cause (key (..., 0) < (..., 1)).
    keyed = [((row.time_ns, i, 0, 0), row) for i, row in enumerate(rows)]
    keyed += [((c.time_ns, c.row, int(c.receiving), 1),
               StateChange(c.time_ns, c.endpoint, str(c.old), str(c.new))) for c in changes]
    keyed.sort(key=lambda pair: pair[0])
    return Ladder(endpoints, [item for _key, item in keyed],
                  {end: str(state) for end, state in initial.items()})
