"""State-by-state behaviour of the sans-I/O connection (tests named <state>_<stimulus>)."""

from __future__ import annotations

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
    a, b = Connection(A, B, ISN_A, cfg_a), Connection(B, A, ISN_B, cfg_b)
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
    c = Connection(A, B, ISN_A)
    c.open_active(0)
    return c


def test_closed_open_active_sends_syn_with_mss() -> None:
    c = syn_sent()
    (syn,) = c.pending_segments()
    assert (syn.flags, syn.seq, syn.options) == (SYN, ISN_A, (("MSS", 1460),))
    assert c.state is State.SYN_SENT and c.next_deadline() == S


def test_syn_sent_receives_rst_with_bad_ack() -> None:
    c = syn_sent()
    c.pending_segments()
    c.receive(TCP(sport=80, dport=40000, seq=0, ack=ISN_A + 7, flags=RST | ACK), 10)
    assert c.state is State.SYN_SENT and c.pending_segments() == [] and c.error is None


def test_syn_sent_receives_rst_acking_syn_reports_econnrefused() -> None:
    c = syn_sent()
    c.receive(TCP(sport=80, dport=40000, seq=0, ack=ISN_A + 1, flags=RST | ACK), 10)
    assert c.state is State.CLOSED and c.error == errno.ECONNREFUSED
    assert Error(errno.ECONNREFUSED, 10) in c.pop_events()
    assert c.next_deadline() is None


def test_syn_sent_receives_syn_ack_with_bad_ack_sends_rst() -> None:
    c = syn_sent()
    c.pending_segments()
    c.receive(TCP(sport=80, dport=40000, seq=9, ack=ISN_A + 50, flags=SYN | ACK), 10)
    (rst,) = c.pending_segments()
    assert (rst.flags, rst.seq) == (RST, ISN_A + 50) and c.state is State.SYN_SENT


def test_syn_sent_receives_syn_ack_enters_established_and_acks() -> None:
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
    c = syn_sent()
    c.pending_segments()
    c.receive(TCP(sport=80, dport=40000, seq=ISN_B, flags=SYN, window=1000), 5)
    (synack,) = c.pending_segments()
    assert (synack.flags, synack.seq, synack.ack) == (SYN | ACK, ISN_A, ISN_B + 1)
    assert c.state is State.SYN_RECEIVED


def test_syn_sent_retransmits_with_backoff_then_times_out() -> None:
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
    c = Connection(B, None, ISN_B)
    c.open_passive()
    c.receive(TCP(sport=40000, dport=80, seq=1, ack=4242, flags=ACK), 0)
    (rst,) = c.pending_segments()
    assert (rst.flags, rst.seq) == (RST, 4242) and c.state is State.LISTEN


def test_syn_received_receives_rst_returns_to_listen() -> None:
    c = Connection(B, None, ISN_B)
    c.open_passive()
    c.receive(TCP(sport=40000, dport=80, seq=77, flags=SYN, window=1000), 0)
    assert c.state is State.SYN_RECEIVED and c.remote == (None, 40000)
    c.receive(TCP(sport=40000, dport=80, seq=78, flags=RST), 1)
    assert c.state is State.LISTEN and c.next_deadline() is None


def test_syn_received_receives_bad_ack_sends_rst() -> None:
    c = Connection(B, None, ISN_B)
    c.open_passive()
    c.receive(TCP(sport=40000, dport=80, seq=77, flags=SYN, window=1000), 0)
    c.pending_segments()
    c.receive(TCP(sport=40000, dport=80, seq=78, ack=ISN_B + 99, flags=ACK), 1)
    (rst,) = c.pending_segments()
    assert (rst.flags, rst.seq) == (RST, ISN_B + 99) and c.state is State.SYN_RECEIVED


def test_established_receives_out_of_order_segment_buffers_it() -> None:
    a, _ = established()
    base = a.rcv_nxt
    a.receive(seg_from_b(a, seq=base + 5, payload=b"world"), 1)
    (dup,) = a.pending_segments()
    assert dup.ack == base and a.readable == 0  # duplicate ACK, data held
    a.receive(seg_from_b(a, seq=base, payload=b"hello"), 2)
    (ack,) = a.pending_segments()
    assert ack.ack == base + 10 and a.recv(100) == b"helloworld"


