"""RFC 2018 SACK, RFC 2883 D-SACK and RFC 6675 SACK-based loss recovery: the scoreboard,
the receiver's blocks, and two cores recovering from losses (RFC 3042 limited transmit
too)."""

from __future__ import annotations

import dataclasses
import heapq

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.stack.tcp import Connection, TcpConfig
from netsim.stack.tcp.sack import Scoreboard, receiver_blocks
from netsim.stack.tcp.segment import ACK, TCP

A, B = ("10.0.0.1", 40000), ("10.0.0.2", 80)
MS = 1_000_000
MSS = 1000


# -------------------------------------------------------------------- the scoreboard
def test_scoreboard_merges_touching_ranges_and_counts_new_bytes() -> None:
    sb = Scoreboard()
    assert sb.add(2000, 3000) == 1000
    assert sb.add(4000, 5000) == 1000
    assert sb.add(3000, 4000) == 1000          # joins both neighbours
    assert list(zip(sb.starts, sb.ends)) == [(2000, 5000)]
    assert sb.add(2500, 5500) == 500           # only the tail is new
    sb.trim(3000)
    assert list(zip(sb.starts, sb.ends)) == [(3000, 5500)] and sb.sacked == 2500


def test_scoreboard_is_lost_needs_more_than_two_segments_or_three_ranges_above() -> None:
    sb = Scoreboard()
    sb.add(1000, 3000)
    assert not sb.is_lost(0, MSS)              # 2 * SMSS above: not yet (RFC 6675 IsLost)
    sb.add(3000, 3001)
    assert sb.is_lost(0, MSS)                  # more than (DupThresh - 1) * SMSS
    small = Scoreboard()
    for start in (100, 300, 500):
        small.add(start, start + 50)           # three small discontiguous ranges
    assert small.is_lost(0, MSS) and not small.is_lost(200, MSS)


def test_scoreboard_pipe_counts_unlost_holes_once_and_retransmissions_again() -> None:
    sb = Scoreboard()
    sb.add(1000, 4000)                         # 0..1000 is lost (3000 SACKed above)
    sb.add(5000, 6000)                         # 4000..5000 is not (1000 above)
    # holes: [0, 1000) lost and resent (1); [4000, 5000) in flight (1); [6000, 8000) (2)
    assert sb.pipe(0, 8000, 1000, MSS) == 1000 + 1000 + 2000
    assert sb.pipe(0, 8000, 0, MSS) == 3000    # nothing resent yet
    assert sb.next_lost(0, 8000, 0, MSS) == (0, 1000)
    assert sb.next_lost(0, 8000, 1000, MSS) is None
    assert sb.next_unsacked(0, 8000, 1000, MSS) == (4000, 5000)  # NextSeg rule (3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 40)), max_size=20),
       st.integers(0, 240))
def test_scoreboard_holds_exactly_the_union_of_what_was_sacked(blocks, una) -> None:
    sb, naive = Scoreboard(), set()
    for start, n in blocks:
        new = sb.add(start, start + n)
        assert new == len(set(range(start, start + n)) - naive)
        naive |= set(range(start, start + n))
    sb.trim(una)
    naive = {x for x in naive if x >= una}
    held = {x for s, e in zip(sb.starts, sb.ends) for x in range(s, e)}
    assert held == naive
    assert all(e < s2 for e, s2 in zip(sb.ends, sb.starts[1:]))  # disjoint, not touching
    holes = {x for s, e in sb.holes(una, 260) for x in range(s, e)}
    assert holes == set(range(una, 260)) - naive


def test_receiver_blocks_put_the_newest_first_then_the_recently_reported() -> None:
    held = [(10, 20), (30, 40), (50, 60), (70, 80), (90, 100)]
    assert receiver_blocks(held, [55, 35], 3) == [(50, 60), (30, 40), (90, 100)]
    assert receiver_blocks(held, [], 4) == [(90, 100), (70, 80), (50, 60), (30, 40)]


# -------------------------------------------------------------------- two cores
class Path:
    """Two established connections with a one-way delay; ``drop`` decides first sends."""

    def __init__(self, cfg: TcpConfig, delay: int = 10 * MS, drop=lambda seg: False):
        self.a = Connection(A, B, 1000, cfg)
        self.b = Connection(B, A, 5000, cfg)
        self.delay, self.drop, self.now = delay, drop, 0
        self.heap: list = []
        self.n = 0
        self.seen: set[tuple[int, int]] = set()
        self.b.open_passive(0)
        self.a.open_active(0)
        self.flush()
        self.run(until=lambda: self.b.state.name == "ESTABLISHED")

    def flush(self) -> None:
        for src, dst in ((self.a, self.b), (self.b, self.a)):
            for seg in src.pending_segments():
                key = (id(src), seg.seq, len(seg.payload))
                first = key not in self.seen
                self.seen.add(key)
                if src is self.a and seg.payload and first and self.drop(seg):
                    continue
                self.n += 1
                heapq.heappush(self.heap, (self.now + self.delay, self.n, dst, seg))

    def run(self, until, limit: int = 100_000) -> None:
        for _ in range(limit):
            if until():
                return
            timers = [(d, c) for c in (self.a, self.b) if (d := c.next_deadline()) is not None]
            t_seg = self.heap[0][0] if self.heap else None
            t_tim = min(timers, key=lambda x: x[0]) if timers else None
            if t_seg is not None and (t_tim is None or t_seg <= t_tim[0]):
                self.now, _, dst, seg = heapq.heappop(self.heap)
                dst.receive(seg, self.now)
            elif t_tim is not None:
                self.now = t_tim[0]
                t_tim[1].on_timer(self.now)
            else:
                return
            self.flush()
        raise AssertionError("did not finish")

    def transfer(self, size: int) -> bytes:
        got = bytearray()
        self.a.send(bytes(i & 0xFF for i in range(size)), self.now)
        self.flush()

        def done() -> bool:
            got.extend(self.b.recv(1 << 20, self.now))
            self.flush()
            return len(got) >= size
        self.run(done)
        return bytes(got)


