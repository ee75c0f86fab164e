"""``multiprocessing`` for programs on virtual hosts, with the semantics of the spawn method.

``Process.start()`` pickles the Process object (target, arguments and all) in the parent and
starts a new virtual process on the same host, which re-runs the program as ``__mp_main__``
(so ``if __name__ == "__main__":`` blocks do not run again and globals start fresh), unpickles
the object and calls its ``run()``. A child's ``global num`` is therefore its own: the parent's
``num`` stays 10, as the seed teaches. Sockets in the arguments are duplicated, not copied
(:mod:`.pickling`), so a parent may close its descriptor right after ``start()``.

``Queue``, ``Lock``, ``Event``... and ``Manager()`` objects are shared by every process (items
put on a queue are pickled, so a receiver gets a copy). ``Pool`` lives in :mod:`.pool`.
"""

from __future__ import annotations

import array
import collections
import functools
import signal
import types
from collections import deque
from typing import TYPE_CHECKING, Any

from ..sim.units import NS_PER_S
from . import pickling, sched, vthreading
from .sched import TIMED_OUT
from .vos import CPU_COUNT

if TYPE_CHECKING:
    from .process import VProcess

__all__ = ["Process", "Queue", "JoinableQueue", "SimpleQueue", "make_module"]

_BOOTSTRAP = """
        An attempt has been made to start a new process before the
        current process has finished its bootstrapping phase.

        This probably means that you are not using fork to start your
        child processes and you have forgotten to use the proper idiom
        in the main module:

            if __name__ == '__main__':
                freeze_support()
                ...

        The "freeze_support()" line can be omitted if the program
        is not going to be frozen to produce an executable."""


class ProcessError(Exception):
    pass


class BufferTooShort(ProcessError):
    pass


class TimeoutError(ProcessError):  # noqa: A001 - multiprocessing's own TimeoutError
    pass


class AuthenticationError(ProcessError):
    pass


# -- processes ----------------------------------------------------------------------------------

class _ProcessInfo:
    """What ``current_process()`` / ``parent_process()`` say about a process not started as a
    Process object (the main program, a pool worker)."""

    def __init__(self, vproc: VProcess, name: str, daemon: bool = False):
        self._vproc = vproc
        self.name = name
        self.daemon = daemon
        self._identity = ()
        self.authkey = b"netsim"

    @property
    def pid(self) -> int:
        return self._vproc.pid

    ident = pid

    @property
    def exitcode(self) -> int | None:
        return self._vproc.exitcode

    def is_alive(self) -> bool:
        return not self._vproc.done

    def __repr__(self) -> str:
        return f"<_MainProcess name={self.name!r} parent=None started>" if self.name == \
            "MainProcess" else f"<Process name={self.name!r} pid={self.pid} started>"


def current_process_of(proc: VProcess) -> Any:
    if proc.process_obj is None:
        proc.process_obj = _ProcessInfo(proc, "MainProcess")
    return proc.process_obj


