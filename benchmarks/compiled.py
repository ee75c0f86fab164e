"""Would a compiled hot path pay? Cython and mypyc builds of netsim's hot modules vs pure Python.

Issue 16 allows a compiled fast path only if it keeps a pure-Python fallback with identical
results, builds from the sdist on this machine without network downloads, and wins at least
1.5x. This script measures that instead of arguing it:

1. **Build.** The ``netsim`` package is copied into ``--build-dir`` once per variant (never
   into the source tree; the installed package is not touched). In the ``cython`` copy the
   hot modules (``HOT`` below, chosen from the profiles of the workloads) are compiled
   unchanged, in Cython's pure-Python mode, with ``annotation_typing=False`` so that an
   annotation never changes what a value is (``x: float`` would otherwise make a C double of
   an int); ``cython-typed`` keeps Cython's default annotation typing. ``mypyc-all`` puts the
   same modules through mypyc, which type-checks them first (and refuses them); ``mypyc``
   compiles the subset that builds and runs (``MYPYC``, with why each other one is out). The ``.py`` of each
   compiled module is removed from its copy, so the extension is what gets imported (each
   child checks that). ``pure`` is the copy left alone. A build that fails is reported with
   its first errors and left out of the timing.
2. **Identical results.** Every variant builds the golden mixed scene of
   ``tests/test_golden_mixed.py`` (hub, switch, router, UDP, lossy TCP, TFTP, ping) and must
   write the same pcapng bytes (sha256) as ``pure``; and every timed run reports a
   fingerprint (virtual end time, kernel events run, every node's ``stats()``) that must equal
   the pure run's. A variant that differs is reported as such and not credited with a speedup.
3. **Timing.** Workloads: ``udp`` and ``tcp`` of ``benchmarks/ns3_compare.py``, ``flat``
   (``benchmarks/flat_arp.py`` at ``--flat-hosts``) and ``codec`` (encode and decode+verify
   the Ethernet/IPv4/TCP frame of ``benchmarks/codec.py``). Each run is a fresh process; the
   rounds are interleaved (every variant of a workload back to back, the order rotating each
   round) so load from elsewhere on a shared machine hits all variants alike. Printed: the
   median and the best wall seconds per variant, the speedup pure/variant, every round.
4. **Instructions** (``--instructions``, needs valgrind): each workload runs under callgrind
   at two sizes; the difference of the two counts is the cost of the extra work alone, a
   figure that load from other processes cannot move.

Results are in ``docs/performance.md``. Run: ``python benchmarks/compiled.py [--variants
pure,cython,mypyc] [--rounds 5] [--workloads udp,tcp,flat,codec] [--build-dir DIR]
[--instructions] [--no-timing]``. Needs Cython and/or mypy in the running
interpreter (``pip install cython mypy``) and a C compiler with the Python headers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("pure", "cython", "cython-typed", "mypyc", "mypyc-all")
WORKLOADS = ("udp", "tcp", "flat", "codec")
# The modules with the most own time in cProfile runs of the udp, tcp and flat workloads
# (kernel, links, switch, codecs, the host and UDP/TCP stacks), plus the bases they need.
HOT = (
    "sim/kernel", "sim/units", "net/link", "net/interface", "devices/node", "devices/switch",
    "wire/_base", "wire/addr", "wire/checksum", "wire/ethernet", "wire/ipv4", "wire/udp",
    "wire/tcp", "wire/arp", "wire/frame", "stack/host", "stack/ipv4", "stack/icmp",
    "stack/routing", "stack/arp", "stack/udp", "stack/socket", "stack/sockbase",
    "stack/sockopts", "stack/tcp_layer", "stack/tcp_socket", "stack/tcp/connection",
    "stack/tcp/sender", "stack/tcp/seqnum", "stack/tcp/recovery",
)
# mypyc compiles only code that type-checks and that keeps to its class model. ``mypyc-all``
# tries every HOT module and stops at mypy's errors (274 on main at facd36a: mixins with
# ``__slots__ = ()`` that use their host class's attributes, Optionals passed on as plain
# types); ``mypyc`` compiles the HOT modules that build *and* run. Left out of it, and why
# (each tried on its own with the rest of this list):
#   net/interface   mypyc internal error: "Expected return type annotation for property
#                   'kernel'" (the InterfaceOwner Protocol's attribute)
#   devices/switch  "Inheriting from most builtin types is unimplemented" (MacEntry(tuple),
#                   MacTable(list))
#   devices/node    at run time: "interpreted classes cannot inherit from compiled" (Hub)
#   stack/socket    at import: "mypyc classes can't have __slots__" (UdpSocket over the
#                   interpreted SocketBase)
#   wire/udp, wire/tcp, wire/arp   at run time: "SystemError: <class 'netsim.wire.udp.UDP'>
#                   returned a result with an exception set" (slotted values over the
#                   interpreted WireValue)
#   the rest        mypy errors (see mypyc-all's build.log)
MYPYC = ("sim/units", "net/link", "wire/addr", "wire/checksum", "stack/icmp", "stack/routing",
         "stack/udp", "stack/sockopts", "stack/tcp/seqnum")


def modules(variant: str) -> tuple[str, ...]:
    """The modules compiled in ``variant``."""
    return {"pure": (), "mypyc": MYPYC}.get(variant, HOT)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message}\n")


def _csv(value: str, allowed: tuple[str, ...], what: str) -> list[str]:
    items = [v for v in value.split(",") if v]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"{what} {value!r}: choose from {','.join(allowed)}")
    return items


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = _Parser(prog="compiled.py", description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default="pure,cython,mypyc",
                    type=lambda v: _csv(v, VARIANTS, "--variants"))
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    type=lambda v: _csv(v, WORKLOADS, "--workloads"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--udp-datagrams", type=int, default=60_000)
    ap.add_argument("--tcp-mib", type=int, default=20)
    ap.add_argument("--flat-hosts", type=int, default=1500)
    ap.add_argument("--codec-frames", type=int, default=50_000)
    ap.add_argument("--build-dir", type=Path,
                    default=Path(tempfile.gettempdir()) / "netsim-compiled")
    ap.add_argument("--rebuild", action="store_true", help="build even if the stamp matches")
    ap.add_argument("--instructions", action="store_true",
                    help="also count instructions under valgrind (minutes; load-independent)")
    ap.add_argument("--no-timing", action="store_true",
                    help="skip the timed rounds (builds and the results check still run)")
    args = ap.parse_args(argv)
    for name in ("rounds", "udp_datagrams", "tcp_mib", "flat_hosts", "codec_frames"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.udp_datagrams < 32:
        ap.error("--udp-datagrams must be at least 32 (one per sender pair)")
    if "pure" not in args.variants:
        ap.error("--variants must include pure: it is the reference for results and speed")
    build = args.build_dir.resolve()
    if build == ROOT / "netsim" or ROOT / "netsim" in build.parents:
        ap.error(f"--build-dir {build}: must be outside the source package")
    args.build_dir = build
    return args


# -- building --------------------------------------------------------------------------------


def _source_hash() -> str:
    h = hashlib.sha256()
    for p in sorted((ROOT / "netsim").rglob("*.py")):
        h.update(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def _copy(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copytree(ROOT / "netsim", dest / "netsim",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.c"))


def _run_build(cmd: list[str], cwd: Path, log: Path) -> tuple[bool, str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode == 0:
        return True, ""
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines()
             if "error" in ln.lower() and "warning" not in ln.lower()]
    return False, "\n".join((lines or (proc.stdout + proc.stderr).splitlines())[:12])


_CYTHON_SETUP = """\
import sys
from setuptools import setup
from Cython.Build import cythonize
mods, typed = sys.argv[1].split(","), sys.argv[2] == "typed"
sys.argv[1:] = ["build_ext", "--inplace", "-j", "2", "--build-temp", "_build"]
directives = {"language_level": 3, "annotation_typing": typed}
setup(name="netsim-compiled", script_args=sys.argv[1:],
      ext_modules=cythonize([f"netsim/{m}.py" for m in mods], compiler_directives=directives,
                            nthreads=2, quiet=True))
