"""What a virtual thread costs: time.sleep, a lock hand-off and a queue hand-off between two
threads, in a program on a netsim host (virtual time, greenlet tasks) and the same code on
real threads of this interpreter.

    python benchmarks/virtual_threads.py [--n 20000] [--repeat 3]

Each operation runs ``n`` times inside one program. The virtual figure is the wall time of
``net.run()`` for ``n`` operations minus that of a run with none (program start-up, fresh
stdlib modules), divided by ``n``; the real figure times the same loop on ``threading``
threads. A hand-off is one thread releasing what the other waits for and the other running:
the ping-pong loops count two per round. ``time.sleep(0.001)`` on real threads is bounded by
the OS timer, so the real column shows ``sleep(0)``; the virtual sleep costs the same whatever
its length (a virtual millisecond or an hour). This only reports; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import tempfile
import textwrap
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from netsim import Network  # noqa: E402

PROGRAMS = {
    "time.sleep(0.001)": """
        import sys, time
        for _ in range(int(sys.argv[1])):
            time.sleep(0.001)
    """,
    "lock hand-off": """
        import sys, threading
        n = int(sys.argv[1])
        ping, pong = threading.Lock(), threading.Lock()
        ping.acquire(); pong.acquire()
        def other():
            for _ in range(n):
                ping.acquire(); pong.release()
        t = threading.Thread(target=other); t.start()
        for _ in range(n):
            ping.release(); pong.acquire()
        t.join()
    """,
    "queue hand-off": """
        import sys, threading, queue
        n = int(sys.argv[1])
        there, back = queue.Queue(), queue.Queue()
        def other():
            for _ in range(n):
                back.put(there.get())
        t = threading.Thread(target=other); t.start()
        for i in range(n):
            there.put(i); back.get()
        t.join()
    """,
}
HANDOFFS_PER_ROUND = {"time.sleep(0.001)": 1, "lock hand-off": 2, "queue hand-off": 2}


def virtual(name: str, n: int, folder: str) -> float:
    path = os.path.join(folder, name.replace(" ", "_").replace("(", "").replace(")", "") + ".py")
    with open(path, "w") as f:
        f.write(textwrap.dedent(PROGRAMS[name]))

    def run(count: int) -> float:
        net = Network(trace=False)
        host = net.add_host("h1")
        proc = host.run_program(path, [count], check=True)
        t0 = time.perf_counter()
        net.run()
        dt = time.perf_counter() - t0
        assert proc.exitcode == 0, proc.stderr_text
        return dt

    return (run(n) - run(0)) / (n * HANDOFFS_PER_ROUND[name])


def real(name: str, n: int) -> float:
    if name.startswith("time.sleep"):
        t0 = time.perf_counter()
        for _ in range(n):
            time.sleep(0)
        return (time.perf_counter() - t0) / n
    if name == "lock hand-off":
        ping, pong = threading.Lock(), threading.Lock()
        ping.acquire()
        pong.acquire()

        def other() -> None:
            for _ in range(n):
                ping.acquire()
                pong.release()
        t0 = time.perf_counter()
        t = threading.Thread(target=other)
        t.start()
        for _ in range(n):
            ping.release()
            pong.acquire()
        t.join()
        return (time.perf_counter() - t0) / (2 * n)
    there, back = queue.Queue(), queue.Queue()

    def echo() -> None:
        for _ in range(n):
            back.put(there.get())
    t0 = time.perf_counter()
    t = threading.Thread(target=echo)
    t.start()
    for i in range(n):
        there.put(i)
        back.get()
    t.join()
    return (time.perf_counter() - t0) / (2 * n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("--n", type=int, default=20000, help="operations per measurement")
    ap.add_argument("--repeat", type=int, default=3, help="measurements of each (median shown)")
    args = ap.parse_args()
    print(f"virtual threads vs real threads, {args.n} operations, median of {args.repeat} "
          f"(Python {sys.version.split()[0]})")
    print(f"{'operation':<20} {'virtual us/op':>14} {'real us/op':>11} {'virtual/real':>13}")
    with tempfile.TemporaryDirectory() as folder:
        for name in PROGRAMS:
            v = statistics.median(virtual(name, args.n, folder) for _ in range(args.repeat))
            r = statistics.median(real(name, args.n) for _ in range(args.repeat))
            real_label = " (sleep(0))" if name.startswith("time.sleep") else ""
            print(f"{name:<20} {v * 1e6:14.2f} {r * 1e6:11.2f} {v / r:12.2f}x{real_label}")


if __name__ == "__main__":
    main()