def test_established_receives_overlapping_segment_trims_it() -> None:
    a, _ = established()
    base = a.rcv_nxt
    a.receive(seg_from_b(a, seq=base, payload=b"abcd"), 1)
    a.receive(seg_from_b(a, seq=base + 2, payload=b"XXef"), 2)  # first two bytes are old
    assert a.recv(100) == b"abcdef" and a.rcv_nxt == base + 6


def test_established_receives_old_duplicate_acks_it() -> None:
    a, _ = established()
    base = a.rcv_nxt
    a.receive(seg_from_b(a, seq=base, payload=b"abcd"), 1)
    a.pending_segments()
    a.receive(seg_from_b(a, seq=base, payload=b"abcd"), 2)
    (ack,) = a.pending_segments()
    assert ack.ack == base + 4 and a.recv(100) == b"abcd"


def test_established_receives_segment_beyond_window_acks_and_drops_it() -> None:
    a, _ = established(TcpConfig(rcv_buf=1000))
    base = a.rcv_nxt
    a.receive(seg_from_b(a, seq=base + 5000, payload=b"far"), 1)
    (ack,) = a.pending_segments()
    assert ack.ack == base and a.readable == 0 and len(a._ooo) == 0


def test_established_receives_in_window_rst_sends_challenge_ack() -> None:
    a, _ = established()
    a.receive(seg_from_b(a, seq=a.rcv_nxt + 10, flags=RST), 1)
    (ack,) = a.pending_segments()
    assert ack.flags == ACK and a.state is State.ESTABLISHED


def test_established_receives_exact_rst_reports_econnreset() -> None:
    a, _ = established()
    a.receive(seg_from_b(a, flags=RST), 1)
    assert a.state is State.CLOSED and a.error == errno.ECONNRESET
    assert a.pending_segments() == []


def test_established_receives_syn_sends_challenge_ack() -> None:
    a, _ = established()
    a.receive(seg_from_b(a, seq=a.rcv_nxt + 3, flags=SYN), 1)
    (ack,) = a.pending_segments()
    assert ack.flags == ACK and a.state is State.ESTABLISHED


def test_established_receives_ack_of_unsent_data_acks_and_drops() -> None:
    a, _ = established()
    a.receive(seg_from_b(a, ack=a.snd_max + 100, payload=b"zz"), 1)
    (ack,) = a.pending_segments()
    assert ack.ack == a.rcv_nxt and a.readable == 0


def test_established_send_is_limited_by_peer_window() -> None:
    a, b = established(cfg_b=TcpConfig(rcv_buf=3000))
    a.send(b"x" * 10000, 1)
    segs = a.pending_segments()
    # Two full segments fit; the 80-byte sliver left waits (sender SWS avoidance).
    assert [len(s.payload) for s in segs] == [1460, 1460]


def test_established_zero_window_arms_persist_and_probes() -> None:
    a, b = established(cfg_b=TcpConfig(rcv_buf=2920))
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
    a, b = established()
    srtt = a.rto.srtt
    a.send(b"data", 0)
    (first,) = a.pending_segments()
    a.on_timer(a.next_deadline())
    (again,) = a.pending_segments()
    assert again.seq == first.seq and again.payload == b"data"
    assert a.rto.rto == 2 * S
    b.receive(again, 3 * S)
    a.receive(b.pending_segments()[0], 3 * S)
    assert a.rto.srtt == srtt  # Karn: no sample from a retransmitted segment
    assert a.next_deadline() is None


def test_established_gives_up_after_data_retries_with_etimedout() -> None:
    a, _ = established(TcpConfig(data_retries=3))
    a.send(b"data", 0)
    while a.state is State.ESTABLISHED:
        a.on_timer(a.next_deadline())
    assert a.error == errno.ETIMEDOUT and a.state is State.CLOSED


def test_established_three_duplicate_acks_trigger_fast_retransmit() -> None:
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
    a, _ = established()
    a.send(b"bye", 0)
    a.close(0)
    segs = a.pending_segments()
    assert [s.flags for s in segs] == [ACK | PSH, ACK | FIN]
    assert a.state is State.FIN_WAIT_1


