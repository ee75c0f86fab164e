"""What the tcp-congestion lab makes of its runs: phases, fits, tables, graded checks, notes.

Every figure here is computed from the TCP tracer's congestion updates (``(time_ns, cwnd,
ssthresh, ca_state, rto, srtt)`` tuples) and the receivers' byte counts; the plots are in
:mod:`labs.tcp_congestion_plots`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netsim.sim.units import NS_PER_S, parse_time

from .result import LabResult
from .tcp_congestion import mathis

__all__ = ["assemble", "phases", "recoveries", "epochs", "fit_cubic", "grade_halving",
           "grade_cubic", "grade_mathis", "grade_nagle", "grade_fairness", "grade_timeouts",
           "jain"]

CUBIC_C, CUBIC_BETA = 0.4, 0.7          # RFC 9438 4.1 and 4.6


def phases(series: list[tuple], states: bool = False) -> list[tuple[float, float, str]]:
    """(start s, end s, phase) spans of what cwnd does: "slow start" (cwnd < ssthresh, also
    after a timeout), "congestion avoidance" (cwnd >= ssthresh) or "fast recovery";
    "disorder" (duplicate ACKs below the threshold) counts as the phase it interrupts.

    Args:
        states: name the recovery states instead: "fast recovery", "after a timeout" (Linux's
            loss state: from an RTO until everything outstanding then is acknowledged) and
            "open" for the rest.
    """
    spans: list[list] = []
    last = "slow start"
    for t, cwnd, ssthresh, state, _rto, _srtt in series:
        if state == "recovery":
            name = "fast recovery"
        elif states:
            name = "after a timeout" if state == "loss" else "open"
        elif state == "disorder":
            name = last
        else:
            name = "slow start" if cwnd < ssthresh else "congestion avoidance"
        last = name
        if spans and spans[-1][2] == name:
            spans[-1][1] = t / NS_PER_S
        else:
            if spans:
                spans[-1][1] = t / NS_PER_S
            spans.append([t / NS_PER_S, t / NS_PER_S, name])
    return [tuple(s) for s in spans]


def recoveries(series: list[tuple]) -> list[dict[str, Any]]:
    """Each entry into fast recovery or a timeout: when, the window before and after, and
    whether the sender was in steady congestion avoidance when the loss was found: cwnd at
    or above ssthresh for at least two round trips since the last recovery, so that its
    flight had filled cwnd (RFC 5681 (4) halves the flight, not cwnd)."""
    out, prev = [], None
    calm_since = 0
    for item in series:
        t, cwnd, ssthresh, state, _rto, srtt = item
        if state in ("recovery", "loss"):
            calm_since = None
        elif calm_since is None:
            calm_since = t
        if prev is not None and state in ("recovery", "loss") and prev[3] != state:
            steady = (prev[1] >= prev[2] and prev[3] in ("open", "disorder")
                      and prev[6] is not None and t - prev[6] >= 2 * (srtt or 0))
            out.append({"time_s": t / NS_PER_S, "kind": state, "cwnd_before": prev[1],
                        "cwnd_after": cwnd, "ssthresh": ssthresh, "from_avoidance": steady})
        prev = (*item, calm_since)
    return out


def epochs(series: list[tuple], mss: int) -> list[dict[str, Any]]:
    """Congestion-avoidance stretches that begin when a fast recovery ends and last until the
    next loss: ``samples`` are (seconds since the stretch began, cwnd in segments); ``w_loss``
    is the window (segments) when the loss that led to it was found."""
    out: list[dict[str, Any]] = []
    cur = None
    prev = None
    before_loss = None
    for t, cwnd, _ss, state, _rto, _srtt in series:
        if prev is not None and state == "recovery" and prev[3] != "recovery":
            before_loss = prev[1] / mss
        if state == "open" and prev is not None and prev[3] == "recovery":
            cur = {"start_s": t / NS_PER_S, "samples": [], "w_loss": before_loss}
            out.append(cur)
        if state != "open":
            cur = None
        if cur is not None:
            cur["samples"].append((t / NS_PER_S - cur["start_s"], cwnd / mss))
        prev = (t, cwnd, _ss, state)
    return [e for e in out if e["samples"]]


def fit_cubic(samples: list[tuple[float, float]]) -> dict[str, float]:
    """Least-squares fit of ``W(t) = C (t - K)^3 + W_max`` (RFC 9438 (1)) to (t, W) samples:
    for each K on a fine grid, C and W_max are linear; the K with the smallest error wins.

    Returns:
        ``c``, ``k`` (s), ``w_max`` (segments) and ``rms`` (segments).
    """
    import numpy as np
    step = max(1, len(samples) // 400)
    ts = np.array([s[0] for s in samples[::step]])
    ws = np.array([s[1] for s in samples[::step]])
    span = float(ts[-1]) if len(ts) else 0.0
    best = None
    for k in np.linspace(0.0, max(3 * span, 1.0), 1500):
        basis = np.vstack([(ts - k) ** 3, np.ones_like(ts)]).T
        coef, *_ = np.linalg.lstsq(basis, ws, rcond=None)
        err = float(((basis @ coef - ws) ** 2).mean())
        if best is None or err < best[0]:
            best = (err, float(k), float(coef[0]), float(coef[1]))
    err, k, c, w_max = best
    return {"c": c, "k": k, "w_max": w_max, "rms": err ** 0.5}


def jain(values: list[float]) -> float:
    """Jain's fairness index: 1 for equal shares, 1/n when one flow takes everything."""
    total, squares = sum(values), sum(v * v for v in values)
    return total * total / (len(values) * squares) if squares else 1.0


