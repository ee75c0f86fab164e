"""State-by-state behaviour of the sans-I/O connection (tests named <state>_<stimulus>).

These tests run with the RFC 7323 options and SACK off (``classic``), so segments carry
full-MSS payloads and a SYN only the MSS option; tests/stack/tcp/test_rfc7323.py, test_sack.py and
test_cc.py cover the options and the congestion control.
"""

from __future__ import annotations

import dataclasses
import errno

import pytest

from netsim.stack.tcp import (
    Connected,
    Connection,
    DataAvailable,
    Eof,
    Error,
    Listener,
    State,
    StateChange,
    TcpConfig,
)
from netsim.stack.tcp.segment import ACK, FIN, PSH, RST, SYN, TCP

A, B = ("10.0.0.1", 40000), ("10.0.0.2", 80)
MS, S = 1_000_000, 1_000_000_000
ISN_A, ISN_B = 1000, 5000


def classic(**changes) -> TcpConfig:
    """Default tunables with window scaling, timestamps and SACK off."""
    return dataclasses.replace(TcpConfig().classic(), **changes)


def shuttle(a: Connection, b: Connection, now: int = 0) -> None:
    """Move segments both ways, without loss, until both are quiet."""
    while True:
        sa, sb = a.pending_segments(), b.pending_segments()
        if not sa and not sb:
            return
        for seg in sa:
            b.receive(seg, now)
        for seg in sb:
            a.receive(seg, now)


def established(cfg_a: TcpConfig | None = None, cfg_b: TcpConfig | None = None):
    a = Connection(A, B, ISN_A, cfg_a or classic())
    b = Connection(B, A, ISN_B, cfg_b or classic())
    b.open_passive(0)
    a.open_active(0)
    shuttle(a, b)
    a.pop_events(), b.pop_events()
    assert a.state is b.state is State.ESTABLISHED
    return a, b


def seg_from_b(a: Connection, **kw) -> TCP:
    """A segment the peer of ``a`` could send (defaults: in sequence, ACK of everything)."""
    fields = dict(sport=B[1], dport=A[1], seq=a.rcv_nxt, ack=a.snd_max, flags=ACK,
                  window=65535)
    fields.update(kw)
    return TCP(**fields)


def syn_sent() -> Connection:
    c = Connection(A, B, ISN_A, classic())
    c.open_active(0)
    return c


def test_closed_open_active_sends_syn_with_mss() -> None:
    """RFC 9293 3.10.1 (OPEN in CLOSED: send a SYN with the ISS, enter SYN_SENT) and 3.7.1 (the SYN
    carries our MSS); RFC 6298 2.1 (the first RTO is 1 s)."""
    c = syn_sent()
    (syn,) = c.pending_segments()
    assert (syn.flags, syn.seq, syn.options) == (SYN, ISN_A, (("MSS", 1460),))
    assert c.state is State.SYN_SENT and c.next_deadline() == S


def test_syn_sent_receives_rst_with_bad_ack() -> None:
    """RFC 9293 3.10.7.3 (SYN_SENT, first check): an ACK outside ISS < SEG.ACK =< SND.NXT is
    unacceptable; with RST set the segment is dropped and the state kept."""
    c = syn_sent()
    c.pending_segments()
    c.receive(TCP(sport=80, dport=40000, seq=0, ack=ISN_A + 7, flags=RST | ACK), 10)
    assert c.state is State.SYN_SENT and c.pending_segments() == [] and c.error is None


def test_syn_sent_receives_rst_acking_syn_reports_econnrefused() -> None:
    """RFC 9293 3.10.7.3 (SYN_SENT, second check): an RST with an acceptable ACK means "connection
    reset": enter CLOSED and tell the user (ECONNREFUSED, as Linux)."""
    c = syn_sent()
    c.receive(TCP(sport=80, dport=40000, seq=0, ack=ISN_A + 1, flags=RST | ACK), 10)
    assert c.state is State.CLOSED and c.error == errno.ECONNREFUSED
    assert Error(errno.ECONNREFUSED, 10) in c.pop_events()
    assert c.next_deadline() is None