def test_established_close_with_unread_data_sends_rst() -> None:
    a, _ = established()
    a.receive(seg_from_b(a, payload=b"unread"), 0)
    a.pending_segments()
    a.close(1)
    (rst,) = a.pending_segments()
    assert rst.flags & RST and a.state is State.CLOSED


def test_fin_wait_1_receives_fin_enters_closing() -> None:
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
    a, b = established(TcpConfig(msl_ns=1 * S))
    a.close(0)
    b.close(0)
    shuttle(a, b)
    a.pop_events()
    a.on_timer(a.next_deadline())
    assert a.state is State.CLOSED
    assert StateChange(State.TIME_WAIT, State.CLOSED, 2 * S) in a.pop_events()


def test_close_wait_shutdown_still_sends_and_enters_last_ack() -> None:
    a, b = established()
    a.shutdown_write(0)
    shuttle(a, b)
    assert b.send(b"late", 1) == 4
    b.close(1)
    shuttle(a, b, 1)
    assert a.recv(100) == b"late" and a.at_eof
    assert b.state is State.CLOSED and a.state is State.TIME_WAIT


def test_fin_wait_2_send_raises_epipe() -> None:
    a, b = established()
    a.shutdown_write(0)
    shuttle(a, b)
    with pytest.raises(OSError) as info:
        a.send(b"x", 1)
    assert info.value.errno == errno.EPIPE


def test_receive_window_opens_with_window_update_after_read() -> None:
    a, b = established(cfg_b=TcpConfig(rcv_buf=4000))
    a.send(b"z" * 8000, 0)
    shuttle(a, b)
    assert b.readable == 4000 and b.recv(4000) == b"z" * 4000
    shuttle(a, b)
    assert b.recv(8000) == b"z" * 4000


def test_delayed_ack_acks_every_second_segment() -> None:
    a, b = established(cfg_b=TcpConfig(delayed_ack=True))
    a.send(b"q" * 1460, 0)
    b.receive(a.pending_segments()[0], 1)
    assert b.pending_segments() == [] and b.next_deadline() == 1 + 200 * MS
    a.send(b"q" * 1460, 2)
    b.receive(a.pending_segments()[0], 3)
    (ack,) = b.pending_segments()
    assert ack.ack == a.snd_max and b.next_deadline() is None


def test_nagle_holds_small_segment_and_nodelay_sends_it() -> None:
    a, _ = established()
    a.send(b"1", 0)
    a.send(b"2", 0)
    assert len(a.pending_segments()) == 1
    c, _ = established(TcpConfig(nodelay=True))
    c.send(b"1", 0)
    c.send(b"2", 0)
    assert len(c.pending_segments()) == 2


def test_events_report_data_available() -> None:
    a, _ = established()
    a.receive(seg_from_b(a, payload=b"abc"), 7)
    assert DataAvailable(7, 3) in a.pop_events()


def test_listener_drops_syn_beyond_backlog() -> None:
    # without SYN cookies (with them, see tests/stack/test_syn_flood.py)
    lst = Listener(B, 2, lambda _l, _r: ISN_B, syncookies=False)
    for port in (1, 2, 3):
        lst.receive(TCP(sport=port, dport=80, seq=10, flags=SYN), ("10.0.0.9", port), 0)
    assert lst.pending == 2 and lst.dropped_syns == 1
    assert lst.accept() is None  # none finished the handshake


def test_listener_accepts_after_handshake_and_frees_backlog() -> None:
    lst = Listener(B, 1, lambda _l, _r: ISN_B)
    a = Connection(A, B, ISN_A)
    a.open_active(0)
    child = lst.receive(a.pending_segments()[0], A, 0)
    shuttle(a, child)
    assert lst.accept() is child and lst.pending == 0


def test_listener_answers_stray_ack_with_rst() -> None:
    lst = Listener(B, 1, lambda _l, _r: ISN_B)
    assert lst.receive(TCP(sport=5, dport=80, seq=1, ack=99, flags=ACK), A, 0) is None
    ((remote, rst),) = lst.pending_replies()
    assert remote == A and (rst.flags, rst.seq) == (RST, 99)