# -- checks ------------------------------------------------------------------------------------

def grade_halving(result: LabResult, run: dict[str, Any]) -> None:
    """Reno (RFC 5681 (4)): a loss found in congestion avoidance sets ssthresh to half the
    flight, and fast recovery leaves cwnd there."""
    mss = run["mss"]
    cuts = [r for r in recoveries(run["series"]) if r["kind"] == "recovery" and r["from_avoidance"]]
    ratios = [r["ssthresh"] / r["cwnd_before"] for r in cuts]
    shown = ", ".join(f"{r['cwnd_before'] / mss:.1f} -> {r['ssthresh'] / mss:.1f} at "
                      f"{r['time_s']:.1f} s" for r in cuts[:4])
    result.check(f"cwnd halves on fast recovery ({run['algorithm'].capitalize()})",
                 bool(ratios) and all(0.45 <= x <= 0.55 for x in ratios),
                 (f"{len(cuts)} fast recover{'y' if len(cuts) == 1 else 'ies'} from "
                  f"congestion avoidance, cwnd in segments "
                  f"{shown}: {', '.join(f'{x:.2f}x' for x in ratios[:4])} (RFC 5681 (4): "
                  "ssthresh = FlightSize / 2)") if cuts else
                 "no fast recovery from congestion avoidance in this run (the queue never "
                 "overflowed after slow start: make --duration longer or --queue smaller)")


def best_cubic_epoch(run: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float]] | None:
    """The congestion-avoidance stretch of a run that a cubic fits best (relative error),
    among those at least a second long, with its fit."""
    best = None
    for e in epochs(run["series"], run["mss"]):
        if e["samples"][-1][0] < 1.0 or len(e["samples"]) < 20:
            continue
        fit = fit_cubic(e["samples"])
        score = fit["rms"] / max(fit["w_max"], 1e-9)
        if best is None or score < best[0]:
            best = (score, e, fit)
    return None if best is None else (best[1], best[2])


