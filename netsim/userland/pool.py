"""``multiprocessing.Pool`` (worker processes, spawn semantics) and ``ThreadPool`` (threads).

Workers are daemonic child processes that re-run the program as ``__mp_main__``, run the
initializer, then take jobs in submission order. A job's function and arguments are pickled in
the caller and unpickled in the worker (functions travel by name, as with spawn); results and
exceptions come back the same way and are delivered to :class:`AsyncResult` (and its callbacks)
in the caller's process. ``close()`` lets the workers finish what is queued and exit;
``terminate()`` ends them at once; ``join()`` waits for them (after close or terminate).
"""

from __future__ import annotations

import functools
import itertools
from collections import deque
from typing import TYPE_CHECKING, Any

from . import pickling, sched, vthreading
from .vos import CPU_COUNT

if TYPE_CHECKING:
    from .process import VProcess

__all__ = ["Pool", "ThreadPool", "AsyncResult"]

RUN, CLOSE, TERMINATE = "RUN", "CLOSE", "TERMINATE"


class MaybeEncodingError(Exception):
    """A result could not be sent back to the caller (not picklable)."""

    def __init__(self, exc: BaseException, value: Any):
        self.exc, self.value = repr(exc), repr(value)
        super().__init__(self.exc, self.value)

    def __str__(self) -> str:
        return f"Error sending result: '{self.value}'. Reason: '{self.exc}'"


class AsyncResult:
    """The future result of ``apply_async`` / ``map_async``."""

    def __init__(self, pool: Pool, callback: Any = None, error_callback: Any = None):
        self._pool = pool
        self._callback, self._error_callback = callback, error_callback
        self._ready = False
        self._success = False
        self._value: Any = None
        self._waiters: list = []

    def ready(self) -> bool:
        return self._ready

    def successful(self) -> bool:
        if not self._ready:
            raise ValueError(f"{self!r} not ready")
        return self._success

    def wait(self, timeout: float | None = None) -> None:
        if self._ready:
            return
        vt = vthreading._me("AsyncResult.wait()")
        self._waiters.append(vt)
        try:
            sched.sync_block(vt, "AsyncResult.get() (waiting for a pool worker)", timeout)
        finally:
            if vt in self._waiters:
                self._waiters.remove(vt)

    def get(self, timeout: float | None = None) -> Any:
        self.wait(timeout)
        if not self._ready:
            from .vmultiprocessing import TimeoutError as MpTimeout
            raise MpTimeout
        if self._success:
            return self._value
        raise self._value

    def _set(self, success: bool, value: Any) -> None:
        self._success, self._value, self._ready = success, value, True
        callback = self._callback if success else self._error_callback
        if callback is not None:
            callback(value)
        waiters, self._waiters = self._waiters, []
        for vt in waiters:
            sched.wake(vt)

    def __repr__(self) -> str:
        return f"<multiprocessing.pool.ApplyResult object at {id(self):#x}>"


ApplyResult = AsyncResult


class _MapResult(AsyncResult):
    """Collects ``n`` job results in order; fails with the first exception."""

    def __init__(self, pool: Pool, n: int, callback: Any, error_callback: Any):
        super().__init__(pool, callback, error_callback)
        self._slots: list[Any] = [None] * n
        self._left = n
        if n == 0:
            self._set(True, [])

    def part(self, i: int, success: bool, value: Any) -> None:
        if self._ready:
            return
        if not success:
            self._set(False, value)
            return
        self._slots[i] = value
        self._left -= 1
        if not self._left:
            self._set(True, self._slots)


class _Job:
    __slots__ = ("payload", "deliver")

    def __init__(self, payload: Any, deliver: Any):
        self.payload = payload
        self.deliver = deliver   # deliver(success, value) in the caller's process