def test_syn_sent_receives_syn_ack_with_bad_ack_sends_rst() -> None:
    """RFC 9293 3.10.7.3 (SYN_SENT, first check): an unacceptable ACK without RST is answered
    <SEQ=SEG.ACK><CTL=RST>; the connection stays in SYN_SENT."""
    c = syn_sent()
    c.pending_segments()
    c.receive(TCP(sport=80, dport=40000, seq=9, ack=ISN_A + 50, flags=SYN | ACK), 10)
    (rst,) = c.pending_segments()
    assert (rst.flags, rst.seq) == (RST, ISN_A + 50) and c.state is State.SYN_SENT


def test_syn_sent_receives_syn_ack_enters_established_and_acks() -> None:
    """RFC 9293 3.10.7.3 (SYN_SENT, fourth check): a SYN acknowledging ours enters ESTABLISHED and
    sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; 3.7.1 (the peer's MSS bounds ours); RFC 6298 2.2
    (the first RTT sample sets SRTT)."""
    c = syn_sent()
    c.pending_segments()
    c.receive(TCP(sport=80, dport=40000, seq=ISN_B, ack=ISN_A + 1, flags=SYN | ACK,
                  window=3000, options=(("MSS", 1000),)), 50 * MS)
    (ack,) = c.pending_segments()
    assert (ack.flags, ack.seq, ack.ack) == (ACK, ISN_A + 1, ISN_B + 1)
    assert c.state is State.ESTABLISHED and c.eff_mss == 1000 and c.snd_wnd == 3000
    assert Connected(50 * MS) in c.pop_events()
    assert c.rto.srtt == 50 * MS  # RTT sampled from the SYN sent once


def test_syn_sent_receives_syn_enters_syn_received() -> None:
    """RFC 9293 3.10.7.3 (SYN_SENT, fourth check) and 3.5 (simultaneous open): a SYN without ACK
    enters SYN_RECEIVED and is answered SYN,ACK with the same ISS."""
    c = syn_sent()
    c.pending_segments()
    c.receive(TCP(sport=80, dport=40000, seq=ISN_B, flags=SYN, window=1000), 5)
    (synack,) = c.pending_segments()
    assert (synack.flags, synack.seq, synack.ack) == (SYN | ACK, ISN_A, ISN_B + 1)
    assert c.state is State.SYN_RECEIVED


