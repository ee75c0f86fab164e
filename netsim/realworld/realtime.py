"""Real-time mode: virtual time paced to the wall clock, and the door for outside events.

The model is ns-3's ``RealtimeSimulatorImpl``: before the kernel moves its clock to the next
event's time ``t``, the pacer sleeps until the wall clock says ``t`` (virtual time is anchored to
the wall clock when a run starts: ``wall(t) = wall0 + (t - virt0)``). While it sleeps it watches
the file descriptors of everything attached to the real world (packet sockets, TAP devices,
forwarded ports). What arrives is read at once and scheduled at the virtual time that
corresponds to the moment it arrived (never before ``kernel.now``), so it enters the simulation
"now", as a frame on a cable or a datagram on a socket would.

When the simulation cannot keep up, an event starts after its wall-clock time: the difference is
the *lag*. Every time the clock moves on, the lag is sampled; :class:`LagReport` keeps max and
mean. Best effort (the default) just reports it; with ``max_lag`` the run aborts with
:class:`RealtimeLagError` as soon as the lag passes the limit (ns-3's "HardLimit" mode).

Determinism: pacing only delays when events run, never their order or their virtual times, so a
real-time run with nothing attached produces the same captures as a normal run. Anything read
from outside makes a run depend on the outside world and on wall time.
"""

from __future__ import annotations

import selectors
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..sim.units import NS_PER_S, format_time, parse_time

__all__ = ["RealtimePacer", "LagReport", "RealtimeLagError"]

# When late, outside sources are still polled, but at most this often (a poll is a syscall;
# polling before every late event would slow a simulation that is already behind).
POLL_WHILE_LATE_NS = 1_000_000
_FOREVER_S = 3600.0


class RealtimeLagError(RuntimeError):
    """The simulation fell further behind the wall clock than the hard limit allows."""


@dataclass
class LagReport:
    """How far virtual time fell behind wall time: sampled each time the clock moved on."""

    samples: int = 0
    total_ns: int = 0
    max_ns: int = 0
    max_at_ns: int = 0
    limit_ns: int | None = None
    external_events: int = 0

    @property
    def mean_ns(self) -> float:
        return self.total_ns / self.samples if self.samples else 0.0

    def add(self, lag_ns: int, at_ns: int) -> None:
        self.samples += 1
        self.total_ns += lag_ns
        if lag_ns > self.max_ns:
            self.max_ns, self.max_at_ns = lag_ns, at_ns

    def merge(self, other: LagReport) -> None:
        """Fold another report in (a lab runs several networks)."""
        self.total_ns += other.total_ns
        self.samples += other.samples
        self.external_events += other.external_events
        if other.max_ns > self.max_ns:
            self.max_ns, self.max_at_ns = other.max_ns, other.max_at_ns

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "max_ns": self.max_ns, "mean_ns": round(self.mean_ns),
                "max_at_ns": self.max_at_ns, "limit_ns": self.limit_ns,
                "external_events": self.external_events}

    def __str__(self) -> str:
        mode = f"hard limit {_ms(self.limit_ns)}" if self.limit_ns is not None else "best effort"
        if not self.samples:
            return f"real time ({mode}): no clock steps yet"
        return (f"real time ({mode}): lag max {_ms(self.max_ns)} (at t={format_time(self.max_at_ns)})"
                f", mean {_ms(self.mean_ns)} over {self.samples:,} clock steps"
                + (f"; {self.external_events:,} events from outside" if self.external_events else ""))


