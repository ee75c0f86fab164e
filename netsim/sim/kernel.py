"""The discrete-event kernel: integer-nanosecond virtual time, an event heap, cooperative tasks.

Events are ``[time_ns, seq, fn, args]`` lists run in ``(time_ns, seq)`` order; ``seq`` is a
global counter, so two events at the same instant run in the order they were scheduled and
every run repeats exactly (the SimPy rule). Cancelling an event blanks its ``fn`` slot instead
of searching the queue.

The queue is a heap of distinct instants and, per instant, its event, or a deque of its events
in the order they were scheduled once it has more than one (a deque costs more to make than
a lone event needs). That is the same order as one heap of ``(time_ns, seq)``: ``seq`` only
grows, so an event appended to its instant's deque has a larger ``seq`` than every event
already there, and an event scheduled for the instant being run joins the end of the deque
being run. Simulated networks do many things at one instant (every frame of one size arrives a
fixed time after it left; programs started together wake together), so most events cost an
append and a popleft instead of two heap operations on lists compared element by element.

Tasks are greenlets: a program on a virtual host is plain blocking code, and a blocking call
(``recv``, ``accept``, ``sleep``) switches back to the scheduler. Exactly one task runs at a
time, and a task only ever resumes from an event popped off the heap, so tasks interleave
deterministically. An exception in a task comes out of :meth:`Kernel.run` with the task's name
and the virtual time attached as a note.

Virtual time only moves when something takes time, so a loop that answers itself in zero time
(two sockets on one host echoing each other, a datagram a host keeps sending to itself) would
make :meth:`Kernel.run` spin forever at one instant. The kernel counts the events run at the
current instant; past :attr:`Kernel.livelock_limit` it watches a few thousand more, then stops
with a :class:`LivelockError` naming the callbacks, tasks and nodes that make up the loop.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from collections.abc import Callable
from typing import Any

import greenlet

from .units import format_time

__all__ = ["Kernel", "Task", "Timer", "Waiters", "TaskFailed", "LivelockError",
           "LIVELOCK_LIMIT"]

Timer = list  # [time_ns, seq, fn | None, args]; cancel with Kernel.cancel(timer)

_TIMEOUT = object()
_getcurrent = greenlet.getcurrent
_heappush = heapq.heappush
_heappop = heapq.heappop


class _Thrown:
    """The wake value that makes :meth:`Kernel.block` raise ``exc`` (see :meth:`Kernel.throw`)."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException):
        self.exc = exc
_FOREVER = 1 << 126  # later than any virtual time


def _always() -> bool:
    return True

# Events at one instant before the kernel calls it a livelock. The busiest legitimate instants
# (thousands of hosts started together, a broadcast to all of them) stay far below it.
LIVELOCK_LIMIT = 1_000_000
_LIVELOCK_SAMPLE = 2_000  # events watched once the limit is passed, to name the loop


class TaskFailed(RuntimeError):
    """Raised by a blocking call made outside any task when the task it started failed."""


class LivelockError(RuntimeError):
    """Virtual time stood still: too many events ran at one instant (a zero-time loop).

    Attributes:
        time_ns: the instant time stood still at.
        events: how many events ran at it.
        loop: ``[(description, count)]`` of the events watched, most frequent first.
    """

    def __init__(self, time_ns: int, events: int, loop: list[tuple[str, int]]):
        total = sum(n for _, n in loop) or 1
        parts = ", ".join(f"{what} ({100 * n // total}%)" for what, n in loop[:6])
        super().__init__(
            f"livelock: {events:,} events ran at t={format_time(time_ns)} without virtual "
            f"time advancing; the loop runs through {parts}. Something answers itself in zero "
            "time (two sockets on one host echoing each other, a program sending to itself); "
            "if this many events at one instant are intended, raise net.kernel.livelock_limit "
            "(None switches the check off)")
        self.time_ns = time_ns
        self.events = events
        self.loop = loop