def grade_cubic(result: LabResult, run: dict[str, Any]) -> dict[str, Any] | None:
    """RFC 9438: after a loss the window follows ``C (t - K)^3 + W_max``, C = 0.4, with
    ``K = cbrt(W_max (1 - beta) / C)`` (RFC 9438 (2)) when the stretch starts at beta W_max."""
    found = best_cubic_epoch(run)
    name = "CUBIC's cwnd follows the cubic curve after a loss (RFC 9438)"
    if found is None:
        result.check(name, False, "no congestion-avoidance stretch of a second or more after "
                                  "a fast recovery to fit")
        return None
    epoch, fit = found
    w0 = epoch["samples"][0][1]
    k_rfc = (max(fit["w_max"] - w0, 0) / CUBIC_C) ** (1 / 3)
    w_loss = epoch["w_loss"] or 0.0
    # RFC 9438 4.7 fast convergence: a loss below the previous maximum sets W_max to
    # (1 + beta) / 2 of the window at the loss, not the window itself.
    converged = (1 + CUBIC_BETA) / 2 * w_loss
    near = min((w_loss, converged), key=lambda w: abs(fit["w_max"] - w))
    ok = (abs(fit["c"] - CUBIC_C) <= 0.25 * CUBIC_C and abs(fit["k"] - k_rfc) <= 0.25 * k_rfc
          and abs(fit["w_max"] - near) <= 0.05 * near and fit["rms"] <= 0.02 * fit["w_max"])
    why = ("the window at the loss" if near == w_loss else
           f"{(1 + CUBIC_BETA) / 2:g} x the {w_loss:.1f} at the loss: fast convergence, "
           "RFC 9438 4.7")
    result.check(name, ok,
                 f"fit of W(t) = C (t - K)^3 + Wmax to the {epoch['samples'][-1][0]:.1f} s of "
                 f"congestion avoidance after {epoch['start_s']:.1f} s: C = {fit['c']:.3f} "
                 f"(RFC 9438: {CUBIC_C}), Wmax = {fit['w_max']:.1f} segments (expected "
                 f"{near:.1f}, {why}), K = {fit['k']:.2f} s (RFC 9438 (2) from Wmax and the "
                 f"{w0:.1f} segments it started at: {k_rfc:.2f} s); RMS error "
                 f"{fit['rms']:.2f} segments")
    return {"epoch": epoch, "fit": fit}


def grade_mathis(result: LabResult, rows: list[dict[str, Any]]) -> None:
    """Mathis et al.: within a factor of two of MSS / RTT * 1.22 / sqrt(p)."""
    ratios = [r["goodput_bps"] / r["mathis_bps"] for r in rows if r["mathis_bps"]]
    result.check("measured throughput within 2x of Mathis (Reno, random loss)",
                 bool(ratios) and all(0.5 <= x <= 2.0 for x in ratios),
                 "measured / predicted at loss " + ", ".join(
                     f"{r['p'] * 100:.2g}%: {r['goodput_bps'] / 1e6:.2f} / "
                     f"{r['mathis_bps'] / 1e6:.2f} Mb/s = {r['goodput_bps'] / r['mathis_bps']:.2f}"
                     for r in rows if r["mathis_bps"]))


def grade_nagle(result: LabResult, rows: list[dict[str, Any]]) -> None:
    """Nagle + delayed ACK: each request waits about one delayed-ACK timer; TCP_NODELAY: about
    one round trip."""
    by = {(r["delack_ns"], r["nodelay"]): r for r in rows}
    stall, quick = [], []
    for (delack, nodelay), r in sorted(by.items()):
        mean = sum(r["latency_ns"]) / len(r["latency_ns"]) if r["latency_ns"] else float("inf")
        (quick if nodelay else stall).append((delack, mean, r["rtt_ns"]))
    result.check("the Nagle stall: with Nagle and delayed ACKs each request waits for the "
                 "delayed-ACK timer",
                 bool(stall) and all(d <= m <= d + 4 * rtt + 10_000_000 for d, m, rtt in stall),
                 "; ".join(f"delayed-ACK timer {d / 1e6:g} ms: requests took {m / 1e6:.1f} ms "
                           f"on average (round trip {rtt / 1e6:.1f} ms)" for d, m, rtt in stall))
    result.check("TCP_NODELAY removes the stall: a request takes about one round trip",
                 bool(quick) and all(m <= 2 * rtt + 2_000_000 for _d, m, rtt in quick),
                 "; ".join(f"timer {d / 1e6:g} ms: {m / 1e6:.1f} ms per request (round trip "
                           f"{rtt / 1e6:.1f} ms)" for d, m, rtt in quick))