def _select_timeout(remaining_ns: int) -> float:
    """How long to sleep in select() for ``remaining_ns``: a little less for long waits.

    Linux lets a select/poll timeout expire late by 0.1% of its length (timer slack,
    select_estimate_accuracy() in fs/select.c): 2 ms late for a 2 s wait. Waking a bit early
    and sleeping the rest (the loop in :meth:`RealtimePacer.wait`) keeps the lag near the
    50 us default slack instead.
    """
    margin = max(1_000_000, remaining_ns // 250) if remaining_ns > 2_000_000 else 0
    return (remaining_ns - margin) / NS_PER_S


def _ms(ns: float | None) -> str:
    return f"{(ns or 0) / 1e6:.3f} ms"


class _Watch:
    __slots__ = ("fileobj", "callback", "events")

    def __init__(self, fileobj: Any, callback: Callable[[int], Any], events: int):
        self.fileobj, self.callback, self.events = fileobj, callback, events


class RealtimePacer:
    """Holds the kernel's clock to the wall clock and polls outside file descriptors.

    Install it as ``kernel.pacer`` (``Network.realtime()`` does). Sources register with
    :meth:`watch`: ``callback(arrival_ns)`` runs when the descriptor is readable (or writable),
    outside any event; it must read what is there, schedule its effects with
    ``kernel.call_at(arrival_ns, ...)`` and return how many events it scheduled.

    Args:
        max_lag: a hard limit ("10ms"); None for best effort.
        clock: the wall clock in ns (``time.monotonic_ns``; tests may pass a fake).
    """

    def __init__(self, max_lag: str | float | None = None,
                 clock: Callable[[], int] = time.monotonic_ns):
        self.clock = clock
        self.lag = LagReport(limit_ns=parse_time(max_lag) if max_lag is not None else None)
        self.before_sleep: list[Callable[[], Any]] = []   # live captures flush here
        self._selector: selectors.BaseSelector | None = None
        self._watches: dict[int, _Watch] = {}
        self._anchor: tuple[int, int] | None = None       # (wall ns, virtual ns) of the run start
        self._last_poll = 0
        self._last_arrival = 0

    # -- configuration ---------------------------------------------------------------------

    @property
    def max_lag_ns(self) -> int | None:
        return self.lag.limit_ns

    @max_lag_ns.setter
    def max_lag_ns(self, value: int | None) -> None:
        self.lag.limit_ns = value

    @property
    def has_sources(self) -> bool:
        """True while anything outside can still schedule events (so idle is not the end)."""
        return bool(self._watches)

    def watch(self, fileobj: Any, callback: Callable[[int], Any], *, write: bool = False) -> None:
        """Call ``callback(arrival_ns)`` whenever ``fileobj`` is readable (``write``: writable)."""
        if self._selector is None:
            # select(2) takes microseconds; epoll_wait(2) rounds up to whole milliseconds,
            # which alone would cost up to 1 ms of lag per wait. A handful of descriptors.
            self._selector = selectors.SelectSelector()
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        events = selectors.EVENT_WRITE if write else selectors.EVENT_READ
        self.unwatch(fd)
        self._watches[fd] = _Watch(fileobj, callback, events)
        self._selector.register(fd, events, self._watches[fd])

    def unwatch(self, fileobj: Any) -> None:
        """Stop watching ``fileobj`` (harmless when it is not watched or already closed)."""
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        if fd in self._watches:
            del self._watches[fd]
            try:
                self._selector.unregister(fd)
            except (KeyError, ValueError, OSError):
                pass

    def close(self) -> None:
        self._watches.clear()
        if self._selector is not None:
            self._selector.close()
            self._selector = None

    # -- the clock -------------------------------------------------------------------------

    def start(self, kernel: Any) -> None:
        """Anchor virtual ``kernel.now`` to the wall clock now.

        The kernel calls this as each paced run begins, so the time a script spends between
        two ``net.run`` calls is not counted as lag.
        """
        self._anchor = (self.clock(), kernel.now)

    def stop(self) -> None:
        self._anchor = None

    def virtual_now(self, kernel: Any) -> int:
        """The virtual time the wall clock corresponds to (at least ``kernel.now``)."""
        if self._anchor is None:
            self.start(kernel)
        wall0, virt0 = self._anchor
        return max(kernel.now, virt0 + self.clock() - wall0)

    def wait(self, kernel: Any, due: int | None) -> bool:
        """Block until wall time reaches virtual ``due`` or something arrives from outside.

        Returns:
            True if outside sources were read (events may have been scheduled), False when
            ``due`` was reached, or when ``due`` is None and there is nothing to wait for.

        Raises:
            RealtimeLagError: the lag at ``due`` passed the hard limit.
        """
        if self._anchor is None:
            self.start(kernel)
        wall0, virt0 = self._anchor
        clock = self.clock
        while True:
            now_w = clock()
            virt = virt0 + now_w - wall0
            if due is not None and virt >= due:
                if self._watches and now_w - self._last_poll >= POLL_WHILE_LATE_NS and \
                        self._poll(kernel, 0.0):
                    return True
                self._sample(virt - due, due)
                return False
            if due is None and not self._watches:
                return False
            for flush in self.before_sleep:
                flush()
            timeout = _FOREVER_S if due is None else _select_timeout(due - virt)
            if self._watches:
                if self._poll(kernel, timeout):
                    return True
            else:
                time.sleep(timeout)

    def _poll(self, kernel: Any, timeout: float) -> bool:
        self._last_poll = self.clock()
        ready = self._selector.select(timeout)
        if not ready:
            return False
        wall0, virt0 = self._anchor
        # Outside events keep their order: a later run re-anchors virtual time (after a lagging
        # run it maps the same wall time to an earlier virtual time), so never go back.
        arrival = self._last_arrival = max(kernel.now, virt0 + self.clock() - wall0,
                                           self._last_arrival)
        for key, _mask in ready:
            watch = key.data
            if self._watches.get(key.fd) is watch:   # an earlier callback may have unwatched it
                self.lag.external_events += watch.callback(arrival) or 0
        return True

    def _sample(self, lag_ns: int, at_ns: int) -> None:
        self.lag.add(lag_ns, at_ns)
        limit = self.lag.limit_ns
        if limit is not None and lag_ns > limit:
            raise RealtimeLagError(
                f"real time: the simulation fell {_ms(lag_ns)} behind the wall clock at "
                f"t={format_time(at_ns)}, past the hard limit of {_ms(limit)}; it cannot keep up "
                "(make the scenario lighter, raise the limit, or run without real time)")
