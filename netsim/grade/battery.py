"""The common battery: scenarios on fresh networks, the student's program in each, and items
judged on what happened.

An exercise module (``tftp_client``, ``tcp_echo``...) declares

* ``NAME``, ``SUMMARY``, ``USAGE`` (how the program is started: the convention the student
  follows) and ``SCENARIOS``: name -> (description, function ``fn(bench) -> None`` that builds
  the network, starts the program and the reference peers, and runs);
* ``ITEMS``: :class:`Item` specs, each naming the scenarios it needs and a judge
  ``judge(runs) -> (status, evidence lines)`` over their :class:`Run` records.

:func:`grade` runs the scenarios the chosen items need (each on its own network, with its own
capture written for the student) and returns the :class:`~netsim.grade.card.ReportCard`.

A program that never blocks (``while True: pass``) would hold the simulation forever, since
threads switch only where they block. :class:`Watchdog` notices that virtual time has stood
still for ``stall_s`` seconds of real time and kills that program (as ``kill -9`` would);
the scenario goes on without it and the card says where it was spinning.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..network import Network
from ..sim.units import NS_PER_S, parse_time
from .card import FAIL, NA, PASS, ReportCard, Result, ScenarioSummary
from .packets import Pkt, Recorder

__all__ = ["Item", "Run", "Bench", "Watchdog", "grade", "PASS", "FAIL", "NA", "ended",
           "exit_summary", "ended_early"]

Judge = Callable[[dict[str, "Run"]], tuple[str, list[str]]]


@dataclass
class Item:
    """One behaviour on the card: ``key`` (for ``--only`` and tests), what it checks, the
    RFC section, the scenarios it looks at, and its judge."""

    key: str
    title: str
    rfc: str
    needs: tuple[str, ...]
    judge: Judge


@dataclass
class Run:
    """What one scenario left behind for the judges."""

    name: str
    capture: Path | None
    pkts: list[Pkt]
    proc: Any                       # the student's VProcess
    virtual_s: float
    wall_s: float
    limit_s: float
    ended_s: float | None = None    # when the program exited (virtual seconds)
    stalled: str | None = None      # where a busy loop was killed
    deadlock: str | None = None
    left_out: int = 0
    data: dict[str, Any] = field(default_factory=dict)   # the scenario's own findings
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.capture.name if self.capture is not None else self.name

    def at(self, p: Pkt) -> str:
        """``size-513.pcapng frame 7`` (the place to look in Wireshark)."""
        return f"{self.label} {p.ref()}"

    def frames(self, refs: list[Pkt], most: int = 6) -> str:
        """``frames 4, 6, 8`` (at most ``most`` numbers, then ``...``)."""
        nos = [str(p.no) for p in refs if p.no is not None]
        if not nos:
            return "frames left out of the capture"
        shown = ", ".join(nos[:most]) + (", ..." if len(nos) > most else "")
        return f"frame{'s' if len(nos) > 1 else ''} {shown}"


def ended(run: Run) -> str:
    """How the program ended, in a few words (the scenario table's last column)."""
    proc = run.proc
    if run.stalled:
        return "killed: busy loop"
    if proc is None:
        return "not started"
    if not proc.done:
        return f"still running at {run.virtual_s:.1f} s"
    when = f" at {run.ended_s:.3f} s" if run.ended_s is not None else ""
    err = proc.stderr_text.strip().splitlines()
    raised = f": {err[-1].split(':')[0]}" if proc.exitcode == 1 and err else ""
    return f"exited {proc.exitcode}{when}{raised}"


def exit_summary(run: Run) -> str:
    """``the program raised TimeoutError: timed out (client.py:31)`` and friends."""
    proc = run.proc
    if run.stalled:
        return f"the program was killed: {run.stalled} without blocking"
    if proc is None:
        return "the program did not start"
    if not proc.done:
        waits = proc.waiting()
        where = f": {waits[0][1]} at {waits[0][2]}" if waits else ""
        if run.virtual_s < run.limit_s:
            return (f"the program was still waiting when nothing else could happen "
                    f"(at {run.virtual_s:.1f} s){where}")
        return f"the program was still running at the {run.limit_s:g} s limit{where}"
    err = proc.stderr_text.strip().splitlines()
    if proc.exitcode == 1 and err:
        where = next((ln.strip() for ln in reversed(err) if ln.strip().startswith("File ")), "")
        loc = ""
        if where:
            parts = where.split('"')
            line = where.rsplit("line ", 1)[-1].split(",")[0]
            loc = f" ({Path(parts[1]).name}:{line})" if len(parts) > 1 else ""
        return f"the program raised {err[-1]}{loc}"
    return f"the program exited with status {proc.exitcode}"


def ended_early(run: Run) -> str:
    """For a server, which should never end: ``; <how it ended>``, or "" while it serves."""
    if run.proc is not None and not run.proc.done and not run.stalled:
        return ""
    return f"; {exit_summary(run)}"


class Watchdog:
    """Kill a program that holds the simulation: virtual time frozen for ``stall_s`` real
    seconds means one thread has been running without ever blocking.

    Uses ``SIGALRM`` (a timer interrupt in the main thread, where the simulation runs);
    elsewhere, or where signals are not available, it does nothing.
    """

    def __init__(self, kernel: Any, stall_s: float = 3.0):
        self.kernel = kernel
        self.stall_s = stall_s
        self.seen = (-1, -1)
        self.since = time.monotonic()
        self.stalled: str | None = None
        self._old: Any = None
        self.active = (threading.current_thread() is threading.main_thread()
                       and hasattr(signal, "setitimer"))

    def __enter__(self) -> Watchdog:
        if self.active:
            self._old = signal.signal(signal.SIGALRM, self._tick)
            signal.setitimer(signal.ITIMER_REAL, 0.5, 0.5)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            signal.signal(signal.SIGALRM, self._old)

    def _tick(self, _sig: int, frame: Any) -> None:
        now = (self.kernel.now, self.kernel.events_run)
        if now != self.seen:
            self.seen, self.since = now, time.monotonic()
            return
        if time.monotonic() - self.since < self.stall_s:
            return
        from ..userland import sched
        vt = sched.current()
        if vt is None:
            return                    # netsim's own code: not ours to interrupt
        where = _program_line(frame)
        self.stalled = (f"thread {vt.name} ran at {where} for {self.stall_s:g} s of real time "
                        f"(virtual time stood at {self.kernel.now / NS_PER_S:.3f} s)")
        self.since = time.monotonic()
        vt.proc.terminate(signal.SIGKILL)


def _program_line(frame: Any) -> str:
    netsim_dir = str(Path(__file__).resolve().parent.parent)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(netsim_dir) and not name.startswith(sys.prefix) \
                and not name.startswith(sys.base_prefix):
            return f"{Path(name).name}:{frame.f_lineno}"
        frame = frame.f_back
    return "an unknown line"


class Bench:
    """One scenario's network, the student's program on it, and the capture of its NIC.

    Args:
        name: the scenario (names the capture file ``<out>/<name>.pcapng``).
        out: the folder for captures.
        program: the student's program file.
        seed: the network's seed (scenarios are deterministic).
    """

    def __init__(self, name: str, out: Path, program: Path, seed: int = 1):
        self.name = name
        self.out = out
        self.program = program
        self.net = Network(seed=seed, trace=False)
        self.proc: Any = None
        self.recorder: Recorder | None = None
        self.data: dict[str, Any] = {}
        self.notes: list[str] = []
        self.workdir = Path(tempfile.mkdtemp(prefix=f"netsim-grade-{name}-"))
        self.hosts: list[Any] = []
        self.switch: Any = None
        self.links: dict[str, Any] = {}

    def lan(self, n: int, prefix: str = "10.0.0", **link: Any) -> list[Any]:
        """Hosts h1..hn (``prefix.i/24``) on switch s1; ``links[name]`` is each host's cable."""
        self.switch = self.net.add_switch("s1")
        for i in range(1, n + 1):
            h = self.net.add_host(f"h{i}")
            self.links[h.name] = self.net.link(h, self.switch, **link)
            h.set_ip(f"{prefix}.{i}/24")
            self.hosts.append(h)
        return self.hosts

    def start(self, host: Any, argv: list[str], at: str = "1ms", keep=None,
              on_packet=None) -> Any:
        """Run the student's program on ``host`` (working directory: a fresh folder) and
        record that host's NIC."""
        self.recorder = Recorder(host.interfaces[0], self.out / f"{self.name}.pcapng", keep=keep,
                                 on_packet=on_packet)
        self.proc = host.run_program(self.program, argv, cwd=self.workdir, at=at,
                                     name=self.program.name)
        return self.proc

    def run(self, limit: str | float, done: Callable[[], bool] | None = None,
            stall_s: float = 3.0, grace: str | float = "1s") -> Run:
        """Run until ``grace`` after ``done()`` first holds (late packets still show in the
        capture), until nothing can happen, or to ``limit`` (virtual time)."""
        kernel = self.net.kernel
        limit_ns = parse_time(limit)
        grace_ns = parse_time(grace)
        deadlock = None
        wall = time.perf_counter()
        ended: list[int] = []
        proc = self.proc

        def stop() -> bool:
            nonlocal limit_ns
            if not ended and proc is not None and proc.done:
                ended.append(kernel.now)
            if done is not None and done():
                limit_ns = min(limit_ns, kernel.now + grace_ns)
            nxt = kernel.peek()
            return nxt is None or nxt > limit_ns

        from ..userland.errors import DeadlockError
        with Watchdog(kernel, stall_s) as dog:
            try:
                if kernel.peek() is not None and not stop():
                    kernel.run(stop=stop)
                if kernel.peek() is None:
                    for hook in tuple(kernel.idle_hooks):
                        hook()
            except DeadlockError as exc:
                deadlock = str(exc)
        wall = time.perf_counter() - wall
        rec = self.recorder
        if rec is not None:
            rec.close()
        return Run(self.name, rec.path if rec else None, rec.pkts if rec else [], self.proc,
                   kernel.now / NS_PER_S, wall, limit_ns / NS_PER_S,
                   ended_s=ended[0] / NS_PER_S if ended else None, stalled=dog.stalled,
                   deadlock=deadlock, left_out=rec.left_out if rec else 0, data=self.data,
                   notes=self.notes)

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def grade(module: Any, program: str | os.PathLike[str], out: str | os.PathLike[str],
          only: list[str] | None = None, progress: Callable[[str], None] | None = None,
          seed: int = 1) -> ReportCard:
    """Run ``module``'s battery on ``program``; the card of every item (or of ``only``).

    Raises:
        ValueError: an unknown item in ``only``.
        FileNotFoundError: no such program.
    """
    program = Path(program)
    if not program.is_file():
        raise FileNotFoundError(2, "No such program file", str(program))
    items: list[Item] = list(module.ITEMS)
    if only:
        keys = {i.key for i in items}
        unknown = [k for k in only if k not in keys]
        if unknown:
            raise ValueError(f"exercise {module.NAME} has no item {unknown[0]!r}; items: "
                             f"{', '.join(i.key for i in items)}")
        items = [i for i in items if i.key in only]
    needed = [s for s in module.SCENARIOS if any(s in i.needs for i in items)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Run] = {}
    start = time.perf_counter()
    for name in needed:
        about, fn = module.SCENARIOS[name]
        if progress is not None:
            progress(f"{module.NAME}: {name} ({about})")
        bench = Bench(name, out, program, seed=seed)
        try:
            runs[name] = fn(bench)
        finally:
            bench.cleanup()
    results = []
    for item in items:
        status, evidence = item.judge(runs)
        spun = [runs[n] for n in item.needs if runs[n].stalled]
        if spun:
            # What followed the kill (its sockets closed by the "OS") is not the program's.
            status = FAIL
            evidence = [f"{r.label}: the program was killed: {r.stalled} without blocking "
                        "(a loop that never waits: recv returning b'' forever?); what followed "
                        "the kill, a FIN say, came from its sockets being closed"
                        for r in spun] + evidence
        results.append(Result(item.key, item.title, item.rfc, status, evidence, item.needs))
    summaries = [ScenarioSummary(name, module.SCENARIOS[name][0], r.capture,
                                 sum(1 for p in r.pkts if p.no is not None), r.left_out,
                                 r.virtual_s, r.wall_s, ended(r), _output(r), r.notes)
                 for name, r in runs.items()]
    return ReportCard(module.NAME, str(program), module.USAGE, results, summaries, out,
                      time.perf_counter() - start)


def _output(run: Run, most: int = 40) -> list[str]:
    if run.proc is None:
        return []
    lines = [str(x) for x in run.proc.lines]
    if len(lines) > most:
        lines = lines[:most // 2] + [f"... {len(lines) - most} lines ..."] + lines[-most // 2:]
    return lines