def grade_fairness(result: LabResult, runs: list[dict[str, Any]]) -> None:
    """Reno's window grows one segment per round trip, so of two Reno flows the one with the
    shorter round trip grows faster and takes the larger share."""
    for run in runs:
        if run["algorithm"] not in ("reno", "newreno"):
            continue
        short, long_ = run["flows"]
        result.check(f"{run['algorithm']}: the shorter round trip gets the larger share",
                     short["goodput_bps"] > 1.2 * long_["goodput_bps"],
                     f"RTT {short['srtt_ns'] / 1e6:.0f} ms: {short['goodput_bps'] / 1e6:.2f} Mb/s;"
                     f" RTT {long_['srtt_ns'] / 1e6:.0f} ms: {long_['goodput_bps'] / 1e6:.2f} Mb/s")


def grade_timeouts(result: LabResult, runs: list[dict[str, Any]]) -> None:
    """RFC 5681 (5): after a retransmission timeout cwnd is one segment (the loss window)."""
    timeouts = [(run["algorithm"], r, run["mss"]) for run in runs
                for r in recoveries(run["series"]) if r["kind"] == "loss"]
    if not timeouts:
        return
    result.check("a timeout drops cwnd to one segment (RFC 5681 (5))",
                 all(r["cwnd_after"] == mss for _a, r, mss in timeouts),
                 ", ".join(f"{a} at {r['time_s']:.2f} s: {r['cwnd_before'] / mss:.1f} -> "
                           f"{r['cwnd_after'] / mss:.1f}" for a, r, mss in timeouts[:4]))


# -- putting it together -----------------------------------------------------------------------

def assemble(result: LabResult, out: Path, cwnd_runs: list[dict], loss_runs: list[dict],
             fair_runs: list[dict], nagle_runs: list[dict], capture_algo: str,
             extra_delay: str, delay: str) -> None:
    """Tables, figures, checks and notes of the whole lab into ``result``."""
    from .tcp_congestion_plots import plot_cwnd, plot_summary
    t = result.table("One flow alone through the bottleneck (phases from the TCP tracer)",
                     ["algorithm", "Mb/s", "fast recoveries", "timeouts", "resent",
                      "queue drops", "max cwnd", "cwnd at loss"])
    for run in cwnd_runs:
        rec = recoveries(run["series"])
        mss = run["mss"]
        at_loss = [r["cwnd_before"] / mss for r in rec if r["from_avoidance"]]
        t.add(run["algorithm"], round(run["goodput_bps"] / 1e6, 2),
              sum(r["kind"] == "recovery" for r in rec), sum(r["kind"] == "loss" for r in rec),
              run["retransmits"], run["queue_drops"],
              round(max(c for _t, c, *_ in run["series"]) / mss, 1),
              round(sum(at_loss) / len(at_loss), 1) if at_loss else float("nan"))
    cubic = next((r for r in cwnd_runs if r["algorithm"] == "cubic"), None)
    reno = next((r for r in cwnd_runs if r["algorithm"] in ("reno", "newreno")), None)
    fitted = grade_cubic(result, cubic) if cubic else None
    if reno:
        grade_halving(result, reno)
    grade_timeouts(result, cwnd_runs)
    result.figures.append(plot_cwnd(cwnd_runs, out / "cwnd.png", fitted,
                                    parse_time(result.params["duration"]) / NS_PER_S,
                                    result.params.get("sack") == "on"))

    rows = []
    for r in loss_runs:
        rtt = r["srtt_ns"] / NS_PER_S
        rows.append(dict(r, mathis_bps=mathis(r["mss"], rtt, r["p"]) if r["p"] else 0.0))
    if rows:
        t = result.table("Reno over a lossy bottleneck vs Mathis et al.",
                         ["loss %", "lost %", "RTT ms", "Mb/s", "Mathis Mb/s", "ratio"])
        for r in rows:
            t.add(round(r["loss"] * 100, 2), round(r["p"] * 100, 2),
                  round(r["srtt_ns"] / 1e6, 1), round(r["goodput_bps"] / 1e6, 2),
                  round(r["mathis_bps"] / 1e6, 2),
                  round(r["goodput_bps"] / r["mathis_bps"], 2) if r["mathis_bps"] else
                  float("nan"))
        grade_mathis(result, rows)

    t = result.table(f"Two flows share the bottleneck (h2: +{extra_delay} each way)",
                     ["algorithm", "flow", "RTT ms", "Mb/s", "share %", "Jain"])
    t.key = 2
    for run in fair_runs:
        rates = [f["goodput_bps"] for f in run["flows"]]
        index = round(jain(rates), 3)
        for f in run["flows"]:
            t.add(run["algorithm"], f["host"], round(f["srtt_ns"] / 1e6, 1),
                  round(f["goodput_bps"] / 1e6, 2),
                  round(100 * f["goodput_bps"] / sum(rates), 1) if sum(rates) else 0.0, index)
    grade_fairness(result, fair_runs)

    t = result.table("Requests of two small writes, each followed by a read",
                     ["delayed ACK ms", "TCP_NODELAY", "mean ms", "each request ms"])
    t.key = 2
    for r in sorted(nagle_runs, key=lambda r: (r["delack_ns"], r["nodelay"])):
        lat = r["latency_ns"]
        t.add(round(r["delack_ns"] / 1e6, 1), "on" if r["nodelay"] else "off",
              round(sum(lat) / len(lat) / 1e6, 1) if lat else float("nan"),
              " ".join(f"{x / 1e6:.1f}" for x in lat))
    grade_nagle(result, nagle_runs)
    result.figures.append(plot_summary(rows, fair_runs, nagle_runs, out / "tcp-congestion.png"))
    _files_and_notes(result, out, capture_algo, cwnd_runs, delay)


