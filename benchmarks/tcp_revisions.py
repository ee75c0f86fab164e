"""CPU time per frame of the TCP bulk benchmark, this tree against another git revision.

    python benchmarks/tcp_revisions.py REV [--size 20] [--rounds 5]

Runs ``benchmarks/tcp.py``'s TCP bulk transfer (h1 -- s1 -- h2 at 1 Gb/s, tracing off,
``--size`` MB) of this working tree and of ``REV`` (unpacked with ``git archive`` into a
temporary folder), alternately, each in a fresh process, ``--rounds`` times, and reports
the process CPU time per frame on the wire: the median and the best of each, and their
ratio. CPU time rather than wall time, because on a shared machine the wall clock also
counts the other jobs; alternating the two trees shares out what noise is left. It answers
"how much slower per frame did a change make the TCP path" (issue 12: at most 10 %).
A report, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, sys, time
sys.path.insert(0, {tree!r} + '/benchmarks'); sys.path.insert(0, {tree!r})
import tcp
cpu = time.process_time()
run = tcp.tcp_bulk({size}, check=False)
print(json.dumps([time.process_time() - cpu, run['frames']]))
"""


def unpack(rev: str, into: Path) -> None:
    """``git archive REV`` into ``into``; one clear line if the revision is unknown."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True)
    if archive.returncode:
        raise SystemExit(f"benchmarks/tcp_revisions.py: git archive {rev!r} failed: "
                         f"{archive.stderr.decode().strip().splitlines()[-1]}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def cpu_per_frame(tree: Path, size: int) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", _CHILD.format(tree=str(tree), size=size)],
                         capture_output=True, text=True, timeout=900)
    if out.returncode:
        raise SystemExit(f"the TCP bulk benchmark failed in {tree}: "
                         f"{(out.stderr.strip().splitlines() or ['no output'])[-1]}")
    cpu, frames = json.loads(out.stdout.splitlines()[-1])
    return cpu / frames * 1e6, frames


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", help="the git revision to compare with (a commit, a branch)")
    ap.add_argument("--size", type=float, default=20, help="megabytes per transfer (20)")
    ap.add_argument("--rounds", type=int, default=5, help="runs of each tree (5)")
    args = ap.parse_args(argv)
    if args.size <= 0 or args.rounds < 1:
        print("--size takes more than 0 MB, --rounds at least 1", file=sys.stderr)
        return 2
    size = int(args.size * (1 << 20))
    with tempfile.TemporaryDirectory(prefix="netsim-rev-") as tmp:
        unpack(args.rev, Path(tmp))
        trees = {"this tree": ROOT, args.rev: Path(tmp)}
        per: dict[str, list[float]] = {name: [] for name in trees}
        for rnd in range(args.rounds):
            for name, tree in trees.items():
                us, frames = cpu_per_frame(tree, size)
                per[name].append(us)
                print(f"round {rnd + 1} {name:<12} {us:6.1f} us CPU per frame ({frames} frames)",
                      flush=True)
    print(f"\nTCP bulk {args.size:g} MB, CPU time per frame, {args.rounds} alternating runs")
    for name, values in per.items():
        print(f"  {name:<12} median {statistics.median(values):6.1f} us, best {min(values):6.1f} us")
    mine, theirs = (statistics.median(per[name]) for name in trees)
    print(f"this tree takes {mine / theirs:.2f}x the CPU per frame of {args.rev} (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
