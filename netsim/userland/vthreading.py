"""``threading`` (and ``_thread``) for programs on virtual hosts: threads are kernel tasks.

A ``Thread`` runs as a task of its process; every primitive blocks in *virtual* time through
:func:`netsim.userland.sched.sync_block`, which records what the thread waits on (the deadlock
report prints it). Wake-ups are FIFO and hand the resource over directly (a released lock goes
to the first waiter), so runs repeat exactly.

Threads switch only when they block (``sleep``, I/O, a lock, a queue): there is no preemption,
so the unsynchronised ``num += 1`` race the seed shows with real threads never happens here.
"""

from __future__ import annotations

import threading as _real
import types
from collections import deque
from typing import TYPE_CHECKING, Any, NamedTuple

import greenlet

from . import sched
from .sched import TIMED_OUT

if TYPE_CHECKING:
    from .process import VProcess

__all__ = ["Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event", "Barrier",
           "BrokenBarrierError", "Thread", "Timer", "local", "make_module", "make_thread_module"]

TIMEOUT_MAX = _real.TIMEOUT_MAX


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


class Thread:
    """``threading.Thread``: ``start()`` runs ``run()`` as a new task of the calling process."""

    _initialized = False

    def __init__(self, group: None = None, target: Any = None, name: Any = None,
                 args: Any = (), kwargs: dict | None = None, *, daemon: bool | None = None):
        assert group is None, "group argument must be None for now"
        proc = sched.current_process("threading.Thread")
        if name:
            name = str(name)
        else:
            proc.thread_counter += 1
            name = f"Thread-{proc.thread_counter}"
            if target is not None and hasattr(target, "__name__"):
                name += f" ({target.__name__})"
        self._proc = proc
        self._target, self._name, self._args = target, name, args
        self._kwargs = kwargs if kwargs is not None else {}
        self._daemonic = daemon if daemon is not None else current_thread().daemon
        self._vt: sched.VThread | None = None
        self._initialized = True

    def start(self) -> None:
        if not self._initialized:
            raise RuntimeError("thread.__init__() not called")
        if self._vt is not None:
            raise RuntimeError("threads can only be started once")
        self._vt = self._proc.start_thread(self.run, (), self._name, self._daemonic, obj=self)

    def run(self) -> None:
        try:
            if self._target is not None:
                self._target(*self._args, **self._kwargs)
        finally:
            del self._target, self._args, self._kwargs

    def join(self, timeout: float | None = None) -> None:
        if not self._initialized:
            raise RuntimeError("Thread.__init__() not called")
        if self._vt is None:
            raise RuntimeError("cannot join thread before it is started")
        if self._vt is sched.current():
            raise RuntimeError("cannot join current thread")
        self._proc.join_thread(self._vt, timeout, f"Thread.join() of {self._name}")

    def is_alive(self) -> bool:
        return self._vt is not None and not self._vt.done

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = str(value)
        if self._vt is not None:
            self._vt.name = self._name

    @property
    def ident(self) -> int | None:
        return self._vt.ident if self._vt is not None else None

    native_id = ident

    @property
    def daemon(self) -> bool:
        return self._daemonic

    @daemon.setter
    def daemon(self, value: bool) -> None:
        if not self._initialized:
            raise RuntimeError("Thread.__init__() not called")
        if self._vt is not None:
            raise RuntimeError("cannot set daemon status of active thread")
        self._daemonic = bool(value)

    def isDaemon(self) -> bool:
        return self.daemon

    def setDaemon(self, daemonic: bool) -> None:
        self.daemon = daemonic

    def getName(self) -> str:
        return self.name

    def setName(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        status = "initial"
        if self._vt is not None:
            status = "stopped" if self._vt.done else "started"
        if self._daemonic:
            status += " daemon"
        if self.ident is not None:
            status += f" {self.ident}"
        return f"<{type(self).__name__}({self._name}, {status})>"


class _AdoptedThread(Thread):
    """The Thread object of a task not started through Thread (see the two subclasses)."""

    def __init__(self, vt: sched.VThread):
        self._proc = vt.proc
        self._name = vt.name
        self._daemonic = vt.daemon
        self._vt = vt
        self._target, self._args, self._kwargs = None, (), {}
        self._initialized = True

    def start(self) -> None:
        raise RuntimeError("threads can only be started once")


class Timer(Thread):
    """Call ``function(*args, **kwargs)`` after ``interval`` seconds unless cancelled."""

    def __init__(self, interval: float, function: Any, args: Any = None, kwargs: dict | None = None):
        Thread.__init__(self)
        self.interval = interval
        self.function = function
        self.args = args if args is not None else []
        self.kwargs = kwargs if kwargs is not None else {}
        self.finished = Event()

    def cancel(self) -> None:
        self.finished.set()

    def run(self) -> None:
        self.finished.wait(self.interval)
        if not self.finished.is_set():
            self.function(*self.args, **self.kwargs)
        self.finished.set()


class local:  # noqa: N801 - the stdlib's name
    """``threading.local``: attributes are per thread. A subclass's ``__init__`` runs again, with
    the constructor's arguments, the first time each thread touches the object."""

    __slots__ = ("_local__impl", "__dict__", "__weakref__")

    def __new__(cls, /, *args: Any, **kw: Any) -> local:
        if (args or kw) and cls.__init__ is object.__init__:
            raise TypeError("Initialization arguments are not supported")
        self = object.__new__(cls)
        object.__setattr__(self, "_local__impl", (args, kw, {}))
        object.__setattr__(self, "__dict__", {})
        self.__class__._local__bind(self, created=True)
        return self

    def _local__bind(self, created: bool = False) -> None:
        args, kw, dicts = object.__getattribute__(self, "_local__impl")
        key = _key()
        d = dicts.get(key)
        if d is not None:
            object.__setattr__(self, "__dict__", d)
            return
        d = dicts[key] = {} if not created else object.__getattribute__(self, "__dict__")
        object.__setattr__(self, "__dict__", d)
        if not created and type(self).__init__ is not object.__init__:
            type(self).__init__(self, *args, **kw)

    def __getattribute__(self, name: str) -> Any:
        if name not in ("_local__impl", "_local__bind", "__class__"):
            local._local__bind(self)
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "__dict__":
            raise AttributeError(f"{type(self).__name__!r} object attribute '__dict__' is read-only")
        local._local__bind(self)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name == "__dict__":
            raise AttributeError(f"{type(self).__name__!r} object attribute '__dict__' is read-only")
        local._local__bind(self)
        object.__delattr__(self, name)


# -- the module -------------------------------------------------------------------------------

class ExceptHookArgs(NamedTuple):
    exc_type: Any
    exc_value: Any
    exc_traceback: Any
    thread: Any


def default_excepthook(args: Any) -> None:
    """Print "Exception in thread NAME:" and the traceback to the process's stderr."""
    from .process import format_exception
    proc = sched.current_process("threading.excepthook")
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "(unknown)"
    exc = args.exc_value if args.exc_value is not None else args.exc_type()
    proc.stderr.write(f"Exception in thread {name}:\n" + format_exception(exc))


class _MainThread(_AdoptedThread):
    """A process's main thread."""


class _DummyThread(_AdoptedThread):
    """A thread started by netsim (a ThreadPool worker) or through ``_thread``."""


def thread_object(vt: sched.VThread) -> Thread:
    if vt.obj is None:
        vt.obj = (_MainThread if vt is vt.proc.main else _DummyThread)(vt)
    return vt.obj


def current_thread() -> Thread:
    vt = sched.current()
    if vt is None:
        raise RuntimeError("threading.current_thread() of a virtual host called outside its program")
    return thread_object(vt)


def make_module(proc: VProcess) -> types.ModuleType:
    m = types.ModuleType("threading", _real.__doc__)

    def main_thread() -> Thread:
        return thread_object(proc.main)

    def enumerate() -> list[Thread]:
        return [thread_object(vt) for vt in proc.threads if not vt.done and not vt.internal]

    def active_count() -> int:
        return len(enumerate())

    def get_ident() -> int:
        return _me("threading.get_ident()").ident

    def _register_atexit(func: Any, *args: Any, **kwargs: Any) -> None:
        proc.atexit.append((func, args, kwargs))

    traces: dict[str, Any] = {"trace": None, "profile": None}
    m.__dict__.update(
        Thread=Thread, Timer=Timer, Lock=Lock, RLock=RLock, Condition=Condition,
        Semaphore=Semaphore, BoundedSemaphore=BoundedSemaphore, Event=Event, Barrier=Barrier,
        BrokenBarrierError=BrokenBarrierError, local=local, ThreadError=RuntimeError,
        TIMEOUT_MAX=TIMEOUT_MAX, current_thread=current_thread, currentThread=current_thread,
        main_thread=main_thread, enumerate=enumerate, active_count=active_count,
        activeCount=active_count, get_ident=get_ident, get_native_id=get_ident,
        excepthook=default_excepthook, __excepthook__=default_excepthook,
        ExceptHookArgs=ExceptHookArgs, _register_atexit=_register_atexit,
        settrace=lambda f: traces.__setitem__("trace", f),
        setprofile=lambda f: traces.__setitem__("profile", f),
        gettrace=lambda: traces["trace"], getprofile=lambda: traces["profile"],
        stack_size=lambda size=0: 0,
    )
    m.__all__ = [n for n in m.__dict__ if not n.startswith("_") and n[0].isupper() or n in (
        "current_thread", "main_thread", "enumerate", "active_count", "get_ident",
        "get_native_id", "excepthook", "local", "settrace", "setprofile", "stack_size")]
    return m


def make_thread_module(proc: VProcess) -> types.ModuleType:
    """``_thread``: the low-level API, on the same virtual threads."""
    m = types.ModuleType("_thread")

    def start_new_thread(function: Any, args: tuple, kwargs: dict | None = None) -> int:
        if not isinstance(args, tuple):
            raise TypeError("2nd arg must be a tuple")
        proc.thread_counter += 1
        vt = proc.start_thread(function, args, f"Thread-{proc.thread_counter}", True) \
            if not kwargs else proc.start_thread(lambda: function(*args, **kwargs), (),
                                                 f"Thread-{proc.thread_counter}", True)
        return vt.ident

    def get_ident() -> int:
        return _me("_thread.get_ident()").ident

    def exit() -> None:
        raise SystemExit

    m.__dict__.update(
        allocate_lock=Lock, allocate=Lock, LockType=Lock, RLock=RLock, error=RuntimeError,
        start_new_thread=start_new_thread, start_new=start_new_thread, get_ident=get_ident,
        get_native_id=get_ident, exit=exit, exit_thread=exit, _local=local,
        TIMEOUT_MAX=TIMEOUT_MAX, stack_size=lambda size=0: 0,
        _count=lambda: len([vt for vt in proc.threads if vt is not proc.main and not vt.done]),
    )
    return m
