"""Loss detection and recovery of a connection's sender, and its congestion state.

* Duplicate ACKs (RFC 5681 3.2): the first two may each release one new segment (RFC 3042
  Limited Transmit); the third, or with SACK a hole RFC 6675's IsLost says is lost, starts
  fast retransmit and fast recovery.
* Fast recovery with SACK follows RFC 6675: ``cwnd = ssthresh``, and the sender keeps
  ``pipe`` (its estimate of bytes in the network) below ``cwnd``, choosing what to send
  with NextSeg: lost holes first, then new data, then other holes, then one rescue
  retransmission. Without SACK it is NewReno (RFC 6582: a partial ACK retransmits the next
  hole) or Reno (RFC 5681: the first new ACK ends recovery), as the congestion-control
  module says.
* A retransmission timeout (RFC 6298 (5.4)-(5.6), RFC 5681 (4)-(5)) sets ``cwnd`` to one
  segment and goes back to SND.UNA (go-back-N); segments SACKed since are skipped.
* The state has Linux's names (``open``, ``disorder``, ``recovery``, ``loss``), and every
  change of it, of ``cwnd``/``ssthresh`` or of the RTT estimator is reported as a
  :class:`~netsim.stack.tcp.events.CongestionUpdate`.

:class:`Recovery` is a mixin of :class:`~netsim.stack.tcp.connection.Connection`.
"""

from __future__ import annotations

import errno as _errno

from . import cc as _cc
from .events import CongestionUpdate
from .sack import DUP_THRESH, Scoreboard
from .segment import ACK, FIN, PSH
from .seqnum import seq_add, seq_diff, seq_ge, seq_gt, seq_le, seq_lt
from .states import Ev, State

__all__ = ["Recovery"]

_CA_STATES = {"open": 0, "disorder": 1, "recovery": 3, "loss": 4}  # Linux TCP_CA_*
_STATS = ("retransmits", "fast_retransmits", "timeouts", "syn_timeouts", "recoveries",
          "dsacks_received", "paws_rejected", "keepalive_probes")