class Process:
    """``multiprocessing.Process``: ``run()`` in a new virtual process (spawn semantics)."""

    _start_method = "spawn"

    def __init__(self, group: None = None, target: Any = None, name: str | None = None,
                 args: Any = (), kwargs: Any = None, *, daemon: bool | None = None):
        assert group is None, "group argument must be None for now"
        parent = sched.current_process("multiprocessing.Process")
        parent.child_counter += 1
        me = current_process_of(parent)
        self._identity = (*getattr(me, "_identity", ()), parent.child_counter)
        self._target = target
        self._args = tuple(args)
        self._kwargs = dict(kwargs or {})
        self._name = name or "Process-" + ":".join(str(i) for i in self._identity)
        self._daemonic = bool(getattr(me, "daemon", False)) if daemon is None else daemon
        self._parent_pid = parent.pid
        self._vproc: VProcess | None = None
        self._closed = False

    def run(self) -> None:
        if self._target:
            self._target(*self._args, **self._kwargs)

    def start(self) -> None:
        """Pickle this object and start it in a new process (it runs once the caller blocks)."""
        from .process import VProcess
        if self._closed:
            raise ValueError("process object is closed")
        assert self._vproc is None, "cannot start a process twice"
        parent = sched.current_process("Process.start()")
        assert self._parent_pid == parent.pid, \
            "can only start a process object created by current process"
        assert not getattr(current_process_of(parent), "daemon", False), \
            "daemonic processes are not allowed to have children"
        if parent.bootstrapping:
            raise RuntimeError(_BOOTSTRAP)
        payload = pickling.dumps(self, parent)
        child = VProcess(parent.host, parent.path, parent.argv, parent=parent, cwd=parent.cwd,
                         module=parent.module, env=dict(parent.environ), name=parent.label)
        child.process_obj = self    # until the child unpickles its own copy
        self._vproc = child
        parent.mp_children.append(self)
        child.start(body=functools.partial(_child_main, child, payload))

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_vproc"] = None
        return state

    # -- status --------------------------------------------------------------------------------

    def _check_closed(self) -> None:
        if self._closed:
            raise ValueError("process object is closed")

    @property
    def pid(self) -> int | None:
        self._check_closed()
        return self._vproc.pid if self._vproc is not None else None

    ident = pid

    @property
    def exitcode(self) -> int | None:
        self._check_closed()
        if self._vproc is None or not self._vproc.done:
            return None
        return self._vproc.exitcode

    def is_alive(self) -> bool:
        self._check_closed()
        if self._vproc is None:
            return False
        return not self._vproc.done

    def join(self, timeout: float | None = None) -> None:
        self._check_closed()
        assert self._vproc is not None, "can only join a started process"
        assert self._vproc is not sched.current_process(), "can only join a child process"
        self._vproc.join(timeout, f"Process.join() of {self._name} (pid {self._vproc.pid})")

    def terminate(self) -> None:
        self._check_closed()
        if self._vproc is not None:
            self._vproc.terminate(signal.SIGTERM)

    def kill(self) -> None:
        self._check_closed()
        if self._vproc is not None:
            self._vproc.terminate(signal.SIGKILL)

    def close(self) -> None:
        if self._vproc is not None and not self._vproc.done:
            raise ValueError("Cannot close a process while it is still running. "
                             "You should first call join() or terminate().")
        self._closed = True

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = str(value)

    @property
    def daemon(self) -> bool:
        return self._daemonic

    @daemon.setter
    def daemon(self, value: bool) -> None:
        assert self._vproc is None, "process has already started"
        self._daemonic = bool(value)

    @property
    def authkey(self) -> bytes:
        return b"netsim"

    def __repr__(self) -> str:
        if self._closed:
            status = "closed"
        elif self._vproc is None:
            status = "initial"
        elif self._vproc.done:
            status = f"stopped exitcode={self._vproc.exitcode}"
        else:
            status = "started"
        pid = f" pid={self._vproc.pid}" if self._vproc is not None else ""
        daemon = " daemon" if self._daemonic else ""
        return f"<{type(self).__name__} name={self._name!r}{pid} parent={self._parent_pid} {status}{daemon}>"


def _bootstrap_main(child: VProcess) -> None:
    """Re-run the program as ``__mp_main__`` in the child (spawn's preparation step)."""
    child.bootstrapping = True
    try:
        child.importer.run_main("__mp_main__")
    finally:
        child.bootstrapping = False


def _child_main(child: VProcess, payload: pickling.Payload) -> int:
    from .process import format_exception
    try:
        _bootstrap_main(child)
        obj = pickling.loads(payload, child)
    finally:
        payload.release()
    obj._vproc = child
    child.process_obj = obj
    try:
        obj.run()
    except (SystemExit, sched.Terminated):
        raise
    except BaseException as exc:  # noqa: BLE001 - printed like multiprocessing's _bootstrap
        child.stderr.write(f"Process {obj.name}:\n" + format_exception(exc))
        return 1
    return 0


# -- queues -------------------------------------------------------------------------------------

def _queue_exc(name: str) -> type:
    vt = sched.current()
    if vt is None:
        import queue
        return getattr(queue, name)
    return getattr(vt.proc.importer.load("queue"), name)


