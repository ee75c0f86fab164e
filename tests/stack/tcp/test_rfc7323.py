"""RFC 7323 window scaling and timestamps (RTTM, PAWS) in the sans-I/O core, and the Linux
sysctls that switch them (tests named <state>_<stimulus>)."""

from __future__ import annotations

import dataclasses

import pytest

from netsim.stack.tcp import Connection, TcpConfig
from netsim.stack.tcp.options import our_wscale
from netsim.stack.tcp.segment import ACK, RST, SYN, TCP

A, B = ("10.0.0.1", 40000), ("10.0.0.2", 80)
MS, S = 1_000_000, 1_000_000_000
ISN_A, ISN_B = 1000, 5000
NOP = ("NOP", None)


def shuttle(a: Connection, b: Connection, now: int = 0) -> None:
    while True:
        sa, sb = a.pending_segments(), b.pending_segments()
        if not sa and not sb:
            return
        for seg in sa:
            b.receive(seg, now)
        for seg in sb:
            a.receive(seg, now)


def established(cfg_a: TcpConfig | None = None, cfg_b: TcpConfig | None = None, rtt=10 * MS):
    """A handshake over a path with ``rtt``; both ends then sit at time ``rtt``."""
    a, b = Connection(A, B, ISN_A, cfg_a), Connection(B, A, ISN_B, cfg_b)
    b.open_passive(0)
    a.open_active(0)
    (syn,) = a.pending_segments()
    b.receive(syn, rtt // 2)
    (synack,) = b.pending_segments()
    a.receive(synack, rtt)
    (ack,) = a.pending_segments()
    b.receive(ack, rtt + rtt // 2)
    a.pop_events(), b.pop_events()
    return a, b


def ts_of(seg: TCP) -> tuple[int, int]:
    return seg.option("Timestamp")


def test_closed_open_active_offers_linux_options_in_linux_order() -> None:
    c = Connection(A, B, ISN_A)
    c.open_active(0)
    (syn,) = c.pending_segments()
    names = [name for name, _ in syn.options]
    assert names == ["MSS", "SAckOK", "Timestamp", "NOP", "WScale"]  # RFC 7323 app. A
    assert ts_of(syn)[1] == 0 and syn.option("WScale") == our_wscale(TcpConfig())


@pytest.mark.parametrize(("sysctl", "missing"), [
    ("net.ipv4.tcp_timestamps", "Timestamp"),
    ("net.ipv4.tcp_sack", "SAckOK"),
    ("net.ipv4.tcp_window_scaling", "WScale"),
])
def test_closed_open_active_leaves_out_an_option_whose_sysctl_is_off(sysctl, missing) -> None:
    cfg = TcpConfig()
    cfg.sysctl(sysctl, "0")
    c = Connection(A, B, ISN_A, cfg)
    c.open_active(0)
    (syn,) = c.pending_segments()
    names = {name for name, _ in syn.options}
    assert missing not in names and "MSS" in names


def test_listen_receives_syn_without_options_answers_with_mss_only() -> None:
    b = Connection(B, None, ISN_B)
    b.open_passive(0)
    b.receive(TCP(sport=40000, dport=80, seq=77, flags=SYN, window=1000,
                  options=(("MSS", 1000),)), 0)
    (synack,) = b.pending_segments()
    assert synack.options == (("MSS", 1460),)  # RFC 7323 2.2 / 3.2: only if the SYN had them
    assert not (b.ws_ok or b.ts_ok or b.sack_ok)


def test_established_windows_are_scaled_both_ways_beyond_65535() -> None:
    big = dataclasses.replace(TcpConfig(), rcv_buf=1 << 21, rcv_wnd=1 << 20, snd_buf=1 << 21,
                              initial_window=1000)
    a, b = established(big, big)
    assert a.snd_wscale == b.rcv_wscale == our_wscale(big) == 6
    assert a.snd_wnd == 65535  # the SYN,ACK's window, unscaled
    a.send(bytes(600_000), 20 * MS)
    first = a.pending_segments()
    assert sum(len(s.payload) for s in first) <= 65535
    assert all(s.window == (1 << 20) >> 6 for s in first)  # ours: 1 MiB in units of 64
    for seg in first:
        b.receive(seg, 25 * MS)
    acks = b.pending_segments()
    assert acks[-1].window == (1 << 20) >> 6
    for ack in acks:
        a.receive(ack, 30 * MS)
    assert a.snd_wnd == 1 << 20
    in_flight = a.snd_max - a.snd_una
    assert in_flight > 5 * 65535  # far beyond what an unscaled window allows


def test_syn_sent_takes_the_syn_ack_window_unscaled() -> None:
    a = Connection(A, B, ISN_A)
    a.open_active(0)
    a.pending_segments()
    a.receive(TCP(sport=80, dport=40000, seq=ISN_B, ack=ISN_A + 1, flags=SYN | ACK,
                  window=3000, options=(("MSS", 1460), NOP, ("WScale", 7))), 10 * MS)
    assert a.snd_wscale == 7 and a.snd_wnd == 3000  # RFC 7323 2.2: never scaled on a SYN


def test_established_segments_carry_timestamps_and_lose_12_bytes_of_data() -> None:
    a, b = established()
    assert a.eff_mss == 1448  # RFC 6691: 1460 minus the 12-byte option
    a.send(bytes(3000), 20 * MS)
    segs = a.pending_segments()
    assert [len(s.payload) for s in segs] == [1448, 1448]  # 104 bytes wait (Nagle)
    for s in segs:
        assert s.options[:2] == (NOP, NOP) and ts_of(s)[1] == a.ts_recent
    b.receive(segs[0], 25 * MS)
    (ack,) = b.pending_segments()
    assert ts_of(ack)[1] == ts_of(segs[0])[0]  # TSecr echoes the segment acknowledged


def test_established_out_of_order_segment_does_not_update_ts_recent() -> None:
    a, b = established()
    a.send(bytes(2896), 20 * MS)
    first, second = a.pending_segments()
    b.receive(second, 30 * MS)  # beyond RCV.NXT: RFC 7323 4.3 keeps the older TS.Recent
    (dup,) = b.pending_segments()
    assert ts_of(dup)[1] == b.ts_recent != ts_of(second)[0]
    b.receive(first, 31 * MS)
    (ack,) = b.pending_segments()
    assert ts_of(ack)[1] == ts_of(first)[0]


def test_established_delayed_ack_echoes_the_earliest_unacknowledged_segment() -> None:
    a, b = established(cfg_b=dataclasses.replace(TcpConfig(), delayed_ack=True))
    a.send(bytes(1448), 20 * MS)
    (s1,) = a.pending_segments()
    a.send(bytes(1448), 25 * MS)
    (s2,) = a.pending_segments()
    assert ts_of(s1)[0] != ts_of(s2)[0]
    b.receive(s1, 30 * MS)
    b.receive(s2, 35 * MS)
    (ack,) = b.pending_segments()
    assert ts_of(ack)[1] == ts_of(s1)[0]  # RFC 7323 4.3 (1): the older one


def test_established_every_ack_gives_an_rtt_sample() -> None:
    a, b = established()
    a.send(bytes(14480), 20 * MS)
    segs = a.pending_segments()
    samples = []
    for i, seg in enumerate(segs):
        b.receive(seg, 25 * MS + i * MS)
        for ack in b.pending_segments():
            a.receive(ack, 50 * MS + i * MS)
            samples.append(a.rto.rtt)
    assert len(samples) == 10 and None not in samples  # RTTM: not one sample per RTT


def test_established_ack_of_a_retransmission_brings_the_rto_back_down() -> None:
    for timestamps, backed_off in ((1, False), (0, True)):
        cfg = dataclasses.replace(TcpConfig(), timestamps=timestamps)
        a, b = established(cfg, cfg)
        a.send(b"lost", 20 * MS)
        a.pending_segments()  # the original is lost
        deadline = a.next_deadline()
        assert deadline == 20 * MS + 200 * MS  # SRTT 10 ms -> 30 ms, raised to the minimum
        a.on_timer(deadline)
        (again,) = a.pending_segments()
        assert a.rto.rto == 400 * MS
        b.receive(again, deadline + 5 * MS)
        a.receive(b.pending_segments()[0], deadline + 10 * MS)
        # RFC 7323 4.1 times the retransmission; Karn (RFC 6298 3) without timestamps cannot
        assert (a.rto.rto == 400 * MS) is backed_off
        assert a.rto.backoffs == (1 if backed_off else 0)


def _data_from_b(a: Connection, tsval: int, offset: int = 0, flags: int = ACK,
                 payload: bytes = b"x" * 10) -> TCP:
    return TCP(sport=80, dport=40000, seq=a.rcv_nxt + offset, ack=a.snd_max, flags=flags,
               window=512, payload=payload,
               options=(NOP, NOP, ("Timestamp", (tsval, a._ts_now(0)))))


def test_established_receives_old_tsval_paws_drops_and_acks() -> None:
    a, _ = established()
    recent = a.ts_recent
    a.receive(_data_from_b(a, (recent - 5) & 0xFFFFFFFF), 40 * MS)
    (ack,) = a.pending_segments()
    assert a.readable == 0 and ack.ack == a.rcv_nxt and a.stats["paws_rejected"] == 1
    a.receive(_data_from_b(a, recent + 5), 41 * MS)
    assert a.readable == 10 and a.ts_recent == recent + 5


def test_established_paws_does_not_apply_to_rst() -> None:
    a, _ = established()
    a.receive(_data_from_b(a, (a.ts_recent - 5) & 0xFFFFFFFF, flags=RST, payload=b""), 40 * MS)
    assert a.state.name == "CLOSED"  # RFC 7323 5.3 R1: "and if the RST bit is not set"


def test_established_paws_forgets_ts_recent_after_24_idle_days() -> None:
    a, _ = established()
    day = 86400 * S
    a.receive(_data_from_b(a, (a.ts_recent - 5) & 0xFFFFFFFF), 25 * day)
    assert a.readable == 10  # RFC 7323 5.5: TS.Recent was invalid


def test_timestamp_clock_has_a_per_connection_offset_unless_sysctl_says_2() -> None:
    c1, c2 = Connection(A, B, 1), Connection(A, B, 2)
    assert c1.ts_offset != c2.ts_offset
    cfg = TcpConfig()
    cfg.sysctl("net.ipv4.tcp_timestamps", 2)
    c3 = Connection(A, B, 3, cfg)
    assert c3.ts_offset == 0 and c3._ts_now(1500 * MS) == 1500  # 1 ms ticks


def test_syn_sent_retransmitted_syn_is_timed_by_the_syn_ack_timestamp() -> None:
    a = Connection(A, B, ISN_A)
    a.open_active(0)
    a.pending_segments()
    a.on_timer(a.next_deadline())  # the SYN is lost: resent at 1 s, Karn forbids timing it
    (again,) = a.pending_segments()
    a.receive(TCP(sport=80, dport=40000, seq=ISN_B, ack=ISN_A + 1, flags=SYN | ACK,
                  window=65535, options=(("MSS", 1460), ("Timestamp", (7, ts_of(again)[0])))),
              1 * S + 30 * MS)
    assert a.rto.srtt == 30 * MS and a.rto.rto == 200 * MS  # RFC 7323 4.1
