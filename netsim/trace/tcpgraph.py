"""Time-sequence graphs of TCP connections from any capture (``netsim tcpgraph``).

The picture Stevens drew in *TCP/IP Illustrated* and Shepard's tcptrace draws: time across,
the data sender's sequence numbers (relative to its ISN) up. Each data segment is a vertical
bar from its first to its last byte at the time the capture saw it, and a retransmission (a
segment starting below the highest byte already sent, RFC 9293 3.8.1) is red; the receiver's
cumulative ACK is a step line under the bars, the right edge of its receive window
(ACK + window, RFC 9293 3.8.6) a step line above them, and each SACK block (RFC 2018) a
purple bar at the time of the ACK that carried it. A second panel plots the bytes in flight
as seen at the capture point (highest byte sent minus highest byte acknowledged): the sender's
congestion window, as an observer can estimate it.

Segments come from :func:`netsim.trace.ladder.capture.connections_from_capture`, which reads
ours and tcpdump's captures (pcap and pcapng) and merges the sightings of one segment on
several interfaces. matplotlib is imported only to draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .ladder.capture import connections_from_capture
from .ladder.model import LadderRow

__all__ = ["TimeSequence", "time_sequences", "time_sequence", "render_tcpgraph", "draw"]

_MOD = 1 << 32
_HALF = 1 << 31


@dataclass
class TimeSequence:
    """One direction of one connection, ready to draw (times in ns, sequence numbers
    relative to the data sender's ISN, windows scaled as the SYNs negotiated).

    Attributes:
        sender, receiver: endpoint labels (``h1:40000``, ``10.0.0.2:80``).
        segments: ``(time_ns, start, end, retransmission, lost)`` per data segment.
        acks: ``(time_ns, ack)`` per segment from the receiver.
        windows: ``(time_ns, ack + window)`` per segment from the receiver.
        sacks: ``(time_ns, left, right)`` per SACK block the receiver sent.
        in_flight: ``(time_ns, bytes)``: highest byte sent minus highest acknowledged, after
            each segment seen either way.
    """

    sender: str
    receiver: str
    segments: list[tuple[int, int, int, bool, bool]] = field(default_factory=list)
    acks: list[tuple[int, int]] = field(default_factory=list)
    windows: list[tuple[int, int]] = field(default_factory=list)
    sacks: list[tuple[int, int, int]] = field(default_factory=list)
    in_flight: list[tuple[int, int]] = field(default_factory=list)

    @property
    def retransmissions(self) -> list[tuple[int, int, int, bool, bool]]:
        return [s for s in self.segments if s[3]]

    @property
    def data_bytes(self) -> int:
        """The bytes of data sent (the highest byte; the SYN took sequence number 0)."""
        return max((s[2] - 1 for s in self.segments), default=0)


def _rel(value: int, base: int) -> int:
    """``value`` relative to ``base`` in sequence space, negative when it lies before it."""
    d = (value - base) % _MOD
    return d - _MOD if d >= _HALF else d


def time_sequence(endpoints: tuple[str, str], rows: list[LadderRow],
                  sender: str | None = None) -> TimeSequence:
    """The time-sequence data of one connection's rows, for the direction ``sender`` sends
    (default: the end that sent more payload bytes)."""
    if sender is None:
        sent = {e: sum(r.length for r in rows if r.src == e) for e in endpoints}
        sender = max(endpoints, key=lambda e: (sent[e], e == endpoints[0]))
    receiver = endpoints[1] if sender == endpoints[0] else endpoints[0]
    mine = [r for r in rows if r.src == sender]
    syn = next((r for r in mine if "SYN" in r.flags.split(",")), None)
    isn = syn.seq if syn is not None else (mine[0].seq - 1 if mine else 0)
    ts = TimeSequence(sender, receiver)
    high = 1            # the highest byte sent + 1 (the SYN took sequence number 0)
    acked = 1
    for r in rows:
        if r.src == sender:
            start = _rel(r.seq, isn)
            end = start + r.length
            if r.length:
                ts.segments.append((r.time_ns, start, end, start < high, r.lost))
            # A FIN takes one sequence number after the data (RFC 9293 3.4).
            high = max(high, end + ("FIN" in r.flags.split(",")))
        elif "ACK" in r.flags.split(","):
            ack = _rel(r.ack, isn)
            acked = max(acked, ack)
            ts.acks.append((r.time_ns, ack))
            ts.windows.append((r.time_ns, ack + r.window))
            for left, right in r.sack:
                ts.sacks.append((r.time_ns, _rel(left, isn), _rel(right, isn)))
        else:
            continue
        ts.in_flight.append((r.time_ns, max(high - acked, 0)))
    return ts


def time_sequences(path) -> list[TimeSequence]:
    """One :class:`TimeSequence` per TCP connection in a capture, in order of first segment.

    Raises:
        netsim.wire.errors.DecodeError: the file is not a capture, or is corrupt.
    """
    return [time_sequence(ends, rows) for ends, rows in connections_from_capture(path)]


def draw(ts: TimeSequence, path: Path, title: str | None = None, fmt: str | None = None,
         span: tuple[float, float] | None = None) -> Path:
    """Draw ``ts`` to ``path``: the time-sequence graph above, bytes in flight below.

    Args:
        fmt: "png" or "svg"; default: from the suffix of ``path`` (PNG unless ``.svg``).
        span: show only these seconds (since the first segment), sequence axis fitted to it.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    t0 = min([s[0] for s in ts.segments] + [t for t, _ in ts.in_flight] or [0])

    def sec(t: int) -> float:
        return (t - t0) / 1e9

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1.2]})
    fresh = [((sec(t), a), (sec(t), b)) for t, a, b, again, _lost in ts.segments if not again]
    again = [((sec(t), a), (sec(t), b)) for t, a, b, again, _lost in ts.segments if again]
    top.add_collection(LineCollection(fresh, colors="black", linewidths=1.2, label="segment"))
    if again:
        counted = [p for p in again if span is None or span[0] <= p[0][0] <= span[1]]
        top.add_collection(LineCollection(again, colors="red", linewidths=2.2,
                                          label=f"retransmission ({len(counted)})"))
        top.plot([p[1][0] for p in again], [p[1][1] for p in again], "r^", markersize=4)
    lost = [(sec(t), b) for t, _a, b, _again, was_lost in ts.segments if was_lost]
    if lost:
        top.plot(*zip(*lost), "x", color="red", markersize=6, ls="none",
                 label="never arrived (receiver's NIC is in the capture)")
    if ts.acks:
        top.step([sec(t) for t, _ in ts.acks], [a for _, a in ts.acks], where="post",
                 color="tab:green", lw=1, label="ACK")
        top.step([sec(t) for t, _ in ts.windows], [w for _, w in ts.windows], where="post",
                 color="goldenrod", lw=1, label="receive window (ACK + window)")
    if ts.sacks:
        top.add_collection(LineCollection([((sec(t), a), (sec(t), b)) for t, a, b in ts.sacks],
                                          colors="tab:purple", linewidths=3, alpha=0.6,
                                          label="SACK block"))
    top.autoscale_view()
    shown = [s for s in ts.segments if span is None or span[0] <= sec(s[0]) <= span[1]]
    if shown:
        lo, hi = min(s[1] for s in shown), max(s[2] for s in shown)
        pad = (hi - lo) * 0.06 + 1
        top.set_ylim(max(lo - pad, 0) if span else 0, hi + pad)
    if span is not None:
        top.set_xlim(*span)
    top.set_ylabel(f"sequence number of {ts.sender} (relative)")
    top.legend(fontsize=8, loc="upper left")
    top.grid(True, alpha=0.25)
    top.set_title(title or f"{ts.sender} -> {ts.receiver}: time-sequence graph", fontsize=11)
    if ts.in_flight:
        bottom.step([sec(t) for t, _ in ts.in_flight], [b / 1000 for _, b in ts.in_flight],
                    where="post", color="tab:blue", lw=1)
    bottom.set_ylabel("in flight (kB)")
    bottom.set_xlabel("time (s) since the first segment")
    bottom.set_title("bytes in flight at the capture point (the sender's cwnd, estimated)",
                     fontsize=9, loc="left")
    bottom.grid(True, alpha=0.25)
    fig.tight_layout()
    fmt = fmt or ("svg" if Path(path).suffix.lower() == ".svg" else "png")
    fig.savefig(path, dpi=100, format=fmt)
    plt.close(fig)
    return path


def render_tcpgraph(capture, path: Path, conn: int | None = None,
                    title: str | None = None) -> Path:
    """Draw connection ``conn`` (1-based; default: the one that carried most data) of a
    capture to ``path`` (PNG or SVG).

    Raises:
        DecodeError: not a capture; ValueError: no TCP connection, or no connection ``conn``.
    """
    graphs = time_sequences(capture)
    if not graphs:
        raise ValueError("no TCP connections found")
    if conn is None:
        chosen = max(graphs, key=lambda g: g.data_bytes)
    elif 1 <= conn <= len(graphs):
        chosen = graphs[conn - 1]
    else:
        raise ValueError(f"no connection {conn}: the capture has {len(graphs)}")
    return draw(chosen, Path(path), title)
