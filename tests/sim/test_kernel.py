"""The event kernel: ordering, FIFO ties, cancellation, tasks, timeouts, failures."""

from __future__ import annotations

import pytest

from netsim.sim import Kernel, TaskFailed, Waiters
from netsim.sim.units import format_time, parse_rate, parse_size, parse_time


@pytest.fixture
def kernel():
    return Kernel(seed=1)


def test_events_run_in_time_order(kernel):
    log = []
    for t in (30, 10, 20):
        kernel.call_at(t, lambda t=t: log.append((kernel.now, t)))
    kernel.run()
    assert log == [(10, 10), (20, 20), (30, 30)]


def test_events_at_same_time_run_in_scheduling_order(kernel):
    log = []
    for i in range(50):
        kernel.call_at(100, log.append, i)
    kernel.call_later(0, log.append, "first")  # earlier time wins over insertion order
    kernel.run()
    assert log == ["first", *range(50)]


def test_cancelled_event_never_runs(kernel):
    log = []
    timer = kernel.call_later(5, log.append, "cancelled")
    kernel.call_later(6, log.append, "kept")
    Kernel.cancel(timer)
    Kernel.cancel(None)
    kernel.run()
    assert log == ["kept"] and kernel.events_run == 1


def test_run_until_stops_clock_exactly(kernel):
    log = []
    kernel.call_at(1_000, log.append, 1)
    kernel.call_at(3_000, log.append, 3)
    kernel.run(until_ns=2_000)
    assert log == [1] and kernel.now == 2_000
    kernel.run()
    assert log == [1, 3] and kernel.now == 3_000


def test_scheduling_in_the_past_is_refused(kernel):
    kernel.call_at(10, lambda: None)
    kernel.run()
    with pytest.raises(ValueError, match="past"):
        kernel.call_at(5, lambda: None)


def test_step_runs_one_event(kernel):
    log = []
    kernel.call_at(1, log.append, "a")
    kernel.call_at(2, log.append, "b")
    assert kernel.step() and log == ["a"]
    assert kernel.step() and log == ["a", "b"]
    assert not kernel.step()


def test_tasks_sleep_and_interleave_deterministically(kernel):
    log = []

    def worker(name, period):
        for _ in range(3):
            kernel.sleep(period)
            log.append((kernel.now, name))

    kernel.spawn(worker, "slow", 30, name="slow")
    kernel.spawn(worker, "fast", 20, name="fast")
    kernel.run()
    assert log == [(20, "fast"), (30, "slow"), (40, "fast"), (60, "slow"), (60, "fast"),
                   (90, "slow")]


def test_waiters_wake_in_fifo_order_and_time_out(kernel):
    w = Waiters(kernel)
    got = []

    def waiter(name, timeout):
        try:
            got.append((name, w.wait("queue", timeout), kernel.now))
        except TimeoutError:
            got.append((name, "timeout", kernel.now))

    kernel.spawn(waiter, "a", None)
    kernel.spawn(waiter, "b", None)
    kernel.spawn(waiter, "c", 50)
    kernel.call_at(10, w.notify, 1)
    kernel.call_at(20, w.notify, 2)
    kernel.run()
    assert got == [("a", 1, 10), ("b", 2, 20), ("c", "timeout", 50)]
    assert not w


def test_task_exception_carries_task_name_and_time(kernel):
    def crash():
        kernel.sleep(1_500)
        raise RuntimeError("boom")

    kernel.spawn(crash, name="crasher")
    with pytest.raises(RuntimeError, match="boom") as info:
        kernel.run()
    note = "".join(getattr(info.value, "__notes__", []))
    assert "crasher" in note and format_time(1_500) in note


def test_blocked_tasks_are_listed_with_what_they_wait_for(kernel):
    w = Waiters(kernel)
    kernel.spawn(lambda: w.wait("recv on port 69"), name="server")
    kernel.spawn(lambda: None, name="quick")
    kernel.run()
    blocked = kernel.blocked_tasks()
    assert [t.name for t in blocked] == ["server"]
    assert blocked[0].waiting_on == "recv on port 69"
    assert "waiting on recv on port 69" in repr(blocked[0])


def test_run_blocking_from_outside_a_task(kernel):
    def work(x):
        kernel.sleep(100)
        return x * 2

    assert kernel.run_blocking(work, 21) == 42 and kernel.now == 100
    w = Waiters(kernel)
    with pytest.raises(TaskFailed, match="never"):
        kernel.run_blocking(lambda: w.wait("never"))


def test_blocking_outside_a_task_is_a_clear_error(kernel):
    with pytest.raises(RuntimeError, match="inside a task"):
        kernel.sleep(10)


@pytest.mark.parametrize(("text", "ns"), [("10ms", 10_000_000), ("50us", 50_000), (1, 10**9),
                                          ("2.5s", 2_500_000_000), ("100ns", 100)])
def test_parse_time(text, ns):
    assert parse_time(text) == ns


def test_parse_rate_and_size():
    assert parse_rate("100Mbps") == 100_000_000
    assert parse_size("1MiB") == 1 << 20
    with pytest.raises(ValueError):
        parse_time("10 parsecs")
