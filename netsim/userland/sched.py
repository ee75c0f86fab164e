"""Which virtual thread is running, and the one way program threads block and wake.

Every thread of every program is a kernel task (a greenlet). Each task's greenlet carries its
:class:`VThread` (an attribute, so nothing global keeps finished simulations alive), so ``threading.current_thread()``, ``os.getpid()`` and the
guard against real system calls find the running program without any global "current" state.
Synchronisation primitives block through :func:`sync_block`, which records what the thread
waits on: that record is what the deadlock report prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import greenlet

from ..sim.units import NS_PER_S

if TYPE_CHECKING:
    from ..sim.kernel import Task
    from .process import VProcess

__all__ = ["VThread", "Terminated", "TIMED_OUT", "current", "current_process", "sync_block",
           "wake", "seconds_to_ns"]

TIMED_OUT = object()
_ATTR = "_netsim_vthread"


class Terminated(BaseException):
    """Thrown into a thread to end it: its process was terminated, or exited (daemon threads)."""


class VThread:
    """One thread of a virtual process, run as one kernel task."""

    __slots__ = ("proc", "task", "name", "obj", "daemon", "internal", "sync_wait", "done",
                 "joiners", "killed", "ident", "__weakref__")

    def __init__(self, proc: VProcess, name: str, daemon: bool, obj: Any = None,
                 internal: bool = False):
        self.proc = proc
        self.task: Task | None = None
        self.name = name
        self.obj = obj              # the threading.Thread object, when there is one
        self.daemon = daemon
        self.internal = internal    # a helper task (Pool plumbing), not a program thread
        self.sync_wait: str | None = None
        self.done = False
        self.joiners: list[VThread] = []
        self.killed = False
        self.ident = proc.new_ident()

    def __repr__(self) -> str:
        return f"<VThread {self.proc.host.name} pid {self.proc.pid} {self.name}>"


def current() -> VThread | None:
    """The program thread running now, or None (netsim's own code, a test, the scheduler)."""
    return getattr(greenlet.getcurrent(), _ATTR, None)


def thread_of(glet: Any) -> VThread | None:
    """The program thread a greenlet runs, if any."""
    return getattr(glet, _ATTR, None)


def current_process(what: str = "this call") -> VProcess:
    """The virtual process running now.

    Raises:
        RuntimeError: called outside a program started with ``host.run_program``.
    """
    vt = getattr(greenlet.getcurrent(), _ATTR, None)
    if vt is None:
        raise RuntimeError(f"{what} belongs to a program on a virtual host: start the program "
                           "with host.run_program(path)")
    return vt.proc


def register(glet: Any, vt: VThread) -> None:
    setattr(glet, _ATTR, vt)


def unregister(glet: Any) -> None:
    setattr(glet, _ATTR, None)


def seconds_to_ns(seconds: float | None) -> int | None:
    if seconds is None:
        return None
    return max(0, round(seconds * NS_PER_S))


def sync_block(vt: VThread, what: str, timeout: float | None = None) -> Any:
    """Suspend ``vt`` (the running thread) until :func:`wake`; returns the wake value, or
    ``TIMED_OUT`` after ``timeout`` seconds. While suspended, ``vt.sync_wait`` says on what."""
    if vt.killed:
        raise Terminated()
    vt.sync_wait = what
    try:
        return vt.proc.kernel.block(what, seconds_to_ns(timeout))
    except TimeoutError:
        return TIMED_OUT
    finally:
        vt.sync_wait = None


def wake(vt: VThread, value: Any = True) -> None:
    """Make a thread suspended in :func:`sync_block` return ``value`` (at the current instant)."""
    vt.proc.kernel.wake(vt.task, value)