"""


def build(variant: str, dest: Path) -> tuple[bool, str, float]:
    """(ok, error summary, build seconds) for one variant copied and compiled under ``dest``."""
    _copy(dest)
    if variant == "pure":
        return True, "", 0.0
    t0 = time.perf_counter()
    if variant.startswith("cython"):
        try:
            import Cython  # noqa: F401
        except ImportError:
            return False, "Cython is not installed in this interpreter (pip install cython)", 0.0
        (dest / "_setup.py").write_text(_CYTHON_SETUP)
        cmd = [sys.executable, "_setup.py", ",".join(HOT),
               "typed" if variant == "cython-typed" else "untyped"]
    else:
        if shutil.which("mypyc", path=str(Path(sys.executable).parent)) is None:
            return False, "mypyc is not installed next to this interpreter (pip install mypy)", 0.0
        # Only the hot modules are compiled; the rest is type-checked as far as the hot ones
        # use it, its own errors silenced (they are not what is being compiled).
        cmd = [str(Path(sys.executable).parent / "mypyc"), "--ignore-missing-imports",
               "--follow-imports=silent", *[f"netsim/{m}.py" for m in modules(variant)]]
    ok, err = _run_build(cmd, dest, dest / "build.log")
    if ok:
        for m in modules(variant):
            (dest / "netsim" / f"{m}.py").unlink()
    return ok, err, time.perf_counter() - t0


def ensure_built(args: argparse.Namespace) -> dict[str, tuple[bool, str]]:
    status = {}
    for variant in args.variants:
        dest = args.build_dir / variant
        stamp = f"{_source_hash()} {sys.version.split()[0]} {','.join(modules(variant))}"
        stamp_file = dest / "stamp"
        if not args.rebuild and stamp_file.exists() and stamp_file.read_text() == stamp:
            status[variant] = (True, "")
            print(f"build {variant:12s} up to date in {dest}")
            continue
        ok, err, secs = build(variant, dest)
        if ok:
            stamp_file.write_text(stamp)
        status[variant] = (ok, err)
        print(f"build {variant:12s} {'ok' if ok else 'FAILED'} ({secs:.0f} s) in {dest}"
              + ("" if ok else f"; log: {dest / 'build.log'}\n  " + err.replace("\n", "\n  ")),
              flush=True)
    return status


# -- one run, in a fresh child process --------------------------------------------------------


def child(variant_dir: str, workload: str, params: dict) -> dict:
    sys.path.insert(0, variant_dir)
    import netsim
    if not netsim.__file__.startswith(variant_dir):
        raise SystemExit(f"netsim came from {netsim.__file__}, not {variant_dir}")
    import importlib
    compiled = sum(importlib.import_module("netsim." + m.replace("/", ".")).__file__
                   .endswith(".so") for m in HOT)
    sys.path.insert(1, str(ROOT))          # tests/ and benchmarks/, after the variant
    sys.path.insert(2, str(ROOT / "benchmarks"))
    nets: list = []
    base = netsim.Network

    class Recorded(base):                  # the workloads build their own Network: keep it
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            nets.append(self)

    netsim.Network = Recorded
    out: dict = {"compiled": compiled}
    if workload == "golden":
        from tests.test_golden_mixed import scene
        with tempfile.TemporaryDirectory() as tmp:
            scene(Path(tmp) / "g.pcapng")
            out["sha256"] = hashlib.sha256((Path(tmp) / "g.pcapng").read_bytes()).hexdigest()
    elif workload in ("udp", "tcp"):
        import ns3_compare
        r = (ns3_compare.netsim_udp(params["udp_datagrams"]) if workload == "udp"
             else ns3_compare.netsim_tcp(params["tcp_mib"] << 20))
        out["wall"] = r["wall"]
    elif workload == "flat":
        import flat_arp
        out["wall"] = flat_arp.flat(params["flat_hosts"])["run_s"]
    else:
        out.update(_codec(params["codec_frames"]))
    out["fingerprint"] = _fingerprint(nets)
    return out


def _codec(n: int) -> dict:
    import codec
    frame = codec.ours_tcp_encode()
    t0 = time.perf_counter()
    for _ in range(n):
        codec.ours_tcp_encode()
        codec.ours_decode_verify(frame, ())
    return {"wall": time.perf_counter() - t0, "frame": hashlib.sha256(frame).hexdigest()}


def _fingerprint(nets: list) -> str:
    h = hashlib.sha256()
    for net in nets:
        h.update(repr((net.kernel.now, net.kernel.events_run)).encode())
        for name, node in sorted(net.nodes.items()):
            stats = getattr(node, "stats", None)
            h.update(repr((name, sorted(stats().items()) if stats else None)).encode())
    return h.hexdigest()


def run_child(variant_dir: Path, workload: str, args: argparse.Namespace,
              prefix: tuple[str, ...] = (), **sizes: int) -> dict:
    params = {k: sizes.get(k, getattr(args, k)) for k in
              ("udp_datagrams", "tcp_mib", "flat_hosts", "codec_frames")}
    proc = subprocess.run([*prefix, sys.executable, str(Path(__file__).resolve()), "--child",
                           str(variant_dir), workload, json.dumps(params)],
                          capture_output=True, text=True, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": tail}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for line in proc.stderr.splitlines():     # valgrind's summary, when run under callgrind
        if "Collected :" in line:
            out["instructions"] = int(line.split(":")[-1])
    return out


# Under valgrind (about 50x slower) each workload runs at two sizes; the difference of the
# instruction counts is the cost of the extra work alone, without start-up and imports.
INSTRUCTION_SIZES = {"udp": ("udp_datagrams", 3200, 9600), "tcp": ("tcp_mib", 1, 3),
                     "flat": ("flat_hosts", 150, 300), "codec": ("codec_frames", 5000, 15000)}


def instructions(args: argparse.Namespace, usable: list[str]) -> None:
    """Instructions executed per variant (valgrind --tool=callgrind): a count that other
    processes on the machine cannot disturb, unlike wall time. Fewer instructions is not
    the same as less time (cache misses, branches), so it backs the timing up, no more."""
    from concurrent.futures import ThreadPoolExecutor
    if shutil.which("valgrind") is None:
        print("\ninstructions: skipped, valgrind is not installed (apt-get install valgrind)")
        return
    prefix = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")
    jobs = {(w, v, size): (args.build_dir / v, w, {INSTRUCTION_SIZES[w][0]: size})
            for w in args.workloads for v in usable for size in INSTRUCTION_SIZES[w][1:]}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = {k: pool.submit(run_child, d, w, args, prefix, **sz)
                   for k, (d, w, sz) in jobs.items()}
        got = {k: f.result() for k, f in futures.items()}
    print("\ninstructions (valgrind callgrind Ir) for the work between the two sizes; "
          "ratio = pure / variant")
    print(f"{'workload':26s} " + " ".join(f"{v:>14s}" for v in usable) + "   "
          + " ".join(f"{'x ' + v:>14s}" for v in usable if v != "pure"))
    for w in args.workloads:
        name, small, large = INSTRUCTION_SIZES[w]
        diff = {}
        for v in usable:
            a, b = got[(w, v, small)], got[(w, v, large)]
            ok = "instructions" in a and "instructions" in b and \
                a["fingerprint"] == got[(w, "pure", small)].get("fingerprint") and \
                b["fingerprint"] == got[(w, "pure", large)].get("fingerprint")
            diff[v] = b["instructions"] - a["instructions"] if ok else None
        cells = " ".join(f"{diff[v]:14,}" if diff[v] else f"{'failed':>14s}" for v in usable)
        ratios = " ".join(f"{diff['pure'] / diff[v]:14.2f}" if diff[v] and diff["pure"]
                          else f"{'-':>14s}" for v in usable if v != "pure")
        print(f"{w + ' ' + str(small) + ' -> ' + str(large):26s} {cells}   {ratios}")


# -- the measurement --------------------------------------------------------------------------


def check_identical(args: argparse.Namespace, usable: list[str]) -> list[str]:
    """The variants whose golden scene gives pure's bytes, with every module compiled."""
    dirs = {v: args.build_dir / v for v in usable}
    print("\nidentical results: golden mixed scene (tests/test_golden_mixed.py), pcapng sha256")
    ref = None
    for v in usable:
        r = run_child(dirs[v], "golden", args)
        if "error" in r:
            print(f"  {v:12s} FAILED: {r['error']}")
            usable = [u for u in usable if u != v]
            continue
        ref = ref or r["sha256"]
        same = "same as pure" if r["sha256"] == ref else "DIFFERENT from pure"
        want = len(modules(v))
        print(f"  {v:12s} {r['sha256'][:16]}  {same}  ({r['compiled']} of {want} compiled "
              "modules imported as extensions)")
        if r["sha256"] != ref or r["compiled"] != want:
            usable = [u for u in usable if u != v]
    return usable