class Pool:
    """``multiprocessing.Pool(processes=None, initializer=None, initargs=(), maxtasksperchild=None)``."""

    _threads = False

    def __init__(self, processes: int | None = None, initializer: Any = None, initargs: tuple = (),
                 maxtasksperchild: int | None = None, context: Any = None):
        self._owner = sched.current_process("multiprocessing.Pool")
        if processes is None:
            processes = CPU_COUNT
        if processes < 1:
            raise ValueError("Number of processes must be at least 1")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        if maxtasksperchild is not None and (not isinstance(maxtasksperchild, int)
                                             or maxtasksperchild <= 0):
            raise ValueError("maxtasksperchild must be a positive int or None")
        self._processes = processes
        self._initializer, self._initargs = initializer, tuple(initargs)
        self._maxtasks = maxtasksperchild
        self._state = RUN
        self._jobs: deque[_Job] = deque()
        self._idle: list = []
        self._workers: list = []
        self._names = itertools.count(1)
        for _ in range(processes):
            self._start_worker()

    # -- workers ------------------------------------------------------------------------------

    def _start_worker(self) -> None:
        from .process import VProcess
        from .vmultiprocessing import _bootstrap_main, _ProcessInfo
        owner = self._owner
        name = f"SpawnPoolWorker-{next(self._names)}"
        init = pickling.dumps((self._initializer, self._initargs), owner)
        child = VProcess(owner.host, owner.path, owner.argv, parent=owner, cwd=owner.cwd,
                         module=owner.module, env=dict(owner.environ), name=owner.label)
        child.process_obj = _ProcessInfo(child, name, daemon=True)

        def body() -> int:
            try:
                _bootstrap_main(child)
                initializer, initargs = pickling.loads(init, child)
            finally:
                init.release()
            if initializer is not None:
                initializer(*initargs)
            self._work(child)
            return 0

        self._workers.append(child)
        child.start(body=body)

    def _next_job(self) -> _Job | None:
        """The next job, waiting while there is none; None once the pool is closing and drained."""
        while True:
            if self._state == TERMINATE:
                return None
            if self._jobs:
                return self._jobs.popleft()
            if self._state == CLOSE:
                return None
            vt = vthreading._me("pool worker")
            self._idle.append(vt)
            try:
                sched.sync_block(vt, "waiting for a task (pool worker)")
            finally:
                if vt in self._idle:
                    self._idle.remove(vt)

    def _work(self, worker: VProcess | None) -> None:
        done = 0
        while self._maxtasks is None or done < self._maxtasks:
            job = self._next_job()
            if job is None:
                return
            try:
                func, args, kwds = job.payload if worker is None else pickling.loads(job.payload, worker)
                result = (True, func(*args, **kwds))
            except Exception as exc:  # noqa: BLE001 - sent back to the caller, as Pool does
                result = (False, exc)
            self._deliver(job, result, worker)
            done += 1
        if self._state == RUN:
            self._start_worker() if not self._threads else self._start_thread_worker()

    def _deliver(self, job: _Job, result: tuple, worker: VProcess | None) -> None:
        success, value = result
        if worker is not None:
            try:
                value = pickling.copy_between(value, worker, self._owner)
            except Exception as exc:  # noqa: BLE001 - as Pool's MaybeEncodingError
                success, value = False, MaybeEncodingError(exc, value)
        try:
            job.deliver(success, value)
        except Exception as exc:  # noqa: BLE001 - a failing callback is printed, not fatal
            from .process import format_exception
            self._owner.stderr.write(format_exception(exc))

    # -- submitting ---------------------------------------------------------------------------

    def _check_running(self) -> None:
        if self._state != RUN:
            raise ValueError("Pool not running")

    def _submit(self, func: Any, args: tuple, kwds: dict, deliver: Any) -> None:
        call = (func, tuple(args), dict(kwds))
        payload = call if self._threads else pickling.dumps(call, self._owner)
        self._jobs.append(_Job(payload, deliver))
        if self._idle:
            sched.wake(self._idle.pop(0))

    def apply_async(self, func: Any, args: tuple = (), kwds: dict | None = None,
                    callback: Any = None, error_callback: Any = None) -> AsyncResult:
        self._check_running()
        result = AsyncResult(self, callback, error_callback)
        self._submit(func, args, kwds or {}, result._set)
        return result

    def apply(self, func: Any, args: tuple = (), kwds: dict | None = None) -> Any:
        return self.apply_async(func, args, kwds).get()

    def map_async(self, func: Any, iterable: Any, chunksize: int | None = None,
                  callback: Any = None, error_callback: Any = None) -> AsyncResult:
        return self._map(func, [(x,) for x in iterable], callback, error_callback)

    def starmap_async(self, func: Any, iterable: Any, chunksize: int | None = None,
                      callback: Any = None, error_callback: Any = None) -> AsyncResult:
        return self._map(func, [tuple(x) for x in iterable], callback, error_callback)

    def _map(self, func: Any, calls: list, callback: Any, error_callback: Any) -> AsyncResult:
        self._check_running()
        result = _MapResult(self, len(calls), callback, error_callback)
        for i, args in enumerate(calls):
            self._submit(func, args, {}, functools.partial(result.part, i))
        return result

    def map(self, func: Any, iterable: Any, chunksize: int | None = None) -> list:
        return self.map_async(func, iterable).get()

    def starmap(self, func: Any, iterable: Any, chunksize: int | None = None) -> list:
        return self.starmap_async(func, iterable).get()

    def imap(self, func: Any, iterable: Any, chunksize: int = 1) -> Any:
        results = [self.apply_async(func, (x,)) for x in iterable]
        return (r.get() for r in results)

    def imap_unordered(self, func: Any, iterable: Any, chunksize: int = 1) -> Any:
        self._check_running()
        done: deque = deque()
        waiters: list = []
        n = 0

        def deliver(success: bool, value: Any) -> None:
            done.append((success, value))
            while waiters:
                sched.wake(waiters.pop(0))

        for x in iterable:
            self._submit(func, (x,), {}, deliver)
            n += 1

        def results() -> Any:
            for _ in range(n):
                while not done:
                    vt = vthreading._me("Pool.imap_unordered()")
                    waiters.append(vt)
                    sched.sync_block(vt, "imap_unordered (waiting for a pool worker)")
                success, value = done.popleft()
                if not success:
                    raise value
                yield value
        return results()

    # -- ending ---------------------------------------------------------------------------------

    def close(self) -> None:
        """No more jobs: workers exit once the queued ones are done."""
        if self._state == RUN:
            self._state = CLOSE
            idle, self._idle = self._idle, []
            for vt in idle:
                sched.wake(vt)

    def terminate(self) -> None:
        """Stop the workers now; queued jobs are dropped."""
        self._state = TERMINATE
        self._jobs.clear()
        idle, self._idle = self._idle, []
        for vt in idle:
            sched.wake(vt)
        for worker in self._workers:
            self._stop_worker(worker)

    def _stop_worker(self, worker: Any) -> None:
        worker.terminate()

    def join(self) -> None:
        """Wait for every worker to exit (after close() or terminate())."""
        if self._state == RUN:
            raise ValueError("Pool is still running")
        for worker in list(self._workers):
            self._join_worker(worker)

    def _join_worker(self, worker: Any) -> None:
        worker.join(None, "Pool.join() (waiting for a worker to exit)")

    def __enter__(self) -> Pool:
        self._check_running()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.terminate()

    def __reduce__(self) -> Any:
        raise NotImplementedError("pool objects cannot be passed between processes or pickled")

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__name__} state={self._state} pool_size={self._processes}>"


class ThreadPool(Pool):
    """``multiprocessing.pool.ThreadPool``: the same API with worker threads (no pickling)."""

    _threads = True

    def __init__(self, processes: int | None = None, initializer: Any = None,
                 initargs: tuple = ()):
        super().__init__(processes, initializer, initargs)

    def _start_worker(self) -> None:
        self._start_thread_worker()

    def _start_thread_worker(self) -> None:
        owner = self._owner
        name = f"Thread-{next(self._names)} (worker)"

        def body() -> None:
            if self._initializer is not None:
                self._initializer(*self._initargs)
            self._work(None)

        self._workers.append(owner.start_thread(body, (), name, True))

    def _stop_worker(self, worker: Any) -> None:
        if not worker.done:
            worker.killed = True
            worker.proc.kernel.throw(worker.task, sched.Terminated())

    def _join_worker(self, worker: Any) -> None:
        if not worker.done:
            self._owner.join_thread(worker, None, "ThreadPool.join()")

