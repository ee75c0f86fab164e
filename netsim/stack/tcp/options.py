"""TCP options of a connection: negotiation on the SYNs, and what every segment carries.

RFC 7323 window scaling and timestamps and RFC 2018 SACK are each used only when both SYNs
carried them (a SYN,ACK may carry an option only if the SYN did). Once timestamps are on,
every segment but a RST carries one (RFC 7323 3.2): the sender's clock (TSval) and the
latest TSval received in order (TSecr), which gives an RTT sample on every ACK of new data,
retransmissions included (RFC 7323 4), and PAWS, which rejects an old duplicate by its
timestamp (RFC 7323 5). A segment that lacks the option although timestamps are on is
accepted, as Linux does (RFC 7323 3.2 says it SHOULD be dropped). TSval ticks every 1 ms,
so timestamp RTT samples have 1 ms granularity; a segment timed by the sender itself (one per
RTT, RFC 6298) still gives a nanosecond sample. Option layout is Linux's (``tcp_options_write``): on a SYN ``MSS,
SACK_PERM, TS, NOP, WS``; on other segments ``NOP, NOP, TS`` then ``NOP, NOP, SACK``.

:class:`Options` is a mixin of :class:`~netsim.stack.tcp.connection.Connection`.
"""

from __future__ import annotations

from ...sim.units import NS_PER_S
from .sack import receiver_blocks
from .segment import RST, TCP
from .seqnum import MASK, seq_add, seq_diff, seq_lt

__all__ = ["Options", "scan_options", "TS_TICK_NS", "our_wscale"]

TS_TICK_NS = 1_000_000        # 1 ms per TSval tick, as Linux (RFC 7323 5.4: 1 ms to 1 s)
_PAWS_IDLE_NS = 24 * 86400 * NS_PER_S  # RFC 7323 5.5: TS.Recent expires after 24 days
_MAX_WSCALE = 14              # RFC 7323 2.3
_NOP = ("NOP", None)
_SACK_PERM = ("SAckOK", b"")


def scan_options(seg: TCP) -> tuple[tuple[int, int] | None, tuple | None]:
    """``(timestamp, sack_blocks)`` of a segment; each None when absent."""
    opts = seg.options
    if not opts:
        return None, None
    if len(opts) == 3 and opts[2][0] == "Timestamp":  # the common NOP, NOP, TS
        return opts[2][1], None
    ts = blocks = None
    for name, value in opts:
        if name == "Timestamp":
            ts = value
        elif name == "SAck":
            blocks = value
    return ts, blocks


def our_wscale(cfg) -> int:
    """The window-scale shift we offer: enough for the buffer (and the window clamp), as
    Linux's ``tcp_select_initial_window`` chooses it."""
    space, shift = max(cfg.rcv_buf, cfg.rcv_wnd), 0
    while space > 0xFFFF and shift < _MAX_WSCALE:
        space >>= 1
        shift += 1
    return shift


