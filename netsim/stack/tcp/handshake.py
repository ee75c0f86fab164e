"""The SYNs of a connection: LISTEN and SYN_SENT processing (RFC 9293 3.10.7.2, 3.10.7.3),
data carried on a SYN, a new SYN that ends TIME_WAIT (RFC 6191, RFC 1122 4.2.2.13), and
what else TIME_WAIT answers.

:class:`Handshake` is a mixin of :class:`~netsim.stack.tcp.connection.Connection`.
"""

from __future__ import annotations

import errno as _errno

from .options import scan_options
from .segment import ACK, FIN, RST, SYN, TCP, get_option
from .seqnum import seq_add, seq_diff, seq_gt, seq_le
from .states import Ev, State

__all__ = ["Handshake"]

_DEFAULT_PEER_MSS = 536  # RFC 9293 3.7.1: assume 536 when the peer sends no MSS option
# Linux (tcp_timewait_state_process): the new incarnation's ISN starts this far above the
# old SND.NXT, so its segments cannot be mistaken for the old connection's.
_REOPEN_ISN_GAP = 65535 + 2


class Handshake:
    """Mixin: what a connection does with SYNs."""

    __slots__ = ()

    def _rcv_listen(self, seg: TCP, now: int) -> None:
        f = seg.flags
        if f & RST:
            return
        if f & ACK:
            self._out.append(TCP(sport=seg.dport, dport=seg.sport, seq=seg.ack, flags=RST))
            return
        if not f & SYN:
            return
        if self.remote is None:
            self.remote = (None, seg.sport)
        self._take_syn(seg)
        self.snd_nxt = self.snd_max = seq_add(self.iss, 1)
        self._fire(Ev.RCV_SYN, now)
        self._send_syn(now, with_ack=True)

    def _rcv_syn_sent(self, seg: TCP, now: int) -> None:
        f = seg.flags
        ack_ok = False
        if f & ACK:
            # RFC 9293 3.10.7.3: an ACK outside (ISS, SND.NXT] gets <SEQ=SEG.ACK><CTL=RST>.
            if seq_le(seg.ack, self.iss) or seq_gt(seg.ack, self.snd_max):
                if not f & RST:
                    self._out.append(TCP(sport=self.local[1], dport=seg.sport, seq=seg.ack,
                                         flags=RST))
                return
            ack_ok = True
        if f & RST:
            if ack_ok:  # RFC 5961 3.2: in SYN_SENT a RST is valid only if it ACKs our SYN
                self._fail(_errno.ECONNREFUSED, Ev.RCV_RST, now, reset=True)
            return
        if not f & SYN:
            return
        self._take_syn(seg)
        if ack_ok:
            # With timestamps, the SYN,ACK's TSecr times even a retransmitted SYN.
            self._in_ts = scan_options(seg)[0]
            self._ack_advanced(seg.ack, now)
            self._update_window(seg)
            self._fire(Ev.RCV_SYN_ACK, now)
            self._established(now)
            self._ack_now = True
            self._process_text_and_fin(seg, seq_add(seg.seq, 1), now)
        else:  # simultaneous open: SYN_SENT -> SYN_RECEIVED, send SYN,ACK
            self._fire(Ev.RCV_SYN, now)
            self._queue_syn_text(seg)
            self._send_syn(now, with_ack=True)

    def _queue_syn_text(self, seg: TCP) -> None:
        # RFC 9293 3.10.7.3 fourth: "If there are other controls or text in the segment,
        # queue them for processing after the ESTABLISHED state has been reached." The
        # bytes wait in the reassembler at stream offset 0, as if out of order.
        data = seg.payload[:self._adv_window()]  # what the window we are about to offer holds
        if data:
            self._ooo.add(self._rcv_off, data)
        if seg.flags & FIN and len(data) == len(seg.payload):
            self._fin_off = self._rcv_off + len(data)

    def _deliver_queued(self, now: int) -> None:
        """Deliver text queued on a SYN, once ESTABLISHED is reached."""
        if self._ooo and self._ooo.segments[0][0] == self._rcv_off:
            self._deliver(b"", now)

    def _take_syn(self, seg: TCP) -> None:
        self.irs = seg.seq
        self.rcv_nxt = self.rcv_adv = seq_add(seg.seq, 1)
        mss = get_option(seg, "MSS")
        self.peer_mss = mss if isinstance(mss, int) and mss > 0 else _DEFAULT_PEER_MSS
        self._take_syn_options(seg)
        self.snd_wnd, self.snd_wl1, self.snd_wl2 = seg.window, seg.seq, seg.ack
        self.max_snd_wnd = max(self.max_snd_wnd, seg.window)
        self._init_cwnd()

    # -------------------------------------------------------------- TIME_WAIT
    def accept_new_syn(self, seg: TCP, now: int) -> int | None:
        """Offer a SYN that arrived in TIME_WAIT for a new incarnation of the connection.

        A driver with a listener on the port calls this before :meth:`receive`. RFC 1122
        4.2.2.13 allows reopening from TIME_WAIT when SEG.SEQ is above RCV.NXT, RFC 6191
        when, with timestamps, SEG.TSval is above TS.Recent; Linux accepts either. Then
        this connection closes and the listener takes the SYN. Without a listener the SYN
        is simply received (a challenge ACK, RFC 5961 4.2), as on Linux.

        Returns:
            the ISN for the new connection (above this one's sequence space, as Linux
            picks it) when the SYN was accepted, else None.
        """
        if self.state is not State.TIME_WAIT or seg.flags & (ACK | RST) or not seg.flags & SYN:
            return None
        ts, _ = scan_options(seg)
        newer_ts = ts is not None and self.ts_ok and seq_diff(ts[0], self.ts_recent) > 0
        if not (seq_gt(seg.seq, self.rcv_nxt) or newer_ts):
            return None
        self._fire(Ev.RCV_NEW_SYN, now)
        return seq_add(self.snd_nxt, _REOPEN_ISN_GAP)

    def _time_wait_segment(self, seg: TCP, payload: bytes, fin: bool, now: int) -> None:
        # RFC 9293 3.10.7.4 fifth check, TIME_WAIT: "The only thing that can arrive in this
        # state is a retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL
        # timeout." A bare ACK exactly at RCV.NXT only restarts the timer, as on Linux: two
        # ends in TIME_WAIT answering each other's ACKs would never stop.
        self._arm("timewait", now + 2 * self.cfg.msl_ns)
        if payload or fin or seg.flags & FIN or seg.seq != self.rcv_nxt:
            self._ack_now = True
