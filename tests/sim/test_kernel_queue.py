"""The kernel's event queue (a heap of instants, a deque per instant) against the plain
``(time, seq)`` heap it replaced: the same events run in the same order at the same times,
whatever mix of scheduling, cancelling, stepping, peeking and bounded runs drives it."""

from __future__ import annotations

import heapq
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.sim import Kernel


class HeapKernel:
    """The reference: one heap of ``[time, seq, fn, args]`` lists, popped one by one."""

    def __init__(self):
        self.now = 0
        self.heap: list = []
        self.seq = itertools.count()

    def call_later(self, delay, fn, *args):
        ev = [self.now + delay, next(self.seq), fn, args]
        heapq.heappush(self.heap, ev)
        return ev

    def call_at(self, t, fn, *args):
        return self.call_later(t - self.now, fn, *args)

    @staticmethod
    def cancel(ev):
        ev[2] = None
        ev[3] = ()

    def peek(self):
        while self.heap and self.heap[0][2] is None:
            heapq.heappop(self.heap)
        return self.heap[0][0] if self.heap else None

    def step(self):
        while self.heap:
            ev = heapq.heappop(self.heap)
            if ev[2] is None:
                continue
            self.now = ev[0]
            ev[2](*ev[3])
            return True
        return False

    def run(self, until=None):
        while self.heap:
            ev = heapq.heappop(self.heap)
            if until is not None and ev[0] > until:
                heapq.heappush(self.heap, ev)
                break
            if ev[2] is None:
                continue
            self.now = ev[0]
            ev[2](*ev[3])
        if until is not None and until > self.now:
            self.now = until


# One program: each event, when it runs, logs itself and schedules or cancels others.
_action = st.tuples(st.sampled_from(["later", "at", "cancel"]), st.integers(0, 30),
                    st.integers(0, 50))
_event = st.lists(_action, max_size=3)
_driver = st.lists(st.one_of(st.just(("step",)), st.just(("peek",)),
                             st.tuples(st.just("run"), st.integers(0, 200))),
                   min_size=1, max_size=12)


def _play(kernel, program, initial, driver) -> list:
    log: list = []
    timers: list = []

    def fire(name: int) -> None:
        log.append(("ran", name, kernel.now))
        if len(log) > 300:   # programs may grow without end: stop feeding them
            return
        for i, (kind, delay, ref) in enumerate(program[name % len(program)]):
            child = name * 4 + i + 1
            if kind == "later":
                timers.append(kernel.call_later(delay, fire, child))
            elif kind == "at":
                timers.append(kernel.call_at(kernel.now + delay, fire, child))
            elif timers:
                kernel.cancel(timers[ref % len(timers)])

    for name, delay in enumerate(initial):
        timers.append(kernel.call_later(delay, fire, name))
    for op in driver:
        if op[0] == "step":
            log.append(("step", kernel.step()))
        elif op[0] == "peek":
            log.append(("peek", kernel.peek()))
        else:
            kernel.run(op[1]) if isinstance(kernel, HeapKernel) else kernel.run(until_ns=op[1])
            log.append(("run", kernel.now))
        if len(log) > 400:
            break
    return log


@settings(max_examples=300, deadline=None)
@given(st.lists(_event, min_size=1, max_size=6), st.lists(st.integers(0, 40), max_size=8),
       _driver)
def test_queue_runs_what_one_heap_runs_in_the_same_order(program, initial, driver):
    kernel = Kernel()
    kernel.livelock_limit = None
    assert _play(kernel, program, initial, driver) == _play(HeapKernel(), program, initial,
                                                            driver)


def test_event_for_the_running_instant_runs_after_those_already_queued():
    kernel = Kernel()
    log = []

    def first():
        log.append("first")
        kernel.call_later(0, log.append, "scheduled by first")

    kernel.call_at(5, first)
    kernel.call_at(5, log.append, "queued before")
    kernel.run()
    assert log == ["first", "queued before", "scheduled by first"]


def test_negative_delay_runs_before_the_rest_of_the_instant():
    """A negative delay is a caller's bug, but the order stays the heap's: (time, seq)."""
    kernel = Kernel()
    log = []

    def back():
        log.append(("back", kernel.now))
        kernel.call_later(-3, lambda: log.append(("past", kernel.now)))

    kernel.call_at(10, back)
    kernel.call_at(10, lambda: log.append(("same", kernel.now)))
    kernel.run()
    assert log == [("back", 10), ("past", 7), ("same", 10)]


def test_nested_run_from_an_event_does_not_rerun_or_lose_events():
    kernel = Kernel()
    log = []

    def nested():
        log.append("nested")
        kernel.run(until_ns=20)   # takes the rest of instant 10 and instant 20

    kernel.call_at(10, nested)
    for name in ("a", "b"):
        kernel.call_at(10, log.append, name)
    kernel.call_at(20, log.append, "c")
    kernel.call_at(30, log.append, "d")
    kernel.run()
    assert log == ["nested", "a", "b", "c", "d"]
    assert kernel.peek() is None


def test_failing_event_leaves_the_rest_of_its_instant_queued():
    kernel = Kernel()
    log = []

    def boom():
        raise RuntimeError("boom")

    kernel.call_at(10, boom)
    kernel.call_at(10, log.append, "after")
    try:
        kernel.run()
    except RuntimeError:
        pass
    assert log == [] and kernel.peek() == 10
    kernel.run()
    assert log == ["after"] and kernel.peek() is None
