"""TFTP on loopback, side by side: our server vs tftpd-hpa under curl, our client vs tftp-hpa and
tftpy against tftpd-hpa, and our client+server with windowsize 16.

    python benchmarks/tftp.py [--size-mb 20] [--repeat 3]

Every server runs in its own process (ours via ``python -m netsim.apps.tftp.cli serve``). The
contenders of one comparison run *interleaved*, in a rotating order (A B, B A, A B...), so that a
burst of load from elsewhere on a shared machine hits both alike; each is run ``--repeat`` times.
The table shows the best (minimum) and the median wall time, and every ratio twice: best over
best, and the median of the per-round ratios with their range, which shows how much to trust it.
Each download is checked with sha256 (outside the timing). Our client runs with ``dally=None``
(no lingering after the final ACK), like tftp-hpa, curl and tftpy, so the times compare.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import hashlib
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from netsim.apps.tftp.os_driver import get  # noqa: E402


def free_port(start: int) -> int:
    for port in range(start, start + 500):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


@contextlib.contextmanager
def server(cmd: list[str], port: int):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": ROOT})
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    break
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(5)


def sha(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def interleaved(fns: dict[str, Callable[[], object]], repeat: int, out: str,
                want: str) -> dict[str, list[float]]:
    """Run each function ``repeat`` times, round-robin in a rotating order; return the times."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for rnd in range(repeat):
        k = rnd % len(names)
        for name in names[k:] + names[:k]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(out)
            t = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t)
            if sha(out) != want:
                raise SystemExit(f"corrupt download into {out} ({name})")
    return times


def ratio_text(num: list[float], den: list[float]) -> str:
    """'best/best, median of per-round ratios [min-max]' for two interleaved time lists."""
    per_round = sorted(a / b for a, b in zip(num, den))
    return (f"{min(num) / min(den):.2f} (rounds: median {statistics.median(per_round):.2f}, "
            f"{per_round[0]:.2f}-{per_round[-1]:.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("--size-mb", type=float, default=20, help="file size (default 20)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each contender, interleaved with its rivals (default 3)")
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)
    work = tempfile.mkdtemp(prefix="tftp-bench-")
    os.chmod(work, 0o755)
    src = os.path.join(work, "bench.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(int(args.size_mb * 1024 * 1024)))
    want = sha(src)
    out = os.path.join(work, "out", "bench.bin")
    os.makedirs(os.path.dirname(out))
    curl, hpa_client, hpa_server = (shutil.which("curl"), shutil.which("tftp"),
                                    shutil.which("in.tftpd"))
    ours_port, hpa_port = free_port(6900), free_port(7400)
    ours_cmd = [sys.executable, "-m", "netsim.apps.tftp.cli", "serve", "--root", work,
                "--port", str(ours_port), "--quiet"]
    hpa_cmd = [hpa_server, "-L", "-a", f"127.0.0.1:{hpa_port}", "-u", getpass.getuser(),
               "-s", work]
    rows: list[tuple[str, list[float], str]] = []
    rep = args.repeat

    def curl_from(port: int, blk: int):
        return lambda: subprocess.run([curl, "-s", "--tftp-blksize", str(blk), "-o", out,
                                       f"tftp://127.0.0.1:{port}/bench.bin"], check=True)

    def ours_get(port: int, blk: int | None, windowsize: int | None = None):
        return lambda: get(("127.0.0.1", port), "bench.bin", out, blksize=blk,
                           windowsize=windowsize, dally=None)

    def tftpy_get(blk: int):
        import tftpy

        def run() -> None:
            logging.disable(logging.CRITICAL)
            opts = {} if blk == 512 else {"blksize": blk}
            tftpy.TftpClient("127.0.0.1", hpa_port, options=opts).download("bench.bin", out)
        return run

    with server(ours_cmd, ours_port), server(hpa_cmd, hpa_port):
        for blk in (512, 1468):
            t = interleaved({"hpa": curl_from(hpa_port, blk), "ours": curl_from(ours_port, blk)},
                            rep, out, want)
            rows.append((f"curl <- in.tftpd, blksize {blk}", t["hpa"], "1.00 (reference)"))
            rows.append((f"curl <- our server, blksize {blk}", t["ours"],
                         f"{ratio_text(t['ours'], t['hpa'])} x in.tftpd (target <= 1.0)"))
        for blk in (512, 1468):
            # At 512 no client asks for options (512 is the RFC 1350 default).
            fns = {"ours": ours_get(hpa_port, blk if blk != 512 else None),
                   "tftpy": tftpy_get(blk)}
            if blk == 512:      # the tftp-hpa client has no option support: 512 only
                fns["hpa"] = lambda: subprocess.run(
                    [hpa_client, "127.0.0.1", str(hpa_port), "-m", "binary", "-c", "get",
                     "bench.bin", out], check=True)
            t = interleaved(fns, rep, out, want)
            rows.append((f"our client <- in.tftpd, blksize {blk}", t["ours"],
                         f"tftpy/ours = {ratio_text(t['tftpy'], t['ours'])} (target >= 1.3)"))
            if "hpa" in t:
                rows.append((f"tftp-hpa client <- in.tftpd, blksize {blk}", t["hpa"],
                             f"{ratio_text(t['hpa'], t['ours'])} x ours"))
            rows.append((f"tftpy client <- in.tftpd, blksize {blk}", t["tftpy"],
                         f"{ratio_text(t['tftpy'], t['ours'])} x ours"))
        for blk in (512, 1468):
            t = interleaved({"lock": ours_get(ours_port, blk),
                             "win": ours_get(ours_port, blk, 16)}, rep, out, want)
            rows.append((f"our client <- our server, blksize {blk}, lock-step", t["lock"], ""))
            rows.append((f"our client <- our server, blksize {blk}, windowsize 16", t["win"],
                         f"{ratio_text(t['lock'], t['win'])} x faster than lock-step"))
    shutil.rmtree(work, ignore_errors=True)
    print(f"TFTP loopback, {args.size_mb:g} MB file, {rep} interleaved runs each "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs at the end)")
    width = max(len(r[0]) for r in rows)
    print(f"{'transfer':<{width}}  {'best s':>7}  {'median':>7}  {'MB/s':>6}  notes")
    for name, secs, note in rows:
        best = min(secs)
        print(f"{name:<{width}}  {best:7.3f}  {statistics.median(secs):7.3f}  "
              f"{args.size_mb / best:6.1f}  {note}")


if __name__ == "__main__":
    main()
