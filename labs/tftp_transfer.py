"""Lab: a TFTP download across a router over a lossy link.

TFTP (RFC 1350) is lock-step: the server sends one block and waits for its ACK. Lose a DATA or
an ACK and nothing moves until a timer fires (1 s here, as most servers start), so a few
percent of loss costs far more time than it costs bytes. Bigger blocks (RFC 2348 blksize)
mean fewer round trips; a window of several blocks per ACK (RFC 7440 windowsize) keeps the link
busy. The lab sweeps loss, block size and window size and checks every download arrived
byte-identical (sha256), using netsim's own client and server on virtual hosts: the same
sans-I/O sessions that ``netsim tftp`` runs on real sockets.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from netsim import Network
from netsim.apps.tftp import sim_driver as tftp_sim
from netsim.apps.tftp.options import MAX_BLKSIZE, MAX_WINDOWSIZE, MIN_BLKSIZE, MIN_WINDOWSIZE

from .params import RATE, TIME, Param, checked, declare
from .result import LabResult
from .sweep import run_points

NAME = "tftp-transfer"
TITLE = "TFTP over a lossy link: time, retransmissions and throughput"
SUMMARY = "a file downloaded across a router over a lossy link; loss vs block size vs window size"

PARAMS = declare(
    # Bounded so that one download stays within seconds, not hours, of real time.
    Param("size", int, 100_000, min=0, max=16_000_000, help="file size in bytes"),
    Param("loss", float, [0.0, 0.02, 0.05, 0.1], many=True, min=0, max=1,
          help="loss probabilities of the WAN link to sweep"),
    Param("blksize", int, [512, 1468], many=True, min=MIN_BLKSIZE, max=MAX_BLKSIZE,
          help="block sizes to sweep (RFC 2348)"),
    Param("windowsize", int, [1, 8], many=True, min=MIN_WINDOWSIZE, max=MAX_WINDOWSIZE,
          help="window sizes to sweep (RFC 7440)"),
    # A lock-step round trip must stay under the first retransmission timeout (1 s), or each
    # block is sent again before its ACK can arrive: the largest block (0.52 s at 1 Mb/s) and
    # two delays of 200 ms (a geostationary satellite hop is about 250 ms) still fit.
    Param("bandwidth", RATE, "10Mbps", min="1Mbps", max="100Gbps", help="WAN link rate"),
    Param("delay", TIME, "5ms", min="0s", max="200ms", help="WAN link one-way delay"),
    Param("seed", int, 1, min=0, help="random seed"),
)


def _content(size: int, seed: int) -> bytes:
    import random
    return random.Random(seed).randbytes(size)


def build(size: int = 100_000, loss: float = 0.1, bandwidth: str = "10Mbps", delay: str = "5ms",
          seed: int = 1, blksize: int | None = None, windowsize: int | None = None,
          result: dict | None = None) -> tuple[Network, dict[str, Any]]:
    """client h1 - s1 - r1 ==(lossy WAN link)== srv, with the transfer started (not run)."""
    net = Network(seed=seed)
    h1, s1, r1, srv = net.add_host("h1"), net.add_switch("s1"), net.add_router("r1"), net.add_host("srv")
    net.link(h1, s1)
    net.link(r1, s1)
    wan = net.link(r1, srv, bandwidth=bandwidth, delay=delay, loss=loss)
    r1.set_ip("192.168.1.1/24", iface="eth0")
    r1.set_ip("10.0.0.1/30", iface="eth1")
    h1.set_ip("192.168.1.10/24", gateway="192.168.1.1")
    srv.set_ip("10.0.0.2/30", gateway="10.0.0.1")
    data = _content(size, seed)
    files = {"firmware.bin": data}
    info: dict[str, Any] = result if result is not None else {}
    info.update(sent=data, wan=wan)

    def download(host) -> None:
        try:
            got, stats = tftp_sim.get(host, srv.ip, "firmware.bin", blksize=blksize,
                                      windowsize=windowsize)
            info["got"], info["stats"] = got, stats
        except tftp_sim.TftpError as exc:
            info["error"] = exc

    info["served"] = []
    srv.spawn_with_host(tftp_sim.serve, files, completed=info["served"], name="tftpd")
    h1.spawn_with_host(download, at="10ms", name="tftp get")
    return net, info


def measure_point(size: int, loss: float, blksize: int, windowsize: int, bandwidth: str,
                  delay: str, seed: int, capture: str | None = None) -> dict[str, Any]:
    net, info = build(size, loss, bandwidth, delay, seed,
                      blksize=None if blksize == 512 else blksize,
                      windowsize=None if windowsize == 1 else windowsize)
    if capture:
        with net.capture(capture, interfaces=["h1-eth0"]):
            net.run(until="600s")
    else:
        net.run(until="600s")
    stats = info.get("stats")
    ok = info.get("got") is not None and hashlib.sha256(info["got"]).digest() == \
        hashlib.sha256(info["sent"]).digest()
    seconds = stats.seconds if stats else float("nan")
    wan = info["wan"].stats()
    return {"loss": loss, "blksize": blksize, "windowsize": windowsize, "ok": ok,
            "error": str(info.get("error") or ""), "seconds": seconds,
            # timeouts on both sides: the server resends DATA, the client resends its ACK
            "retransmissions": (stats.retransmissions if stats else 0)
            + sum(st.retransmissions for _kind, _name, st, _err in info["served"]),
            "frames_lost": sum(d["lost"] for d in wan.values()),
            "throughput_kBps": (size / seconds / 1000) if stats and seconds else 0.0,
            "sha256": hashlib.sha256(info["got"]).hexdigest()[:16] if info.get("got") else "-"}


def _plot(rows: list[dict], path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    combos = sorted({(r["blksize"], r["windowsize"]) for r in rows})
    for blk, win in combos:
        pts = sorted((r["loss"], r["throughput_kBps"], r["retransmissions"]) for r in rows
                     if (r["blksize"], r["windowsize"]) == (blk, win))
        label = f"blksize {blk}, window {win}"
        ax1.plot([p[0] * 100 for p in pts], [p[1] for p in pts], "-o", label=label, markersize=4)
        ax2.plot([p[0] * 100 for p in pts], [p[2] for p in pts], "-o", label=label, markersize=4)
    ax1.set_title("throughput (kB/s)")
    ax1.set_yscale("log")
    ax2.set_title("packets resent after a timeout (both sides)")
    for ax in (ax1, ax2):
        ax.set_xlabel("loss on the WAN link (%)")
        ax.grid(True, alpha=0.3)
    ax1.legend(fontsize=8)
    fig.suptitle("TFTP download across a router: loss costs timeouts, not bytes")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@checked(PARAMS)
def run(size: int = 100_000, loss=None, blksize=None, windowsize=None, bandwidth: str = "10Mbps",
        delay: str = "5ms", seed: int = 1, out: Path | str | None = None, jobs: int | None = None,
        progress: bool = True) -> LabResult:
    loss = [float(x) for x in (loss if loss is not None else PARAMS["loss"].default)]
    blksize = [int(x) for x in (blksize or PARAMS["blksize"].default)]
    windowsize = [int(x) for x in (windowsize or PARAMS["windowsize"].default)]
    out = Path(out) if out is not None else Path("captures") / NAME
    out.mkdir(parents=True, exist_ok=True)
    result = LabResult(NAME, TITLE, {"size": size, "loss": loss, "blksize": blksize,
                                     "windowsize": windowsize, "bandwidth": bandwidth,
                                     "delay": delay, "seed": seed})
    points = [dict(size=size, loss=ls, blksize=b, windowsize=w, bandwidth=bandwidth, delay=delay,
                   seed=seed) for b in blksize for w in windowsize for ls in loss]
    rows = run_points(measure_point, points, jobs=jobs, label=f"{NAME}: {len(points)} downloads",
                      progress=progress)
    t = result.table(f"Downloading {size:,} bytes across r1 (WAN {bandwidth}, {delay} each way)",
                     ["blksize", "window", "loss", "time s", "resent", "frames lost", "kB/s",
                      "intact"])
    for r in rows:
        t.add(r["blksize"], r["windowsize"], r["loss"], round(r["seconds"], 3),
              r["retransmissions"], r["frames_lost"], round(r["throughput_kBps"], 1),
              "yes" if r["ok"] else f"NO {r['error']}")
    result.figures.append(_plot(rows, out / "tftp-transfer.png"))

    demo_loss = max(loss)
    cap = out / "transfer.pcapng"
    demo = measure_point(size, demo_loss, blksize[0], windowsize[0], bandwidth, delay, seed,
                         capture=str(cap))
    result.captures.append(cap)
    result.notes.append(f"capture: a {blksize[0]}-byte-block download at {demo_loss:.0%} loss, "
                        f"{demo['retransmissions']} timeouts; in Wireshark the DATA from the "
                        f"server's new port (its transfer ID) is dissected as TFTP too.")

    result.check("every download arrives byte-identical (sha256)", all(r["ok"] for r in rows),
                 f"{sum(r['ok'] for r in rows)} of {len(rows)} downloads intact")
    clean = [r for r in rows if r["loss"] == 0]
    lossy = [r for r in rows if r["loss"] > 0 and r["frames_lost"] > 0]
    if clean:
        result.check("no loss, no retransmission", all(r["retransmissions"] == 0 for r in clean),
                     "timeouts at 0% loss: " + ", ".join(str(r["retransmissions"]) for r in clean))
    if lossy:
        result.check("lost frames are recovered by timeouts (RFC 1350: retransmit on timeout only)",
                     all(r["retransmissions"] > 0 for r in lossy),
                     "timeouts with loss: " + ", ".join(str(r["retransmissions"]) for r in lossy))
    for b in blksize:
        for w in windowsize:
            series = sorted((r["loss"], r["seconds"]) for r in rows
                            if r["blksize"] == b and r["windowsize"] == w)
            if len(series) > 1 and series[0][0] == 0:
                result.check(f"loss slows the download (blksize {b}, window {w})",
                             series[-1][1] > series[0][1],
                             f"{series[0][1]:.3f} s at 0% loss, {series[-1][1]:.3f} s at "
                             f"{series[-1][0]:.0%}")
    if len(windowsize) > 1 and clean:
        by_w = {r["windowsize"]: r["seconds"] for r in clean if r["blksize"] == blksize[0]}
        lo, hi = min(windowsize), max(windowsize)
        result.check("a window of blocks beats lock-step on a clean link (RFC 7440)",
                     by_w[hi] < by_w[lo],
                     f"blksize {blksize[0]}: {by_w[lo]:.3f} s with window {lo}, "
                     f"{by_w[hi]:.3f} s with window {hi}")
    return result
