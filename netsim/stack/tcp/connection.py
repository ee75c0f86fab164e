"""The sans-I/O TCP connection (RFC 9293, RFC 6298, RFC 5681, RFC 5961).

A :class:`Connection` knows nothing of sockets, IP or clocks. Its driver calls methods with the
virtual time ``now`` (int ns) and collects two outputs: segments to transmit
(:meth:`Connection.pending_segments`) and events (:meth:`Connection.pop_events`). Timers are a
deadline (:meth:`Connection.next_deadline`); the driver calls :meth:`Connection.on_timer` when
it passes. Every state change goes through :class:`~netsim.stack.tcp.states.StateMachine`.

Send side: a byte buffer starting at ``_buf_seq`` holds unacknowledged and unsent data;
``snd_nxt`` is the next sequence number to send and ``snd_max`` the highest ever sent (after a
timeout ``snd_nxt`` goes back to ``snd_una``, go-back-N as in BSD). Receive side: in-order
bytes queue for ``recv``; bytes beyond ``rcv_nxt`` inside the window wait in a
:class:`~netsim.stack.tcp.reassembly.Reassembler`.

The class is assembled from mixins, one concern each: :mod:`.sender` (segments, windows,
the send loop), :mod:`.handshake` (SYNs, TIME_WAIT reuse), :mod:`.options` (RFC 7323
window scaling, timestamps and PAWS; RFC 2018 SACK blocks), :mod:`.recovery` (duplicate
ACKs, RFC 3042, RFC 6675 / RFC 6582 fast recovery, the retransmission timer, with a
pluggable :mod:`.cc` module), :mod:`.keepalive`.
"""

from __future__ import annotations

import errno as _errno

from .events import (
    Connected,
    DataAvailable,
    Eof,
    Error,
    Reset,
    StateChange,
    TcpConfig,
    TcpEvent,
    Writable,
)
from .handshake import _DEFAULT_PEER_MSS, Handshake
from .keepalive import Keepalive
from .options import TS_TICK_NS, Options, scan_options
from .reassembly import Reassembler
from .recovery import Recovery
from .rto import RtoEstimator
from .segment import ACK, FIN, RST, SYN, TCP, rst_for, seg_len
from .sender import DATA_STATES, Sender
from .seqnum import MASK, seq_add, seq_diff, seq_ge, seq_gt, seq_le, seq_lt
from .states import SYNCHRONIZED, Ev, State, StateMachine, TcpStateError

# The per-segment functions below inline the sequence comparisons of .seqnum (RFC 9293
# 3.4, RFC 1982 serial arithmetic): ((a - b + _HALF) & MASK) - _HALF is seq_diff(a, b), so
# ((a - b + _HALF) & MASK) < _HALF is seq_lt(a, b), > is seq_gt, <= seq_le, >= seq_ge.
_HALF = 1 << 31

__all__ = ["Connection"]

_TEXT_STATES = frozenset({State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2})
# The errno a RST leaves, by state, as Linux's tcp_reset() sets it: EPIPE in CLOSE_WAIT
# (the peer had already closed; a later write is what fails), none in TIME_WAIT, and
# ECONNRESET in every other synchronized state. SYN_RECEIVED is handled apart.
_RESET_ERRNO = {State.ESTABLISHED: _errno.ECONNRESET, State.FIN_WAIT_1: _errno.ECONNRESET,
                State.FIN_WAIT_2: _errno.ECONNRESET, State.CLOSING: _errno.ECONNRESET,
                State.LAST_ACK: _errno.ECONNRESET, State.CLOSE_WAIT: _errno.EPIPE}
_OOW_ACK_INTERVAL_NS = 500_000_000  # Linux tcp_invalid_ratelimit