class Options:
    """Mixin: option negotiation, timestamps, PAWS and SACK blocks for a connection."""

    __slots__ = ()

    def _init_options(self) -> None:
        cfg = self.cfg
        self.ws_ok = self.ts_ok = self.sack_ok = False
        self.snd_wscale = self.rcv_wscale = 0
        self.ts_recent = self.ts_recent_at = 0
        self.last_ack_sent = 0
        # Linux tcp_timestamps=1 adds a per-connection offset (here from the ISN, so runs
        # repeat); 2 sends the clock itself.
        self.ts_offset = (self.iss * 2654435761) & MASK if cfg.timestamps == 1 else 0
        self._sack_recent: list[int] = []
        self._dsack: tuple[int, int] | None = None

    # -------------------------------------------------------------- the SYNs
    def _syn_options(self, with_ack: bool) -> tuple:
        """Our SYN's (or SYN,ACK's) options: what we offer, or for a SYN,ACK what we took."""
        cfg = self.cfg
        if with_ack:
            ts, sack, ws = self.ts_ok, self.sack_ok, self.ws_ok
        else:
            ts, sack, ws = bool(cfg.timestamps), cfg.sack, cfg.window_scaling
        opts: list = [("MSS", cfg.mss)]
        stamp = ("Timestamp", (self._ts_now(self._now), self.ts_recent if with_ack else 0))
        if ts:
            opts += [_SACK_PERM, stamp] if sack else [_NOP, _NOP, stamp]
        elif sack:
            opts += [_NOP, _NOP, _SACK_PERM]
        if ws:
            opts += [_NOP, ("WScale", our_wscale(cfg))]
        return tuple(opts)

    def _take_syn_options(self, seg: TCP) -> None:
        """Negotiate from the peer's SYN (passive) or SYN,ACK (active open)."""
        cfg = self.cfg
        ws = ts = None
        sack = False
        for name, value in seg.options:
            if name == "WScale":
                ws = value
            elif name == "Timestamp":
                ts = value
            elif name == "SAckOK":
                sack = True
        self.ws_ok = ws is not None and cfg.window_scaling
        if self.ws_ok:
            self.snd_wscale = min(ws, _MAX_WSCALE)  # RFC 7323 2.3: larger values mean 14
            self.rcv_wscale = our_wscale(cfg)
        else:
            self.snd_wscale = self.rcv_wscale = 0
        self.ts_ok = ts is not None and bool(cfg.timestamps)
        if self.ts_ok:
            self.ts_recent, self.ts_recent_at = ts[0], self._now
        self.sack_ok = sack and cfg.sack
        mss = min(cfg.mss, self.peer_mss)
        # RFC 6691 / Linux mss_cache: the timestamp option's 12 bytes come out of each
        # segment's data, so a segment still fits the MTU the MSS was derived from.
        self._mss = mss - 12 if self.ts_ok else mss

    # -------------------------------------------------------------- every segment
    def _ts_now(self, now: int) -> int:
        return (now // TS_TICK_NS + self.ts_offset) & MASK

    def _seg_options(self) -> tuple:
        """The options of a non-SYN, non-RST segment we send now."""
        if self.ts_ok:
            ts = ("Timestamp", (((self._now // TS_TICK_NS) + self.ts_offset) & MASK,
                                self.ts_recent))
            if self.sack_ok and (self._ooo or self._dsack):
                return (_NOP, _NOP, ts, _NOP, _NOP, ("SAck", self._sack_blocks(3)))
            return (_NOP, _NOP, ts)
        if self.sack_ok and (self._ooo or self._dsack):
            return (_NOP, _NOP, ("SAck", self._sack_blocks(4)))
        return ()

    def _sack_option_len(self) -> int:
        """Bytes the SACK option will take on our next segment (it shrinks the data)."""
        if not (self.sack_ok and (self._ooo or self._dsack)):
            return 0
        limit = 3 if self.ts_ok else 4
        n = min(len(self._ooo.segments) + (1 if self._dsack else 0), limit)
        return 4 + 8 * n

    def _sack_blocks(self, limit: int) -> tuple:
        base = self._rcv_off
        rn = self.rcv_nxt
        out = []
        if self._dsack is not None:  # RFC 2883: the duplicate is reported first, once
            out.append(self._dsack)
            self._dsack = None
            limit -= 1
        if self._ooo:
            recent = [o for o in self._sack_recent if o >= base]
            self._sack_recent = recent
            for s, e in receiver_blocks(self._ooo.segments, recent, limit):
                out.append((seq_add(rn, s - base), seq_add(rn, e - base)))
        return tuple(out)

    def _note_ooo(self, off: int) -> None:
        """An out-of-order segment arrived at stream offset ``off`` (newest block first)."""
        recent = self._sack_recent
        recent.insert(0, off)
        del recent[8:]

    def _sack_ooo(self, off: int, payload: bytes) -> None:
        """Before out-of-order ``payload`` at stream offset ``off`` is stored: remember it
        for the block order, and report any part already held (RFC 2883 4.1.2)."""
        self._note_ooo(off)
        if self._ooo and self.cfg.dsack:
            dup = self._ooo.overlap(off, off + len(payload))
            if dup is not None:
                rn, base = self.rcv_nxt, self._rcv_off
                self._dsack = (seq_add(rn, dup[0] - base), seq_add(rn, dup[1] - base))

    def _note_duplicate(self, seq: int, end: int) -> None:
        """Received bytes ``[seq, end)`` were already here: report them (RFC 2883)."""
        if self.sack_ok and self.cfg.dsack and seq_lt(seq, end):
            self._dsack = (seq, end)

    # -------------------------------------------------------------- arriving timestamps
    def _paws_reject(self, seg: TCP, ts: tuple[int, int] | None, now: int) -> bool:
        """RFC 7323 5.3 R1: an older TSval than TS.Recent marks an old duplicate."""
        if ts is None or not self.ts_ok or seg.flags & RST:
            return False
        if seq_diff(ts[0], self.ts_recent) >= 0:
            return False
        if now - self.ts_recent_at > _PAWS_IDLE_NS:
            self.ts_recent, self.ts_recent_at = ts[0], now  # RFC 7323 5.5: TS.Recent expired
            return False
        return True
