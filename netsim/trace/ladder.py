"""TCP ladder diagrams: the two ends of a connection side by side, segments as arrows between
them, each end's RFC 9293 state printed as it changes.

Items are :class:`LadderRow` (one segment) and :class:`StateChange` (one end changes state).
The TCP tracer builds them live from the simulator; :func:`ladders_from_capture` infers them
from any capture file (ours or tcpdump's) with the state table :data:`TRANSITIONS`. Two
renderers draw them: :func:`render_text` for a terminal (Unicode box drawing, or plain ASCII),
:func:`render_svg` for a page.

Inference from a capture is an observer's guess, as in Wireshark's TCP analysis: a segment
moves its sender's state when first seen and its receiver's state when last seen (a netsim
capture sees each segment leave one host and reach the other, so the two times differ; a
single-interface tcpdump capture sees it once). TIME_WAIT never visibly ends, and a
simultaneous close seen from a single point looks like an ordinary close.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from ..capture.reader import read_capture
from ..sim.units import NS_PER_S
from ..wire import ipv4 as _ipv4
from ..wire import tcp as _tcp
from ..wire.errors import DecodeError
from ..wire.frame import decode_frame

__all__ = ["LadderRow", "StateChange", "Ladder", "TRANSITIONS", "render_text", "render_svg",
           "ladders_from_capture", "infer_states"]

_MOD = 1 << 32


@dataclass(slots=True)
class LadderRow:
    """One segment: ``src`` and ``dst`` are endpoint labels (``"h1:49152"``); ``seq``/``ack`` are
    the wire values (renderers subtract the ISNs when asked); ``flags`` is ``"SYN,ACK"`` as
    :func:`netsim.wire.tcp.flags_str` writes it; ``arrive_ns`` is when it reached ``dst`` (None:
    unknown); ``lost`` marks a segment that never arrived."""

    time_ns: int
    src: str
    dst: str
    flags: str
    seq: int
    ack: int
    length: int
    window: int
    options: str = ""
    note: str = ""
    lost: bool = False
    arrive_ns: int | None = None


@dataclass(slots=True)
class StateChange:
    """``endpoint`` moved from state ``old`` to ``new`` at ``time_ns``."""

    time_ns: int
    endpoint: str
    old: str
    new: str


# ---------------------------------------------------------------------------------------------
# State inference (RFC 9293 section 3.3.2, figure 5, and the segment-arrival rules of 3.10.7)

SND_SYN, SND_SYNACK, SND_FIN, SND_RST = "snd SYN", "snd SYN,ACK", "snd FIN", "snd RST"
RCV_SYN, RCV_SYNACK, RCV_FIN, RCV_RST = "rcv SYN", "rcv SYN,ACK", "rcv FIN", "rcv RST"
RCV_ACK = "rcv ACK"                 # an ACK that does not cover our FIN
RCV_ACK_OF_FIN = "rcv ACK of FIN"   # an ACK covering the FIN we sent

#: (state, event) -> next state. Pairs not listed leave the state unchanged (data, duplicate
#: ACKs, retransmitted SYNs...).
TRANSITIONS: dict[tuple[str, str], str] = {
    ("CLOSED", SND_SYN): "SYN_SENT",                 # active OPEN
    ("LISTEN", RCV_SYN): "SYN_RECEIVED",             # passive OPEN gets a SYN
    ("LISTEN", SND_SYN): "SYN_SENT",                 # SEND on a listening socket
    ("SYN_SENT", RCV_SYNACK): "ESTABLISHED",
    ("SYN_SENT", RCV_SYN): "SYN_RECEIVED",           # simultaneous open
    ("SYN_RECEIVED", RCV_ACK): "ESTABLISHED",
    ("SYN_RECEIVED", RCV_SYNACK): "ESTABLISHED",     # simultaneous open, second half
    ("SYN_RECEIVED", SND_FIN): "FIN_WAIT_1",
    ("SYN_RECEIVED", RCV_FIN): "CLOSE_WAIT",
    ("ESTABLISHED", SND_FIN): "FIN_WAIT_1",
    ("ESTABLISHED", RCV_FIN): "CLOSE_WAIT",
    ("FIN_WAIT_1", RCV_ACK_OF_FIN): "FIN_WAIT_2",
    ("FIN_WAIT_1", RCV_FIN): "CLOSING",              # simultaneous close
    ("FIN_WAIT_2", RCV_FIN): "TIME_WAIT",
    ("CLOSING", RCV_ACK_OF_FIN): "TIME_WAIT",
    ("CLOSE_WAIT", SND_FIN): "LAST_ACK",
    ("LAST_ACK", RCV_ACK_OF_FIN): "CLOSED",
}
# A reset, sent or accepted, closes every synchronized or half-open state (RFC 9293 3.10.7.4).
for _state in ("SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
               "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"):
    TRANSITIONS[(_state, RCV_RST)] = "CLOSED"
    TRANSITIONS[(_state, SND_RST)] = "CLOSED"


def _seq_ge(a: int, b: int) -> bool:
    """a >= b in sequence space (RFC 9293 3.4: comparisons are modulo 2**32)."""
    return (a - b) % _MOD < _MOD // 2


def _send_events(flags: int) -> list[str]:
    if flags & _tcp.RST:
        return [SND_RST]
    events = []
    if flags & _tcp.SYN:
        events.append(SND_SYNACK if flags & _tcp.ACK else SND_SYN)
    if flags & _tcp.FIN:
        events.append(SND_FIN)
    return events


def _receive_events(flags: int, ack: int, our_fin_end: int | None) -> list[str]:
    if flags & _tcp.RST:
        return [RCV_RST]
    if flags & _tcp.SYN:
        events = [RCV_SYNACK if flags & _tcp.ACK else RCV_SYN]
    elif flags & _tcp.ACK:
        covers_fin = our_fin_end is not None and _seq_ge(ack, our_fin_end)
        events = [RCV_ACK_OF_FIN if covers_fin else RCV_ACK]
    else:
        events = []
    if flags & _tcp.FIN:
        events.append(RCV_FIN)
    return events


def _advance(state: str, events: list[str]) -> str:
    for event in events:
        state = TRANSITIONS.get((state, event), state)
    return state


def infer_states(rows: list[LadderRow], endpoints: tuple[str, str]
                 ) -> tuple[dict[str, str], list[tuple[tuple, StateChange]]]:
    """Run :data:`TRANSITIONS` over the segments of one connection.

    Args:
        rows: the connection's segments in order of first sighting (absolute seq/ack).
        endpoints: the two endpoint labels.

    Returns:
        (initial states, [(sort key, StateChange), ...]): an end whose first segment is a SYN,ACK
        starts in LISTEN, every other in CLOSED. Each segment changes its sender's state at
        ``time_ns`` and, unless lost, its receiver's at ``arrive_ns`` (or ``time_ns``); the
        transitions one segment causes at one end collapse into one change, as RFC 9293 does
        for a FIN that also acknowledges ours (FIN_WAIT_1 -> TIME_WAIT).
    """
    initial = {}
    for end in endpoints:
        first = next((r for r in rows if r.src == end), None)
        synack = first is not None and {"SYN", "ACK"} <= set(first.flags.split(","))
        initial[end] = "LISTEN" if synack else "CLOSED"
    events = []   # (time, row index, 0 send / 1 receive, endpoint, row)
    for i, row in enumerate(rows):
        events.append((row.time_ns, i, 0, row.src, row))
        if not row.lost:
            arrive = row.arrive_ns if row.arrive_ns is not None else row.time_ns
            events.append((arrive, i, 1, row.dst, row))
    events.sort(key=lambda e: e[:3])
    state = dict(initial)
    fin_end: dict[str, int] = {}     # sequence number just past each end's FIN
    changes = []
    for time_ns, i, receiving, end, row in events:
        flags = _flags_int(row.flags)
        if receiving:
            todo = _receive_events(flags, row.ack, fin_end.get(end))
        else:
            todo = _send_events(flags)
            if flags & _tcp.FIN:
                fin_end[end] = (row.seq + row.length + bool(flags & _tcp.SYN) + 1) % _MOD
        new = _advance(state[end], todo)
        if new != state[end]:
            changes.append(((time_ns, i, receiving, 1), StateChange(time_ns, end, state[end], new)))
            state[end] = new
    return initial, changes


_FLAG_BITS = {"FIN": _tcp.FIN, "SYN": _tcp.SYN, "RST": _tcp.RST, "PSH": _tcp.PSH,
              "ACK": _tcp.ACK, "URG": _tcp.URG, "ECE": _tcp.ECE, "CWR": _tcp.CWR, "NS": _tcp.NS}


def _flags_int(flags: str) -> int:
    return sum(_FLAG_BITS.get(name.strip(), 0) for name in flags.split(",") if name)


# ---------------------------------------------------------------------------------------------
# Labels shared by both renderers

def _isns(rows: list[LadderRow]) -> dict[str, int]:
    """Each end's initial sequence number: its SYN's seq, else the first seq it sent."""
    isn: dict[str, int] = {}
    for row in rows:
        if "SYN" in row.flags.split(","):
            isn.setdefault(row.src, row.seq)
    for row in rows:
        isn.setdefault(row.src, row.seq)
    return isn


def _label(row: LadderRow, isn: dict[str, int] | None) -> str:
    seq, ack = row.seq, row.ack
    if isn is not None:
        seq = (seq - isn.get(row.src, 0)) % _MOD
        if row.dst in isn:
            ack = (ack - isn[row.dst]) % _MOD
    parts = [f"[{row.flags or '<none>'}]", f"seq={seq}"]
    if "ACK" in row.flags.split(","):
        parts.append(f"ack={ack}")
    if row.length:
        parts.append(f"len={row.length}")
    parts.append(f"win={row.window}")
    if row.options:
        parts.append(row.options)
    return " ".join(parts)


def _sorted(items) -> list:
    return sorted(items, key=lambda item: item.time_ns)   # stable: equal times keep their order


def _initial_states(items, endpoints, states) -> dict[str, str]:
    initial = dict(states or {})
    for item in items:
        if isinstance(item, StateChange):
            initial.setdefault(item.endpoint, item.old)
    return {end: initial.get(end, "") for end in endpoints}


# ---------------------------------------------------------------------------------------------
# Text

_UNICODE = {"line": "│", "dash": "─", "right": "▶", "left": "◀", "lost": "✗", "more": "…"}
_ASCII = {"line": "|", "dash": "-", "right": ">", "left": "<", "lost": "x", "more": "~"}


def render_text(items, endpoints: tuple[str, str], relative: bool = True,
                width: int | None = None, ascii: bool = False,
                states: dict[str, str] | None = None, notes: bool = True) -> str:
    """Draw a ladder for a terminal.

    Args:
        items: :class:`LadderRow` and :class:`StateChange` values (sorted by time here).
        endpoints: (left, right) endpoint labels; rows between other labels are skipped.
        relative: show seq/ack relative to each end's ISN, as Wireshark does.
        width: total width in columns; None fits the longest label. Longer labels are cut.
        ascii: plain ASCII instead of Unicode box drawing.
        states: initial states to print under the endpoints (default: the ``old`` state of
            each end's first change).
        notes: append each row's ``note`` after the right lifeline.

    Returns:
        The diagram, lines joined with ``\\n``, time (ms since the first item) on the left.
    """
    g = _ASCII if ascii else _UNICODE
    items = _sorted(items)
    left, right = endpoints
    rows = [i for i in items if isinstance(i, LadderRow)]
    isn = _isns(rows) if relative else None
    labels = {id(r): _label(r, isn) for r in rows}
    tcol = 11
    inner = max([40, len(left) + len(right) + 2] + [len(s) + 5 for s in labels.values()])
    if width is not None:
        inner = max(12, width - tcol - 2)
    t0 = items[0].time_ns if items else 0
    blank = " " * tcol

    def ends(a: str, b: str) -> str:
        gap = inner + 2 - len(a) - len(b)
        return a + " " * max(1, gap) + b

    out = [f"{'time (ms)':>{tcol - 2}}  " + ends(left, right)]
    initial = _initial_states(items, endpoints, states)
    out.append(blank + ends(initial[left] or g["line"], initial[right] or g["line"]))
    pending: dict[str, str] = {}

    def flush_states() -> None:
        if pending:
            out.append(blank + ends(pending.get(left, g["line"]), pending.get(right, g["line"])))
            pending.clear()

    for item in items:
        if isinstance(item, StateChange):
            if item.endpoint not in endpoints:
                continue
            if item.endpoint in pending:
                flush_states()
            pending[item.endpoint] = item.new
            continue
        if {item.src, item.dst} != {left, right}:
            continue
        flush_states()
        text = labels[id(item)]
        if len(text) > inner - 5:
            text = text[:inner - 6] + g["more"]
        body = _text_arrow(text, inner, item.src == left, item.lost, g)
        line = f"{(item.time_ns - t0) / 1e6:>{tcol - 2}.3f}  {g['line']}{body}{g['line']}"
        if notes and item.note:
            line += f"  # {item.note}"
        out.append(line)
    flush_states()
    return "\n".join(out) + "\n"


def _text_arrow(text: str, inner: int, rightward: bool, lost: bool, g: dict[str, str]) -> str:
    dash = g["dash"]
    if lost:   # the arrow stops two thirds of the way, ending in a cross
        reach = max(len(text) + 5, inner * 2 // 3)
        fill, gap = dash * (reach - len(text) - 3), " " * (inner - reach)
        if rightward:
            return dash * 2 + text + fill + g["lost"] + gap
        return gap + g["lost"] + fill + text + dash * 2
    fill = dash * (inner - len(text) - 3)
    if rightward:
        return dash * 2 + text + fill + g["right"]
    return g["left"] + fill + text + dash * 2


# ---------------------------------------------------------------------------------------------
# SVG

_SVG_STYLE = """
text { font-family: DejaVu Sans Mono, Menlo, Consolas, monospace; font-size: 11px; }
.end { font-weight: bold; font-size: 13px; }
.life { stroke: #444; stroke-width: 1.5; }
.seg { stroke: #1f5fa8; stroke-width: 1.4; fill: none; }
.lost { stroke: #b22222; stroke-dasharray: 5 3; }
.cross { stroke: #b22222; stroke-width: 2.2; }
.lbl { fill: #111; }
.bg { fill: #fff; fill-opacity: 0.85; }
.time { fill: #666; }
.state rect { fill: #fff4c2; stroke: #a08000; }
.state text { fill: #5a4500; font-size: 10px; }
"""


def render_svg(items, endpoints: tuple[str, str], relative: bool = True,
               states: dict[str, str] | None = None) -> str:
    """Draw a ladder as a standalone SVG document.

    Args:
        items: :class:`LadderRow` and :class:`StateChange` values.
        endpoints: (left, right) endpoint labels.
        relative: seq/ack relative to each end's ISN.
        states: initial states (default: the ``old`` state of each end's first change).

    Returns:
        SVG text. Each item gets its own vertical slot, in time order; a row with a known
        ``arrive_ns`` slants down to where its arrival time falls among the other items, a lost
        row stops half way at a red cross, state changes are boxes on the lifelines.
    """
    items = [i for i in _sorted(items)
             if (isinstance(i, StateChange) and i.endpoint in endpoints)
             or (isinstance(i, LadderRow) and {i.src, i.dst} == set(endpoints))]
    rows = [i for i in items if isinstance(i, LadderRow)]
    isn = _isns(rows) if relative else None
    labels = {id(r): _label(r, isn) for r in rows}
    span = max([360] + [int(len(s) * 6.8) + 60 for s in labels.values()])
    xl, step, top = 110, 30, 92
    xr = xl + span
    t0 = items[0].time_ns if items else 0
    slots = [(item.time_ns, top + k * step) for k, item in enumerate(items)]
    bottom = top + len(items) * step + step
    x_of = {endpoints[0]: xl, endpoints[1]: xr}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{xr + 110}" height="{bottom + 20}" '
           f'viewBox="0 0 {xr + 110} {bottom + 20}">', f"<style>{_SVG_STYLE}</style>",
           f'<rect width="{xr + 110}" height="{bottom + 20}" fill="white"/>',
           '<text x="8" y="20" class="time">time (ms)</text>']
    for end, x in x_of.items():
        out.append(f'<text x="{x}" y="24" text-anchor="middle" class="end">{escape(end)}</text>')
        out.append(f'<line x1="{x}" y1="{top - 44}" x2="{x}" y2="{bottom}" class="life"/>')
    initial = _initial_states(items, endpoints, states)
    for end, x in x_of.items():
        if initial[end]:
            out.append(_svg_state(x, 44, initial[end]))
    for item, (_t, y) in zip(items, slots):
        if isinstance(item, StateChange):
            out.append(_svg_state(x_of[item.endpoint], y + 3, item.new))   # below arrow tips
            continue
        x1, x2 = x_of[item.src], x_of[item.dst]
        y2 = y if item.arrive_ns is None else _y_at(item.arrive_ns, slots, step)
        out.append(f'<text x="8" y="{y + 4}" class="time">{(item.time_ns - t0) / 1e6:.3f}</text>')
        out.append(_svg_arrow(x1, y, x2, y2, labels[id(item)], item.lost))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _y_at(time_ns: int, slots: list[tuple[int, int]], step: int) -> float:
    """Where ``time_ns`` falls among the item slots (linear between the two around it)."""
    prev_t, prev_y = slots[0][0], slots[0][1]
    for t, y in slots:
        if t >= time_ns:
            if t == time_ns or t == prev_t:
                return y
            return prev_y + (y - prev_y) * (time_ns - prev_t) / (t - prev_t)
        prev_t, prev_y = t, y
    return prev_y + step


def _svg_state(x: float, y: float, name: str) -> str:
    w = len(name) * 6.3 + 12
    return (f'<g class="state"><rect x="{x - w / 2:.1f}" y="{y:.1f}" width="{w:.1f}" height="17" '
            f'rx="4"/><text x="{x}" y="{y + 12:.1f}" text-anchor="middle">{escape(name)}</text></g>')


def _svg_arrow(x1: float, y1: float, x2: float, y2: float, label: str, lost: bool) -> str:
    if lost:
        x2, y2 = x1 + (x2 - x1) * 0.6, y1 + (y2 - y1) * 0.6
    parts = [f'<line x1="{x1}" y1="{y1}" x2="{x2:.1f}" y2="{y2:.1f}" '
             f'class="seg{" lost" if lost else ""}"/>']
    if lost:
        for dx, dy in ((6, 6), (6, -6)):
            parts.append(f'<line x1="{x2 - dx:.1f}" y1="{y2 - dy:.1f}" x2="{x2 + dx:.1f}" '
                         f'y2="{y2 + dy:.1f}" class="cross"/>')
    else:
        angle = math.atan2(y2 - y1, x2 - x1)
        head = [(x2, y2)] + [(x2 - 10 * math.cos(angle + s), y2 - 10 * math.sin(angle + s))
                             for s in (0.4, -0.4)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in head)
        parts.append(f'<polygon points="{points}" fill="#1f5fa8"/>')
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2 - 5
    w = len(label) * 6.7
    parts.append(f'<rect x="{mx - w / 2:.1f}" y="{my - 10:.1f}" width="{w:.1f}" height="13" '
                 f'class="bg"/>')
    parts.append(f'<text x="{mx:.1f}" y="{my:.1f}" text-anchor="middle" class="lbl">'
                 f"{escape(label)}</text>")
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Ladders from a capture file

@dataclass
class Ladder:
    """One TCP connection: (initiator, responder) endpoint labels, rows and state changes."""

    endpoints: tuple[str, str]
    items: list = field(default_factory=list)
    initial: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> list[LadderRow]:
        """The segments only."""
        return [i for i in self.items if isinstance(i, LadderRow)]

    @property
    def final_states(self) -> dict[str, str]:
        """Each end's last inferred state."""
        final = dict(self.initial)
        for item in self.items:
            if isinstance(item, StateChange):
                final[item.endpoint] = item.new
        return final

    def text(self, **options) -> str:
        """:func:`render_text` of this ladder (same keyword options)."""
        options.setdefault("states", self.initial)
        return render_text(self.items, self.endpoints, **options)

    def svg(self, **options) -> str:
        """:func:`render_svg` of this ladder (same keyword options)."""
        options.setdefault("states", self.initial)
        return render_svg(self.items, self.endpoints, **options)


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


def option_text(options) -> str:
    """Options as Wireshark shows them in the Info column: ``MSS=1460 WS=128 SACK_PERM``."""
    shown = []
    for name, value in options:
        if name == "MSS":
            shown.append(f"MSS={value}")
        elif name == "WScale":
            shown.append(f"WS={1 << min(value, 14)}")
        elif name == "SAckOK":
            shown.append("SACK_PERM")
        elif name == "Timestamp":
            shown.append(f"TSval={value[0]} TSecr={value[1]}")
        elif name == "SAck":
            shown.append("SACK=" + ",".join(f"{a}-{b}" for a, b in value))
    return " ".join(shown)


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
    copies = _collect(path, dedup_window_ns)
    node_of = _node_names(copies) if names else {}
    captured_nodes = {c.rsplit("-", 1)[0] for copy in copies for c in copy.ifaces if "-" in c}
    ladders = []
    for conn in _split_connections(copies):
        ladders.append(_ladder(conn, node_of, captured_nodes))
    return ladders


def _ladder(conn: list[_Copy], node_of: dict[str, str], captured_nodes: set[str]) -> Ladder:
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
                              lost, arrive))
    endpoints = (label(left), label(right))
    initial, changes = infer_states(rows, endpoints)
    keyed = [((row.time_ns, i, 0, 0), row) for i, row in enumerate(rows)] + changes
    keyed.sort(key=lambda pair: pair[0])
    return Ladder(endpoints, [item for _key, item in keyed], initial)
