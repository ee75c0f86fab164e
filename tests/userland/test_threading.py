"""threading, queue and time inside programs: virtual time, FIFO hand-offs, exact semantics."""

from __future__ import annotations

import time

import pytest

from netsim.userland import DeadlockError
from tests.kits.userland import lan, program, run_alone


def test_sleep_is_virtual_time(tmp_path):
    start = time.perf_counter()
    p = run_alone(tmp_path, """
        import time
        t0, m0 = time.time(), time.monotonic()
        time.sleep(3600)
        print(time.time() - t0, time.monotonic() - m0, time.perf_counter())
    """, until=None)
    assert p.stdout_text == "3600.0 3600.0 3600.0\n"
    assert time.perf_counter() - start < 5          # an hour of virtual time, not of ours


def test_sleep_arguments_are_checked_as_cpython_does(tmp_path):
    p = run_alone(tmp_path, """
        import time
        for bad in (-1, "1"):
            try:
                time.sleep(bad)
            except (ValueError, TypeError) as e:
                print(type(e).__name__, e)
    """)
    assert p.stdout_text.splitlines() == ["ValueError sleep length must be non-negative",
                                          "TypeError 'str' object cannot be interpreted as an integer"]


def test_lock_timeout_and_nonblocking_acquire(tmp_path):
    p = run_alone(tmp_path, """
        import threading, time
        lock = threading.Lock()
        lock.acquire()
        print(lock.acquire(False), lock.locked())
        t0 = time.monotonic()
        print(lock.acquire(timeout=0.25), time.monotonic() - t0)
        threading.Timer(1.0, lock.release).start()
        print(lock.acquire(timeout=5), time.monotonic() - t0)
        try:
            threading.Lock().release()
        except RuntimeError as e:
            print(e)
    """)
    assert p.stdout_text.splitlines() == ["False True", "False 0.25", "True 1.25",
                                          "release unlocked lock"]


def test_rlock_condition_semaphore_event_barrier(tmp_path):
    p = run_alone(tmp_path, """
        import threading, time
        r = threading.RLock()
        with r:
            with r:
                print("rlock reentered")
        try:
            r.release()
        except RuntimeError as e:
            print(e)

        items, cond = [], threading.Condition()
        def consumer():
            with cond:
                cond.wait_for(lambda: items)
                print("consumed", items.pop(), "at", time.monotonic())
        c = threading.Thread(target=consumer); c.start()
        time.sleep(2)
        with cond:
            items.append("x"); cond.notify()
        c.join()

        sem = threading.BoundedSemaphore(2)
        active, peak = [0], [0]
        def worker():
            with sem:
                active[0] += 1; peak[0] = max(peak[0], active[0])
                time.sleep(1)
                active[0] -= 1
        ws = [threading.Thread(target=worker) for _ in range(5)]
        t0 = time.monotonic()
        for w in ws: w.start()
        for w in ws: w.join()
        print("peak", peak[0], "took", time.monotonic() - t0)
        try:
            sem.release()
        except ValueError as e:
            print(e)

        ev = threading.Event()
        threading.Timer(0.5, ev.set).start()
        print("event", ev.wait(), ev.wait(0), threading.Event().wait(0.1))

        order = []
        b = threading.Barrier(3, action=lambda: order.append("action"))
        def arrive(d):
            time.sleep(d); order.append(b.wait())
        ts = [threading.Thread(target=arrive, args=(d,)) for d in (0.3, 0.1, 0.2)]
        for t in ts: t.start()
        for t in ts: t.join()
        print("barrier", order, b.broken)
        try:
            threading.Barrier(2, timeout=0.5).wait()
        except threading.BrokenBarrierError:
            print("barrier broken after", time.monotonic() - t0)
    """)
    assert p.exitcode == 0, p.stderr_text
    assert p.stdout_text.splitlines() == [
        "rlock reentered", "cannot release un-acquired lock", "consumed x at 2.0",
        "peak 2 took 3.0", "Semaphore released too many times", "event True True False",
        "barrier ['action', 2, 0, 1] False", "barrier broken after 4.4"]


def test_queue_kinds_and_timeouts(tmp_path):
    p = run_alone(tmp_path, """
        import queue, threading, time
        for q in (queue.Queue(), queue.LifoQueue(), queue.PriorityQueue()):
            for x in (2, 1, 3):
                q.put(x)
            print(type(q).__name__, [q.get() for _ in range(3)])
        q = queue.Queue(maxsize=1)
        q.put("a")
        t0 = time.monotonic()
        try:
            q.put("b", timeout=2)
        except queue.Full:
            print("full after", time.monotonic() - t0)
        def later():
            time.sleep(1); print("got", q.get())
        threading.Thread(target=later).start()
        q.put("b")
        print("put after", time.monotonic() - t0)
        q.task_done(); q.join() if False else None
        try:
            queue.Queue().get(timeout=0.5)
        except queue.Empty:
            print("empty")
    """)
    assert p.stdout_text.splitlines() == [
        "Queue [2, 1, 3]", "LifoQueue [3, 1, 2]", "PriorityQueue [1, 2, 3]", "full after 2.0",
        "got a", "put after 3.0", "empty"]