def describe_event(fn: Callable, args: tuple) -> str:
    """``"task 'echo' on h1"``, ``"Host._deliver_local on h1"``: what an event runs, and where."""
    owner = getattr(fn, "__self__", None)
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    if isinstance(owner, Kernel) and args and isinstance(args[0], Task):
        task = args[0]
        where = getattr(task.node, "name", None)
        return f"task {task.name!r}" + (f" on {where}" if where else "")
    for obj in (owner, *args):
        where = getattr(obj, "fullname", None) or getattr(obj, "name", None)
        if isinstance(where, str):
            return f"{name} on {where}"
    return name


class Task:
    """A blocking-style program running on the kernel (one greenlet)."""

    __slots__ = ("name", "node", "kernel", "glet", "done", "result", "exception",
                 "waiting_on", "_timer", "_fn", "_args", "daemon", "_pending")

    def __init__(self, kernel: Kernel, fn: Callable, args: tuple, name: str, node: Any, daemon: bool):
        self.kernel = kernel
        self.name = name
        self.node = node
        self.daemon = daemon
        self.done = False
        self.result: Any = None
        self.exception: BaseException | None = None
        self.waiting_on: str | None = "start"
        self._timer: Timer | None = None
        self._fn = fn
        self._args = args
        self._pending: BaseException | None = None   # see Kernel.throw
        self.glet = greenlet.greenlet(self._main)

    def _main(self, _value: Any = None) -> None:
        try:
            self.result = self._fn(*self._args)
        except BaseException as exc:  # noqa: BLE001 - handed to the scheduler, re-raised there
            self.exception = exc
        finally:
            self.done = True
            self.waiting_on = None

    @property
    def alive(self) -> bool:
        return not self.done

    def __repr__(self) -> str:
        state = "done" if self.done else f"waiting on {self.waiting_on}" if self.waiting_on else "running"
        return f"<Task {self.name} {state}>"


class Waiters:
    """A FIFO of tasks blocked on one thing (a socket's receive queue, an accept queue...)."""

    __slots__ = ("kernel", "tasks")

    def __init__(self, kernel: Kernel):
        self.kernel = kernel
        self.tasks: list[Task] = []

    def wait(self, what: str, timeout_ns: int | None = None) -> Any:
        """Block the current task until :meth:`notify` or the timeout (then ``TimeoutError``)."""
        kernel = self.kernel
        task = kernel._current
        if task is None:
            task = kernel.current_task()  # raises
        self.tasks.append(task)
        try:
            return kernel.block(what, timeout_ns)
        finally:
            # notify() popped it already, unless a timeout or a thrown exception woke it
            tasks = self.tasks
            if tasks and task in tasks:
                tasks.remove(task)

    def notify(self, value: Any = None) -> None:
        """Wake the first waiting task."""
        tasks = self.tasks
        if tasks:
            self.kernel.wake(tasks.pop(0), value)

    def notify_all(self, value: Any = None) -> None:
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            self.kernel.wake(task, value)

    def __bool__(self) -> bool:
        return bool(self.tasks)


