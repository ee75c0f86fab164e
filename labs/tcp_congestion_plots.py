"""The tcp-congestion lab's figures (matplotlib, imported only here and only when drawing).

* ``cwnd.png``: one panel per algorithm, cwnd and ssthresh (segments) over time, each phase
  in its own colour (slow start, congestion avoidance, fast recovery shaded, timeouts marked),
  and over CUBIC's best congestion-avoidance stretch the fitted ``C (t - K)^3 + W_max``.
* ``tcp-congestion.png``: throughput vs loss with the Mathis curve, the two flows' shares,
  and the request times of the Nagle experiment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netsim.sim.units import NS_PER_S

__all__ = ["plot_cwnd", "plot_summary"]

PHASE_COLOURS = {"slow start": "tab:green", "congestion avoidance": "tab:blue",
                 "fast recovery": "tab:orange", "after a timeout": "tab:red"}
TITLES = {"reno": "Reno (RFC 5681)", "newreno": "NewReno (RFC 6582)", "cubic": "CUBIC (RFC 9438)"}


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_cwnd(runs: list[dict[str, Any]], path: Path, cubic_fit: dict | None = None,
              duration_s: float | None = None, sack: bool = True) -> Path:
    """cwnd vs time, one panel per run, phases coloured and marked."""
    from .tcp_congestion_report import CUBIC_C, phases, recoveries
    plt = _pyplot()
    fig, axes = plt.subplots(len(runs), 1, figsize=(10, 2.9 * len(runs) + 0.6), sharex=True,
                             squeeze=False)
    # Without SACK, fast recovery inflates cwnd by one segment per duplicate ACK (RFC 5681
    # 3.2 step 4), thousands in a long NewReno recovery: the axis is set by the rest, and an
    # inflated peak is cut and labelled with its height.
    calm = [c for run in runs for _t, c, _ss, st, *_ in run["series"] if st != "recovery"]
    top = max(calm or [c for run in runs for _t, c, *_ in run["series"]] or [1])
    for ax, run in zip(axes[:, 0], runs):
        mss, series = run["mss"], run["series"]
        spans = phases(series)
        ts = [s[0] / NS_PER_S for s in series]
        cw = [s[1] / mss for s in series]
        ss = [min(s[2], 4 * top) / mss for s in series]
        ax.step(ts, ss, where="post", color="0.45", lw=1, ls="--", label="ssthresh")
        shaded: set[str] = set()
        for start, end, name in phases(series, states=True):
            if name != "open":
                ax.axvspan(start, max(end, start + 0.01), color=PHASE_COLOURS[name], alpha=0.18,
                           lw=0, label=f"{name} (shaded)" if name not in shaded else None)
                shaded.add(name)
        # The cwnd line in the colour of each phase.
        seen: set[str] = set()
        for start, end, name in spans:
            idx = [i for i, t in enumerate(ts) if start <= t <= end]
            if not idx:
                continue
            lo, hi = max(idx[0] - 1, 0), idx[-1] + 1
            ax.step(ts[lo:hi + 1], cw[lo:hi + 1], where="post", color=PHASE_COLOURS[name], lw=1.3,
                    label=name if name not in seen else None)
            seen.add(name)
        if run.get("outage_s"):
            ax.axvspan(*run["outage_s"], facecolor="none", edgecolor="0.3", hatch="////", lw=0,
                       label="bottleneck down")
        for r in recoveries(series):
            if r["kind"] == "loss":
                ax.axvline(r["time_s"], color="tab:red", lw=1, ls=":")
                ax.annotate(" RTO", (r["time_s"], top / mss * 0.97), color="tab:red", fontsize=8,
                            ha="left", va="top", annotation_clip=False)
            else:
                ax.plot([r["time_s"]], [r["cwnd_before"] / mss], marker="v", color="tab:orange",
                        markersize=6, ls="none")
        if run["algorithm"] == "cubic" and cubic_fit is not None:
            e, f = cubic_fit["epoch"], cubic_fit["fit"]
            xs = [e["start_s"] + s[0] for s in e["samples"]]
            ys = [f["c"] * (s[0] - f["k"]) ** 3 + f["w_max"] for s in e["samples"]]
            ax.plot(xs, ys, color="black", lw=1.6, ls=(0, (2, 1.5)),
                    label=f"fit C(t-K)^3+Wmax: C={f['c']:.2f} (RFC {CUBIC_C})")
        peak = max((s[1] for s in series), default=0)
        cut = (f"; cut off: duplicate ACKs inflated cwnd to {peak / mss:.0f} segments "
               "(RFC 5681 3.2)") if peak > top * 1.12 else ""
        ax.set_ylim(0, top / mss * 1.12)
        if duration_s:
            ax.set_xlim(0, duration_s)
        ax.set_ylabel("segments")
        same = " (with SACK it recovers as Reno does: RFC 6675)" \
            if sack and run["algorithm"] == "newreno" else ""
        ax.set_title(f"{TITLES.get(run['algorithm'], run['algorithm'])}: "
                     f"{run['goodput_bps'] / 1e6:.2f} Mb/s{same}{cut}", fontsize=10, loc="left")
        ax.grid(True, alpha=0.25)
        ax.legend(fontsize=7, loc="upper right", ncol=3, framealpha=0.85)
    axes[-1, 0].set_xlabel("time (s)  -  triangles: loss found (fast retransmit); dotted red: "
                           "retransmission timeout")
    fig.suptitle("cwnd over time, one flow alone through a drop-tail bottleneck", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_summary(loss_rows: list[dict], fair_runs: list[dict], nagle_runs: list[dict],
                 path: Path) -> Path:
    """Three panels: throughput vs loss with Mathis, the fairness shares, the Nagle stall."""
    from .tcp_congestion import mathis
    plt = _pyplot()
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(14, 4.3))
    if loss_rows:
        ps = [r["p"] for r in loss_rows]
        a1.loglog(ps, [r["goodput_bps"] / 1e6 for r in loss_rows], "o", color="tab:blue",
                  label="measured (Reno)")
        lo, hi = min(ps) / 1.5, max(ps) * 1.5
        grid = [lo * (hi / lo) ** (i / 40) for i in range(41)]
        mss = loss_rows[0]["mss"]
        rtt = sum(r["srtt_ns"] for r in loss_rows) / len(loss_rows) / NS_PER_S
        a1.loglog(grid, [mathis(mss, rtt, p) / 1e6 for p in grid], color="black", lw=1,
                  label=f"Mathis: MSS/RTT x 1.22/sqrt(p), RTT {rtt * 1e3:.0f} ms")
        a1.fill_between(grid, [mathis(mss, rtt, p) / 2e6 for p in grid],
                        [mathis(mss, rtt, p) * 2 / 1e6 for p in grid], color="0.5", alpha=0.15,
                        label="within 2x")
        a1.set_xlabel("frames lost on the bottleneck (fraction)")
        a1.set_ylabel("goodput (Mb/s)")
        a1.legend(fontsize=7)
        a1.grid(True, which="both", alpha=0.25)
    a1.set_title("throughput vs loss", fontsize=10)
    names, shares = [], []
    for run in fair_runs:
        for f in run["flows"]:
            names.append(f"{run['algorithm']}\n{f['host']} {f['srtt_ns'] / 1e6:.0f} ms")
            shares.append(f["goodput_bps"] / 1e6)
    colours = ["tab:blue" if i % 2 == 0 else "tab:purple" for i in range(len(names))]
    a2.bar(range(len(names)), shares, color=colours)
    a2.set_xticks(range(len(names)), names, fontsize=7)
    a2.set_ylabel("goodput (Mb/s)")
    a2.set_title("two flows, different round trips", fontsize=10)
    a2.grid(True, axis="y", alpha=0.25)
    rows = sorted(nagle_runs, key=lambda r: (r["delack_ns"], r["nodelay"]))
    labels = [f"delack {r['delack_ns'] / 1e6:g} ms\n" + ("TCP_NODELAY" if r["nodelay"]
                                                        else "Nagle on") for r in rows]
    means = [sum(r["latency_ns"]) / len(r["latency_ns"]) / 1e6 if r["latency_ns"] else 0
             for r in rows]
    a3.bar(range(len(rows)), means,
           color=["tab:green" if r["nodelay"] else "tab:red" for r in rows])
    a3.set_xticks(range(len(rows)), labels, fontsize=7)
    a3.set_ylabel("time per request (ms)")
    a3.set_title("write, write, read: Nagle vs delayed ACK", fontsize=10)
    a3.grid(True, axis="y", alpha=0.25)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
