"""The output side of a TCP connection: what to send, when, and with which window.

Split out of :mod:`.connection` to keep each module readable; :class:`Sender` is a mixin of
:class:`~netsim.stack.tcp.connection.Connection` and works on its attributes. It decides the
advertised window (receiver SWS avoidance, RFC 9293 3.8.6.2.2; scaled per RFC 7323 2),
builds segments with their options, and runs the send loop limited by the peer's window and
the congestion window (RFC 5681), with Nagle's algorithm (RFC 896) and the persist timer for
a zero window (RFC 9293 3.8.6.1). Loss recovery's sending lives in :mod:`.recovery`.
"""

from __future__ import annotations

from ...wire._base import blank
from .options import TS_TICK_NS
from .segment import ACK, FIN, PSH, RST, SYN, TCP
from .seqnum import MASK, seq_diff, seq_gt, seq_lt
from .states import SYNCHRONIZED, State

__all__ = ["Sender"]

# States in which our data may be (re)sent: the connection is synchronized and our FIN, if
# any, is not acknowledged yet.
DATA_STATES = frozenset({State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_1,
                         State.CLOSING, State.LAST_ACK})
_ACK_STATES = SYNCHRONIZED | {State.SYN_RECEIVED}
_NOP = ("NOP", None)
_HALF = 1 << 31
_new_tcp = blank(TCP)