def test_threads_enumerate_names_daemon_and_exceptions(tmp_path):
    p = run_alone(tmp_path, """
        import threading, time
        def work():
            time.sleep(1)
        def boom():
            raise ValueError("broken handler")
        threading.Thread(target=work).start()
        threading.Thread(target=work, name="named", daemon=True).start()
        threading.Thread(target=boom).start()
        print(threading.current_thread().name, threading.active_count(),
              [t.name for t in threading.enumerate()])
        time.sleep(0.5)
        print("still", threading.active_count())
        t = threading.Thread(target=work)
        try:
            t.join()
        except RuntimeError as e:
            print(e)
    """)
    lines = p.stdout_text.splitlines()
    assert lines[0] == "MainThread 4 ['MainThread', 'Thread-1 (work)', 'named', 'Thread-2 (boom)']"
    assert lines[1:] == ["still 3", "cannot join thread before it is started"]
    assert p.stderr_text.startswith("Exception in thread Thread-2 (boom):\nTraceback")
    assert p.stderr_text.rstrip().endswith("ValueError: broken handler")
    assert p.exitcode == 0


def test_a_program_ends_after_its_non_daemon_threads_not_its_daemon_threads(tmp_path):
    p = run_alone(tmp_path, """
        import threading, time
        def slow(): time.sleep(5); print("slow done")
        def forever():
            while True: time.sleep(1)
        threading.Thread(target=slow).start()
        threading.Thread(target=forever, daemon=True).start()
        print("main done")
    """, until=None)
    assert p.stdout_text == "main done\nslow done\n"
    assert p.done and p.exitcode == 0
    assert not p.waiting()


def test_thread_local_subclass_init_runs_per_thread(tmp_path):
    p = run_alone(tmp_path, """
        import threading
        class Ctx(threading.local):
            def __init__(self, tag):
                self.tag = tag
                self.seen = threading.current_thread().name
        ctx = Ctx("t")
        def show():
            print(ctx.tag, ctx.seen, hasattr(ctx, "extra"))
        ctx.extra = 1
        t = threading.Thread(target=show, name="other"); t.start(); t.join()
        show()
    """)
    assert p.stdout_text.splitlines() == ["t other False", "t MainThread True"]


def test_deadlock_through_queue_and_join_names_every_thread(tmp_path):
    net, (h1,) = lan(1)
    h1.run_program(program(tmp_path, "stuck.py", """
        import queue, threading
        q = queue.Queue()
        def worker():
            item = q.get()          # nobody ever puts
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    """))
    with pytest.raises(DeadlockError) as err:
        net.run()
    text = str(err.value)
    assert "deadlock in stuck.py on h1" in text
    assert "MainThread: Thread.join() of Thread-1 (worker) at stuck.py:8 (t.join())" in text
    assert "Thread-1 (worker): Condition.wait() at stuck.py:5 (item = q.get()" in text


def test_a_program_waiting_on_the_network_is_not_a_deadlock(tmp_path):
    net, (h1,) = lan(1)
    p = h1.run_program(program(tmp_path, "server.py", """
        import queue, socket, threading
        q = queue.Queue()
        threading.Thread(target=lambda: print(q.get())).start()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("", 5000))
        q.put(s.recv(100))
    """))
    net.run()          # the worker waits on the queue, but the main thread on the network
    assert [w[1].split(" on ")[0] for w in p.waiting()] == ["recvfrom", "Condition.wait()"]


def test_concurrent_futures_thread_pool_and_importlib(tmp_path):
    p = run_alone(tmp_path, """
        from concurrent.futures import ThreadPoolExecutor, as_completed
        import importlib, time
        def work(x):
            time.sleep(x)
            return x * 10
        with ThreadPoolExecutor(max_workers=3) as ex:
            futures = [ex.submit(work, d) for d in (3, 1, 2)]
            print([f.result() for f in as_completed(futures)], time.monotonic())
        print(importlib.import_module("socket").gethostname())
    """, until=None)
    assert p.stdout_text == "[10, 20, 30] 3.0\nh1\n"
    assert p.exitcode == 0 and p.done
