"""``threading`` (and ``_thread``) for programs on virtual hosts: threads are kernel tasks.

A ``Thread`` runs as a task of its process; the primitives (:mod:`.vsync`) block in *virtual*
time and wake their waiters in FIFO order, so runs repeat exactly.

Threads switch only when they block (``sleep``, I/O, a lock, a queue): there is no preemption,
so the unsynchronised ``num += 1`` race the seed shows with real threads never happens here.
"""

from __future__ import annotations

import threading as _real
import types
from typing import TYPE_CHECKING, Any, NamedTuple

from . import sched
from .vsync import (
    Barrier,
    BoundedSemaphore,
    BrokenBarrierError,
    Condition,
    Event,
    Lock,
    RLock,
    Semaphore,
    _key,
    _me,
)

if TYPE_CHECKING:
    from .process import VProcess

__all__ = ["Lock", "RLock", "Condition", "Semaphore", "BoundedSemaphore", "Event", "Barrier",
           "BrokenBarrierError", "Thread", "Timer", "local", "make_module", "make_thread_module"]

TIMEOUT_MAX = _real.TIMEOUT_MAX


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