def test_syn_sent_retransmits_with_backoff_then_times_out() -> None:
    """RFC 6298 5.5 (each timeout doubles the RTO) and 2.5 (a cap of at least 60 s); RFC 9293 3.8.3
    (past the R2 threshold the attempt fails: ETIMEDOUT)."""
    c = syn_sent()
    times = []
    while c.state is State.SYN_SENT:
        t = c.next_deadline()
        c.on_timer(t)
        times.append(t // S)
        if c.state is State.SYN_SENT:
            assert c.pending_segments()[0].flags == SYN
    # the 7th timeout waits min(64 s, max RTO 60 s): 63 + 60 = 123 s
    assert times == [1, 3, 7, 15, 31, 63, 123]
    assert c.error == errno.ETIMEDOUT and c.state is State.CLOSED


def test_listen_receives_ack_answers_rst() -> None:
    """RFC 9293 3.10.7.2 (LISTEN, second check): any acknowledgment is bad; answer
    <SEQ=SEG.ACK><CTL=RST> and stay in LISTEN."""
    c = Connection(B, None, ISN_B)
    c.open_passive()
    c.receive(TCP(sport=40000, dport=80, seq=1, ack=4242, flags=ACK), 0)
    (rst,) = c.pending_segments()
    assert (rst.flags, rst.seq) == (RST, 4242) and c.state is State.LISTEN


def test_syn_received_receives_rst_returns_to_listen() -> None:
    """RFC 9293 3.10.7.4 (second check, SYN_RECEIVED): an RST on a connection that came from a
    passive OPEN returns it to LISTEN."""
    c = Connection(B, None, ISN_B)
    c.open_passive()
    c.receive(TCP(sport=40000, dport=80, seq=77, flags=SYN, window=1000), 0)
    assert c.state is State.SYN_RECEIVED and c.remote == (None, 40000)
    c.receive(TCP(sport=40000, dport=80, seq=78, flags=RST), 1)
    assert c.state is State.LISTEN and c.next_deadline() is None


def test_syn_received_receives_bad_ack_sends_rst() -> None:
    """RFC 9293 3.10.7.4 (fifth check, SYN_RECEIVED): an ACK outside SND.UNA < SEG.ACK =< SND.NXT
    is answered <SEQ=SEG.ACK><CTL=RST>."""
    c = Connection(B, None, ISN_B)
    c.open_passive()
    c.receive(TCP(sport=40000, dport=80, seq=77, flags=SYN, window=1000), 0)
    c.pending_segments()
    c.receive(TCP(sport=40000, dport=80, seq=78, ack=ISN_B + 99, flags=ACK), 1)
    (rst,) = c.pending_segments()
    assert (rst.flags, rst.seq) == (RST, ISN_B + 99) and c.state is State.SYN_RECEIVED


def test_established_receives_out_of_order_segment_buffers_it() -> None:
    """RFC 9293 3.10.7.4 (first and seventh checks): an in-window segment beyond RCV.NXT is held
    until the gap fills; RFC 5681 4.2: the out-of-order segment is answered at once with a
    duplicate ACK."""
    a, _ = established()
    base = a.rcv_nxt
    a.receive(seg_from_b(a, seq=base + 5, payload=b"world"), 1)
    (dup,) = a.pending_segments()
    assert dup.ack == base and a.readable == 0  # duplicate ACK, data held
    a.receive(seg_from_b(a, seq=base, payload=b"hello"), 2)
    (ack,) = a.pending_segments()
    assert ack.ack == base + 10 and a.recv(100) == b"helloworld"


def test_established_receives_overlapping_segment_trims_it() -> None:
    """RFC 9293 3.10.7.4 (first check): a segment starting before RCV.NXT but reaching into the
    window is trimmed to its new data."""
    a, _ = established()
    base = a.rcv_nxt
    a.receive(seg_from_b(a, seq=base, payload=b"abcd"), 1)
    a.receive(seg_from_b(a, seq=base + 2, payload=b"XXef"), 2)  # first two bytes are old
    assert a.recv(100) == b"abcdef" and a.rcv_nxt == base + 6


def test_established_receives_old_duplicate_acks_it() -> None:
    """RFC 9293 3.10.7.4 (first check): an old duplicate is unacceptable; answer
    <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and drop it, so the data is delivered once."""
    a, _ = established()
    base = a.rcv_nxt
    a.receive(seg_from_b(a, seq=base, payload=b"abcd"), 1)
    a.pending_segments()
    a.receive(seg_from_b(a, seq=base, payload=b"abcd"), 2)
    (ack,) = a.pending_segments()
    assert ack.ack == base + 4 and a.recv(100) == b"abcd"


def test_established_receives_segment_beyond_window_acks_and_drops_it() -> None:
    """RFC 9293 3.10.7.4 (first check): a segment wholly beyond RCV.NXT + RCV.WND is not
    acceptable; it is acknowledged and dropped, nothing kept."""
    a, _ = established(classic(rcv_buf=1000))
    base = a.rcv_nxt
    a.receive(seg_from_b(a, seq=base + 5000, payload=b"far"), 1)
    (ack,) = a.pending_segments()
    assert ack.ack == base and a.readable == 0 and len(a._ooo) == 0


def test_established_receives_in_window_rst_sends_challenge_ack() -> None:
    """RFC 5961 3.2 (RFC 9293 3.10.7.4, second check): an RST in the window but not exactly at
    RCV.NXT gets a challenge ACK; the connection stays."""
    a, _ = established()
    a.receive(seg_from_b(a, seq=a.rcv_nxt + 10, flags=RST), 1)
    (ack,) = a.pending_segments()
    assert ack.flags == ACK and a.state is State.ESTABLISHED


def test_established_receives_exact_rst_reports_econnreset() -> None:
    """RFC 5961 3.2 and RFC 9293 3.10.7.4 (second check, ESTABLISHED): an RST exactly at RCV.NXT
    resets the connection: CLOSED, ECONNRESET, nothing sent."""
    a, _ = established()
    a.receive(seg_from_b(a, flags=RST), 1)
    assert a.state is State.CLOSED and a.error == errno.ECONNRESET
    assert a.pending_segments() == []


def test_established_receives_syn_sends_challenge_ack() -> None:
    """RFC 5961 4.2 (RFC 9293 3.10.7.4, fourth check): a SYN in a synchronized state gets a
    challenge ACK, not a reset."""
    a, _ = established()
    a.receive(seg_from_b(a, seq=a.rcv_nxt + 3, flags=SYN), 1)
    (ack,) = a.pending_segments()
    assert ack.flags == ACK and a.state is State.ESTABLISHED


def test_established_receives_ack_of_unsent_data_acks_and_drops() -> None:
    """RFC 9293 3.10.7.4 (fifth check, ESTABLISHED): an ACK of something not yet sent (SEG.ACK >
    SND.NXT) is answered with an ACK and the segment dropped (RFC 5961 5.2)."""
    a, _ = established()
    a.receive(seg_from_b(a, ack=a.snd_max + 100, payload=b"zz"), 1)
    (ack,) = a.pending_segments()
    assert ack.ack == a.rcv_nxt and a.readable == 0


def test_established_send_is_limited_by_peer_window() -> None:
    """RFC 9293 3.8.6 (no more than SND.UNA + SND.WND in flight) and 3.8.6.2.1 (sender SWS
    avoidance: the small remainder waits)."""
    a, b = established(cfg_b=classic(rcv_buf=3000))
    a.send(b"x" * 10000, 1)
    segs = a.pending_segments()
    # Two full segments fit; the 80-byte sliver left waits (sender SWS avoidance).
    assert [len(s.payload) for s in segs] == [1460, 1460]


def test_established_zero_window_arms_persist_and_probes() -> None:
    """RFC 9293 3.8.6.1 (a zero window MUST be probed; the receiver answers with its window, still
    0) and 3.8.6.2.2 (the window update once the application reads)."""
    a, b = established(cfg_b=classic(rcv_buf=2920))
    a.send(b"x" * 5000, 1)
    shuttle(a, b, 1)
    assert b.readable == 2920 and a.snd_wnd == 0
    t = a.next_deadline()
    a.on_timer(t)
    (probe,) = a.pending_segments()
    assert len(probe.payload) == 1 and probe.seq == a.snd_una
    b.receive(probe, t)
    assert b.pending_segments()[0].window == 0  # still closed: the probe is refused
    b.recv(2920)  # the application reads: window update
    (update,) = b.pending_segments()
    assert update.window == 2920
    a.receive(update, t + 1)
    shuttle(a, b, t + 1)
    assert b.recv(10000) == b"x" * 2080


def test_established_retransmits_on_timeout_without_rtt_sample() -> None:
    """RFC 6298 5.4-5.5 (on timeout retransmit the earliest unacknowledged segment and double the
    RTO) and 3 (Karn: no RTT sample from a retransmitted segment)."""
    a, b = established()
    srtt = a.rto.srtt
    a.send(b"data", 0)
    (first,) = a.pending_segments()
    a.on_timer(a.next_deadline())
    (again,) = a.pending_segments()
    assert again.seq == first.seq and again.payload == b"data"
    assert a.rto.rto == 2 * 200 * MS  # twice the 200 ms minimum (the RTT sample was 0)
    b.receive(again, 3 * S)
    a.receive(b.pending_segments()[0], 3 * S)
    assert a.rto.srtt == srtt  # Karn: no sample from a retransmitted segment
    assert a.next_deadline() is None


def test_established_gives_up_after_data_retries_with_etimedout() -> None:
    """RFC 9293 3.8.3 (connection failures: past the R2 threshold of retransmissions, close and
    report ETIMEDOUT)."""
    a, _ = established(classic(data_retries=3))
    a.send(b"data", 0)
    while a.state is State.ESTABLISHED:
        a.on_timer(a.next_deadline())
    assert a.error == errno.ETIMEDOUT and a.state is State.CLOSED


def test_established_three_duplicate_acks_trigger_fast_retransmit() -> None:
    """RFC 5681 3.2 (fast retransmit: the third duplicate ACK retransmits the missing segment and
    enters fast recovery)."""
    a, _ = established()
    a.send(b"y" * 4380, 0)
    segs = a.pending_segments()
    assert len(segs) == 3
    a.receive(seg_from_b(a, ack=segs[0].seq + 1460), 1)  # new data ACKed
    for _ in range(3):  # then three duplicates
        a.receive(seg_from_b(a, ack=segs[0].seq + 1460), 1)
    (re,) = a.pending_segments()
    assert re.seq == segs[1].seq and a.in_recovery


def test_established_close_sends_fin_after_data() -> None:
    """RFC 9293 3.10.4 (CLOSE in ESTABLISHED: the FIN follows the queued data; enter FIN_WAIT_1)."""
    a, _ = established()
    a.send(b"bye", 0)
    a.close(0)
    segs = a.pending_segments()
    assert [s.flags for s in segs] == [ACK | PSH, ACK | FIN]
    assert a.state is State.FIN_WAIT_1


def test_established_close_with_unread_data_sends_rst() -> None:
    """RFC 2525 2.17 (close with unread data: reset, as Linux does) and RFC 9293 3.10.5 (ABORT
    sends RST and enters CLOSED)."""
    a, _ = established()
    a.receive(seg_from_b(a, payload=b"unread"), 0)
    a.pending_segments()
    a.close(1)
    (rst,) = a.pending_segments()
    assert rst.flags & RST and a.state is State.CLOSED


def test_fin_wait_1_receives_fin_enters_closing() -> None:
    """RFC 9293 3.10.7.4 (eighth check, FIN_WAIT_1: a FIN that does not acknowledge ours enters
    CLOSING) and 3.6 (simultaneous close: both ends end in TIME_WAIT)."""
    a, b = established()
    a.close(0)
    b.close(0)
    fa, fb = a.pending_segments(), b.pending_segments()
    for s in fb:
        a.receive(s, 1)
    assert a.state is State.CLOSING
    for s in fa:
        b.receive(s, 1)
    shuttle(a, b, 1)
    assert a.state is b.state is State.TIME_WAIT


def test_fin_wait_2_receives_fin_enters_time_wait() -> None:
    """RFC 9293 3.10.7.4 (eighth check: in ESTABLISHED a FIN enters CLOSE_WAIT and signals the end
    of data; in FIN_WAIT_2 it enters TIME_WAIT and starts the 2 MSL timer) and 3.6."""
    a, b = established()
    a.close(0)
    shuttle(a, b)
    assert (a.state, b.state) == (State.FIN_WAIT_2, State.CLOSE_WAIT)
    assert Eof(0) in b.pop_events() and b.at_eof
    b.close(5)
    shuttle(a, b, 5)
    assert (a.state, b.state) == (State.TIME_WAIT, State.CLOSED)
    assert a.next_deadline() == 5 + 60 * S


def test_time_wait_expires_after_2msl() -> None:
    """RFC 9293 3.6 (TIME_WAIT lasts 2 MSL) and 3.10.8 (when the time-wait timer expires, delete
    the TCB and enter CLOSED)."""
    a, b = established(classic(msl_ns=1 * S))
    a.close(0)
    b.close(0)
    shuttle(a, b)
    a.pop_events()
    a.on_timer(a.next_deadline())
    assert a.state is State.CLOSED
    assert StateChange(State.TIME_WAIT, State.CLOSED, 2 * S) in a.pop_events()


def test_close_wait_shutdown_still_sends_and_enters_last_ack() -> None:
    """RFC 9293 3.6.1 (half-closed connections: the side in CLOSE_WAIT may still send) and 3.10.4
    (CLOSE in CLOSE_WAIT sends FIN and enters LAST_ACK)."""
    a, b = established()
    a.shutdown_write(0)
    shuttle(a, b)
    assert b.send(b"late", 1) == 4
    b.close(1)
    shuttle(a, b, 1)
    assert a.recv(100) == b"late" and a.at_eof
    assert b.state is State.CLOSED and a.state is State.TIME_WAIT


def test_fin_wait_2_send_raises_epipe() -> None:
    """RFC 9293 3.10.2 (SEND in FIN_WAIT_1 or FIN_WAIT_2: "error: connection closing"; EPIPE, as a
    socket after shutdown(SHUT_WR))."""
    a, b = established()
    a.shutdown_write(0)
    shuttle(a, b)
    with pytest.raises(OSError) as info:
        a.send(b"x", 1)
    assert info.value.errno == errno.EPIPE


def test_receive_window_opens_with_window_update_after_read() -> None:
    """RFC 9293 3.8.6.2.2 (receiver SWS avoidance: the window reopens when reading frees enough
    space, announced by a window update)."""
    a, b = established(cfg_b=classic(rcv_buf=4000))
    a.send(b"z" * 8000, 0)
    shuttle(a, b)
    assert b.readable == 4000 and b.recv(4000) == b"z" * 4000
    shuttle(a, b)
    assert b.recv(8000) == b"z" * 4000


def test_delayed_ack_acks_every_second_segment() -> None:
    """RFC 9293 3.8.6.3 and RFC 5681 4.2 (delayed ACKs: at least every second full-sized segment is
    acknowledged, a lone one within 500 ms; 200 ms here)."""
    a, b = established(cfg_b=classic(delayed_ack=True))
    a.send(b"q" * 1460, 0)
    b.receive(a.pending_segments()[0], 1)
    assert b.pending_segments() == [] and b.next_deadline() == 1 + 200 * MS
    a.send(b"q" * 1460, 2)
    b.receive(a.pending_segments()[0], 3)
    (ack,) = b.pending_segments()
    assert ack.ack == a.snd_max and b.next_deadline() is None


def test_nagle_holds_small_segment_and_nodelay_sends_it() -> None:
    """RFC 9293 3.7.4 (Nagle: while data is unacknowledged a small segment waits; the application
    may turn it off, TCP_NODELAY)."""
    a, _ = established()
    a.send(b"1", 0)
    a.send(b"2", 0)
    assert len(a.pending_segments()) == 1
    c, _ = established(classic(nodelay=True))
    c.send(b"1", 0)
    c.send(b"2", 0)
    assert len(c.pending_segments()) == 2


def test_events_report_data_available() -> None:
    """RFC 9293 3.10.7.4 (seventh check: in-sequence text goes to the user's receive buffer; the
    sans-I/O core reports it as an event)."""
    a, _ = established()
    a.receive(seg_from_b(a, payload=b"abc"), 7)
    assert DataAvailable(7, 3) in a.pop_events()


def test_listener_drops_syn_beyond_backlog() -> None:
    """RFC 9293 3.10.7.2 (LISTEN, third check: a SYN starts a connection in SYN_RECEIVED). The
    backlog is the socket API's (listen(2)), not the RFC's: past it a SYN is dropped, as Linux
    does with a full queue without SYN cookies (with them: tests/stack/test_syn_flood.py)."""
    lst = Listener(B, 2, lambda _l, _r: ISN_B, syncookies=False)
    for port in (1, 2, 3):
        lst.receive(TCP(sport=port, dport=80, seq=10, flags=SYN), ("10.0.0.9", port), 0)
    assert lst.pending == 2 and lst.dropped_syns == 1
    assert lst.accept() is None  # none finished the handshake


def test_listener_accepts_after_handshake_and_frees_backlog() -> None:
    """RFC 9293 3.5 (the three-way handshake): a child is handed to accept() once ESTABLISHED,
    freeing its backlog slot."""
    lst = Listener(B, 1, lambda _l, _r: ISN_B)
    a = Connection(A, B, ISN_A)
    a.open_active(0)
    child = lst.receive(a.pending_segments()[0], A, 0)
    shuttle(a, child)
    assert lst.accept() is child and lst.pending == 0


def test_listener_answers_stray_ack_with_rst() -> None:
    """RFC 9293 3.10.7.2 (LISTEN, second check): an ACK to a listening port is answered
    <SEQ=SEG.ACK><CTL=RST>."""
    lst = Listener(B, 1, lambda _l, _r: ISN_B)
    assert lst.receive(TCP(sport=5, dport=80, seq=1, ack=99, flags=ACK), A, 0) is None
    ((remote, rst),) = lst.pending_replies()
    assert remote == A and (rst.flags, rst.seq) == (RST, 99)