class Sender:
    """Mixin: the send path of :class:`~netsim.stack.tcp.connection.Connection`."""

    __slots__ = ()

    def _full_window(self) -> int:
        """RCV.BUFF for SWS avoidance: the most we would ever advertise."""
        cfg = self.cfg
        return min(cfg.rcv_buf, cfg.rcv_wnd, 0xFFFF << self.rcv_wscale)

    def _adv_window(self, ws: int = 0) -> int:
        """The window to advertise now, in bytes (a multiple of ``1 << ws``, the scale)."""
        cfg = self.cfg
        rcv_buf = cfg.rcv_buf
        full = min(rcv_buf, cfg.rcv_wnd, 0xFFFF << ws)
        free = rcv_buf - len(self._rcvq)
        if free > full:
            free = full
        cur = ((self.rcv_adv - self.rcv_nxt + _HALF) & MASK) - _HALF  # seq_diff, inlined
        if cur < 0:
            cur = 0
        half, mss = full >> 1, self._mss
        # Never shrink the window (RFC 9293 3.8.6.2.2), and move its right edge only by a
        # useful amount: min(RCV.BUFF / 2, MSS) (receiver SWS avoidance, Fr = 1/2).
        if free <= cur or free - cur < (half if half < mss else mss):
            return -(-cur >> ws) << ws if ws else cur  # rounded up: the edge stays put
        return free >> ws << ws

    def _window_grew_enough(self) -> bool:
        # A window update only when the window we advertised has fallen to half of what the
        # buffer can offer or less (Linux tcp_cleanup_rbuf): a reader that keeps up leaves
        # the window open, and the ACKs of the data move its right edge anyway.
        full = self._full_window()
        free = min(self.cfg.rcv_buf - len(self._rcvq), full)
        cur = max(seq_diff(self.rcv_adv, self.rcv_nxt), 0)
        if 2 * cur > full:
            return False
        return free - cur >= min(full >> 1, self._mss)

    def _segment(self, flags: int, seq: int, payload: bytes = b"",
                 options: tuple | None = None) -> TCP:
        remote_port = self.remote[1] if self.remote else 0
        if flags & RST:
            return TCP(sport=self.local[1], dport=remote_port, seq=seq,
                       ack=self.rcv_nxt if flags & ACK else 0, flags=flags, payload=payload)
        ack = 0
        # RFC 7323 2.2: the window of a SYN is never scaled.
        wnd = self._adv_window(0 if flags & SYN else self.rcv_wscale)
        if flags & ACK:
            ack = self.last_ack_sent = self.rcv_nxt
            self._ack_now = False
            self._unacked_segs = 0
            self._timers.pop("delack", None)
        if flags & SYN:
            wnd = field = min(wnd, 0xFFFF)
        else:
            ws = self.rcv_wscale
            field = wnd >> ws
            if field > 0xFFFF:
                field = 0xFFFF
            wnd = field << ws
        self.rcv_adv = (self.rcv_nxt + wnd) & MASK
        if options is None:
            if self.ts_ok and not (self.sack_ok and (self._ooo or self._dsack)):
                options = (_NOP, _NOP, ("Timestamp", ((self._now // TS_TICK_NS + self.ts_offset)
                                                      & MASK, self.ts_recent)))
            elif not self.ts_ok and not self.sack_ok:
                options = ()  # what _seg_options() gives without timestamps and SACK
            else:
                options = self._seg_options()
        # TCP(sport=..., options=options) without the __init__ call (once per segment sent):
        # every slot set here, as TCP.__init__ sets it.
        seg = _new_tcp()
        seg.sport, seg.dport, seg.seq, seg.ack, seg.flags = self.local[1], remote_port, seq, ack, flags
        seg.window, seg.payload, seg.options = field, payload, tuple(options)
        seg.urgent = seg.reserved = 0
        seg.data_offset = seg.checksum = seg._ck = None
        return seg

    def _send_ack(self) -> None:
        # SEQ=SND.MAX, not the rolled-back SND.NXT: after a go-back-N timeout the peer may
        # already hold bytes up to SND.MAX, and would find an older SEQ unacceptable (BSD
        # does the same). But while we probe a zero window, SND.MAX counts a probe byte the
        # peer could not take: SEQ=SND.NXT then (BSD tcp_output), or two peers with closed
        # windows would answer each other's unacceptable ACKs forever.
        seq = self.snd_nxt if "persist" in self._timers else self.snd_max
        self._out.append(self._segment(ACK, seq))

    def _send_syn(self, now: int, with_ack: bool) -> None:
        flags = SYN | ACK if with_ack else SYN
        self._out.append(self._segment(flags, self.iss, options=self._syn_options(with_ack)))
        if self.retries == 0 and self._rtt_seq is None:
            self._rtt_seq, self._rtt_start = self.iss, now
        self._arm("rexmt", now + self.rto.rto)

    def _output(self, now: int) -> None:
        """Send what the windows allow, then a pure ACK if one is still owed."""
        if self.sm.state in DATA_STATES:
            if self.ca_state == "recovery" and self.sack_ok:
                self._sack_recovery_send(now)
            elif self._fin_queued or (((self.snd_nxt - self._buf_seq + _HALF) & MASK) - _HALF
                                      < len(self._sndbuf)):  # seq_diff, inlined
                self._send_data(now)  # (skipped with nothing unsent: a pure receiver)
        if self._ack_now and self.sm.state in _ACK_STATES:
            self._send_ack()

    def _send_data(self, now: int, room: int | None = None, once: bool = False) -> int:
        """Send new (or, after a timeout, go-back-N) data within the peer's window and
        ``room`` (the congestion window's allowance when None); returns the bytes sent.

        The hottest loop of a bulk transfer, so sequence arithmetic is inlined here
        (``(a - b + HALF) & MASK) - HALF`` is :func:`~.seqnum.seq_diff`).
        """
        mss = self._mss
        if self.sack_ok and (self._ooo or self._dsack):
            mss -= self._sack_option_len()  # the SACK option takes room from the data
        buf = self._sndbuf
        size, base, fin_queued = len(buf), self._buf_seq, self._fin_queued
        if room is None:  # self._cwnd_room(), inlined outside the "disorder" state
            room = self._cwnd_room() if self.ca_state == "disorder" else \
                self.cwnd - (((self.snd_nxt - self.snd_una + _HALF) & MASK) - _HALF)
        total = 0
        while True:
            if self.sb.starts and seq_lt(self.snd_nxt, self.snd_max):
                self._skip_sacked()
            seq = self.snd_nxt
            off = ((seq - base + _HALF) & MASK) - _HALF
            unsent = size - off
            in_flight = ((seq - self.snd_una + _HALF) & MASK) - _HALF
            n = max(min(unsent, mss, self.snd_wnd - in_flight, room), 0)
            fin_now = fin_queued and off + n == size and unsent >= 0
            if n == 0 and not fin_now:
                break
            if (n < mss and n == unsent and in_flight > 0 and not fin_queued
                    and not self.cfg.nodelay):
                break  # Nagle (RFC 9293 3.7.4): one small segment outstanding at a time
            if n < unsent and n < mss and in_flight > 0:
                break  # sender SWS avoidance: wait for a bigger window (RFC 9293 3.8.6.2.1)
            flags = ACK | PSH if n and n == unsent else ACK
            if fin_now:
                flags |= FIN
            self._out.append(self._segment(flags, seq, bytes(buf[off:off + n])))
            new_nxt = (seq + n + (1 if fin_now else 0)) & MASK
            if ((seq - self.snd_max + _HALF) & MASK) - _HALF >= 0:
                if self._rtt_seq is None:
                    self._rtt_seq, self._rtt_start = seq, now
                self.snd_max = new_nxt
            else:
                self.stats["retransmits"] += 1
                if seq_gt(new_nxt, self.snd_max):
                    self.snd_max = new_nxt
            self.snd_nxt = new_nxt
            room -= n
            total += n
            if "rexmt" not in self._timers:
                self._arm("rexmt", now + self.rto.rto)
            if fin_now or once:
                break
        if (self.snd_wnd == 0 and "rexmt" not in self._timers and "persist" not in self._timers
                and seq_diff(self.snd_nxt, self._buf_seq) < len(buf)):
            self._arm_persist(now)
        return total

    def _arm_persist(self, now: int) -> None:
        base = max(self.rto.rto, self.cfg.rto_min_ns)
        self._arm("persist", now + min(base << self.persist_backoff, self.cfg.rto_max_ns))

    def _arm(self, name: str, when: int) -> None:
        self._timers[name] = when

