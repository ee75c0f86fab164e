"""One scene of the viewer as plain data: the timeline format of ``docs/viewer.md``.

A scene is what the page plays: the topology, the events in time order, the distinct frames
(bytes, summary, layered tree with byte ranges, filter fields), the *hops* (one envelope per
frame on a cable, from the sender's ``tx`` to the receiver's ``rx``, or to the mark where it
was lost or collided), the device-state deltas, the "what this device did" notes and the TCP
ladders. :func:`build_scene` makes it from any list of trace events, recorded from a running
network (:mod:`.record`) or read from a capture (:mod:`.capture`).

Pairing a transmission with its reception needs no protocol knowledge: the receiver is the
interface at the other end of the sender's cable (:class:`~.topology.Topology` ``peers``) and
the frame is the same bytes; the earliest unmatched copy wins, which keeps a link's FIFO
order, and a second reception of an already matched frame is a duplicate.
"""

from __future__ import annotations

import base64
import re
from collections import deque
from collections.abc import Iterable
from typing import Any

from ..sim.units import NS_PER_S, parse_time
from ..trace.events import TraceEvent
from . import dissect
from .explain import explain
from .record import TABLE_COLUMNS
from .topology import Topology

__all__ = ["build_scene", "time_order", "FORMAT", "VERSION", "ladder_data"]

FORMAT = "netsim-timeline"
VERSION = 1

EVENT_COLUMNS = ["t", "node", "iface", "kind", "frame", "note"]
HOP_COLUMNS = ["tx", "rx", "t0", "t1", "outcome", "reach", "reason"]

_WIRE_OVERHEAD = 8 + 4 + 12  # preamble+SFD, FCS, inter-frame gap (net/link.py)
_COLLIDED = re.compile(r"collided after (\S+)")


def _order(events: list[TraceEvent]) -> list[int]:
    """Positions in time order; equal times keep the log's order (a stable sort)."""
    return sorted(range(len(events)), key=lambda i: events[i].time_ns)


def time_order(events: list[TraceEvent]) -> list[TraceEvent]:
    """``events`` in the order a scene lists them (by time; the log's order at equal times)."""
    return [events[i] for i in _order(events)]


def _air_ns(topo: Topology, key: tuple[str, str], nbytes: int) -> int | None:
    """How long a frame of ``nbytes`` takes on the cable of ``key``: serialisation + delay."""
    link = topo.link_of(key)
    if link is None or not link.get("rate"):
        return None
    return (nbytes + _WIRE_OVERHEAD) * 8 * NS_PER_S // link["rate"] + (link.get("delay") or 0)