def timing(args: argparse.Namespace, usable: list[str]) -> None:
    """Interleaved rounds of every workload on every variant; medians, bests, every round."""
    dirs = {v: args.build_dir / v for v in usable}
    walls: dict = {(w, v): [] for w in args.workloads for v in usable}
    prints: dict = {}
    bad: dict = {}
    for rnd in range(args.rounds):
        for w in args.workloads:
            order = usable[rnd % len(usable):] + usable[:rnd % len(usable)]
            for v in order:
                r = run_child(dirs[v], w, args)
                if "error" in r:
                    bad[(w, v)] = r["error"]
                    continue
                walls[(w, v)].append(r["wall"])
                fp = r["fingerprint"] + r.get("frame", "")
                prints.setdefault(w, {}).setdefault(v, set()).add(fp)
        print(f"  round {rnd + 1}/{args.rounds} done", flush=True)
    size = {"udp": f"{args.udp_datagrams} datagrams", "tcp": f"{args.tcp_mib} MiB",
            "flat": f"{args.flat_hosts} hosts", "codec": f"{args.codec_frames} enc+dec"}
    for label, pick in (("median", statistics.median), ("best (min)", min)):
        print(f"\n{label} wall seconds of {args.rounds} interleaved rounds; "
              "speedup = pure / variant")
        print(f"{'workload':22s} " + " ".join(f"{v:>12s}" for v in usable) + "   "
              + " ".join(f"{'x ' + v:>14s}" for v in usable if v != "pure"))
        for w in args.workloads:
            med = {v: pick(walls[(w, v)]) if walls[(w, v)] else None for v in usable}
            cells = " ".join(f"{med[v]:12.3f}" if med[v] else f"{'failed':>12s}"
                             for v in usable)
            ratios = []
            pure_fp = prints.get(w, {}).get("pure", set())
            for v in usable:
                if v == "pure":
                    continue
                same = prints.get(w, {}).get(v) == pure_fp and len(pure_fp) == 1
                if med[v] and med["pure"] and same:
                    ratios.append(f"{med['pure'] / med[v]:14.2f}")
                else:
                    ratios.append(f"{'differs' if med[v] else 'failed':>14s}")
            print(f"{w + ' (' + size[w] + ')':22s} {cells}   {' '.join(ratios)}")
    print("\nevery round's wall seconds, in run order per round:")
    for w in args.workloads:
        for v in usable:
            print(f"  {w:6s} {v:12s} " + " ".join(f"{x:.2f}" for x in walls[(w, v)]))
    for (w, v), err in sorted(bad.items()):
        print(f"  {w}/{v} failed: {err}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(child(argv[1], argv[2], json.loads(argv[3]))))
        return
    args = parse_args(argv)
    print(f"python {sys.version.split()[0]}; netsim from {ROOT} (source hash {_source_hash()})")
    status = ensure_built(args)
    usable = [v for v in args.variants if status[v][0]]
    usable = check_identical(args, usable)
    if not args.no_timing:
        timing(args, usable)
    if args.instructions:
        instructions(args, usable)


if __name__ == "__main__":
    main()
