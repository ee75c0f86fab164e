"""The simulation kernel: virtual time, events, cooperative tasks, units."""

from .kernel import Kernel, Task, TaskFailed, Timer, Waiters
from .units import NS_PER_S, format_rate, format_time, parse_rate, parse_size, parse_time

__all__ = ["Kernel", "Task", "TaskFailed", "Timer", "Waiters", "NS_PER_S", "format_rate",
           "format_time", "parse_rate", "parse_size", "parse_time"]
