"""TFTP on loopback, side by side: our server vs tftpd-hpa under curl, our client vs tftp-hpa and
tftpy against tftpd-hpa, and our client+server with windowsize 16.

    python benchmarks/tftp.py [--size-mb 20] [--repeat 3]

Every server runs in its own process (ours via ``python -m netsim.apps.tftp.cli serve``); each
measurement is the best (minimum) wall time of ``--repeat`` runs, because loopback timings on a
shared machine are noisy. Each download is checked with sha256. Our client runs with ``dally=None``
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
import subprocess
import sys
import tempfile
import time

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


def best(fn, repeat: int, out: str, want: str) -> float:
    times = []
    for _ in range(repeat):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out)
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if sha(out) != want:
            raise SystemExit(f"corrupt download into {out}")
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=20)
    ap.add_argument("--repeat", type=int, default=3)
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
    rows: list[tuple[str, float, str]] = []
    rep = args.repeat

    def curl_from(port: int, blk: int):
        return lambda: subprocess.run([curl, "-s", "--tftp-blksize", str(blk), "-o", out,
                                       f"tftp://127.0.0.1:{port}/bench.bin"], check=True)

    with server(ours_cmd, ours_port), server(hpa_cmd, hpa_port):
        for blk in (512, 1468):
            t_hpa = best(curl_from(hpa_port, blk), rep, out, want)
            t_ours = best(curl_from(ours_port, blk), rep, out, want)
            rows.append((f"curl <- in.tftpd, blksize {blk}", t_hpa, "1.00 (reference)"))
            rows.append((f"curl <- our server, blksize {blk}", t_ours,
                         f"{t_ours / t_hpa:.2f} x in.tftpd (target <= 1.0)"))
        for blk in (512, 1468):
            ours = best(lambda b=blk: get("127.0.0.1", hpa_port, "bench.bin", out,
                                          blksize=b if b != 512 else None, dally=None),
                        rep, out, want)
            hpa = best(lambda b=blk: subprocess.run(
                [hpa_client, "127.0.0.1", str(hpa_port), "-m", "binary",
                 *(["-c", "get"] if b == 512 else ["-c", "get"]), "bench.bin", out], check=True),
                rep, out, want) if blk == 512 else None
            import tftpy

            def run_tftpy(b=blk):
                logging.disable(logging.CRITICAL)
                opts = {} if b == 512 else {"blksize": b}
                tftpy.TftpClient("127.0.0.1", hpa_port, options=opts).download("bench.bin", out)

            tpy = best(run_tftpy, rep, out, want)
            rows.append((f"our client <- in.tftpd, blksize {blk}", ours,
                         f"tftpy/ours = {tpy / ours:.2f} (target >= 1.3)"))
            if hpa is not None:
                rows.append((f"tftp-hpa client <- in.tftpd, blksize {blk}", hpa,
                             f"{hpa / ours:.2f} x ours"))
            rows.append((f"tftpy client <- in.tftpd, blksize {blk}", tpy,
                         f"{tpy / ours:.2f} x ours"))
        for blk in (512, 1468):
            lock = best(lambda b=blk: get("127.0.0.1", ours_port, "bench.bin", out, blksize=b,
                                          dally=None), rep, out, want)
            win = best(lambda b=blk: get("127.0.0.1", ours_port, "bench.bin", out, blksize=b,
                                         windowsize=16, dally=None), rep, out, want)
            rows.append((f"our client <- our server, blksize {blk}, lock-step", lock, ""))
            rows.append((f"our client <- our server, blksize {blk}, windowsize 16", win,
                         f"{lock / win:.2f} x faster than lock-step"))
    shutil.rmtree(work, ignore_errors=True)
    print(f"TFTP loopback, {args.size_mb:g} MB file, best of {rep} runs")
    width = max(len(r[0]) for r in rows)
    print(f"{'transfer':<{width}}  {'seconds':>8}  {'MB/s':>7}  notes")
    for name, secs, note in rows:
        print(f"{name:<{width}}  {secs:8.3f}  {args.size_mb / secs:7.1f}  {note}")


if __name__ == "__main__":
    main()
