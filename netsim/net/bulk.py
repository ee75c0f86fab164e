"""Receptions of a flood counted in bulk: the hosts a broadcast does not concern.

In a flat network of N hosts every broadcast ARP request reaches every host, and almost all
of them are neither its target nor hold an entry for its sender (RFC 826 "Packet
Reception": such a host only counts the packet). Made one by one that is N^2 receptions of a
few counter increments each, spread over N hosts' memory (issue 16). A :class:`Ledger`
makes them one operation per flood: it counts how many quiet frames its members received,
and each member adds what it missed when one of its counters is read.

What a quiet reception does, exactly (``Host.receive``'s fast path, via ``flood`` and
``_Arrivals.run``): the interface's ``rx_frames`` += 1 and ``rx_bytes`` += size, and the
node's counters named by ``quiet_counters`` += 1 each. No tap, no note, nothing scheduled.
So a reception is owed to a member, not made, and these are the only places it shows:

* the interface's ``rx_frames``/``rx_bytes`` (properties that :meth:`Member.settle` first);
* the node's counters dict (``Host.counters`` settles its interfaces' members first).

Every other reader goes through one of those. Writers add to the stored values, which
stays right because a member's true count is *stored + owed*.

Who is a member (decided when the flood plan is made, :meth:`Ledger.build`): a port whose
cable is perfect (no loss, rule, duplication, reordering), whose far end is an interface
with no tap on a node that offers ``quiet_frame``/``quiet_counters``, and whose cable has
the ledger's bandwidth and delay (so every member's copy arrives at the same instant).
A member stops being one (:meth:`Member.leave`) when a tap is added to its interface
(:class:`~netsim.net.interface.TapList`); a new plan (any Link setting changed) closes the
ledger and builds another.

Who is concerned by a frame is looked up, not asked: ``quiet_frame(frame)`` gives the frame's
*keys* (for an ARP request: its target and its sender address), and the ledger keeps, per
key, the members that may care (an own address; an ARP cache or pending entry). Nodes add a
key when they gain it (:func:`note_interest`) and never remove one, so the index holds a
superset: a member that turns out not to care takes the ordinary path, which decides
exactly as before. Who is concerned is decided when the switch floods, and the copies land a
little later: a member that gains one of the frame's keys in between (it learned the sender
from an earlier frame still arriving) makes that flood deliver every copy one by one
(:meth:`Ledger.weight` tells).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .interface import Interface

__all__ = ["Ledger", "Member", "note_interest"]

# cumulative byte totals kept before the ledger settles every member and starts again
_COMPACT_AT = 4096


class Member:
    """One interface of a ledger: the quiet frames it received and has not yet counted."""

    __slots__ = ("ledger", "iface", "counters", "names", "base")

    def __init__(self, ledger: Ledger, iface: Interface, counters: dict, names: tuple):
        self.ledger: Ledger | None = ledger
        self.iface = iface
        self.counters = counters
        self.names = names
        self.base = ledger.count      # the ledger's count when this member last settled

    def settle(self) -> None:
        """Add the quiet frames received since the last settle to the stored counters."""
        led = self.ledger
        if led is None:
            return
        frames = led.count - self.base
        if frames:
            iface = self.iface
            iface._rx_frames += frames
            iface._rx_bytes += led.cum_bytes[led.count - led.origin] \
                - led.cum_bytes[self.base - led.origin]
            counters = self.counters
            for name in self.names:
                counters[name] += frames
            self.base = led.count

    def skip_next(self) -> None:
        """Settle, and let the next bump pass this member by (it is delivered in person or
        not at all)."""
        self.settle()
        self.base = self.ledger.count + 1

    def leave(self) -> None:
        """Settle and stop being a member (a tap came, or the ledger closed)."""
        led = self.ledger
        if led is None:
            return
        self.settle()
        led.evictions += 1
        self.ledger = None
        if self.iface.bulk is self:
            self.iface.bulk = None


class Ledger:
    """The quiet frames delivered to the members of one flood plan with one cable setting.

    ``count`` is how many bumps there were; ``cum_bytes[k - origin]`` the bytes of the
    first ``k`` of them (from ``origin`` on: older totals are settled into every member).
    """

    __slots__ = ("count", "origin", "cum_bytes", "members", "interest", "quiet_frame",
                 "evictions", "alive", "__weakref__")

    def __init__(self, quiet_frame: Any):
        self.count = 0
        self.origin = 0
        self.cum_bytes: list[int] = [0]
        self.members: list[Member] = []
        self.interest: dict[Any, set[Member]] = {}
        self.quiet_frame = quiet_frame
        self.evictions = 0      # members that left: a flood in flight for them is expanded
        self.alive = True

    def join(self, iface: Interface, counters: dict, names: tuple, keys) -> Member:
        rec = Member(self, iface, counters, names)
        iface.bulk = rec
        self.members.append(rec)
        for key in keys:
            self.interest.setdefault(key, set()).add(rec)
        return rec

    def concerned(self, keys) -> set[Member] | tuple:
        """The members that may care about a frame with these keys."""
        interest = self.interest
        found: set[Member] | tuple = ()
        for key in keys:
            recs = interest.get(key)
            if recs:
                found = recs if not found else found | recs
        return found

    def weight(self, keys) -> int:
        """How many (key, member) pairs the index holds for these keys. It only grows, so an
        unchanged weight means nobody became concerned with a frame of these keys."""
        interest = self.interest
        return sum(len(interest.get(key, ())) for key in keys)

    def bump(self, size: int, skipped: list[Member]) -> None:
        """Every member but ``skipped`` received one quiet frame of ``size`` bytes."""
        for rec in skipped:
            if rec.ledger is self:
                rec.skip_next()
        self.count += 1
        cum = self.cum_bytes
        cum.append(cum[-1] + size)
        if len(cum) > _COMPACT_AT:
            self._compact()

    def _compact(self) -> None:
        # O(members) once per _COMPACT_AT bumps: what a member owes keeps fitting the list
        for rec in self.members:
            if rec.ledger is self:
                rec.settle()
        self.origin = self.count
        self.cum_bytes = [0]

    def close(self) -> None:
        """Settle every member and end the ledger (its plan is being rebuilt)."""
        if not self.alive:
            return
        for rec in self.members:
            if rec.ledger is self:
                rec.leave()
        self.alive = False
        self.members = []
        self.interest = {}


def note_interest(iface: Interface, key: Any) -> None:
    """A node gained ``key`` (an address, an ARP entry) on ``iface``: frames with that key
    may concern it from now on."""
    rec = iface.bulk
    if rec is not None and rec.ledger is not None:
        rec.ledger.interest.setdefault(key, set()).add(rec)