class Connection(Sender, Handshake, Options, Recovery, Keepalive):
    """One TCP connection endpoint, driven by method calls.

    Args:
        local: ``(ip, port)`` of this end (only the port is used by the core).
        remote: ``(ip, port)`` of the peer; for a passive open it may be None and is filled in
            from the first SYN (the IP stays None: the core never sees IP headers).
        iss: our initial send sequence number (the caller draws it from the network's RNG).
        config: tunables; :class:`TcpConfig` defaults when None.
    """

    __slots__ = (
        "local", "remote", "iss", "cfg", "sm", "rto", "irs",
        "snd_una", "snd_nxt", "snd_max", "snd_wnd", "snd_wl1", "snd_wl2", "max_snd_wnd",
        "rcv_nxt", "rcv_adv", "peer_mss", "cwnd", "ssthresh", "dupacks", "recover",
        "retries", "persist_backoff", "_sndbuf", "_buf_seq", "_buf_off", "_fin_queued",
        "_wr_shut", "_rcvq", "_ooo", "_rcv_off", "_fin_off", "eof", "_closed_by_user",
        "_rtt_seq", "_rtt_start", "_timers", "_out", "_events", "_ack_now", "_unacked_segs",
        "_child", "error", "_oow_at", "_now", "_mss", "_last_rcv", "_ka_probes",
        # options.py
        "ws_ok", "ts_ok", "sack_ok", "snd_wscale", "rcv_wscale", "ts_recent", "ts_recent_at",
        "last_ack_sent", "ts_offset", "_sack_recent", "_dsack", "_in_ts",
        # recovery.py
        "cc", "ca_state", "high_rxt", "rescue_rxt", "sb", "_cc_last", "stats",
    )

    def __init__(self, local: tuple, remote: tuple | None, iss: int,
                 config: TcpConfig | None = None):
        self.local, self.remote = local, remote
        self.iss = iss & 0xFFFFFFFF
        self.cfg = config.copy() if config is not None else TcpConfig()
        self.sm = StateMachine()
        self.rto = RtoEstimator(self.cfg.rto_initial_ns, self.cfg.rto_min_ns, self.cfg.rto_max_ns)
        self.irs = 0
        self.snd_una = self.snd_nxt = self.snd_max = self.iss
        self.snd_wnd = self.snd_wl1 = self.snd_wl2 = self.max_snd_wnd = 0
        self.rcv_nxt = self.rcv_adv = 0
        self.peer_mss = _DEFAULT_PEER_MSS
        self._mss = min(self.cfg.mss, _DEFAULT_PEER_MSS)
        self.cwnd = self.ssthresh = 0
        self.retries = self.persist_backoff = 0
        self._sndbuf = bytearray()
        self._buf_seq = seq_add(self.iss, 1)
        self._buf_off = 0
        self._fin_queued = self._wr_shut = self.eof = self._closed_by_user = False
        self._rcvq = bytearray()
        self._ooo = Reassembler()
        self._rcv_off = 0
        self._fin_off: int | None = None
        self._rtt_seq: int | None = None
        self._rtt_start = 0
        self._timers: dict[str, int] = {}
        self._out: list[TCP] = []
        self._events: list[TcpEvent] = []
        self._ack_now = False
        self._unacked_segs = 0
        self._child = False
        self.error: int | None = None
        self._now = self._last_rcv = self._ka_probes = 0
        self._in_ts: tuple[int, int] | None = None
        self._init_options()
        self._init_recovery()
        self._oow_at: int | None = None

    # ------------------------------------------------------------------ properties
    @property
    def state(self) -> State:
        """The current RFC 9293 state."""
        return self.sm.state

    @property
    def eff_mss(self) -> int:
        """SMSS: the most data one segment carries, min(our MSS, the peer's MSS option),
        less the 12 bytes of the timestamp option when timestamps are on (RFC 6691)."""
        return self._mss

    @property
    def readable(self) -> int:
        """Bytes ``recv`` can return now."""
        return len(self._rcvq)

    @property
    def send_space(self) -> int:
        """Bytes ``send`` would accept now."""
        return max(self.cfg.snd_buf - len(self._sndbuf), 0)

    @property
    def at_eof(self) -> bool:
        """True when the peer's FIN arrived and every byte before it was read."""
        return self.eof and not self._rcvq

    # ------------------------------------------------------------------ outputs
    def pending_segments(self) -> list[TCP]:
        """Take the segments produced so far (oldest first) for transmission."""
        out, self._out = self._out, []
        return out

    def pop_events(self) -> list[TcpEvent]:
        """Take the events produced so far (oldest first)."""
        ev, self._events = self._events, []
        return ev

    def next_deadline(self) -> int | None:
        """The earliest armed timer (ns), or None when no timer runs."""
        return min(self._timers.values()) if self._timers else None

    # ------------------------------------------------------------------ user calls
    def open_active(self, now: int) -> None:
        """Active OPEN: send SYN with our MSS and go to SYN_SENT (RFC 9293 3.10.1).

        Raises:
            TcpStateError: the connection is not CLOSED.
        """
        self._now = now
        self._fire(Ev.OPEN_ACTIVE, now)
        self._init_cwnd()
        self.snd_nxt = self.snd_max = seq_add(self.iss, 1)
        self._send_syn(now, with_ack=False)

    def open_passive(self, now: int = 0, *, listener_child: bool = False) -> None:
        """Passive OPEN: wait in LISTEN for a SYN.

        Args:
            now: virtual time (ns), for the state history.
            listener_child: a child created by a :class:`~netsim.stack.tcp.listener.Listener`;
                a RST in SYN_RECEIVED then closes it instead of returning it to LISTEN.
        """
        self._child = listener_child
        self._now = now
        self._fire(Ev.OPEN_PASSIVE, now)

    def send(self, data: bytes, now: int) -> int:
        """Queue bytes for transmission (RFC 9293 3.10.2 SEND).

        Args:
            data: bytes to send.
            now: virtual time (ns).

        Returns:
            how many bytes were accepted (limited by free send-buffer space).

        Raises:
            OSError: EPIPE after the write side was shut down or the connection closed,
                ENOTCONN before any open.
        """
        st = self.sm.state
        if self._wr_shut or st in (State.FIN_WAIT_1, State.FIN_WAIT_2, State.CLOSING,
                                   State.LAST_ACK, State.TIME_WAIT):
            raise OSError(_errno.EPIPE, "write side shut down")
        if st is State.CLOSED:
            raise OSError(self.error or _errno.ENOTCONN, "not connected")
        if st is State.LISTEN:
            raise OSError(_errno.ENOTCONN, "listening connection")
        self._now = now
        n = min(len(data), self.send_space)
        self._sndbuf += data[:n]
        self._output(now)
        return n

    def recv(self, max_bytes: int, now: int | None = None) -> bytes:
        """Take up to ``max_bytes`` in-order received bytes (b"" when none; see ``at_eof``).

        Reading may open the receive window; a window update ACK is queued when the window
        last advertised fell to half the buffer or less and the right edge moves by at least
        min(rcv_buf/2, MSS) (receiver SWS avoidance, RFC 9293 3.8.6.2.2; Linux's rule).
        ``now`` (ns) stamps that update; the time of the last call when None.
        """
        if now is not None:
            self._now = now
        data = bytes(self._rcvq[:max_bytes])
        del self._rcvq[:len(data)]
        if data and self.sm.state in _TEXT_STATES and self._window_grew_enough():
            self._send_ack()
        return data

    def peek(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` in-order received bytes, left in place (``MSG_PEEK``)."""
        return bytes(self._rcvq[:max_bytes])

    def fin_timeout(self, now: int) -> None:
        """Delete a FIN_WAIT_2 connection whose application has gone (its driver's orphan
        timer, Linux ``tcp_fin_timeout``): the peer never sent its FIN, and nothing is sent.
        RFC 9293 sets no limit; without one an orphan would wait forever."""
        if self.state is State.FIN_WAIT_2:
            self._fire(Ev.FIN_TIMEOUT, now)

    def shutdown_write(self, now: int) -> None:
        """Half-close: send FIN after the queued data; keep receiving (RFC 9293 3.10.4 CLOSE).

        In SYN_SENT or SYN_RECEIVED the FIN waits until the handshake completes.

        Raises:
            TcpStateError: in LISTEN or CLOSED (nothing to shut down).
        """
        if self._wr_shut:
            return
        self._now = now
        st = self.sm.state
        if st in (State.LISTEN, State.CLOSED):
            raise TcpStateError(f"shutdown in {st}")
        self._wr_shut = True
        if st in (State.ESTABLISHED, State.CLOSE_WAIT):
            self._queue_fin(now)

    def close(self, now: int) -> None:
        """CLOSE: shut down writing, and never read again (RFC 9293 3.10.4).

        As Linux does (RFC 2525 2.17), closing with unread received data aborts with a RST.
        Closing in LISTEN or SYN_SENT deletes the connection; in CLOSED it does nothing.
        """
        self._closed_by_user = True
        self._now = now
        st = self.sm.state
        if st is State.CLOSED:
            return
        if st is State.LISTEN or st is State.SYN_SENT:
            self._fire(Ev.DELETE, now)
        elif self._rcvq and st in SYNCHRONIZED:
            self.abort(now)
        else:
            self.shutdown_write(now)

    def abort(self, now: int) -> None:
        """ABORT: send RST when synchronized and go to CLOSED (RFC 9293 3.10.5).

        In LISTEN and SYN_SENT, and in CLOSING, LAST_ACK and TIME_WAIT (the peer already knows
        we are done), the TCB is deleted without a RST.
        """
        self._now = now
        st = self.sm.state
        if st is State.CLOSED:
            return
        if st in (State.SYN_RECEIVED, State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2,
                  State.CLOSE_WAIT):
            self._out.append(self._segment(RST | ACK, self.snd_max))
            self._fire(Ev.ABORT, now)
        else:
            self._fire(Ev.DELETE, now)

    # ------------------------------------------------------------------ timers
    def on_timer(self, now: int) -> None:
        """Run every timer whose deadline is at or before ``now``."""
        self._now = now
        for name in sorted((n for n, t in self._timers.items() if t <= now),
                           key=self._timers.__getitem__):
            if self._timers.get(name, now + 1) > now:
                continue  # cancelled by an earlier handler
            del self._timers[name]
            getattr(self, "_timeout_" + name)(now)
        self._emit_cc(now)

    def _timeout_persist(self, now: int) -> None:
        # RFC 9293 3.8.6.1: probe a zero window with one byte; never give up while ACKed.
        if self.snd_wnd == 0 and self.sm.state in DATA_STATES:
            off = seq_diff(self.snd_nxt, self._buf_seq)
            if off < len(self._sndbuf):
                probe = self._segment(ACK, self.snd_nxt, bytes(self._sndbuf[off:off + 1]))
                self._out.append(probe)
                if seq_gt(seq_add(self.snd_nxt, 1), self.snd_max):
                    self.snd_max = seq_add(self.snd_nxt, 1)
                self.persist_backoff += 1
                self._arm_persist(now)

    def _timeout_delack(self, now: int) -> None:
        self._send_ack()

    def _timeout_timewait(self, now: int) -> None:
        self._fire(Ev.TIMEOUT_2MSL, now)

    # ------------------------------------------------------------------ input
    def receive(self, seg: TCP, now: int) -> None:
        """Process one arriving segment (RFC 9293 3.10.7 SEGMENT ARRIVES).

        Args:
            seg: the decoded segment (its checksum already verified by the caller).
            now: virtual time of arrival (ns).
        """
        self._now = self._last_rcv = now
        st = self.sm.state
        if st is State.CLOSED:
            rst = rst_for(seg)
            if rst is not None:
                self._out.append(rst)
        elif st is State.LISTEN:
            self._rcv_listen(seg, now)
        elif st is State.SYN_SENT:
            self._rcv_syn_sent(seg, now)
        else:
            self._rcv_other(seg, now)
        self._output(now)
        self._emit_cc(now)

    def _rcv_other(self, seg: TCP, now: int) -> None:
        st, f = self.sm.state, seg.flags
        opts = seg.options
        if not opts:  # scan_options(seg) of an option-less segment, without the call
            ts = blocks = None
        elif len(opts) == 3 and opts[2][0] == "Timestamp":  # NOP, NOP, TS: the usual
            ts, blocks = opts[2][1], None
        else:
            ts, blocks = scan_options(seg)
        self._in_ts = ts
        if st is State.SYN_RECEIVED and f & SYN and seg.seq == self.irs:
            if not f & ACK:
                self._send_syn(now, with_ack=True)  # our SYN,ACK was lost: peer resent SYN
                return
            # Simultaneous open (RFC 9293 figure 8): the peer's SYN,ACK repeats its SYN and
            # ACKs ours; take it as that ACK (its window is unscaled: RFC 7323 2.2).
            seg = seg.replace(seq=seq_add(seg.seq, 1), flags=f & ~SYN,
                              window=seg.window >> self.snd_wscale)
            f = seg.flags
            self._ack_now = True
        if ts is not None and self.ts_ok and seq_lt(ts[0], self.ts_recent) \
                and self._paws_reject(seg, ts, now):  # RFC 7323 5.3 R1: an old duplicate
            self.stats["paws_rejected"] += 1
            self._send_ack()
            return
        seq, payload, fin = self._trim(seg)
        if seq is None:  # not acceptable (RFC 9293 3.10.7.4 first check)
            if not f & RST:
                end = seq_add(seg.seq, len(seg.payload))
                if seg.payload and seq_le(end, self.rcv_nxt):
                    self._note_duplicate(seg.seq, end)  # RFC 2883 4.1.1
                if st is State.TIME_WAIT and f & (FIN | ACK):
                    self._arm("timewait", now + 2 * self.cfg.msl_ns)  # RFC 9293 3.10.7.4
                self._send_oow_ack(now)
            return
        if ts is not None and self.ts_ok and seq_ge(ts[0], self.ts_recent) \
                and seq_le(seg.seq, self.last_ack_sent):
            # RFC 7323 4.3 (2): keep the TSval of a segment that starts at or before the
            # last ACK we sent, so our TSecr times the segment that got acknowledged.
            self.ts_recent, self.ts_recent_at = ts[0], now
        if f & RST:
            self._rcv_rst(seg, now)
            return
        if f & SYN:  # RFC 5961 4.2: SYN in a synchronized state -> challenge ACK
            self._send_oow_ack(now)
            return
        if not f & ACK:
            return
        if not self._rcv_ack(seg, now, blocks):
            return
        if st is State.TIME_WAIT:
            self._time_wait_segment(seg, payload, fin, now)
            return
        if payload or fin or self._fin_off is not None:  # (a bare ACK has nothing for it)
            self._process_text_and_fin(seg, seq, now, payload, fin)

    def _rcv_rst(self, seg: TCP, now: int) -> None:
        # RFC 5961 3.2: only a RST at exactly RCV.NXT resets; in-window -> challenge ACK.
        if seg.seq != self.rcv_nxt:
            self._send_oow_ack(now)
            return
        st = self.sm.state
        if st is State.SYN_RECEIVED and not self._child and self.sm.history[0][1] is State.LISTEN:
            self._clear_for_listen(now)
            return
        code = _errno.ECONNREFUSED if st is State.SYN_RECEIVED else _RESET_ERRNO.get(st)
        self._fail(code, Ev.RCV_RST, now, reset=True)

    def _rcv_ack(self, seg: TCP, now: int, blocks: tuple | None = None) -> bool:
        """ACK processing (RFC 9293 3.10.7.4 fifth check); False means drop the segment."""
        st, ack = self.sm.state, seg.ack
        if st is State.SYN_RECEIVED:
            if not (seq_lt(self.snd_una, ack) and seq_le(ack, self.snd_max)):
                self._out.append(TCP(sport=self.local[1], dport=seg.sport, seq=ack, flags=RST))
                return False
            self._ack_advanced(ack, now)
            self._update_window(seg)
            self._fire(Ev.RCV_ACK_OF_SYN, now)
            self._established(now)
            return True
        una = self.snd_una
        if ((ack - self.snd_max + _HALF) & MASK) > _HALF:  # seq_gt(ack, SND.MAX)
            self._send_oow_ack(now)  # acks something not yet sent
            return False
        # RFC 5961 5.2: an ACK too far in the past gets a challenge ACK.
        if ((ack - una + max(self.max_snd_wnd, 1) + _HALF) & MASK) < _HALF:
            self._send_oow_ack(now)
            return False
        new_sack = self._take_sack(blocks, ack) if blocks and self.sack_ok else 0
        ahead = ((ack - una + _HALF) & MASK) - _HALF  # seq_diff(ack, SND.UNA)
        if ahead > 0:
            self._ack_advanced(ack, now)  # SND.UNA = ack: the window check below holds
        elif ack == una and self.snd_max != una and (
                new_sack or (not seg.payload and not seg.flags & (SYN | FIN)
                             and seg.window << self.snd_wscale == self.snd_wnd)):
            # A duplicate ACK (RFC 5681 2), or one SACKing new data (RFC 6675 2).
            self._on_dup_ack(now)
        if ahead > 0 or ((ack - self.snd_una + _HALF) & MASK) >= _HALF:  # seq_ge
            self._update_window(seg)
        if self._fin_queued:
            self._fin_acked_transitions(now)
        return self.sm.state is not State.CLOSED

    def _send_oow_ack(self, now: int) -> None:
        # An ACK answering an unacceptable segment or a challenge (RFC 5961 3-5) goes out at
        # most once per 500 ms, as Linux's tcp_oow_rate_limited() allows (RFC 5961 10
        # recommends a limit): two ends that each find the other's segments unacceptable (a
        # stale half-open connection against a TIME_WAIT one on the same 4-tuple) would
        # otherwise ACK each other forever, an ACK storm.
        if self._oow_at is not None and now - self._oow_at < _OOW_ACK_INTERVAL_NS:
            return
        self._oow_at = now
        self._send_ack()

    def _fin_acked_transitions(self, now: int) -> None:
        if not self._fin_queued:
            return
        fin_seq = seq_add(self._buf_seq, len(self._sndbuf))
        if self._sndbuf or not seq_gt(self.snd_una, fin_seq):
            return
        st = self.sm.state
        if st is State.FIN_WAIT_1:
            self._fire(Ev.RCV_ACK_OF_FIN, now)
        elif st is State.CLOSING:
            self._fire(Ev.RCV_ACK_OF_FIN, now)
            self._arm("timewait", now + 2 * self.cfg.msl_ns)
        elif st is State.LAST_ACK:
            self._fire(Ev.RCV_ACK_OF_FIN, now)

    def _process_text_and_fin(self, seg: TCP, seq: int, now: int,
                              payload: bytes | None = None, fin: bool | None = None) -> None:
        if payload is None:
            payload, fin = seg.payload, bool(seg.flags & FIN)
        if self.sm.state not in _TEXT_STATES:
            return  # RFC 9293: after a FIN from the peer, text is ignored
        off = self._rcv_off + ((seq - self.rcv_nxt + _HALF) & MASK) - _HALF
        if off < self._rcv_off:  # already delivered (text queued on a SYN went first)
            payload, off = payload[self._rcv_off - off:], self._rcv_off
        if payload:
            if off == self._rcv_off:
                self._deliver(payload, now)
            else:
                if self.sack_ok:
                    self._sack_ooo(off, payload)
                self._ooo.add(off, payload)
                self._ack_now = True  # out of order: immediate duplicate ACK (RFC 5681 4.2)
        if fin:
            self._fin_off = off + len(payload)
        if self._fin_off is not None and self._fin_off == self._rcv_off and not self.eof:
            self._rcv_fin(now)

    def _deliver(self, payload: bytes, now: int) -> None:
        gap = bool(self._ooo._starts)  # bool(self._ooo), without the call (per segment)
        data = payload + self._ooo.pop_from(self._rcv_off + len(payload)) if gap else payload
        n = len(data)
        self._rcv_off += n
        self.rcv_nxt = (self.rcv_nxt + n) & MASK
        if not self._closed_by_user:
            self._rcvq += data
            self._events.append(DataAvailable(now, len(self._rcvq)))
        self._unacked_segs += 1
        # RFC 5681 4.2: a segment that fills (part of) a gap is ACKed at once.
        if not self.cfg.delayed_ack or self._unacked_segs >= 2 or gap:
            self._ack_now = True
        elif "delack" not in self._timers:
            self._arm("delack", now + self.cfg.delack_ns)

    def _rcv_fin(self, now: int) -> None:
        self.rcv_nxt = seq_add(self.rcv_nxt, 1)
        self.eof = True
        self._ack_now = True
        self._events.append(Eof(now))
        if self.sm.state is State.FIN_WAIT_2:
            self._fire(Ev.RCV_FIN, now)
            self._arm("timewait", now + 2 * self.cfg.msl_ns)
            self._timers.pop("rexmt", None)
        else:
            self._fire(Ev.RCV_FIN, now)

    # ------------------------------------------------------------------ helpers (input)
    def _trim(self, seg: TCP) -> tuple[int | None, bytes, bool]:
        """Acceptability test and trimming to the window (RFC 9293 3.10.7.4, 3.3.2 table)."""
        seq, payload = seg.seq, seg.payload
        fin = bool(seg.flags & FIN)
        rn = self.rcv_nxt
        wnd = ((self.rcv_adv - rn + _HALF) & MASK) - _HALF
        if wnd < 0:
            wnd = 0
        if seq == rn and not seg.flags & SYN:  # the usual: the next segment expected
            if not payload and not fin:
                return seq, payload, fin  # SEG.LEN 0 at RCV.NXT: always acceptable
            if wnd == 0:
                return None, b"", False
            return (seq, payload[:wnd], False) if len(payload) > wnd else (seq, payload, fin)
        slen = seg_len(seg)
        if slen == 0:
            ok = seq == rn if wnd == 0 else 0 <= seq_diff(seq, rn) < wnd
        elif wnd == 0:
            ok = False
        else:
            last = seq_add(seq, slen - 1)
            ok = 0 <= seq_diff(seq, rn) < wnd or 0 <= seq_diff(last, rn) < wnd
        if not ok:
            return None, b"", False
        if seg.flags & SYN:
            seq = seq_add(seq, 1)  # the SYN itself is old
        front = seq_diff(rn, seq)
        if front > 0:  # duplicate head: drop what we already have
            if payload:
                self._note_duplicate(seq, seq_add(seq, min(front, len(payload))))
            payload = payload[front:]
            seq = rn
        room = wnd - seq_diff(seq, rn)
        if len(payload) > room:  # beyond the window: trim the tail and its FIN
            payload, fin = payload[:max(room, 0)], False
        return seq, payload, fin

    def _ack_advanced(self, ack: int, now: int) -> None:
        una = self.snd_una
        acked = ((ack - una + _HALF) & MASK) - _HALF
        flight = ((self.snd_max - una + _HALF) & MASK) - _HALF
        if una == self.iss:  # our SYN occupies one sequence number
            acked -= 1
        if acked < 0:
            acked = 0
        buf = self._sndbuf
        data = acked if acked < len(buf) else len(buf)
        if data:
            del buf[:data]
            self._buf_seq = (self._buf_seq + data) & MASK
            self._buf_off += data
        self.snd_una = ack
        if ((self.snd_nxt - ack + _HALF) & MASK) < _HALF:  # seq_lt(SND.NXT, ack)
            self.snd_nxt = ack
        rtt_seq = self._rtt_seq
        if rtt_seq is not None and ((ack - rtt_seq + _HALF) & MASK) > _HALF:
            self.rto.sample(now - self._rtt_start)
            self._rtt_seq = None
        elif self.ts_ok and self._in_ts is not None and self._in_ts[1]:
            # RFC 7323 4.1: TSecr times the transmission that was acknowledged, even a
            # retransmission, so the RTO comes back down after a timeout.
            ticks = (now // TS_TICK_NS + self.ts_offset - self._in_ts[1]) & MASK
            if ticks < 1 << 31:
                self.rto.sample(ticks * TS_TICK_NS)
        self.retries = 0
        self._on_new_ack(acked, flight, now)
        if self.snd_una == self.snd_max:
            self._timers.pop("rexmt", None)
        else:
            self._arm("rexmt", now + self.rto.rto)  # RFC 6298 (5.3)
        if data:
            space = self.cfg.snd_buf - len(buf)  # send_space
            self._events.append(Writable(now, space if space > 0 else 0))

    def _update_window(self, seg: TCP) -> None:
        # RFC 9293 3.10.7.4: take the window only from a newer segment (SND.WL1/WL2).
        wl1, sseq = self.snd_wl1, seg.seq
        if ((wl1 - sseq + _HALF) & MASK) < _HALF or (  # seq_lt(SND.WL1, SEG.SEQ)
                wl1 == sseq and ((self.snd_wl2 - seg.ack + _HALF) & MASK) <= _HALF):
            # RFC 7323 2.2: the window of a SYN is never scaled; every other one is.
            wnd = seg.window if seg.flags & SYN else seg.window << self.snd_wscale
            self.snd_wnd, self.snd_wl1, self.snd_wl2 = wnd, seg.seq, seg.ack
            if wnd > self.max_snd_wnd:
                self.max_snd_wnd = wnd
            if wnd:
                self._timers.pop("persist", None)
                self.persist_backoff = 0

    def _established(self, now: int) -> None:
        self._events.append(Connected(now))
        self._deliver_queued(now)
        self._arm_keepalive(now)
        if self._wr_shut and not self._fin_queued:
            self._queue_fin(now)

    def _clear_for_listen(self, now: int) -> None:
        self._fire(Ev.RST_BACK_TO_LISTEN, now)
        self._timers.clear()
        self.snd_una = self.snd_nxt = self.snd_max = self.iss
        self.retries = 0
        self.rto = RtoEstimator(self.cfg.rto_initial_ns, self.cfg.rto_min_ns,
                                self.cfg.rto_max_ns)

    def _fail(self, code: int | None, event: Ev, now: int, reset: bool = False) -> None:
        if reset:
            self._events.append(Reset(now))
        if code is not None:
            self.error = code
            self._events.append(Error(code, now))
        self._fire(event, now)

    # ------------------------------------------------------------------ output
    def _queue_fin(self, now: int) -> None:
        self._fin_queued = True
        self._fire(Ev.CLOSE, now)
        self._output(now)

    def _fire(self, event: Ev, now: int) -> None:
        old, new = self.sm.fire(event, now)
        self._events.append(StateChange(old, new, now))
        if new is State.CLOSED:
            self._timers.clear()

    def __repr__(self) -> str:
        return (f"<Connection {self.local}->{self.remote} {self.state} una={self.snd_una} "
                f"nxt={self.snd_nxt} rcv_nxt={self.rcv_nxt}>")
