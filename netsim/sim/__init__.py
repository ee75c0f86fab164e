"""The simulation kernel: virtual time, events, cooperative tasks, units."""

from __future__ import annotations

from .._lazy import lazy_exports

__all__ = ["Kernel", "Task", "TaskFailed", "Timer", "Waiters", "LivelockError", "NS_PER_S",
           "format_rate",
           "format_time", "parse_rate", "parse_size", "parse_time"]

# Lazy: the units are used by protocol code that must not pull in the kernel (and greenlet).
__getattr__, __dir__ = lazy_exports(__name__, {
    ".kernel": ("Kernel", "Task", "TaskFailed", "Timer", "Waiters", "LivelockError"),
    ".units": ("NS_PER_S", "format_rate", "format_time", "parse_rate", "parse_size",
               "parse_time"),
})
