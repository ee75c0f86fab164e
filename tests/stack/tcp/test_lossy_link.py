"""Two endpoints over a fake link that loses, duplicates and reorders segments."""

from __future__ import annotations

import pytest

from netsim.stack.tcp import State
from tests.kits.tcp import transfer_both_ways


def test_one_megabyte_each_way_at_ten_percent_loss_dup_reorder_arrives_intact() -> None:
    """RFC 9293 3.10.7.4 (duplicates dropped, out-of-order text reassembled), RFC 6298
    (retransmission timer), RFC 5681 3.2 (fast retransmit), RFC 9293 3.6 (both ends close): 1
    MiB each way arrives intact through 10% loss, duplication and reordering."""
    pair, data_a, data_b, at_b, at_a = transfer_both_ways(
        seed=1, size=1 << 20, loss=0.10, dup=0.10, reorder=0.10)
    assert at_b == data_a and at_a == data_b
    assert pair.link.dropped > 100  # the link really did lose segments
    assert pair.a.state is State.CLOSED and pair.b.state is State.CLOSED
    assert pair.a.error is None and pair.b.error is None


@pytest.mark.parametrize("seed", range(8))
def test_small_transfer_survives_heavy_loss_with_wrapping_sequence_numbers(seed: int) -> None:
    """RFC 9293 3.4 (sequence numbers wrap modulo 2**32) with the recovery of RFC 6298 and RFC 5681
    3.2: a transfer through 25% loss arrives intact."""
    pair, data_a, data_b, at_b, at_a = transfer_both_ways(
        seed=seed, size=100_000, loss=0.25, dup=0.2, reorder=0.3)
    assert at_b == data_a and at_a == data_b
    assert pair.a.error is None and pair.b.error is None


def test_same_seed_gives_the_same_run() -> None:
    """No RFC behaviour: the harness is deterministic (STYLE.md rule 7), the same seed gives the
    same run, so a failure above can be replayed."""
    runs = [transfer_both_ways(seed=7, size=50_000, loss=0.1, dup=0.1, reorder=0.1)[0]
            for _ in range(2)]
    assert runs[0].now == runs[1].now and runs[0].link.sent == runs[1].link.sent
