"""Does netsim's core run on PyPy 3 (Debian's ``pypy3``)? Where not, why; and what figures we can get.

Issue 16 asks for PyPy figures "if the core runs on it" (a measurement, not a requirement).
Debian 12's pypy3 is PyPy 7.3.11 at the Python 3.9 language level; netsim needs 3.11. This
script does not change netsim; it reports three things:

1. **Imports.** Each core module is imported by PyPy in a fresh process, from this checkout;
   printed: ok, or the first error with the file and line it came from.
2. **Census.** Every name netsim imports from the standard library (``from M import N``) and
   every attribute it reads from an imported standard module (``socket.MSG_NOSIGNAL``) is
   looked up in PyPy's standard library; every call that needs 3.10+ keywords or defaults
   (``dataclass(slots=True)``, ``zip(strict=True)``, ``int.to_bytes()`` without a byte order,
   ``add_note``) is counted from the syntax tree. Printed: each missing name or feature, how
   many sites, in which files. (Syntax is checked too: PyPy's parser reads every file.)
3. **Figures**, only for workloads whose modules import unchanged on PyPy, the same code on
   both interpreters, in fresh processes, interleaved rounds, medians:
   ``kernel`` (timer callbacks and greenlet tasks in ``netsim.sim.kernel``), ``l2`` (the
   frame hand-off of ``benchmarks/kernel.py``, 64 raw stations on a ``Switch`` over ``Link``s,
   built without ``Network``, which does not import on PyPy) and ``codec`` (encode and
   decode+verify Ethernet/IPv4/TCP with ``netsim.wire``, as in ``benchmarks/codec.py``).
   PyPy's JIT needs to warm up: each child runs its workload once untimed at a fifth of the
   size, then once timed; CPython does the same.

Run: ``python benchmarks/pypy_check.py [--pypy /usr/bin/pypy3] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ("netsim", "netsim.sim.kernel", "netsim.wire", "netsim.net.link", "netsim.net.interface",
        "netsim.devices.switch", "netsim.stack.tcp", "netsim.stack.socket", "netsim.stack.host",
        "netsim.network")
FIGURES = ("kernel", "l2", "codec")
# Keywords and defaults that a call needs a newer Python for: (function or method, keyword).
NEW_KEYWORDS = {("dataclass", "slots"): "3.10", ("dataclass", "kw_only"): "3.10",
                ("zip", "strict"): "3.10"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + error
        self.exit(2, f"{self.prog}: error: {message}\n")


# -- 1. imports -------------------------------------------------------------------------------


def probe_imports(pypy: str) -> list[tuple[str, str]]:
    code = ("import sys, traceback\nsys.path.insert(0, sys.argv[1])\n"
            "try:\n    __import__(sys.argv[2])\nexcept BaseException as e:\n"
            "    f = traceback.extract_tb(e.__traceback__)[-1]\n"
            "    print(f'{type(e).__name__}: {e}  [{f.filename}:{f.lineno}]')\n"
            "else:\n    print('ok')\n")
    out = []
    for mod in CORE:
        proc = subprocess.run([pypy, "-c", code, str(ROOT), mod], capture_output=True,
                              text=True)
        line = (proc.stdout.strip() or proc.stderr.strip() or "no output").splitlines()[-1]
        out.append((mod, line.replace(str(ROOT) + "/", "")))
    return out


# -- 2. census --------------------------------------------------------------------------------


def _files() -> list[Path]:
    return sorted((ROOT / "netsim").rglob("*.py"))


_BUILTINS = set(dir(__builtins__)) - {"__doc__", "__name__", "__package__", "__spec__",
                                       "__loader__", "__build_class__", "__import__"}


def collect() -> tuple[dict, dict]:
    """(stdlib names used -> sites, newer call features -> sites), from netsim's syntax trees."""
    names: dict[str, list[str]] = {}
    features: dict[str, list[str]] = {}
    std = sys.stdlib_module_names
    for path in _files():
        rel = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text(), rel)
        aliases = {}
        # Without the __future__ import, annotations are evaluated when the def runs: an
        # ``int | None`` there fails on 3.9 (PEP 604, 3.10).
        future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
                     and any(a.name == "annotations" for a in n.names) for n in tree.body)
        if not future:
            for node in ast.walk(tree):
                for ann in _annotations(node):
                    if any(isinstance(b, ast.BinOp) and isinstance(b.op, ast.BitOr)
                           for b in ast.walk(ann)):
                        features.setdefault("A | B annotation evaluated at run time (3.10)",
                                            []).append(f"{rel}:{node.lineno}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] in std:
                        aliases[a.asname or a.name] = a.name
                        names.setdefault(a.name, []).append(f"{rel}:{node.lineno}")
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and node.module.split(".")[0] in std:
                for a in node.names:
                    names.setdefault(f"{node.module}.{a.name}", []).append(f"{rel}:{node.lineno}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in _BUILTINS:   # ExceptionGroup, anext
                names.setdefault(f"builtins.{node.id}", []).append(f"{rel}:{node.lineno}")
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases:
                key = f"{aliases[node.value.id]}.{node.attr}"
                names.setdefault(key, []).append(f"{rel}:{node.lineno}")
            if isinstance(node, ast.Call):
                _call_features(node, rel, features)
            if type(node).__name__ in ("Match", "TryStar"):
                features.setdefault(f"{type(node).__name__} statement (3.10/3.11)", []).append(
                    f"{rel}:{node.lineno}")
    return names, features


def _annotations(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        args = [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
        return [x.annotation for x in args if x is not None and x.annotation is not None] \
            + ([node.returns] if node.returns else [])
    if isinstance(node, ast.AnnAssign):
        return [node.annotation]
    return []


def _call_features(node: ast.Call, rel: str, features: dict) -> None:
    fn = node.func
    name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) \
        else ""
    site = f"{rel}:{node.lineno}"
    for kw in node.keywords:
        if (name, kw.arg) in NEW_KEYWORDS:
            features.setdefault(f"{name}({kw.arg}=...) ({NEW_KEYWORDS[name, kw.arg]})",
                                []).append(site)
    kws = {kw.arg for kw in node.keywords}
    # Python 3.11 gave int.to_bytes/from_bytes a default byte order ("big") and length (1).
    if name in ("to_bytes", "from_bytes") and "byteorder" not in kws and len(node.args) < 2:
        features.setdefault(f"{name}() without a byte order (3.11)", []).append(site)
    # PEP 604 unions are types only from 3.10: isinstance(x, A | B) fails on 3.9.
    if name in ("isinstance", "issubclass") and len(node.args) == 2 \
            and isinstance(node.args[1], ast.BinOp) and isinstance(node.args[1].op, ast.BitOr):
        features.setdefault(f"{name}(x, A | B) (3.10)", []).append(site)
    if name == "add_note":
        features.setdefault("BaseException.add_note (3.11)", []).append(site)


def missing_on(pypy: str, names: dict) -> dict[str, list[str]]:
    """The names of ``names`` that PyPy's standard library lacks."""
    code = ("import importlib, json, sys\nbad = []\nfor key in json.load(sys.stdin):\n"
            "    mod, _, attr = key.rpartition('.')\n"
            "    try:\n        m = importlib.import_module(key)\n        continue\n"
            "    except Exception:\n        pass\n"
            "    try:\n        m = importlib.import_module(mod)\n"
            "    except Exception:\n        bad.append(key); continue\n"
            "    if not hasattr(m, attr):\n        bad.append(key)\n"
            "print(json.dumps(bad))\n")
    proc = subprocess.run([pypy, "-c", code], input=json.dumps(sorted(names)),
                          capture_output=True, text=True, cwd="/")
    if proc.returncode != 0:
        raise SystemExit(f"pypy census failed: {proc.stderr.strip().splitlines()[-1:]}")
    return {k: names[k] for k in json.loads(proc.stdout)}


def syntax_errors(pypy: str) -> list[str]:
    code = ("import ast, sys\nfor p in sys.argv[1:]:\n    try:\n"
            "        ast.parse(open(p).read(), p)\n    except SyntaxError as e:\n"
            "        print(f'{p}:{e.lineno}: {e.msg}')\n")
    proc = subprocess.run([pypy, "-c", code, *map(str, _files())], capture_output=True,
                          text=True)
    return (proc.stdout + proc.stderr).replace(str(ROOT) + "/", "").split("\n")[:-1]


# -- 3. figures (run inside a child, on either interpreter) -------------------------------------


def work_kernel(n: int) -> int:
    from netsim.sim.kernel import Kernel
    k = Kernel(1)
    left = [n]

    def tick() -> None:             # a chain of timer callbacks, 4 in flight
        left[0] -= 1
        if left[0] > 0:
            k.call_later(3, tick)

    for i in range(4):
        k.call_later(i, tick)

    def task() -> None:             # greenlet tasks sleeping: a switch per event
        for _ in range(n // 40):
            k.sleep(7)

    for _ in range(10):
        k.spawn(task)
    k.run()
    return k.events_run


class _Net:
    """What a Node needs of its network: a kernel and deterministic MACs (Network's scheme)."""

    def __init__(self, kernel):
        self.kernel = kernel
        self._n = 0

    def allocate_mac(self) -> str:
        self._n += 1
        return "02:00:" + ":".join(f"{(self._n >> s) & 0xFF:02x}" for s in (24, 16, 8, 0))


def work_l2(n: int) -> int:
    import random
    import struct

    from netsim.devices.node import Node
    from netsim.devices.switch import Switch
    from netsim.net.link import Link
    from netsim.sim.kernel import Kernel

    class Sink(Node):
        kind = "host"
        count = 0

        def receive(self, iface, frame):
            Sink.count += 1

    k = Kernel(1)
    net = _Net(k)
    sw = Switch(net, "s1", latency="5us")
    hosts = [Sink(net, f"h{i}") for i in range(64)]
    for h in hosts:   # 100 Mb/s, 1 us of cable, as in benchmarks/kernel.py
        Link(k, h.add_interface(), sw.add_interface(), bandwidth_bps=100_000_000,
             delay_ns=1_000, queue_len=1000)
    for h in hosts:   # teach the switch every address
        h.interfaces[0].send(struct.pack("!6s6sH", b"\xff" * 6, h.interfaces[0].mac_bytes,
                                         0x88B5).ljust(100, b"\0"))
    k.run()
    Sink.count = 0
    rnd = random.Random(1)
    for t in range(n):
        i = rnd.randrange(64)
        j = (i + 1 + rnd.randrange(63)) % 64
        frame = struct.pack("!6s6sHI", hosts[j].interfaces[0].mac_bytes,
                            hosts[i].interfaces[0].mac_bytes, 0x88B5, t).ljust(100, b"\0")
        k.call_at(k.now + t * 400, hosts[i].interfaces[0].send, frame)
    k.run()
    if Sink.count != n:
        raise SystemExit(f"l2: {Sink.count} of {n} frames delivered")
    return Sink.count


def work_codec(n: int) -> int:
    sys.path.insert(1, str(ROOT / "benchmarks"))
    import codec
    frame = codec.ours_tcp_encode()
    for _ in range(n):
        if codec.ours_tcp_encode() != frame:
            raise SystemExit("codec: encode is not deterministic")
        codec.ours_decode_verify(frame, ())
    return n


SIZES = {"kernel": 400_000, "l2": 100_000, "codec": 30_000}


def child(figure: str) -> None:
    sys.path.insert(0, str(ROOT))
    fn = {"kernel": work_kernel, "l2": work_l2, "codec": work_codec}[figure]
    fn(SIZES[figure] // 5)                      # warm-up (PyPy's JIT), untimed
    t0 = time.perf_counter()
    units = fn(SIZES[figure])
    print(json.dumps({"wall": time.perf_counter() - t0, "units": units}))


def figures(pypy: str, rounds: int, which: list[str]) -> None:
    pythons = {"cpython": sys.executable, "pypy": pypy}
    unit = {"kernel": "events", "l2": "frames", "codec": "enc+dec"}
    walls: dict = {(f, p): [] for f in which for p in pythons}
    units: dict = {}
    for rnd in range(rounds):
        for f in which:
            order = list(pythons) if rnd % 2 == 0 else list(pythons)[::-1]
            for p in order:
                proc = subprocess.run([pythons[p], str(Path(__file__).resolve()), "--child", f],
                                      capture_output=True, text=True, cwd="/")
                if proc.returncode != 0:
                    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                    raise SystemExit(f"{f} on {p} failed: {tail}")
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                walls[(f, p)].append(r["wall"])
                units.setdefault(f, set()).add(r["units"])
    print(f"\nfigures: median of {rounds} interleaved rounds, fresh processes, after warm-up")
    print(f"{'workload':10s} {'units':>9s} {'CPython/s':>12s} {'PyPy/s':>12s} {'PyPy/CPython':>13s}")
    for f in which:
        if len(units[f]) != 1:
            raise SystemExit(f"{f}: the interpreters did different work: {units[f]}")
        n = units[f].pop()
        c, p = (n / statistics.median(walls[(f, k)]) for k in ("cpython", "pypy"))
        print(f"{f:10s} {n:>9,} {c:>12,.0f} {p:>12,.0f} {p / c:>13.2f}   ({unit[f]} per second)")


# -- main -------------------------------------------------------------------------------------


def _sites(sites: list[str]) -> str:
    files = sorted({s.rsplit(":", 1)[0] for s in sites})
    shown = ", ".join(files[:4]) + (f", +{len(files) - 4} more" if len(files) > 4 else "")
    return f"{len(sites)} site(s) in {len(files)} file(s): {shown}"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(argv[1])
        return
    ap = _Parser(prog="pypy_check.py", description=__doc__.splitlines()[0])
    ap.add_argument("--pypy", default="/usr/bin/pypy3", help="the PyPy interpreter")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--figures", default=",".join(FIGURES), help="kernel,l2,codec or none")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    which = [] if args.figures == "none" else args.figures.split(",")
    if any(f not in FIGURES for f in which):
        ap.error(f"--figures {args.figures!r}: choose from {','.join(FIGURES)} or none")
    if shutil.which(args.pypy) is None:
        ap.error(f"--pypy {args.pypy}: not found (Debian: apt-get install pypy3)")
    version = subprocess.run([args.pypy, "-c", "import sys; print(sys.version.replace(chr(10), ' '))"],
                             capture_output=True, text=True).stdout.strip()
    print(f"PyPy: {args.pypy}: {version}\nCPython: {sys.executable}: {sys.version.split()[0]}")
    print("\nimports (fresh PyPy process each, first error):")
    for mod, line in probe_imports(args.pypy):
        print(f"  {mod:24s} {line}")
    bad_syntax = syntax_errors(args.pypy)
    print(f"\nsyntax: PyPy's parser {'rejects ' + str(len(bad_syntax)) if bad_syntax else 'reads'}"
          f" {'of ' if bad_syntax else 'all '}{len(_files())} files" + "".join(
              f"\n  {b}" for b in bad_syntax))
    names, features = collect()
    print("\nstandard-library names netsim uses that PyPy lacks:")
    for key, sites in sorted(missing_on(args.pypy, names).items()):
        print(f"  {key:28s} {_sites(sites)}")
    print("\ncalls needing a newer Python than PyPy's 3.9:")
    for key, sites in sorted(features.items()):
        print(f"  {key:36s} {_sites(sites)}")
    if which:
        figures(args.pypy, args.rounds, which)


if __name__ == "__main__":
    main()