def _files_and_notes(result: LabResult, out: Path, capture_algo: str, cwnd_runs: list[dict],
                     delay: str) -> None:
    cap = out / f"{capture_algo}.pcapng"
    nagle = out / "nagle.pcapng"
    for path in (cap, nagle):
        if path.exists():
            result.captures.append(path)
    sack = result.params.get("sack") == "on"
    if cap.exists():
        from netsim.trace.tcpgraph import draw, time_sequences
        graph = out / f"{capture_algo}-tcpgraph.png"
        first = max(time_sequences(cap), key=lambda g: g.data_bytes)
        draw(first, graph, span=(0.0, 1.2),
             title=f"{capture_algo} at h1's NIC: slow start overflows the queue, "
                   f"{'SACK' if sack else 'fast'} recovery (netsim tcpgraph)")
        result.figures.append(graph)
    result.notes.append(
        f"Round trip without queueing: {2 * parse_time(delay) / 1e6:g} ms. "
        + ("With SACK (RFC 6675) every algorithm repairs losses the same way, so Reno and "
           "NewReno behave alike; --sack off shows Reno ending fast recovery at the first "
           "partial ACK and NewReno resending one hole per round trip (RFC 6582)."
           if sack else
           "Without SACK, Reno ends fast recovery at the first partial ACK (RFC 5681 3.2) "
           "and waits for a timeout when a window lost several segments; NewReno resends the "
           "next hole on each partial ACK (RFC 6582)."))
    result.notes.append(
        "Fairness: Reno and NewReno grow cwnd one segment per round trip, so the flow with "
        "the shorter round trip grows faster after each loss and holds the larger share "
        "(throughput ~ MSS / (RTT sqrt p))"
        + (". With SACK NewReno shares exactly as Reno does, so it is not run twice."
           if sack and {"reno", "newreno"} <= {r["algorithm"] for r in cwnd_runs} else "."))
    result.notes.append(
        f"Captures: {cap.name} is h1's NIC for the first seconds of the {capture_algo} flow, "
        "each dropped segment, fast retransmit, timeout and recovery end commented "
        "(Wireshark: frame.comment); nagle.pcapng marks each delayed ACK and the write "
        "Nagle's algorithm held. netsim tcpgraph CAPTURE draws any capture's time-sequence "
        "graph. Step through a short transfer with netsim step tcp-congestion: each "
        "endpoint line shows cwnd, ssthresh and the RTO.")