class Kernel:
    """Virtual clock, event heap and task scheduler. One per :class:`netsim.Network`."""

    def __init__(self, seed: int = 0):
        self.now = 0
        self.rng = random.Random(seed)
        self.tasks: list[Task] = []
        self.events_run = 0
        self._times: list[int] = []               # heap of the instants that have events
        # instant -> its one event, or a deque of its events in seq order
        self._at: dict[int, Timer | deque[Timer]] = {}
        self._seq = itertools.count()
        self._current: Task | None = None
        self._sched_glet: greenlet.greenlet | None = None
        self._stop = False
        # Called when run() finds no event left (the network went idle); a hook may raise,
        # e.g. to report programs that wait on each other forever (netsim.userland).
        self.idle_hooks: list[Callable[[], None]] = []
        # Real-time mode (netsim.realworld.realtime): an object with ``wait(kernel, due_ns)``
        # that holds the clock back to the wall clock and lets outside events in. None (the
        # default) runs as fast as possible, and only then is a run fully deterministic.
        self.pacer: Any = None
        #: events at one instant before :meth:`run` raises :class:`LivelockError` (None: never)
        self.livelock_limit: int | None = LIVELOCK_LIMIT
        self._instant = -1        # the instant the events counted in _at_instant ran at
        self._at_instant = 0
        self._watch: dict[str, int] | None = None  # loop sample, once past the limit
        # The stop predicate of the running run() (_always inside step()), for must_pause.
        self._pause: Callable[[], bool] | None = None

    # -- events --------------------------------------------------------------------------

    def call_at(self, time_ns: int, fn: Callable, *args: Any) -> Timer:
        """Run ``fn(*args)`` at absolute virtual time ``time_ns``; returns a cancellable timer."""
        if time_ns < self.now:
            raise ValueError(f"cannot schedule in the past ({time_ns} < now {self.now})")
        ev = [time_ns, next(self._seq), fn, args]
        self._push(ev)
        return ev

    def call_later(self, delay_ns: int, fn: Callable, *args: Any) -> Timer:
        """Run ``fn(*args)`` ``delay_ns`` nanoseconds from now."""
        t = self.now + delay_ns
        ev = [t, next(self._seq), fn, args]
        events = self._at.get(t)
        if events is None:   # Kernel._push, inlined
            self._at[t] = ev   # the instant's only event, as it is
            _heappush(self._times, t)
        elif events.__class__ is list:
            self._at[t] = deque((events, ev))
        else:
            events.append(ev)
        return ev

    def _push(self, ev: Timer) -> None:
        """Queue ``ev`` (its seq is the newest, so it goes last at its instant)."""
        t = ev[0]
        events = self._at.get(t)
        if events is None:
            self._at[t] = ev   # the instant's only event, as it is
            _heappush(self._times, t)
        elif events.__class__ is list:
            self._at[t] = deque((events, ev))
        else:
            events.append(ev)

    def _first(self) -> Timer | None:
        """The next live event, left queued (cancelled ones before it are dropped); None when
        idle. Only the slow paths (peek, step, paced runs) use it: ``run`` inlines the walk."""
        times, at = self._times, self._at
        while times:
            t = times[0]
            events = at[t]
            if events.__class__ is list:   # a lone event
                if events[2] is not None:
                    return events
            else:
                while events:
                    if events[0][2] is not None:
                        return events[0]
                    events.popleft()
            _heappop(times)
            del at[t]
        return None

    def _take_first(self) -> Timer:
        """Remove and return the event :meth:`_first` just returned."""
        t = self._times[0]
        events = self._at[t]
        if events.__class__ is list:   # a lone event
            _heappop(self._times)
            del self._at[t]
            return events
        ev = events.popleft()
        if not events:
            _heappop(self._times)
            del self._at[t]
        return ev

    @staticmethod
    def cancel(timer: Timer | None) -> None:
        if timer is not None:
            # Drop the arguments too: a cancelled timer stays in the heap until its time, and
            # must not keep what it would have been called with (a closed connection) alive.
            timer[2] = None
            timer[3] = ()

    def peek(self) -> int | None:
        """Time of the next live event, or None when idle."""
        ev = self._first()
        return ev[0] if ev is not None else None

    def step(self) -> bool:
        """Run exactly one event. Returns False when there was nothing to run.

        An event that bundles several deliveries (:func:`netsim.net.link.flood`) makes one
        of them here and puts the rest back (see :meth:`must_pause`), so a stepper still
        sees one frame per step.
        """
        if self._first() is None:
            return False
        ev = self._take_first()
        self.now = ev[0]
        self.events_run += 1
        outer, self._pause = self._pause, _always
        try:
            ev[2](*ev[3])
        finally:
            self._pause = outer
        return True

    def must_pause(self) -> bool:
        """True when run() or step() will return once the running event ends.

        For an event that does several things at one instant which used to be one event each
        (a flood's deliveries, :func:`netsim.net.link.flood`): it asks between its parts
        and, when told to pause, hands the rest to :meth:`requeue`, so ``stop()``, a stop
        predicate and :meth:`step` take effect between the parts exactly as they did
        between the events. (A predicate is called once more than before; the ones in
        netsim only read state.)
        """
        if self._stop:
            return True
        pause = self._pause
        return pause is not None and pause()

    def requeue(self, timer: Timer) -> None:
        """Put the running event back, under its own (time, seq), with new arguments.

        It goes first at its instant: everything still queued there was scheduled after it
        (the event running now was the instant's first), so it runs again before them,
        exactly where the parts it has not done yet would have run as separate events.
        """
        t = timer[0]
        if t != self.now:
            raise ValueError("only the event running now can be requeued")
        events = self._at.get(t)
        if events is None:
            self._at[t] = timer
            _heappush(self._times, t)
        elif events.__class__ is list:
            self._at[t] = deque((timer, events))
        else:
            events.appendleft(timer)

    def last_at(self, time_ns: int) -> Timer | None:
        """The event queued last at instant ``time_ns`` (cancelled or not), or None."""
        events = self._at.get(time_ns)
        if events is None or events.__class__ is list:
            return events
        return events[-1] if events else None

    def schedule_mark(self) -> int:
        """A token for :meth:`scheduled_since`: a sequence number taken now.

        Taking it uses up one number of the (time, seq) counter; numbers only order events,
        so a gap changes no order.
        """
        return next(self._seq)

    def scheduled_since(self, mark: int) -> bool:
        """True when an event was scheduled since :meth:`schedule_mark` gave ``mark``."""
        return next(self._seq) != mark + 1

    def run(self, until_ns: int | None = None, stop: Callable[[], bool] | None = None) -> None:
        """Run events until idle, until virtual time ``until_ns``, or until ``stop()`` is true.

        With ``until_ns`` the clock ends exactly at ``until_ns`` even if the network went idle.

        Raises:
            LivelockError: more than :attr:`livelock_limit` events ran at one instant.
            Exception: whatever a task raised (see :meth:`_resume`).
        """
        if self.pacer is not None:
            return self._run_paced(until_ns, stop)
        times, at = self._times, self._at
        limit = until_ns if until_ns is not None else _FOREVER
        self._stop = False
        count = 0
        instant, at_instant = self._instant, self._at_instant
        livelock = self.livelock_limit or _FOREVER
        outer, self._pause = self._pause, stop
        try:
            while times:
                t = times[0]
                if t > limit:
                    break   # not due yet: left queued untouched
                events = at[t]
                if t != instant:
                    # the counting below starts at 0 with this instant's first live event
                    instant, at_instant, self._watch = t, -1, None
                if events.__class__ is list:
                    # the instant's only event: off the queue first, so that what it
                    # schedules for t starts a new entry, run after it
                    _heappop(times)
                    del at[t]
                    fn = events[2]
                    if fn is None:
                        continue
                    at_instant += 1
                    if at_instant >= livelock:
                        self._watch_loop(fn, events[3], at_instant - livelock)
                    self.now = t
                    count += 1
                    fn(*events[3])
                    if self._stop or (stop is not None and stop()):
                        return
                    continue
                popleft = events.popleft
                # the events of instant t in seq order, with those scheduled for t while they
                # run (appended to this very deque)
                while events:
                    ev = popleft()
                    fn = ev[2]
                    if fn is None:
                        continue
                    at_instant += 1
                    if at_instant >= livelock:
                        self._watch_loop(fn, ev[3], at_instant - livelock)
                    self.now = t
                    count += 1
                    fn(*ev[3])
                    if self._stop or (stop is not None and stop()):
                        return
                    if not times or times[0] is not t:
                        # an event scheduled before t (a negative delay), or a nested run
                        # (run_blocking outside a task) took the rest of t: the heap decides
                        break
                else:
                    if at.get(t) is events:  # not already removed by a nested run
                        _heappop(times)
                        del at[t]
            if not times:
                for hook in tuple(self.idle_hooks):
                    hook()
            if until_ns is not None and until_ns > self.now:
                self.now = until_ns
        finally:
            self.events_run += count
            self._instant, self._at_instant = instant, at_instant
            self._pause = outer

    def _watch_loop(self, fn: Callable, args: tuple, past: int) -> None:
        """Past the livelock limit: tally a sample of events, then raise naming the loop."""
        if self._watch is None:
            self._watch = {}
        what = describe_event(fn, args)
        self._watch[what] = self._watch.get(what, 0) + 1
        if past >= _LIVELOCK_SAMPLE:
            loop = sorted(self._watch.items(), key=lambda kv: -kv[1])
            self._watch = None
            raise LivelockError(self.now, (self.livelock_limit or 0) + past + 1, loop)

    def stop(self) -> None:
        """Make the running :meth:`run` return after the current event."""
        self._stop = True

    def _run_paced(self, until_ns: int | None, stop: Callable[[], bool] | None) -> None:
        """:meth:`run` with a pacer: before the clock moves on, ``pacer.wait`` lets wall time
        catch up, as ns-3's RealtimeSimulatorImpl does before each event.

        ``pacer.start(kernel)`` anchors virtual to wall time; ``pacer.wait(kernel, due)``
        (``due`` None: the network is idle) returns True when it
        scheduled events from outside (a frame from a real interface) at or after ``now``, so
        the heap is looked at again; False when wall time reached ``due``, or, idle, when
        nothing outside can ever add an event. Events still run one by one from the same heap
        in (time, seq) order, so pacing alone changes no result.
        """
        pacer = self.pacer
        self._stop = False
        pacer.start(self)
        outer, self._pause = self._pause, stop
        try:
            self._paced_loop(pacer, until_ns, stop)
        finally:
            self._pause = outer

    def _paced_loop(self, pacer: Any, until_ns: int | None,
                    stop: Callable[[], bool] | None) -> None:
        while True:
            t = self.peek()
            pending = t is not None and (until_ns is None or t <= until_ns)
            due = t if pending else until_ns
            if due is None or due > self.now:
                if pacer.wait(self, due):
                    continue
                if due is None:
                    return
            if not pending:
                if until_ns is not None and until_ns > self.now:
                    self.now = until_ns
                return
            self._first()   # peek() left the next live event first
            ev = self._take_first()
            self.now = ev[0]
            self.events_run += 1
            ev[2](*ev[3])
            if self._stop or (stop is not None and stop()):
                return

    # -- tasks ---------------------------------------------------------------------------

    def spawn(self, fn: Callable, *args: Any, name: str | None = None, node: Any = None,
              delay_ns: int = 0, daemon: bool = False) -> Task:
        """Start ``fn(*args)`` as a task ``delay_ns`` from now."""
        task = Task(self, fn, args, name or getattr(fn, "__name__", "task"), node, daemon)
        self.tasks.append(task)
        self.call_later(delay_ns, self._resume, task, None)
        return task

    def current_task(self) -> Task:
        """The running task; blocking calls outside a task are a programming error."""
        if self._current is None:
            raise RuntimeError("this call blocks and must run inside a task: start it with "
                               "host.spawn(fn) (or call it from a function a task runs)")
        return self._current

    @property
    def in_task(self) -> bool:
        return self._current is not None

    def block(self, what: str, timeout_ns: int | None = None) -> Any:
        """Suspend the current task until :meth:`wake`; ``TimeoutError`` after ``timeout_ns``."""
        task = self._current
        if task is None:
            task = self.current_task()  # raises
        if task._pending is not None:
            exc, task._pending = task._pending, None
            raise exc
        task.waiting_on = what
        if timeout_ns is not None:
            task._timer = self.call_later(timeout_ns, self._resume, task, _TIMEOUT)
        value = self._sched_glet.switch()
        if value is _TIMEOUT:
            raise TimeoutError("timed out")
        if type(value) is _Thrown:
            raise value.exc
        return value

    def sleep(self, duration_ns: int) -> None:
        """Suspend the current task for ``duration_ns`` of virtual time."""
        # block("sleep", duration_ns) with its timeout as the normal end: nothing raised and
        # caught. A TimeoutError thrown in (Kernel.throw) ends the sleep quietly, as the
        # ``except TimeoutError`` around block() always made it.
        task = self._current
        if task is None:
            task = self.current_task()  # raises
        if task._pending is not None:
            exc, task._pending = task._pending, None
            if isinstance(exc, TimeoutError):
                return
            raise exc
        task.waiting_on = "sleep"
        if duration_ns is not None:
            t = self.now + duration_ns   # call_later(duration_ns, ...), inlined
            ev = task._timer = [t, next(self._seq), self._resume, (task, _TIMEOUT)]
            events = self._at.get(t)
            if events is None:
                self._at[t] = ev   # the instant's only event, as it is
                _heappush(self._times, t)
            elif events.__class__ is list:
                self._at[t] = deque((events, ev))
            else:
                events.append(ev)
        value = self._sched_glet.switch()
        if type(value) is _Thrown and not isinstance(value.exc, TimeoutError):
            raise value.exc

    def wake(self, task: Task, value: Any = None) -> None:
        """Resume a blocked task (at the current instant, after already-scheduled events)."""
        if task.done or task.waiting_on is None:
            return
        timer = task._timer
        if timer is not None:
            timer[2] = None   # Kernel.cancel(timer)
            timer[3] = ()
            task._timer = None
        task.waiting_on = None
        t = self.now   # call_later(0, ...), inlined: every datagram a task waits for wakes it
        ev = [t, next(self._seq), self._resume, (task, value)]
        events = self._at.get(t)
        if events is None:
            self._at[t] = ev   # the instant's only event, as it is
            _heappush(self._times, t)
        elif events.__class__ is list:
            self._at[t] = deque((events, ev))
        else:
            events.append(ev)

    def throw(self, task: Task, exc: BaseException) -> None:
        """Make the blocking call ``task`` is suspended in raise ``exc`` (to end a thread or a
        process from outside). A task that is running, about to run, or not started yet gets
        it at its next blocking call."""
        if task.done:
            return
        if task.waiting_on is None or not task.glet:
            task._pending = exc
            return
        self.cancel(task._timer)
        task._timer = None
        task.waiting_on = None
        self.call_later(0, self._resume, task, _Thrown(exc))

    def _resume(self, task: Task, value: Any) -> None:
        if task.done:
            return
        if value is _TIMEOUT:
            task._timer = None
        task.waiting_on = None
        prev_task, prev_sched = self._current, self._sched_glet
        self._current = task
        sched = self._sched_glet = _getcurrent()
        glet = task.glet
        if glet.parent is not sched:  # reading is cheaper than setting (a cycle check)
            glet.parent = sched
        try:
            glet.switch(value)
        finally:
            self._current, self._sched_glet = prev_task, prev_sched
        if task.done:
            self.tasks.remove(task)
            exc = task.exception
            if exc is not None:
                where = f" on {task.node.name}" if getattr(task.node, "name", None) else ""
                exc.add_note(f"netsim: raised in task {task.name!r}{where} at t={format_time(self.now)}")
                raise exc

    def blocked_tasks(self) -> list[Task]:
        """Tasks still alive, each with ``waiting_on`` saying what it waits for."""
        return [t for t in self.tasks if not t.done]

    def run_blocking(self, fn: Callable, *args: Any, name: str = "call", node: Any = None) -> Any:
        """Call blocking ``fn`` from inside a task, or from outside by running a task to completion.

        This lets a notebook or a script call ``host.ping(...)`` directly.
        """
        if self._current is not None:
            return fn(*args)
        task = self.spawn(fn, *args, name=name, node=node)
        self.run(stop=lambda: task.done)
        if not task.done:
            raise TaskFailed(f"{name!r} did not finish: the network went idle while it was "
                             f"waiting on {task.waiting_on}")
        return task.result