def cfg(**changes) -> TcpConfig:
    base = dataclasses.replace(TcpConfig(), mss=MSS + 12, congestion_control="reno")
    return dataclasses.replace(base, **changes)


def lose(*offsets: int):
    """Drop the first transmission of the segments starting at these data offsets."""
    return lambda seg: (seg.seq - 1001) % 2**32 in offsets


def test_established_two_losses_in_one_window_are_recovered_without_a_timeout() -> None:
    p = Path(cfg(), drop=lose(1000, 5000))
    data = p.transfer(10 * MSS)
    assert data == bytes(i & 0xFF for i in range(10 * MSS))
    assert p.a.stats["timeouts"] == 0 and p.a.stats["recoveries"] == 1
    assert p.a.stats["retransmits"] <= 3          # the two holes (and one rescue at most)
    assert p.now < 100 * MS                       # a few RTTs; no 200 ms RTO


def test_established_without_sack_reno_needs_a_second_recovery_or_a_timeout() -> None:
    p = Path(cfg(sack=False, limited_transmit=False), drop=lose(1000, 5000))
    p.transfer(10 * MSS)
    # RFC 5681 Reno ends recovery at the partial ACK: the second hole costs more.
    assert p.a.stats["timeouts"] + p.a.stats["recoveries"] >= 2


def test_established_without_sack_newreno_resends_the_next_hole_on_a_partial_ack() -> None:
    p = Path(cfg(sack=False, congestion_control="newreno"), drop=lose(1000, 5000))
    p.transfer(10 * MSS)
    assert p.a.stats["timeouts"] == 0 and p.a.stats["recoveries"] == 1  # RFC 6582


def test_established_limited_transmit_lets_a_small_window_recover_fast() -> None:
    # IW of 4 segments and the first lost: only 3 duplicate ACKs are possible if the
    # first two each release a new segment (RFC 3042); otherwise the RTO must fire.
    for lt, timeouts in ((True, 0), (False, 1)):
        p = Path(cfg(initial_window=4, sack=False, limited_transmit=lt), drop=lose(0))
        p.transfer(8 * MSS)
        assert p.a.stats["timeouts"] == timeouts, lt


def test_established_receiver_reports_duplicates_and_the_sender_counts_dsacks() -> None:
    p = Path(cfg(), delay=10 * MS)
    p.transfer(2 * MSS)
    a, b = p.a, p.b
    # Replay an old segment: b answers with a D-SACK block below its cumulative ACK.
    b.receive(TCP(sport=40000, dport=80, seq=1001, ack=b.snd_max, flags=ACK, window=65535,
                  payload=bytes(MSS), options=a._seg_options()), p.now)
    (dup_ack,) = b.pending_segments()
    blocks = dup_ack.option("SAck")
    assert blocks == ((1001, 1001 + MSS),)
    a.receive(dup_ack, p.now + 10 * MS)
    assert a.stats["dsacks_received"] == 1 and not a.sb  # RFC 2883: not new SACK info


def test_established_data_segment_shrinks_to_make_room_for_sack_blocks() -> None:
    p = Path(cfg(), delay=10 * MS)
    b = p.b
    b._ooo.add(5000, b"x" * 10)  # b holds out-of-order data: its segments carry SACK
    b._note_ooo(5000)
    b.send(bytes(3000), p.now)
    segs = b.pending_segments()
    assert segs[0].option("SAck") is not None
    assert len(segs[0].payload) == b.eff_mss - 12  # NOP, NOP, SACK with one block


def test_established_retransmission_never_runs_past_snd_max() -> None:
    # A partial ACK leaves less than a segment outstanding while more data waits unsent:
    # resending "one segment" from SND.UNA must stop at SND.MAX, or the peer would ACK
    # bytes we never sent and the two ends would trade challenge ACKs.
    p = Path(cfg(nodelay=True))
    a = p.a
    a.send(bytes(1500), p.now)
    full, _tail = a.pending_segments()  # 1000 + 500 bytes
    a.receive(TCP(sport=80, dport=40000, seq=p.b.snd_max, ack=full.seq + 1000, flags=ACK,
                  window=65535), p.now + 1)
    a.cfg.nodelay = False
    a.send(bytes(700), p.now + 2)  # Nagle holds it: 500 bytes are still unacknowledged
    assert a.pending_segments() == []
    assert a._retransmit(a.snd_una, MSS) == 500 == len(a.pending_segments()[0].payload)
