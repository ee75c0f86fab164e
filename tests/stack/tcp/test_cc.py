"""Congestion control: the initial window (RFC 6928, RFC 5681), the pluggable modules (Reno
RFC 5681, NewReno RFC 6582, CUBIC RFC 9438), cwnd after timeouts, and the CongestionUpdate
events a tracer records."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from netsim.stack.tcp import CongestionUpdate, Connection, TcpConfig
from netsim.stack.tcp.cc import ALGORITHMS, Cubic, Reno, create
from netsim.stack.tcp.cc.cubic import BETA, C
from netsim.stack.tcp.segment import ACK, SYN, TCP

A, B = ("10.0.0.1", 40000), ("10.0.0.2", 80)
MS, S = 1_000_000, 1_000_000_000


def connected(cfg: TcpConfig, peer_mss: int = 1460) -> Connection:
    c = Connection(A, B, 1000, cfg)
    c.open_active(0)
    c.pending_segments()
    c.receive(TCP(sport=80, dport=40000, seq=5000, ack=1001, flags=SYN | ACK, window=65535,
                  options=(("MSS", peer_mss),)), 10 * MS)
    c.pending_segments()
    return c


@pytest.mark.parametrize(("mss", "iw10", "rfc5681"), [
    (1460, 14600, 4380), (536, 5360, 2144), (1000, 10000, 4000), (1200, 12000, 3600)])
def test_syn_sent_receives_syn_ack_sets_the_initial_window(mss, iw10, rfc5681) -> None:
    classic = TcpConfig().classic()
    assert connected(classic, mss).cwnd == iw10  # RFC 6928: min(10 MSS, max(2 MSS, 14600))
    old = dataclasses.replace(classic, initial_window=None)
    assert connected(old, mss).cwnd == rfc5681  # RFC 5681 (3.1)


def test_every_module_is_chosen_by_name_and_unknown_names_raise() -> None:
    c = connected(TcpConfig())
    assert c.cc.name == "cubic"  # Linux's default
    for name in ALGORITHMS:
        c.set_congestion_control(name)
        assert c.cc.name == name == c.cfg.congestion_control
    with pytest.raises(KeyError):
        c.set_congestion_control("bbr")


def fake(cwnd_segments: float, mss: int = 1000, srtt: int = 100 * MS):
    conn = SimpleNamespace(cwnd=int(cwnd_segments * mss), ssthresh=1 << 30, eff_mss=mss,
                           rto=SimpleNamespace(srtt=srtt))
    return conn


def test_reno_halves_on_loss_and_adds_one_segment_per_window() -> None:
    conn = fake(20)
    reno = Reno(conn)
    conn.ssthresh = conn.cwnd = reno.ssthresh_after_loss(20_000, 0)
    assert conn.cwnd == 10_000  # RFC 5681 (4): FlightSize / 2
    for _ in range(10):  # one window of ACKs
        reno.on_ack(1000, 0)
    assert 10_900 <= conn.cwnd <= 11_000  # about one SMSS per RTT (3)


def test_cubic_cuts_to_beta_and_follows_the_cubic_curve_after_a_loss() -> None:
    conn = fake(100, srtt=100 * MS)
    cubic = Cubic(conn)
    conn.ssthresh = conn.cwnd = cubic.ssthresh_after_loss(100_000, 0)
    assert conn.cwnd == int(100_000 * BETA) and cubic.w_max == 100
    k = ((100 - 70) / C) ** (1 / 3)  # RFC 9438 (2)
    now, trace = 0, []
    while now < 2 * k * S:  # ACK-clocked: one window of ACKs per 100 ms RTT
        for _ in range(conn.cwnd // 1000):
            cubic.on_ack(1000, now)
        now += 100 * MS
        trace.append((now / S, conn.cwnd / 1000))
    assert cubic.k == pytest.approx(k)
    for t, w in trace:
        curve = C * (t - k) ** 3 + 100  # RFC 9438 (1)
        assert abs(w - max(curve, 70)) < 0.08 * 100, (t, w, curve)
    plateau = [w for t, w in trace if abs(t - k) < 0.5]
    assert all(95 <= w <= 106 for w in plateau)  # flat near W_max, then probing past it
    assert trace[-1][1] > 110


def test_cubic_fast_convergence_lowers_w_max_after_a_loss_below_it() -> None:
    conn = fake(100)
    cubic = Cubic(conn)
    cubic.ssthresh_after_loss(100_000, 0)
    conn.cwnd = 80_000  # lost again before reaching the old maximum
    cubic.ssthresh_after_loss(80_000, 0)
    assert cubic.w_max == pytest.approx(80 * (1 + BETA) / 2)  # RFC 9438 4.7


def test_cubic_in_the_reno_friendly_region_grows_like_reno() -> None:
    conn = fake(10, srtt=1 * MS)  # short RTT, small window: Reno would outgrow the cubic
    cubic = Cubic(conn)
    conn.ssthresh = conn.cwnd = cubic.ssthresh_after_loss(10_000, 0)
    now = 0
    for _ in range(200):
        for _ in range(conn.cwnd // 1000):
            cubic.on_ack(1000, now)
        now += 1 * MS
    assert cubic.w_cubic(now / S) < cubic.w_est  # RFC 9438 4.3
    assert conn.cwnd == pytest.approx(cubic.w_est * 1000, rel=0.01)


def test_established_timeout_sets_the_loss_window_and_enters_loss() -> None:
    for name in ALGORITHMS:
        c = connected(dataclasses.replace(TcpConfig().classic(), congestion_control=name))
        c.send(bytes(14600), 10 * MS)
        c.pending_segments()
        c.on_timer(c.next_deadline())
        assert c.cwnd == c.eff_mss and c.ca_state == "loss"  # RFC 5681 (5)
        expected = 7300 if name != "cubic" else int(14600 * BETA)
        assert c.ssthresh == expected, name  # half the flight, or RFC 9438's beta


def test_established_application_limited_sender_does_not_grow_cwnd() -> None:
    c = connected(TcpConfig().classic())
    start = c.cwnd
    for i in range(50):  # one small segment per RTT: never near cwnd
        c.send(b"x" * 100, (i + 1) * 100 * MS)
        (seg,) = c.pending_segments()
        c.receive(TCP(sport=80, dport=40000, seq=5001, ack=seg.seq + 100, flags=ACK,
                      window=65535), (i + 1) * 100 * MS + 10 * MS)
    assert c.cwnd == start  # RFC 7661's point, as Linux's tcp_is_cwnd_limited


def test_congestion_updates_report_each_change_with_its_time() -> None:
    c = connected(dataclasses.replace(TcpConfig().classic(), congestion_control="newreno"))
    events = [e for e in c.pop_events() if isinstance(e, CongestionUpdate)]
    assert events and events[-1].cwnd == 14600 and events[-1].srtt == 10 * MS
    c.send(bytes(14600), 20 * MS)
    segs = c.pending_segments()
    assert not [e for e in c.pop_events() if isinstance(e, CongestionUpdate)]  # no change
    states = []
    ack = segs[0].seq + 1460
    c.receive(TCP(sport=80, dport=40000, seq=5001, ack=ack, flags=ACK, window=65535), 30 * MS)
    for i in range(3):
        c.receive(TCP(sport=80, dport=40000, seq=5001, ack=ack, flags=ACK, window=65535),
                  31 * MS + i)
    c.receive(TCP(sport=80, dport=40000, seq=5001, ack=c.snd_max, flags=ACK, window=65535),
              40 * MS)
    for e in c.pop_events():
        if isinstance(e, CongestionUpdate):
            states.append((e.time, e.ca_state, e.cwnd, e.ssthresh, e.algorithm))
    # the second duplicate changes nothing a tracer shows, so it makes no event
    assert [s[1] for s in states] == ["open", "disorder", "recovery", "open"]
    assert [s[0] for s in states] == [30 * MS, 31 * MS, 31 * MS + 2, 40 * MS]
    assert states[2][2] == states[2][3] + 3 * 1460  # recovery: ssthresh + 3 SMSS
    assert states[3][2] == states[3][3] == (14600 - 1460) // 2  # half the flight at the loss
    assert {s[4] for s in states} == {"newreno"}


def test_create_builds_the_named_module_for_a_connection() -> None:
    c = connected(TcpConfig())
    assert isinstance(create("reno", c), Reno)
