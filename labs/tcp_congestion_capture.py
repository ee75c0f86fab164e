"""The tcp-congestion lab's captures, commented with what congestion control did and why.

A capture of the sender's NIC shows segments, not decisions. After a run the lab knows both:
the TCP tracer's congestion updates say when a fast recovery or a timeout began, and r1's
interface reported which frames its full queue threw away. :func:`annotate_cwnd` writes those
facts onto the frames they concern (Wireshark: *Packet comments*, or ``frame.comment``), and
:func:`annotate_nagle` marks the held write and the delayed ACK of each stalled request. The
file is rewritten in place, frame for frame; only comments are added.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from netsim.capture import PcapngWriter, read_capture
from netsim.wire.frame import decode_frame

__all__ = ["annotate_cwnd", "annotate_nagle", "rewrite_with_comments"]

_MOD = 1 << 32


def rewrite_with_comments(path: Path, comment_for: Callable[[int, object, object], list[str]]
                          ) -> int:
    """Rewrite the pcapng file ``path`` adding ``comment_for(index, captured, decoded)`` to each
    frame's comments; returns how many frames got a new comment."""
    frames = list(read_capture(path))
    added = 0
    with PcapngWriter(path) as w:
        ids: dict[int, int] = {}
        for i, f in enumerate(frames):
            if f.if_id not in ids:
                ids[f.if_id] = w.add_interface(f.if_name or f"if{f.if_id}", linktype=f.linktype)
            new = comment_for(i, f, decode_frame(f.data))
            added += bool(new)
            text = "; ".join([*f.comments, *new]) or None
            w.write(ids[f.if_id], f.time_ns, f.data, comment=text, direction=f.direction)
    return added


def _segments(path: Path) -> list[tuple[int, str | None, object, int]]:
    """(index, direction, TCP value, time_ns) of each TCP frame in the capture."""
    out = []
    for i, f in enumerate(read_capture(path)):
        frame = decode_frame(f.data)
        if frame.tcp is not None:
            out.append((i, f.direction, frame.tcp, f.time_ns))
    return out


def annotate_cwnd(path: Path, series: list[tuple], drops: list[tuple[int, bytes, str]],
                  mss: int) -> int:
    """Comment a bulk sender's capture (its own NIC) with its congestion decisions.

    Args:
        series: the sender's congestion updates as (time_ns, cwnd, ssthresh, ca_state, rto,
            srtt) tuples, from the TCP tracer.
        drops: (time_ns, frame, why) of every frame lost at r1: ``why`` is "queue" (its
            bottleneck queue was full) or "outage" (the bottleneck was down).
        mss: the sender's segment size, to give windows in segments.

    Returns:
        How many frames got a comment.
    """
    segs = _segments(path)
    out = [(i, d, tcp, t) for i, d, tcp, t in segs if d == "out" and tcp.payload]
    acks = [(i, tcp, t) for i, d, tcp, t in segs if d == "in"]
    if not out:
        return 0
    base = out[0][2].seq
    notes: dict[int, list[str]] = {}

    def note(index: int, text: str) -> None:
        notes.setdefault(index, []).append(text)

    # Which sent copy did r1 drop: the latest one with the same sequence number sent before.
    for t, frame, why in drops:
        tcp = decode_frame(frame).tcp
        if tcp is None or not tcp.payload:
            continue
        sent = [i for i, _d, s, ts in out if s.seq == tcp.seq and ts <= t]
        if sent:
            note(sent[-1], "dropped at r1: the bottleneck's queue was full (drop-tail), so this "
                           "segment never arrived" if why == "queue" else
                           "lost after r1: the bottleneck was down (an outage), so this "
                           "segment never arrived")
    # A retransmission repeats sequence space already sent (RFC 9293 3.8.1).
    retx, high = [], 0
    for i, _d, tcp, t in out:
        start = (tcp.seq - base) % _MOD
        if start < high:
            retx.append((t, i))
        else:
            high = start + len(tcp.payload)

    def segs_of(size: int) -> str:
        return f"{size / mss:.1f}"

    prev = None
    for time_ns, cwnd, ssthresh, state, rto, _srtt in series:
        if prev is not None and state != prev[3]:
            first = next((i for t, i in retx if t >= time_ns), None)
            ack = next((i for i, _tcp, t in reversed(acks) if t <= time_ns), None)
            if state == "recovery" and first is not None:
                note(first, f"fast retransmit (RFC 5681 3.2, RFC 6675): duplicate ACKs said this "
                            f"segment was lost, fast recovery: cwnd {segs_of(prev[1])} -> "
                            f"{segs_of(cwnd)} segments, ssthresh {segs_of(ssthresh)}")
                if ack is not None:
                    note(ack, "this duplicate ACK starts fast recovery")
            elif state == "loss" and first is not None:
                # The update comes after RFC 6298 (5.5) doubled the RTO: the one that expired
                # was half of it.
                note(first, f"retransmission timeout (RFC 6298 5.5): no ACK for {rto // 2_000_000}"
                            f" ms, cwnd {segs_of(prev[1])} -> 1 segment, ssthresh "
                            f"{segs_of(ssthresh)}, slow start again (RFC 5681 (5))")
            elif prev[3] == "recovery" and state == "open" and ack is not None:
                note(ack, f"fast recovery ends: this ACK covers all that was outstanding when it "
                          f"began, cwnd = ssthresh = {segs_of(cwnd)} segments, congestion "
                          "avoidance")
        prev = (time_ns, cwnd, ssthresh, state)
    return rewrite_with_comments(path, lambda i, f, d: notes.get(i, []))


def annotate_nagle(path: Path, delack_ns: int) -> int:
    """Comment the capture of a client whose requests are two small writes: the ACK the
    server delayed and the write Nagle's algorithm held until that ACK came.

    Returns:
        How many frames got a comment.
    """
    segs = _segments(path)
    notes: dict[int, list[str]] = {}
    last_data: tuple[int, object, int] | None = None   # the client's latest data segment
    for n, (i, d, tcp, t) in enumerate(segs):
        if d == "out" and tcp.payload:
            last_data = (i, tcp, t)
            continue
        if d != "in" or tcp.payload or last_data is None:
            continue
        j, data, sent = last_data
        acked = (tcp.ack - data.seq) % _MOD == len(data.payload)
        waited = t - sent
        if not acked or waited < delack_ns // 2:
            continue
        notes.setdefault(j, []).append(
            "the first small write goes at once: nothing was unacknowledged (RFC 896)")
        notes.setdefault(i, []).append(
            f"delayed ACK (RFC 1122 4.2.3.2): it comes {waited / 1e6:.0f} ms after the segment "
            f"it acknowledges (srv's {delack_ns / 1e6:g} ms timer plus the round trip): srv "
            "waited for data to send it with, but its answer needs the rest of the request")
        nxt = next(((k, s, ts) for k, dd, s, ts in segs[n + 1:] if dd == "out" and s.payload),
                   None)
        if nxt is not None and nxt[2] - t < 1_000_000:
            notes.setdefault(nxt[0], []).append(
                f"Nagle (RFC 896, RFC 1122 4.2.3.4): the second write waited {waited / 1e6:.0f} "
                "ms for the ACK of the first small segment (TCP_NODELAY sends it at once)")
    return rewrite_with_comments(path, lambda i, f, d: notes.get(i, []))