class Recovery:
    """Mixin: the congestion window, loss recovery and the retransmission timer."""

    __slots__ = ()

    def _init_recovery(self) -> None:
        self.cc = _cc.create(self.cfg.congestion_control, self)
        self.ca_state = "open"
        self.dupacks = self.recover = 0
        self.high_rxt = 0                       # RFC 6675 HighRxt (a stream offset)
        self.rescue_rxt: int | None = None      # RFC 6675 RescueRxt
        self.sb = Scoreboard()
        self._cc_last: tuple | None = None
        self.stats = dict.fromkeys(_STATS, 0)

    @property
    def in_recovery(self) -> bool:
        """True during fast recovery."""
        return self.ca_state == "recovery"

    def set_congestion_control(self, name: str) -> None:
        """Switch the congestion-control module (``TCP_CONGESTION``); cwnd is kept.

        Raises:
            KeyError: no such algorithm.
        """
        self.cc = _cc.create(name, self)
        self.cfg.congestion_control = name

    def _init_cwnd(self) -> None:
        mss = self._mss
        iw = self.cfg.initial_window
        if iw is None:  # RFC 5681 (3.1)
            self.cwnd = 2 * mss if mss > 2190 else 3 * mss if mss > 1095 else 4 * mss
        else:           # RFC 6928: min(10 * MSS, max(2 * MSS, 14600)) for ten segments
            self.cwnd = min(iw * mss, max(2 * mss, iw * 1460))
        self.ssthresh = 1 << 30

    def _off(self, seq: int) -> int:
        """The stream offset of send sequence number ``seq`` (see :mod:`.sack`)."""
        return self._buf_off + seq_diff(seq, self._buf_seq)

    # -------------------------------------------------------------- arriving ACKs
    def _take_sack(self, blocks: tuple, ack: int) -> int:
        """Put an ACK's SACK blocks on the scoreboard; returns the newly SACKed bytes."""
        new = 0
        una, top = self._off(ack), self._off(self.snd_max)
        for i, (left, right) in enumerate(blocks):
            lo, hi = self._off(left), self._off(right)
            # RFC 2883 4: a first block below the cumulative ACK, or inside the second
            # block, reports a duplicate (D-SACK), not new data.
            if i == 0 and (hi <= una or (len(blocks) > 1 and self._off(blocks[1][0]) <= lo
                                         and hi <= self._off(blocks[1][1]))):
                self.stats["dsacks_received"] += 1
                continue
            if una <= lo < hi <= top:  # ignore nonsense blocks (RFC 2018 does not trust them)
                new += self.sb.add(lo, hi)
        return new

    def _on_new_ack(self, acked: int, flight: int, now: int) -> None:
        """After SND.UNA advanced by ``acked`` (``flight`` was in flight before)."""
        if self.sb.starts:
            self.sb.trim(self._off(self.snd_una))
        self.dupacks = 0
        st = self.ca_state
        if st == "recovery":
            if seq_ge(self.snd_una, self.recover):
                self._end_recovery(now)
            elif self.sack_ok and not self.sb.starts:
                # A partial ACK and nothing SACKed above it: IsLost cannot point at the
                # next hole, but the ACK does (as in RFC 6582), so resend it now.
                una = self._off(self.snd_una)
                sent = self._retransmit(self.snd_una, self._mss)
                self.high_rxt = max(self.high_rxt, una + sent)
            elif not self.sack_ok:
                if self.cc.recovery == "newreno":
                    # RFC 6582 3.2 step 5: a partial ACK; resend the next hole, deflate cwnd
                    # by the bytes acknowledged, add one SMSS back if at least that much.
                    mss = self._mss
                    self._retransmit(self.snd_una, mss)
                    self.cwnd = max(self.cwnd - acked + (mss if acked >= mss else 0), mss)
                else:
                    self._end_recovery(now)  # Reno, RFC 5681 3.2 step 6
            return
        if st == "loss" and seq_ge(self.snd_una, self.recover):
            self.ca_state = "open"
        elif st == "disorder":
            self.ca_state = "open"
        mss = self._mss
        # Grow cwnd only when it limited the sender (Linux tcp_is_cwnd_limited, RFC 7661).
        if flight + mss > self.cwnd or (self.cwnd < self.ssthresh and 2 * flight > self.cwnd):
            self.cc.on_ack(acked, now)

    def _end_recovery(self, now: int) -> None:
        # RFC 5681 3.2 step 6, RFC 6675, and RFC 6582 3.2 step 3 option (2), as Linux does:
        # the window deflates to ssthresh, half the flight when the loss was found.
        self.cwnd = self.ssthresh
        self.ca_state = "open"
        self.rescue_rxt = None
        self.cc.on_recovery_end(now)

    def _on_dup_ack(self, now: int) -> None:
        self.dupacks += 1
        st = self.ca_state
        if st == "recovery":
            if not self.sack_ok:
                self.cwnd += self._mss  # RFC 5681 3.2 step 4: inflate for the segment that left
            return
        if st == "loss":
            # RFC 6582 3.2 step 1 (the careful variant): no fast retransmit for duplicates
            # of data that was outstanding at the timeout.
            return
        lost = self.sack_ok and self.sb.starts and self.sb.is_lost(self._off(self.snd_una), self._mss)
        if self.dupacks >= DUP_THRESH or lost:
            self._enter_recovery(now)
        else:
            self.ca_state = "disorder"

    def _enter_recovery(self, now: int) -> None:
        mss = self._mss
        flight = seq_diff(self.snd_max, self.snd_una)
        self.ssthresh = self.cc.ssthresh_after_loss(flight, now)
        self.recover = self.snd_max
        self.ca_state = "recovery"
        self.stats["recoveries"] += 1
        self.stats["fast_retransmits"] += 1
        una = self._off(self.snd_una)
        sent = self._retransmit(self.snd_una, mss - self._sack_option_len())
        if self.sack_ok:
            # RFC 6675 5 (4.1)-(4.3): cwnd = ssthresh; HighRxt and RescueRxt at the end of
            # the retransmitted segment.
            self.cwnd = self.ssthresh
            self.high_rxt = una + sent
            self.rescue_rxt = una + sent
        else:
            self.cwnd = self.ssthresh + DUP_THRESH * mss  # RFC 5681 3.2 step 3

    # -------------------------------------------------------------- sending
    def _cwnd_room(self) -> int:
        """Bytes the congestion window lets us send now (outside SACK recovery)."""
        room = self.cwnd - seq_diff(self.snd_nxt, self.snd_una)
        if self.ca_state == "disorder" and self.cfg.limited_transmit:
            # RFC 3042: each of the first two duplicate ACKs lets one new segment out
            # (FlightSize <= cwnd + 2 * SMSS), cwnd itself unchanged.
            room += min(self.dupacks, DUP_THRESH - 1) * self._mss
        return room

    def _sack_recovery_send(self, now: int) -> None:
        """RFC 6675 5 step (C): send NextSeg while cwnd - pipe >= 1 SMSS."""
        sb, mss = self.sb, self._mss - self._sack_option_len()
        una, high = self._off(self.snd_una), self._off(self.snd_max)
        pipe = sb.pipe(una, high, self.high_rxt, mss)
        while self.cwnd - pipe >= mss:
            rng = sb.next_lost(una, high, self.high_rxt, mss)                  # rule 1
            if rng is None:
                sent = self._send_data(now, self.cwnd - pipe, once=True)        # rule 2
                if sent:
                    pipe += sent
                    high = self._off(self.snd_max)
                    continue
                rng = sb.next_unsacked(una, high, self.high_rxt, mss)           # rule 3
            if rng is not None:
                sent = self._retransmit(seq_add(self.snd_una, rng[0] - una), rng[1] - rng[0])
                self.high_rxt = rng[0] + max(sent, 1)
            elif self.rescue_rxt is None or una > self.rescue_rxt:             # rule 4
                last = list(sb.holes(una, high))[-1:] or [(una, high)]
                s, e = last[0]
                # The last whole segment of the hole, so it repeats an original segment.
                s += (e - s - 1) // mss * mss
                sent = self._retransmit(seq_add(self.snd_una, s - una), e - s)
                self.rescue_rxt = self._off(self.recover)
            else:
                return
            if not sent:
                return
            pipe += sent

    def _retransmit(self, seq: int, max_len: int) -> int:
        """Resend up to ``max_len`` bytes from ``seq`` (and the FIN if it is next); returns
        the sequence space sent."""
        buf = self._sndbuf
        off = seq_diff(seq, self._buf_seq)
        if off < 0:
            return 0
        # Never past SND.MAX: bytes not sent before are new data, for the send loop (and a
        # peer ACKing beyond our SND.MAX would get challenge ACKs, RFC 9293 3.10.7.4).
        n = max(min(len(buf) - off, max_len, seq_diff(self.snd_max, seq)), 0)
        flags = ACK
        fin_seq = seq_add(self._buf_seq, len(buf))
        if self._fin_queued and off + n == len(buf) and seq_gt(self.snd_max, fin_seq):
            flags |= FIN
        if n == 0 and not flags & FIN:
            return 0
        if n and off + n == len(buf):
            flags |= PSH
        self._out.append(self._segment(flags, seq, bytes(buf[off:off + n])))
        self.stats["retransmits"] += 1
        if self._rtt_seq is not None and seq_ge(self._rtt_seq, seq):
            # Karn (RFC 6298 3): the timed segment, or one below it, went again, so the ACK
            # that covers it also covers a retransmission and times nothing: a segment sent
            # above a hole is acknowledged only once the hole's resend arrives.
            self._rtt_seq = None
        return n + (1 if flags & FIN else 0)

    def _skip_sacked(self) -> None:
        """While going back N after a timeout, jump over ranges the receiver SACKed."""
        while seq_lt(self.snd_nxt, self.snd_max):
            end = self.sb.is_sacked(self._off(self.snd_nxt))
            if end is None:
                return
            nxt = seq_add(self.snd_nxt, end - self._off(self.snd_nxt))
            self.snd_nxt = nxt if seq_le(nxt, self.snd_max) else self.snd_max

    # -------------------------------------------------------------- the timer
    def _timeout_rexmt(self, now: int) -> None:
        st = self.state
        limit = self.cfg.syn_retries if st in (State.SYN_SENT, State.SYN_RECEIVED) \
            else self.cfg.data_retries
        self.retries += 1
        if self.retries > limit:
            self._fail(_errno.ETIMEDOUT, Ev.GIVE_UP, now)
            return
        self.rto.back_off()
        self._rtt_seq = None  # Karn: no sample across a retransmission
        if st is State.SYN_SENT or st is State.SYN_RECEIVED:
            self.stats["syn_timeouts"] += 1
            self._send_syn(now, with_ack=st is State.SYN_RECEIVED)
            return
        self.stats["timeouts"] += 1
        if self.ca_state != "loss" or self.retries == 1:
            # RFC 5681 (4): ssthresh from the flight, once per loss episode (a second
            # timeout of the same data keeps it).
            self.ssthresh = self.cc.ssthresh_after_loss(seq_diff(self.snd_max, self.snd_una),
                                                        now)
        self.cwnd = self._mss                      # RFC 5681 (5): the loss window
        self.cc.on_timeout(now)
        self.ca_state, self.recover, self.dupacks = "loss", self.snd_max, 0
        self.rescue_rxt = None
        self.sb.clear()  # RFC 2018 8: the receiver may have discarded what it SACKed
        self.high_rxt = self._off(self.snd_una)
        self.snd_nxt = self.snd_una
        self._output(now)
        self._arm("rexmt", now + self.rto.rto)

    # -------------------------------------------------------------- reporting
    def info(self) -> dict:
        """The sender's state with Linux's ``struct tcp_info`` names (times in µs, windows
        in segments, as ``getsockopt(TCP_INFO)`` reports them)."""
        mss, rto = self._mss, self.rto
        opts = (1 if self.ts_ok else 0) | (2 if self.sack_ok else 0) | (4 if self.ws_ok else 0)
        return {
            "tcpi_state": str(self.state), "tcpi_ca_state": _CA_STATES[self.ca_state],
            "tcpi_options": opts, "tcpi_snd_wscale": self.snd_wscale,
            "tcpi_rcv_wscale": self.rcv_wscale, "tcpi_rto": rto.rto // 1000,
            "tcpi_rtt": (rto.srtt or 0) // 1000, "tcpi_rttvar": (rto.rttvar or 0) // 1000,
            "tcpi_snd_mss": mss, "tcpi_snd_cwnd": self.cwnd // mss,
            "tcpi_snd_ssthresh": min(self.ssthresh // mss, 0x7FFFFFFF),
            "tcpi_retransmits": self.retries, "tcpi_total_retrans": self.stats["retransmits"],
            "tcpi_backoff": rto.backoffs, "tcpi_congestion": self.cc.name,
            # Linux 6.7: every retransmission timeout, the handshake's included.
            "tcpi_total_rto": self.stats["timeouts"] + self.stats["syn_timeouts"],
        }

    def _emit_cc(self, now: int) -> None:
        rto = self.rto
        key = (self.cwnd, self.ssthresh, rto.srtt, rto.rttvar, rto.rto, self.ca_state)
        if key != self._cc_last:
            self._cc_last = key
            self._events.append(CongestionUpdate(now, self.cwnd, self.ssthresh, rto.rtt,
                                                 rto.srtt, rto.rttvar, rto.rto,
                                                 self.ca_state, self.cc.name))