def _pair(events: list[TraceEvent], frame_ids: list[int], topo: Topology,
          observed: set[tuple[str, str]], end_ns: int) -> list[list[Any]]:
    """The hops: one per frame on a cable (see the module docstring)."""
    waiting: dict[tuple, deque[int]] = {}
    last_matched: dict[tuple, int] = {}
    hops: list[list[Any]] = []
    hop_of_tx: dict[int, int] = {}
    last_rx_at: dict[tuple[str, str], int] = {}
    for i, ev in enumerate(events):
        key = (ev.node, ev.iface)
        fid = frame_ids[i]
        if ev.kind == "tx" and fid >= 0:
            waiting.setdefault((key, fid), deque()).append(i)
        elif ev.kind == "rx" and fid >= 0:
            last_rx_at[key] = ev.time_ns
            peer = topo.peers.get(key)
            if peer is None:
                continue
            queue = waiting.get((peer, fid))
            if queue:
                j = queue.popleft()
                last_matched[(peer, fid)] = j
            elif (peer, fid) in last_matched:
                j = last_matched[(peer, fid)]  # a duplicate of a frame already received
            else:
                continue
            hop_of_tx.setdefault(j, len(hops))
            hops.append([j, i, events[j].time_ns, ev.time_ns, "ok", 1, ""])
        elif ev.kind == "collision":
            m = _COLLIDED.search(ev.note or "")
            took = parse_time(m.group(1)) if m else 0
            air = _air_ns(topo, key, len(ev.frame or b"")) or took or 1
            hops.append([i, -1, ev.time_ns - took, ev.time_ns, "collision",
                         round(min(0.9, took / air), 3), ev.note or "collision"])
    for (key, _fid), queue in waiting.items():
        peer = topo.peers.get(key)
        for j in queue:
            ev = events[j]
            air = _air_ns(topo, key, len(ev.frame or b"")) or 0
            note = ev.note or ""
            if "lost" in note:
                reason = next((p.strip() for p in note.split(";") if "lost" in p), note)
                hops.append([j, -1, ev.time_ns, ev.time_ns + air // 2, "lost", 0.5, reason])
            elif peer is None or peer not in observed:
                # Nobody captured the other end: draw the frame arriving when it would have.
                hops.append([j, -1, ev.time_ns, ev.time_ns + air, "unseen", 1,
                             "the other end of the cable is not in the capture"])
            elif ev.time_ns + air > end_ns or last_rx_at.get(peer, -1) < ev.time_ns + air:
                hops.append([j, -1, ev.time_ns, ev.time_ns + air, "flight", 1,
                             "still on the wire when the recording ended"])
            else:
                hops.append([j, -1, ev.time_ns, ev.time_ns + air // 2, "lost", 0.5,
                             "never arrived (lost on the cable)"])
    hops.sort(key=lambda h: (h[2], h[0]))
    return hops


def _iso(row: Any) -> Any:
    return list(row) if isinstance(row, tuple) else row


def ladder_data(ladders: Iterable[Any], events: list[TraceEvent]) -> list[dict[str, Any]]:
    """TCP connections for the ladder panel: rows with send and arrival times and labels.

    A row is drawn from when its segment went on the wire: the tracer notes a segment when TCP
    makes it, which may be before ARP resolved the next hop. Each row is matched with the
    first transmission of that node with its port, sequence, acknowledgment and flags at or
    after that moment (a retransmission is a row and a transmission of its own).
    """
    from ..trace.ladder.model import LadderRow, StateChange, isns, row_label
    tcp_tx: dict[tuple, deque[int]] = {}
    for i, ev in enumerate(events):
        if ev.kind == "tx" and ev.frame is not None:
            f = dissect.decode(ev.frame)
            if f is not None and f.tcp is not None:
                key = (ev.node, f.tcp.sport, f.tcp.seq, f.tcp.ack, int(f.tcp.flags))
                tcp_tx.setdefault(key, deque()).append(i)
    out = []
    for lad in ladders:
        items = list(lad.items)
        rows = [r for r in items if isinstance(r, LadderRow)]
        isn = isns(rows)
        eps = list(lad.endpoints)
        data_rows = []
        for r in sorted(rows, key=lambda r: r.time_ns):
            node, _, port = r.src.rpartition(":")
            key = (node, int(port) if port.isdigit() else -1, r.seq, r.ack, _flag_bits(r.flags))
            queue = tcp_tx.get(key, deque())
            while queue and events[queue[0]].time_ns < r.time_ns:
                queue.popleft()
            ev = queue.popleft() if queue else -1
            t0 = events[ev].time_ns if ev >= 0 else r.time_ns
            data_rows.append([t0, r.arrive_ns, eps.index(r.src) if r.src in eps else 0,
                              row_label(r, isn), bool(r.lost), ev])
        states = [[s.time_ns, eps.index(s.endpoint) if s.endpoint in eps else 0, s.old, s.new]
                  for s in items if isinstance(s, StateChange)]
        initial = getattr(lad, "initial", None) or {}
        out.append({"endpoints": eps, "initial": [initial.get(e, "") for e in eps],
                    "rows": data_rows, "states": states})
    return out


def _flag_bits(text: str) -> int:
    from ..wire import tcp as wtcp
    bits = {"FIN": wtcp.FIN, "SYN": wtcp.SYN, "RST": wtcp.RST, "PSH": wtcp.PSH, "ACK": wtcp.ACK,
            "URG": wtcp.URG, "ECE": wtcp.ECE, "CWR": wtcp.CWR, "NS": getattr(wtcp, "NS", 0x100)}
    return sum(bits.get(f, 0) for f in text.split(",") if f)


def _suggested_speed(hops: list[list[Any]]) -> float:
    """A playback speed at which a typical hop takes about half a second of wall time (the
    upper quartile: a hub's short repeater-to-station hops would make the median too small)."""
    spans = sorted(h[3] - h[2] for h in hops if h[3] > h[2])
    if not spans:
        return 1e-3
    typical = spans[len(spans) * 3 // 4] / NS_PER_S
    return max(1e-6, min(1.0, typical / 0.5))


def build_scene(name: str, events: list[TraceEvent], topo: Topology, *,
                deltas: list[tuple[int, str, str, tuple | None]] = (), ladders: Iterable[Any] = (),
                source: str = "", end_ns: int | None = None, state_note: str = "",
                observed: set[tuple[str, str]] | None = None, notes: list[str] = ()
                ) -> dict[str, Any]:
    """One scene of the timeline format (``docs/viewer.md``).

    Args:
        name: shown in the scene selector ("hub", "switch", "normal").
        events: trace events in the order the log got them.
        topo: the topology (peers pair transmissions with receptions).
        deltas: state changes from a :class:`~.record.Recorder` (positions into ``events``).
        ladders: TCP ladders (``endpoints``, ``items``, ``initial``).
        source: where the scene came from (a lab and its parameters, a script, a capture).
        end_ns: when the recording ended (default: the last event).
        state_note: said above the state panels (e.g. that only the final state is known).
        observed: interfaces whose receptions are in ``events`` (default: every interface).
        notes: lines shown in the page's header (warnings about the input).
    """
    order = _order(events)
    sorted_events = [events[i] for i in order]
    new_pos = {old: new for new, old in enumerate(order)}
    frame_index: dict[bytes, int] = {}
    frame_ids: list[int] = []
    frames: list[bytes] = []
    for ev in sorted_events:
        if ev.frame is None:
            frame_ids.append(-1)
            continue
        fid = frame_index.get(ev.frame)
        if fid is None:
            fid = frame_index[ev.frame] = len(frames)
            frames.append(ev.frame)
        frame_ids.append(fid)
    decoded = [dissect.decode(f) for f in frames]
    if end_ns is None:
        end_ns = sorted_events[-1].time_ns if sorted_events else 0
    if observed is None:
        observed = set(topo.peers) | {(e.node, e.iface) for e in sorted_events}
    hops = _pair(sorted_events, frame_ids, topo, observed, end_ns)
    # A late record moved back in time takes its deltas with it only if it had any: it has
    # none (see record.py), so positions stay in time order.
    state = [[new_pos.get(pos, -1) if pos >= 0 else -1, table, key, _iso(row)]
             for pos, table, key, row in deltas]
    state.sort(key=lambda d: d[0])
    tables = sorted({d[1] for d in state})
    did = explain(sorted_events, frame_ids, decoded, topo, state)
    return {
        "name": name,
        "source": source,
        "end_ns": end_ns,
        "speed": _suggested_speed(hops),
        "notes": list(notes),
        "topology": topo.to_dict(),
        "frames": [base64.b64encode(f).decode("ascii") for f in frames],
        "summaries": [_summary(f, d) for f, d in zip(frames, decoded)],
        "trees": [dissect.tree(f, d) for f, d in zip(frames, decoded)],
        "fields": [dissect.filter_fields(d) for d in decoded],
        "event_columns": EVENT_COLUMNS,
        "events": [[e.time_ns, e.node, e.iface, e.kind, fid, e.note]
                   for e, fid in zip(sorted_events, frame_ids)],
        "hop_columns": HOP_COLUMNS,
        "hops": hops,
        "did": did,
        "state": {"note": state_note,
                  "tables": {t: {"kind": t.split("/")[0], "node": t.split("/", 1)[1],
                                 "columns": TABLE_COLUMNS[t.split("/")[0]]} for t in tables},
                  "deltas": state},
        "tcp": ladder_data(ladders, sorted_events),
    }


def _summary(data: bytes, frame: Any) -> str:
    if frame is None:
        return f"[undecodable frame: {len(data)} bytes]"
    return frame.summary()
