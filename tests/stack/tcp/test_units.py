"""Sequence arithmetic, RFC 6298 RTO estimation, the reassembler, rst_for."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.stack.tcp.reassembly import Reassembler
from netsim.stack.tcp.rto import RtoEstimator
from netsim.stack.tcp.segment import ACK, RST, SYN, TCP, rst_for
from netsim.stack.tcp.seqnum import seq_add, seq_diff, seq_gt, seq_lt

S = 1_000_000_000


def test_sequence_comparison_wraps_around() -> None:
    """RFC 9293 3.4 (sequence numbers: arithmetic modulo 2**32, comparisons across the wrap)."""
    assert seq_lt(0xFFFFFFF0, 0x10) and seq_gt(0x10, 0xFFFFFFF0)
    assert seq_add(0xFFFFFFFF, 2) == 1
    assert seq_diff(1, 0xFFFFFFFF) == 2 and seq_diff(0xFFFFFFFF, 1) == -2


def test_rto_starts_at_one_second_and_doubles_to_the_cap() -> None:
    """RFC 6298 2.1 (an initial RTO of 1 s), 5.5 (doubled on each timeout) and 2.5 (a maximum of at
    least 60 s)."""
    rto = RtoEstimator()
    assert rto.rto == S
    assert [rto.back_off() for _ in range(7)] == [2 * S, 4 * S, 8 * S, 16 * S, 32 * S,
                                                   60 * S, 60 * S]


def test_rto_first_sample_sets_srtt_and_rttvar() -> None:
    """RFC 6298 2.2 (first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR) and 2.3 (later
    ones: alpha 1/8, beta 1/4)."""
    rto = RtoEstimator(min_ns=0)
    rto.sample(100_000_000)
    assert rto.srtt == 100_000_000 and rto.rttvar == 50_000_000
    assert rto.rto == 100_000_000 + 4 * 50_000_000  # RFC 6298 (2.2)
    rto.sample(200_000_000)  # RFC 6298 (2.3)
    assert rto.rttvar == (3 * 50_000_000 + 100_000_000) // 4
    assert rto.srtt == (7 * 100_000_000 + 200_000_000) // 8


def test_rto_is_clamped_to_the_minimum() -> None:
    """RFC 6298 2.4 (an RTO below 1 second is rounded up to 1 second)."""
    rto = RtoEstimator()
    rto.sample(1_000_000)
    assert rto.rto == S


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(1, 60)), max_size=30))
def test_reassembler_returns_the_stream_whatever_the_order(pieces) -> None:
    """RFC 9293 3.10.7.4 (seventh check: text is delivered in sequence order; out-of-order data
    waits until the gap fills), whatever the order and overlap of arrival."""
    stream = bytes(i & 0xFF for i in range(400))
    r = Reassembler()
    for start, n in pieces:
        r.add(start, stream[start:start + n])
    covered = set()
    for start, n in pieces:
        covered.update(range(start, min(start + n, 400)))
    expect_len = 0
    while expect_len in covered:
        expect_len += 1
    got = r.pop_from(0)
    assert got == stream[:expect_len]


def test_reassembler_drops_data_before_the_offset() -> None:
    """RFC 9293 3.10.7.4 (first check: the part of a segment before RCV.NXT is old and trimmed)."""
    r = Reassembler()
    r.add(10, b"abcdef")
    assert r.pop_from(12) == b"cdef"
    assert r.pop_from(16) == b""
    assert len(r) == 0


def test_rst_for_segment_with_ack_uses_its_ack_as_seq() -> None:
    """RFC 9293 3.10.7.1 (CLOSED: if the ACK bit is on, the reset is <SEQ=SEG.ACK><CTL=RST>) and
    3.5.2 (reset generation)."""
    rst = rst_for(TCP(sport=1, dport=2, seq=50, ack=777, flags=ACK))
    assert (rst.sport, rst.dport, rst.seq, rst.flags) == (2, 1, 777, RST)


def test_rst_for_syn_acks_it() -> None:
    """RFC 9293 3.10.7.1 (CLOSED: if the ACK bit is off, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>;
    the SYN counts one, modulo 2**32)."""
    rst = rst_for(TCP(sport=1, dport=2, seq=0xFFFFFFFF, flags=SYN))
    assert (rst.seq, rst.ack, rst.flags) == (0, 0, RST | ACK)


def test_rst_for_rst_is_none() -> None:
    """RFC 9293 3.10.7.1 (CLOSED: an incoming segment containing an RST is discarded, never
    answered)."""
    assert rst_for(TCP(sport=1, dport=2, seq=5, flags=RST)) is None
