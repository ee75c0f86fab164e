"""The synchronisation primitives of virtual threads: ``Lock``, ``RLock``, ``Condition``,
``Semaphore``, ``BoundedSemaphore``, ``Event``, ``Barrier`` (exported by :mod:`.vthreading`).

Each blocks in *virtual* time through :func:`netsim.userland.sched.sync_block`, which records
what the thread waits on (the deadlock report prints it). Wake-ups are FIFO and hand the
resource over directly (a released lock goes to the first waiter), so runs repeat exactly. The
objects are not tied to a process: ``multiprocessing``'s shared locks and events are these.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import greenlet

from . import sched
from .sched import TIMED_OUT

__all__ = ["Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event", "Barrier",
           "BrokenBarrierError"]


def _me(what: str) -> sched.VThread:
    vt = sched.current()
    if vt is None:
        raise RuntimeError(f"{what} would block outside a program thread of a virtual host")
    return vt


def _key() -> Any:
    """Identity of the running thread (a program thread, or any other greenlet)."""
    return sched.current() or greenlet.getcurrent()


class _Waiter:
    __slots__ = ("vt", "granted")

    def __init__(self, vt: sched.VThread):
        self.vt = vt
        self.granted = False


def _grant(waiters: deque) -> bool:
    """Hand the resource to the first live waiter; False when there is none."""
    while waiters:
        w = waiters.popleft()
        if not w.vt.done:
            w.granted = True
            sched.wake(w.vt)
            return True
    return False


def _check_lock_timeout(blocking: bool, timeout: float) -> float | None:
    if not blocking and timeout != -1:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0 and timeout != -1:
        raise ValueError("timeout value must be a non-negative number")
    return None if timeout == -1 else timeout


class Lock:
    """``threading.Lock``: any thread may release it; waiters get it in arrival order."""

    __slots__ = ("_locked", "_waiters", "__weakref__")

    def __init__(self) -> None:
        self._locked = False
        self._waiters: deque[_Waiter] = deque()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        limit = _check_lock_timeout(blocking, timeout)
        if not self._locked:
            self._locked = True
            return True
        if not blocking:
            return False
        vt = _me("Lock.acquire()")
        w = _Waiter(vt)
        self._waiters.append(w)
        try:
            got = sched.sync_block(vt, "Lock.acquire()", limit)
        except BaseException:
            self._abandon(w)
            raise
        if got is TIMED_OUT:
            self._abandon(w)
            return False
        return True

    def _abandon(self, w: _Waiter) -> None:
        if w.granted:
            self.release()  # it was handed to us as we gave up: pass it on
        elif w in self._waiters:
            self._waiters.remove(w)

    def release(self) -> None:
        if not self._locked:
            raise RuntimeError("release unlocked lock")
        if not _grant(self._waiters):
            self._locked = False

    def locked(self) -> bool:
        return self._locked

    def _is_owned(self) -> bool:
        return self._locked

    def _release_save(self) -> Any:
        self.release()

    def _acquire_restore(self, _state: Any) -> None:
        self.acquire()

    __enter__ = acquire

    def __exit__(self, *exc: Any) -> None:
        self.release()

    acquire_lock, release_lock, locked_lock = acquire, release, locked

    def _at_fork_reinit(self) -> None:
        self._locked = False
        self._waiters.clear()

    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle '_thread.lock' object")

    def __repr__(self) -> str:
        state = "locked" if self._locked else "unlocked"
        return f"<{state} _thread.lock object at {id(self):#x}>"


class RLock:
    """``threading.RLock``: the owning thread may acquire it again; it must release as often."""

    def __init__(self) -> None:
        self._block = Lock()
        self._owner: Any = None
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = _key()
        if self._owner is me:
            self._count += 1
            return True
        got = self._block.acquire(blocking, timeout)
        if got:
            self._owner, self._count = me, 1
        return got

    __enter__ = acquire

    def release(self) -> None:
        if self._owner is not _key():
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if not self._count:
            self._owner = None
            self._block.release()

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def _is_owned(self) -> bool:
        return self._owner is _key()

    def _release_save(self) -> tuple[int, Any]:
        state = (self._count, self._owner)
        self._count, self._owner = 0, None
        self._block.release()
        return state

    def _acquire_restore(self, state: tuple[int, Any]) -> None:
        self._block.acquire()
        self._count, self._owner = state

    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle '_thread.RLock' object")

    def __repr__(self) -> str:
        owner = getattr(self._owner, "ident", 0) if self._owner is not None else 0
        state = "locked" if self._owner is not None else "unlocked"
        return f"<{state} _thread.RLock object owner={owner} count={self._count} at {id(self):#x}>"


def _now() -> float:
    vt = sched.current()
    return vt.proc.kernel.now / 1e9 if vt is not None else 0.0


class Condition:
    """``threading.Condition`` over a Lock or RLock (an RLock by default)."""

    def __init__(self, lock: Any = None, _what: str = "Condition.wait()"):
        self._lock = lock if lock is not None else RLock()
        self.acquire = self._lock.acquire
        self.release = self._lock.release
        self._waiters: deque[_Waiter] = deque()
        self._what = _what

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._lock.__exit__(*exc)

    def __repr__(self) -> str:
        return f"<Condition({self._lock}, {len(self._waiters)})>"

    def _is_owned(self) -> bool:
        return self._lock._is_owned()

    def wait(self, timeout: float | None = None) -> bool:
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        vt = _me(self._what)
        w = _Waiter(vt)
        self._waiters.append(w)
        saved = self._lock._release_save()
        got = TIMED_OUT
        try:
            got = sched.sync_block(vt, self._what, timeout)
        finally:
            if w in self._waiters:
                self._waiters.remove(w)
            if not vt.killed:
                self._lock._acquire_restore(saved)
        return got is not TIMED_OUT or w.granted

    def wait_for(self, predicate: Any, timeout: float | None = None) -> Any:
        end = None
        waittime = timeout
        result = predicate()
        while not result:
            if waittime is not None:
                if end is None:
                    end = _now() + waittime
                else:
                    waittime = end - _now()
                    if waittime <= 0:
                        break
            self.wait(waittime)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        while n > 0 and _grant(self._waiters):
            n -= 1

    def notify_all(self) -> None:
        self.notify(len(self._waiters))

    notifyAll = notify_all


class Semaphore:
    """``threading.Semaphore``: a counter; ``acquire`` waits while it is zero."""

    def __init__(self, value: int = 1):
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._value = value
        self._waiters: deque[_Waiter] = deque()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x}: value={self._value}>"

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        if self._value > 0:
            self._value -= 1
            return True
        if not blocking:
            return False
        vt = _me(f"{type(self).__name__}.acquire()")
        w = _Waiter(vt)
        self._waiters.append(w)
        try:
            got = sched.sync_block(vt, f"{type(self).__name__}.acquire()", timeout)
        except BaseException:
            self._abandon(w)
            raise
        if got is TIMED_OUT:
            self._abandon(w)
            return False
        return True

    def _abandon(self, w: _Waiter) -> None:
        if w.granted:
            Semaphore.release(self)
        elif w in self._waiters:
            self._waiters.remove(w)

    __enter__ = acquire

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        for _ in range(n):
            if not _grant(self._waiters):
                self._value += 1

    def __exit__(self, *exc: Any) -> None:
        self.release()


class BoundedSemaphore(Semaphore):
    """A semaphore that refuses to be released above its initial value."""

    def __init__(self, value: int = 1):
        super().__init__(value)
        self._initial_value = value

    def release(self, n: int = 1) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        if self._value + n > self._initial_value:
            raise ValueError("Semaphore released too many times")
        super().release(n)


class Event:
    """``threading.Event``: a flag threads can wait for."""

    def __init__(self) -> None:
        self._flag = False
        self._waiters: list[sched.VThread] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at {id(self):#x}: {'set' if self._flag else 'unset'}>"

    def is_set(self) -> bool:
        return self._flag

    isSet = is_set

    def set(self) -> None:
        self._flag = True
        waiters, self._waiters = self._waiters, []
        for vt in waiters:
            sched.wake(vt)

    def clear(self) -> None:
        self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        if self._flag:
            return True
        vt = _me("Event.wait()")
        self._waiters.append(vt)
        try:
            got = sched.sync_block(vt, "Event.wait()", timeout)
        finally:
            if vt in self._waiters:
                self._waiters.remove(vt)
        return True if got is not TIMED_OUT else self._flag


class BrokenBarrierError(RuntimeError):
    pass


_FILLING, _DRAINING, _RESETTING, _BROKEN = 0, 1, -1, -2


class Barrier:
    """``threading.Barrier``: ``parties`` threads wait until all have arrived."""

    def __init__(self, parties: int, action: Any = None, timeout: float | None = None):
        if parties < 1:
            raise ValueError("parties must be >= 1")
        self._cond = Condition(Lock(), _what="Barrier.wait()")
        self._action = action
        self._timeout = timeout
        self._parties = parties
        self._state = _FILLING
        self._count = 0

    def __repr__(self) -> str:
        if self.broken:
            return f"<{type(self).__name__} at {id(self):#x}: broken>"
        return (f"<{type(self).__name__} at {id(self):#x}: waiters={self.n_waiting}/"
                f"{self.parties}>")

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the others; returns this thread's arrival index (0 .. parties-1)."""
        if timeout is None:
            timeout = self._timeout
        with self._cond:
            # a previous round is still letting its threads out, or being reset
            while self._state in (_DRAINING, _RESETTING):
                self._cond.wait()
            if self._state < 0:
                raise BrokenBarrierError
            index = self._count
            self._count += 1
            try:
                if index + 1 == self._parties:
                    self._trip()
                else:
                    if not self._cond.wait_for(lambda: self._state != _FILLING, timeout):
                        self._break()
                        raise BrokenBarrierError
                    if self._state < 0:
                        raise BrokenBarrierError
                return index
            finally:
                self._count -= 1
                if self._count == 0 and self._state in (_DRAINING, _RESETTING):
                    self._state = _FILLING
                    self._cond.notify_all()

    def _trip(self) -> None:
        try:
            if self._action is not None:
                self._action()
            self._state = _DRAINING
            self._cond.notify_all()
        except BaseException:
            self._break()
            raise

    def _break(self) -> None:
        self._state = _BROKEN
        self._cond.notify_all()

    def reset(self) -> None:
        with self._cond:
            if self._count > 0:
                if self._state in (_FILLING, _BROKEN):
                    self._state = _RESETTING
            else:
                self._state = _FILLING
            self._cond.notify_all()

    def abort(self) -> None:
        with self._cond:
            self._break()

    @property
    def parties(self) -> int:
        return self._parties

    @property
    def n_waiting(self) -> int:
        return self._count if self._state == _FILLING else 0

    @property
    def broken(self) -> bool:
        return self._state == _BROKEN
