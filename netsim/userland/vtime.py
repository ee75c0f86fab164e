"""The ``time`` module of a program on a virtual host: the clock is the network's virtual clock.

``time.time()`` counts from the Unix epoch at virtual time 0 (so a run's dates are the same
every time: 1970-01-01 plus the simulated seconds); ``monotonic`` and ``perf_counter`` are
the virtual time itself; ``sleep`` suspends the calling thread in virtual time. Functions
that format the current time (``ctime()``, ``localtime()``, ``strftime(fmt)``) use the same
virtual clock, in UTC (the virtual hosts' time zone); everything else is the real module's.
"""

from __future__ import annotations

import calendar
import time as _time
import types
from typing import TYPE_CHECKING, Any

from ..sim.units import NS_PER_S
from . import sched

if TYPE_CHECKING:
    from .process import VProcess

__all__ = ["make_module"]


def make_module(proc: VProcess) -> types.ModuleType:
    kernel = proc.kernel
    m = types.ModuleType("time", _time.__doc__)
    m.__dict__.update({k: v for k, v in _time.__dict__.items() if not k.startswith("__")})

    def time_ns() -> int:
        return kernel.now

    def time() -> float:
        return kernel.now / NS_PER_S

    def sleep(secs: Any) -> None:
        """Suspend the calling thread for ``secs`` seconds of virtual time."""
        if not isinstance(secs, (int, float)):
            raise TypeError(f"'{type(secs).__name__}' object cannot be interpreted as an integer")
        if secs != secs:
            raise ValueError("Invalid value NaN (not a number)")
        if secs < 0:
            raise ValueError("sleep length must be non-negative")
        vt = sched.current()
        if vt is None:
            raise RuntimeError("time.sleep of a virtual host called outside its program")
        if vt.killed:
            raise sched.Terminated()
        kernel.sleep(round(secs * NS_PER_S))

    def _now_or(t: float | None) -> float:
        return kernel.now / NS_PER_S if t is None else t

    m.time, m.time_ns, m.sleep = time, time_ns, sleep
    m.monotonic, m.monotonic_ns = time, time_ns
    m.perf_counter, m.perf_counter_ns = time, time_ns
    # A virtual program uses no CPU time of its own: its clocks are all the virtual one.
    m.process_time, m.process_time_ns = time, time_ns
    m.thread_time, m.thread_time_ns = time, time_ns
    # Virtual hosts keep UTC, so a run prints the same dates on every machine.
    m.localtime = m.gmtime = lambda secs=None: _time.gmtime(_now_or(secs))
    m.mktime = lambda t: float(calendar.timegm(t))
    m.ctime = lambda secs=None: _time.asctime(_time.gmtime(_now_or(secs)))
    m.asctime = lambda t=None: _time.asctime(_time.gmtime(_now_or(None)) if t is None else t)
    m.strftime = lambda fmt, t=None: _time.strftime(fmt, _time.gmtime(_now_or(None)) if t is None else t)
    m.timezone = m.altzone = 0
    m.daylight = 0
    m.tzname = ("UTC", "UTC")
    return m
