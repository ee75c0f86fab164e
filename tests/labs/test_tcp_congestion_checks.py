"""The tcp-congestion lab's checks grade physics: each passes on what the algorithm does and
fails when the run shows something else (another algorithm, equal round trips, no Nagle)."""

from __future__ import annotations

import pytest

from labs import tcp_congestion as tc
from labs import tcp_congestion_report as rep
from labs.result import LabResult

SMALL = dict(bandwidth="4Mbps", delay="40ms", queue=20, duration="6s", sack="on", seed=1)


def checks(grade, *args) -> dict[str, bool]:
    result = LabResult("t", "t", {})
    grade(result, *args)
    return {c.name: c.passed for c in result.checks}


@pytest.fixture(scope="module")
def runs():
    return {a: tc.measure_cwnd(a, **SMALL) for a in ("reno", "cubic")}


def test_reno_halves_its_window_on_fast_recovery(runs):
    assert checks(rep.grade_halving, runs["reno"]) == {"cwnd halves on fast recovery (Reno)": True}


def test_the_halving_check_fails_on_cubics_multiplicative_decrease_of_0_7(runs):
    as_reno = dict(runs["cubic"], algorithm="reno")   # CUBIC's run, graded as if it were Reno
    cuts = [r for r in rep.recoveries(as_reno["series"]) if r["from_avoidance"]]
    assert cuts and all(0.65 < r["ssthresh"] / r["cwnd_before"] < 0.75 for r in cuts)
    assert checks(rep.grade_halving, as_reno) == {"cwnd halves on fast recovery (Reno)": False}


def test_cubic_follows_the_cubic_curve_and_reno_does_not(runs):
    name = "CUBIC's cwnd follows the cubic curve after a loss (RFC 9438)"
    assert checks(rep.grade_cubic, runs["cubic"]) == {name: True}
    assert checks(rep.grade_cubic, runs["reno"]) == {name: False}


def test_the_cubic_fit_recovers_the_curve_it_is_given_and_not_a_line():
    samples = [(t / 100, 0.4 * (t / 100 - 3.0) ** 3 + 100) for t in range(300)]
    fit = rep.fit_cubic(samples)
    assert abs(fit["c"] - 0.4) < 0.01 and abs(fit["k"] - 3.0) < 0.02
    assert abs(fit["w_max"] - 100) < 0.2 and fit["rms"] < 0.05
    line = rep.fit_cubic([(t / 100, 50 + 10 * t / 100) for t in range(300)])
    assert abs(line["c"] - 0.4) > 0.2


def test_a_timeout_leaves_one_segment_and_the_check_sees_a_bigger_one(runs):
    run = tc.measure_cwnd("reno", **dict(SMALL, duration="4s"), outage="300ms")
    assert checks(rep.grade_timeouts, [run]) == {
        "a timeout drops cwnd to one segment (RFC 5681 (5))": True}
    bigger = [(t, c * 2 if s == "loss" else c, ss, s, rto, srtt)
              for t, c, ss, s, rto, srtt in run["series"]]
    assert checks(rep.grade_timeouts, [dict(run, series=bigger)]) == {
        "a timeout drops cwnd to one segment (RFC 5681 (5))": False}


def test_mathis_within_two_and_its_check_failing_three_times_off():
    row = tc.measure_loss(0.02, "4Mbps", "40ms", "6s", "on", 1)
    row["mathis_bps"] = tc.mathis(row["mss"], row["srtt_ns"] / 1e9, row["p"])
    name = "measured throughput within 2x of Mathis (Reno, random loss)"
    assert checks(rep.grade_mathis, [row]) == {name: True}
    assert checks(rep.grade_mathis, [dict(row, goodput_bps=row["mathis_bps"] * 3)]) == {name: False}


def test_the_formula_is_mss_over_rtt_times_1_22_over_root_p():
    assert tc.mathis(1000, 0.1, 0.01) == pytest.approx(1000 * 8 / 0.1 * 1.22 / 0.1)


def test_the_nagle_checks_pass_on_what_happens_and_fail_when_the_runs_are_swapped():
    stall = tc.measure_nagle(False, "40ms", 1)
    quick = tc.measure_nagle(True, "40ms", 1)
    stall_name = ("the Nagle stall: with Nagle and delayed ACKs each request waits for the "
                  "delayed-ACK timer")
    quick_name = "TCP_NODELAY removes the stall: a request takes about one round trip"
    assert checks(rep.grade_nagle, [stall, quick]) == {stall_name: True, quick_name: True}
    swapped = [dict(stall, nodelay=True), dict(quick, nodelay=False)]
    assert checks(rep.grade_nagle, swapped) == {stall_name: False, quick_name: False}


def test_the_short_round_trip_wins_under_reno_and_equal_round_trips_share_evenly():
    unequal = tc.measure_fairness("reno", extra_delay="40ms", **SMALL)
    equal = tc.measure_fairness("reno", extra_delay="0s", **SMALL)
    name = "reno: the shorter round trip gets the larger share"
    assert checks(rep.grade_fairness, [unequal]) == {name: True}
    assert checks(rep.grade_fairness, [equal]) == {name: False}
    rates = [f["goodput_bps"] for f in equal["flows"]]
    assert rep.jain(rates) > rep.jain([f["goodput_bps"] for f in unequal["flows"]])