class _Waitable:
    """Lists of threads waiting for something to change."""

    def _wait(self, waiters: list, what: str, timeout: float | None) -> bool:
        vt = vthreading._me(what)
        waiters.append(vt)
        try:
            return sched.sync_block(vt, what, timeout) is not TIMED_OUT
        finally:
            if vt in waiters:
                waiters.remove(vt)

    @staticmethod
    def _wake_one(waiters: list) -> None:
        if waiters:
            sched.wake(waiters.pop(0))

    @staticmethod
    def _wake_all(waiters: list) -> None:
        while waiters:
            sched.wake(waiters.pop(0))


class Queue(_Waitable):
    """``multiprocessing.Queue``: items are pickled by ``put`` and unpickled by ``get``."""

    _netsim_shared = True

    def __init__(self, maxsize: int = 0, *, ctx: Any = None):
        self._maxsize = maxsize if maxsize > 0 else 2**31 - 1
        self._items: deque[pickling.Payload] = deque()
        self._getters: list = []
        self._putters: list = []
        self._closed = False

    def _deadline(self, timeout: float | None) -> float | None:
        vt = sched.current()
        return None if timeout is None or vt is None else vt.proc.kernel.now / NS_PER_S + timeout

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")
        proc = sched.current_process("Queue.put()")
        end = self._deadline(timeout)
        while len(self._items) >= self._maxsize:
            left = None if end is None else end - proc.kernel.now / NS_PER_S
            if not block or (left is not None and left <= 0) or \
                    not self._wait(self._putters, "multiprocessing.Queue.put()", left):
                if len(self._items) < self._maxsize:
                    break
                raise _queue_exc("Full")()
        self._items.append(pickling.dumps(obj, proc))
        self._wake_one(self._getters)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")
        proc = sched.current_process("Queue.get()")
        end = self._deadline(timeout)
        while not self._items:
            left = None if end is None else end - proc.kernel.now / NS_PER_S
            if not block or (left is not None and left <= 0) or \
                    not self._wait(self._getters, "multiprocessing.Queue.get()", left):
                if self._items:
                    break
                raise _queue_exc("Empty")()
        payload = self._items.popleft()
        self._wake_one(self._putters)
        self._taken()
        return pickling.loads(payload, proc)

    def _taken(self) -> None:
        pass

    def put_nowait(self, obj: Any) -> None:
        self.put(obj, False)

    def get_nowait(self) -> Any:
        return self.get(False)

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return len(self._items) >= self._maxsize

    def close(self) -> None:
        self._closed = True

    def join_thread(self) -> None:
        pass

    def cancel_join_thread(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"


class JoinableQueue(Queue):
    """A Queue with ``task_done()`` and ``join()``."""

    def __init__(self, maxsize: int = 0, *, ctx: Any = None):
        super().__init__(maxsize)
        self._unfinished = 0
        self._joiners: list = []

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(obj, block, timeout)
        self._unfinished += 1

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if not self._unfinished:
            self._wake_all(self._joiners)

    def join(self) -> None:
        while self._unfinished:
            self._wait(self._joiners, "JoinableQueue.join()", None)


class SimpleQueue(Queue):
    """``multiprocessing.SimpleQueue``: unbounded, get/put/empty/close."""

    def __init__(self, *, ctx: Any = None):
        super().__init__()


class _Connection(_Waitable):
    """One end of a ``Pipe()``."""

    _netsim_shared = True

    def __init__(self, inbox: deque, outbox: deque, readable: bool, writable: bool):
        self._inbox, self._outbox = inbox, outbox
        self.readable, self.writable = readable, writable
        self.closed = False
        self._peer: _Connection | None = None
        self._readers: list = []

    def send(self, obj: Any) -> None:
        if self.closed:
            raise OSError("handle is closed")
        if not self.writable:
            raise OSError("connection is read-only")
        self._outbox.append(pickling.dumps(obj, sched.current_process("Connection.send()")))
        if self._peer is not None:
            self._wake_all(self._peer._readers)

    def recv(self) -> Any:
        if self.closed:
            raise OSError("handle is closed")
        if not self.readable:
            raise OSError("connection is write-only")
        while not self._inbox:
            if self._peer is None or self._peer.closed:
                raise EOFError
            self._wait(self._readers, "Connection.recv()", None)
        return pickling.loads(self._inbox.popleft(), sched.current_process())

    def poll(self, timeout: float | None = 0.0) -> bool:
        if not self._inbox and timeout != 0.0:
            self._wait(self._readers, "Connection.poll()", timeout)
        return bool(self._inbox)

    def close(self) -> None:
        self.closed = True
        if self._peer is not None:
            self._wake_all(self._peer._readers)

    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def Pipe(duplex: bool = True) -> tuple[_Connection, _Connection]:  # noqa: N802 - stdlib name
    a, b = deque(), deque()
    if duplex:
        c1, c2 = _Connection(a, b, True, True), _Connection(b, a, True, True)
    else:
        c1, c2 = _Connection(a, b, True, False), _Connection(b, a, False, True)
    c1._peer, c2._peer = c2, c1
    return c1, c2


# -- shared objects -----------------------------------------------------------------------------

def _shared(base: type) -> type:
    return type(base.__name__, (base,), {"_netsim_shared": True, "__slots__": ()}
                if "__slots__" in base.__dict__ else {"_netsim_shared": True})


SharedLock = _shared(vthreading.Lock)
SharedRLock = _shared(vthreading.RLock)
SharedCondition = _shared(vthreading.Condition)
SharedSemaphore = _shared(vthreading.Semaphore)
SharedBoundedSemaphore = _shared(vthreading.BoundedSemaphore)
SharedEvent = _shared(vthreading.Event)
SharedBarrier = _shared(vthreading.Barrier)


class SharedList(list):
    _netsim_shared = True


class SharedDict(dict):
    _netsim_shared = True


class Namespace(types.SimpleNamespace):
    _netsim_shared = True


class Value:
    """``multiprocessing.Value``: one shared number (or char), with a lock."""

    _netsim_shared = True

    def __init__(self, typecode_or_type: Any, *args: Any, lock: Any = True):
        self._typecode = getattr(typecode_or_type, "_type_", typecode_or_type)
        self.value = args[0] if args else array.array(self._typecode, [0])[0]
        self._lock = lock if lock not in (True, False) else SharedRLock()

    def get_lock(self) -> Any:
        return self._lock

    def get_obj(self) -> Any:
        return self

    def __repr__(self) -> str:
        return f"<Synchronized wrapper for c_{self._typecode}({self.value!r})>"


class Array(collections.abc.MutableSequence):
    """``multiprocessing.Array``: a shared array of numbers, with a lock."""

    _netsim_shared = True

    def __init__(self, typecode_or_type: Any, size_or_initializer: Any, *, lock: Any = True):
        code = getattr(typecode_or_type, "_type_", typecode_or_type)
        init = [0] * size_or_initializer if isinstance(size_or_initializer, int) else size_or_initializer
        self._data = array.array(code, init)
        self._lock = lock if lock not in (True, False) else SharedRLock()

    def __getitem__(self, i: Any) -> Any:
        item = self._data[i]
        return list(item) if isinstance(i, slice) else item

    def __setitem__(self, i: Any, v: Any) -> None:
        self._data[i] = v

    def __delitem__(self, i: Any) -> None:
        raise TypeError("cannot delete array elements")

    def __len__(self) -> int:
        return len(self._data)

    def insert(self, i: int, v: Any) -> None:
        raise TypeError("a shared Array has a fixed size")

    def get_lock(self) -> Any:
        return self._lock

    def get_obj(self) -> Any:
        return self


class SyncManager:
    """``multiprocessing.Manager()``: hands out shared objects (no server process is needed)."""

    def start(self, initializer: Any = None, initargs: tuple = ()) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def connect(self) -> None:
        pass

    def __enter__(self) -> SyncManager:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    Queue = staticmethod(lambda maxsize=0: Queue(maxsize))
    JoinableQueue = staticmethod(lambda maxsize=0: JoinableQueue(maxsize))
    Lock = staticmethod(lambda: SharedLock())
    RLock = staticmethod(lambda: SharedRLock())
    Semaphore = staticmethod(lambda value=1: SharedSemaphore(value))
    BoundedSemaphore = staticmethod(lambda value=1: SharedBoundedSemaphore(value))
    Condition = staticmethod(lambda lock=None: SharedCondition(lock))
    Event = staticmethod(lambda: SharedEvent())
    Barrier = staticmethod(lambda parties, action=None, timeout=None: SharedBarrier(parties, action, timeout))
    Namespace = staticmethod(lambda **kw: Namespace(**kw))
    Value = staticmethod(lambda typecode, value, lock=True: Value(typecode, value, lock=lock))
    Array = staticmethod(lambda typecode, seq, lock=True: Array(typecode, seq, lock=lock))

    @staticmethod
    def list(seq: Any = ()) -> SharedList:
        return SharedList(seq)

    @staticmethod
    def dict(*args: Any, **kw: Any) -> SharedDict:
        return SharedDict(*args, **kw)


# -- the module ---------------------------------------------------------------------------------

def make_module(proc: VProcess) -> types.ModuleType:
    from . import pool
    m = types.ModuleType("multiprocessing")
    methods = {"method": "spawn"}

    def set_start_method(method: str, force: bool = False) -> None:
        if method not in ("spawn", "fork", "forkserver"):
            raise ValueError(f"cannot find context for {method!r}")
        methods["method"] = method   # every method behaves as spawn on a virtual host

    def active_children() -> list:
        return [p for p in proc.mp_children if p.is_alive()]

    def parent_process() -> Any:
        if proc.parent is None:
            return None
        return _ProcessInfo(proc.parent, getattr(proc.parent.process_obj, "name", "MainProcess"))

    m.__dict__.update(
        Process=Process, current_process=lambda: current_process_of(proc),
        parent_process=parent_process, active_children=active_children,
        cpu_count=lambda: CPU_COUNT, Queue=Queue, JoinableQueue=JoinableQueue,
        SimpleQueue=SimpleQueue, Pipe=Pipe, Pool=pool.Pool, Manager=SyncManager,
        Lock=SharedLock, RLock=SharedRLock, Condition=SharedCondition, Semaphore=SharedSemaphore,
        BoundedSemaphore=SharedBoundedSemaphore, Event=SharedEvent, Barrier=SharedBarrier,
        Value=Value, Array=Array, RawValue=Value, RawArray=Array,
        ProcessError=ProcessError, BufferTooShort=BufferTooShort, TimeoutError=TimeoutError,
        AuthenticationError=AuthenticationError, freeze_support=lambda: None,
        set_start_method=set_start_method, get_start_method=lambda allow_none=False: methods["method"],
        get_all_start_methods=lambda: ["spawn", "fork", "forkserver"],
        get_context=lambda method=None: m, set_executable=lambda exe: None,
        AsyncResult=pool.AsyncResult, ThreadPool=pool.ThreadPool,
    )
    m.__path__ = []   # a package: multiprocessing.pool and .dummy are its submodules
    return m


def make_pool_module(proc: VProcess) -> types.ModuleType:
    from . import pool
    m = types.ModuleType("multiprocessing.pool")
    m.__dict__.update(Pool=pool.Pool, ThreadPool=pool.ThreadPool, AsyncResult=pool.AsyncResult,
                      ApplyResult=pool.AsyncResult, MapResult=pool.AsyncResult,
                      TimeoutError=TimeoutError)
    return m


def make_dummy_module(proc: VProcess) -> types.ModuleType:
    """``multiprocessing.dummy``: the same API on threads."""
    from . import pool
    threading = proc.importer.load("threading")
    m = types.ModuleType("multiprocessing.dummy")
    m.__dict__.update(Pool=pool.ThreadPool, Process=threading.Thread, Queue=proc.importer.load("queue").Queue,
                      Lock=threading.Lock, RLock=threading.RLock, Event=threading.Event,
                      Condition=threading.Condition, Semaphore=threading.Semaphore,
                      current_process=threading.current_thread, active_children=lambda: [],
                      cpu_count=lambda: CPU_COUNT, freeze_support=lambda: None)
    return m
