"""Lab: a TFTP download across a router over a lossy link.

TFTP (RFC 1350) is lock-step: the server sends one block and waits for its ACK. Lose a DATA or
an ACK and nothing moves until a timer fires (1 s here, as most servers start), so a few
percent of loss costs far more time than it costs bytes. Bigger blocks (RFC 2348 blksize)
mean fewer round trips; a window of several blocks per ACK (RFC 7440 windowsize) keeps the link
busy. The lab sweeps loss, block size and window size and checks every download arrived
byte-identical (sha256), using netsim's own client and server on virtual hosts: the same
sans-I/O sessions that ``netsim tftp`` runs on real sockets.

Every datagram either end's TFTP code sends or receives is noted with the virtual time its
session saw it (:class:`_Recorder`), and :func:`audit_resends` checks the RFC 1350 rule from
that record: a packet goes out again only when the timer fires, exactly one timeout after the
last progress (doubling only while the same packet stays unanswered), and never because a
duplicate arrived (RFC 1123 4.2.3.1, the Sorcerer's Apprentice).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from netsim import Network
from netsim.apps.tftp import sim_driver as tftp_sim
from netsim.apps.tftp.options import MAX_BLKSIZE, MAX_WINDOWSIZE, MIN_BLKSIZE, MIN_WINDOWSIZE
from netsim.wire import tftp as wtftp

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


TIMEOUT_NS = 1_000_000_000    # both ends' retransmission timeout (the sim driver's default)


class _Recorder:
    """A host's socket that notes each datagram the TFTP code sends or receives as
    ``(time_ns, socket number, "tx" | "rx", opcode, block)``: the time is the one the session
    saw; ``block`` is None for packets that have none."""

    def __init__(self, sock: Any, number: int, kernel: Any, log: list):
        self._sock, self._number, self._kernel, self._log = sock, number, kernel, log

    def sendto(self, data: bytes, addr: Any) -> int:
        self._log.append((self._kernel.now, self._number, "tx", *_header(data)))
        return self._sock.sendto(data, addr)

    def recvfrom(self, bufsize: int) -> tuple[bytes, Any]:
        data, addr = self._sock.recvfrom(bufsize)
        self._log.append((self._kernel.now, self._number, "rx", *_header(data)))
        return data, addr

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _record_sockets(host: Any, kernel: Any, log: list, counter: list) -> None:
    make = host.socket

    def socket(*args: Any, **kwargs: Any) -> _Recorder:
        counter[0] += 1
        return _Recorder(make(*args, **kwargs), counter[0], kernel, log)
    host.socket = socket


def _header(payload: bytes) -> tuple[int | None, int | None]:
    """(opcode, block) of a TFTP datagram; block only for DATA and ACK (RFC 1350 s5)."""
    if len(payload) < 2:
        return None, None
    op = payload[0] << 8 | payload[1]
    if op in (wtftp.DATA, wtftp.ACK) and len(payload) >= 4:
        return op, payload[2] << 8 | payload[3]
    return op, None


def audit_resends(log: list, timeout_ns: int = TIMEOUT_NS) -> dict[str, Any]:
    """Check every transmission that was not a first answer against RFC 1350's timer rule.

    Per socket, a send at the instant a datagram arrived is a *reply*; any other send after
    the first is the *timer's*. A timer send must come exactly ``timeout * 2**k`` after the
    later of the last progress (a new ACK for a sender; the next DATA, or an OACK, for a
    receiver) and the previous timer send, ``k`` counting the timeouts since that progress.
    A DATA sent again in reply to an ACK that acknowledges nothing new was caused by a
    duplicate. A DATA sent again in reply to a new ACK is RFC 7440's go-back (a gap in the
    window), and an ACK sent again in reply to a DATA is RFC 1350's re-ACK: both legitimate.

    Returns:
        Counts (``timer``, ``goback``, ``reack``, ``early``, ``late``, ``duplicate``), the
        timer gaps seen in ns (``gaps``) and the first few ``violations`` as text.
    """
    out: dict[str, Any] = {"timer": 0, "goback": 0, "reack": 0, "early": 0, "late": 0,
                           "duplicate": 0, "gaps": set(), "violations": []}
    for number in sorted({entry[1] for entry in log}):
        _audit_socket([e for e in log if e[1] == number], timeout_ns, out)
    out["gaps"] = sorted(out["gaps"])
    return out


def _audit_socket(events: list, timeout_ns: int, out: dict[str, Any]) -> None:
    sent: set[tuple[int | None, int | None]] = set()
    anchor: int | None = None          # last progress or timer send
    k = 0                              # timeouts since the last progress
    acked: int | None = None           # sender: the last block acknowledged
    high = 0                           # sender: the last block sent
    expect = 1                         # receiver: the next block wanted
    oack_seen = False
    last_rx: tuple[int, int | None, int | None, bool] | None = None  # time, op, block, progress
    for time_ns, _, direction, op, block in events:
        if direction == "rx":
            progress = False
            if op == wtftp.ACK and block is not None:
                # New if it covers blocks sent and not yet acknowledged (16-bit arithmetic).
                progress = acked is None or \
                    0 < (block - acked) & 0xFFFF <= (high - acked) & 0xFFFF
                if progress:
                    acked = block
            elif op == wtftp.DATA and block == expect & 0xFFFF:
                progress, expect = True, expect + 1
            elif op == wtftp.OACK and not oack_seen:
                progress = oack_seen = True
            if progress:
                anchor, k = time_ns, 0
            last_rx = (time_ns, op, block, progress)
            continue
        if op == wtftp.DATA and (acked is None or (block - acked) & 0xFFFF < 0x8000):
            high = block
        again = (op, block) in sent
        sent.add((op, block))
        if anchor is None:               # the session's first send (its start)
            anchor = time_ns
            continue
        if last_rx is not None and last_rx[0] == time_ns:
            if again and op == wtftp.DATA:
                if last_rx[3]:
                    out["goback"] += 1
                else:
                    out["duplicate"] += 1
                    _note(out, f"DATA {block} resent at {time_ns / 1e9:.6f} s on a duplicate "
                               f"{wtftp.OPCODE_NAMES.get(last_rx[1], last_rx[1])} {last_rx[2]}")
            elif again:
                out["reack"] += 1
            continue
        if time_ns == anchor:             # the rest of a window resent by the same timeout
            continue
        due = anchor + timeout_ns * 2 ** k
        gap = time_ns - anchor
        if op != wtftp.ERROR:            # an ERROR on the timer is giving up
            out["timer"] += 1
            out["gaps"].add(gap)
        if time_ns != due:
            out["early" if time_ns < due else "late"] += 1
            _note(out, f"{wtftp.OPCODE_NAMES.get(op, op)} {block} at {time_ns / 1e9:.6f} s: "
                       f"{gap / 1e9:.6f} s after the last progress or timeout, due after "
                       f"{timeout_ns * 2 ** k / 1e9:g} s")
        anchor, k = time_ns, k + 1


def _note(out: dict[str, Any], text: str) -> None:
    if len(out["violations"]) < 5:
        out["violations"].append(text)


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
    info["log"] = []
    counter = [0]
    for host in (h1, srv):
        _record_sockets(host, net.kernel, info["log"], counter)
    srv.spawn_with_host(tftp_sim.serve, files, completed=info["served"], name="tftpd")
    h1.spawn_with_host(download, at="10ms", name="tftp get")
    return net, info


STEP_PARAMS = declare(
    replace(PARAMS["size"], default=20_000,
            help="file size in bytes (smaller than the lab's: 40 blocks of 512)"),
    replace(PARAMS["loss"], default=0.1, many=False),
    replace(PARAMS["blksize"], default=512, many=False),
    replace(PARAMS["windowsize"], default=1, many=False),
    PARAMS["seed"],
)


def scene(size: int = 20_000, loss: float = 0.1, blksize: int = 512, windowsize: int = 1,
          seed: int = 1) -> Network:
    """What ``netsim step tftp-transfer`` walks through: one download across the lossy link."""
    if not 0 <= loss < 1:
        raise ValueError(f"--loss must be a probability from 0 to below 1 (got {loss})")
    if size < 0:
        raise ValueError(f"--size must be an integer >= 0 (got {size})")
    return build(size, loss, seed=seed, blksize=None if blksize == 512 else blksize,
                 windowsize=None if windowsize == 1 else windowsize)[0]


def measure_point(size: int, loss: float, blksize: int, windowsize: int, bandwidth: str,
                  delay: str, seed: int, capture: str | None = None) -> dict[str, Any]:
    net, info = build(size, loss, bandwidth, delay, seed,
                      blksize=None if blksize == 512 else blksize,
                      windowsize=None if windowsize == 1 else windowsize)
    if capture:
        # The client's NIC and both ends of the lossy WAN link: a frame the link lost is in
        # the capture once, on the interface that sent it, commented "lost on link".
        with net.capture(capture, interfaces=["h1-eth0", "r1-eth1", "srv-eth0"]):
            net.run(until="600s")
    else:
        net.run(until="600s")
    stats = info.get("stats")
    ok = info.get("got") is not None and hashlib.sha256(info["got"]).digest() == \
        hashlib.sha256(info["sent"]).digest()
    seconds = stats.seconds if stats else float("nan")
    wan = info["wan"].stats()
    audit = audit_resends(info["log"])
    return {"loss": loss, "blksize": blksize, "windowsize": windowsize, "ok": ok,
            "error": str(info.get("error") or ""), "seconds": seconds,
            # timeouts on both sides: the server resends DATA, the client resends its ACK
            "retransmissions": (stats.retransmissions if stats else 0)
            + sum(st.retransmissions for _kind, _name, st, _err in info["served"]),
            "frames_lost": sum(d["lost"] for d in wan.values()),
            "throughput_kBps": (size / seconds / 1000) if stats and seconds else 0.0,
            "sha256": hashlib.sha256(info["got"]).hexdigest()[:16] if info.get("got") else "-",
            "audit": {key: audit[key] for key in ("timer", "goback", "reack", "early", "late",
                                                  "duplicate", "violations")}
            | {"gaps": [g / 1e9 for g in audit["gaps"]]}}


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
                     ["blksize", "window", "loss %", "time s", "resent", "frames lost", "kB/s",
                      "intact"])
    t.key = 3
    for r in rows:
        t.add(r["blksize"], r["windowsize"], round(r["loss"] * 100, 1), round(r["seconds"], 3),
              r["retransmissions"], r["frames_lost"], round(r["throughput_kBps"], 1),
              "yes" if r["ok"] else f"NO {r['error']}")
    result.figures.append(_plot(rows, out / "tftp-transfer.png"))

    demo_loss = max(loss)
    cap = out / "transfer.pcapng"
    demo = measure_point(size, demo_loss, blksize[0], windowsize[0], bandwidth, delay, seed,
                         capture=str(cap))
    result.captures.append(cap)
    result.notes.append(f"capture: a {blksize[0]}-byte-block download at {demo_loss:.0%} loss "
                        f"({demo['frames_lost']} frames lost, {demo['retransmissions']} "
                        "timeouts), seen on h1's NIC and on both ends of the WAN link "
                        "(r1-eth1, srv-eth0): a lost frame is commented 'lost on link' on the end "
                        "that sent it and never shows up on the other end (Wireshark: "
                        "frame.comment contains \"lost\"). The DATA from the server's new port (its transfer ID) is "
                        "dissected as TFTP too.")

    result.check("every download arrives byte-identical (sha256)", all(r["ok"] for r in rows),
                 f"{sum(r['ok'] for r in rows)} of {len(rows)} downloads intact")
    clean = [r for r in rows if r["loss"] == 0]
    if clean:
        result.check("no loss, no retransmission", all(r["retransmissions"] == 0 for r in clean),
                     "timeouts at 0% loss: " + ", ".join(str(r["retransmissions"]) for r in clean))
    _check_recovery(result, rows)
    _check_timer_rule(result, rows)
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


def _check_recovery(result: LabResult, rows: list[dict]) -> None:
    """Every download that lost a frame repaired it.

    Lock-step (RFC 1350) recovers only by a timeout; with a window (RFC 7440) a lost DATA is
    usually repaired sooner, by the client's ACK of the last block in order and the server
    going back to the block after it, so both kinds count there.
    """
    lossy = [r for r in rows if r["loss"] > 0 and r["frames_lost"] > 0]
    if not lossy:
        return

    def recoveries(r: dict) -> int:
        a = r["audit"]
        return a["timer"] + a["goback"] + a["reack"]

    result.check("lost frames are recovered (timeouts; go-backs in a window)",
                 all(recoveries(r) > 0 for r in lossy)
                 and all(r["audit"]["timer"] > 0 for r in lossy if r["windowsize"] == 1),
                 "with loss: " + ", ".join(
                     f"w{r['windowsize']} {r['audit']['timer']} timeouts"
                     + (f" {r['audit']['goback']} go-backs" if r["windowsize"] > 1 else "")
                     for r in lossy))


def _check_timer_rule(result: LabResult, rows: list[dict]) -> None:
    audits = [r["audit"] for r in rows]
    bad = sum(a["early"] + a["late"] + a["duplicate"] for a in audits)
    gaps = sorted({g for a in audits for g in a["gaps"]})
    detail = (f"{sum(a['timer'] for a in audits)} timer retransmissions, each "
              + ("exactly " if not bad else "")
              + "one timeout after the last progress or twice the previous wait (gaps seen: "
              + ", ".join(f"{g:g} s" for g in gaps) + "); "
              f"{sum(a['early'] for a in audits)} sooner, {sum(a['late'] for a in audits)} "
              f"later than due, {sum(a['duplicate'] for a in audits)} on a duplicate ACK; "
              f"{sum(a['goback'] for a in audits)} go-backs after a window gap (RFC 7440), "
              f"{sum(a['reack'] for a in audits)} re-ACKs of a repeated DATA")
    violations = [v for a in audits for v in a["violations"]][:3]
    if violations:
        detail += "; e.g. " + "; ".join(violations)
    result.check("retransmit on timeout only (RFC 1350): never sooner than the timeout, never "
                 "on a duplicate (RFC 1123 4.2.3.1)", bad == 0, detail)
