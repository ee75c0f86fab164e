"""A listening endpoint: makes a child :class:`Connection` per SYN, up to a backlog.

Design: the listener itself is not a :class:`Connection` in LISTEN. Each SYN creates a child
connection (``open_passive(listener_child=True)`` then ``receive(syn)``), which goes through
LISTEN -> SYN_RECEIVED -> ESTABLISHED in its own state machine. The driver registers the
returned child in its 4-tuple demultiplexer and feeds it later segments directly (or calls
:meth:`Listener.receive` again, which forwards to a known child). :meth:`Listener.accept`
hands out children that completed the handshake, in arrival order.

Backlog: at most ``backlog`` (at least 1) children that were not yet accepted, half-open or
established, exist at once; a SYN beyond that is dropped silently (counted in
``dropped_syns``), so the peer retransmits it later (as Linux does when its queue is full).
"""

from __future__ import annotations

from collections.abc import Callable

from .connection import Connection
from .events import TcpConfig
from .segment import ACK, RST, SYN, TCP, rst_for
from .states import State

__all__ = ["Listener"]


class Listener:
    """Accepts connections on one local address.

    Args:
        local: ``(ip, port)`` listened on.
        backlog: most not-yet-accepted connections (values below 1 count as 1).
        isn: called with ``(local, remote)`` for each child's initial sequence number (the
            driver draws it from the network's seeded RNG).
        config: tunables copied to every child.
    """

    __slots__ = ("local", "backlog", "isn", "cfg", "children", "dropped_syns", "_replies")

    def __init__(self, local: tuple, backlog: int, isn: Callable[[tuple, tuple], int],
                 config: TcpConfig | None = None):
        self.local = local
        self.backlog = max(backlog, 1)
        self.isn = isn
        self.cfg = config
        self.children: dict[tuple, Connection] = {}
        self.dropped_syns = 0
        self._replies: list[tuple[tuple, TCP]] = []

    def _purge(self) -> None:
        for remote in [r for r, c in self.children.items() if c.state is State.CLOSED]:
            del self.children[remote]

    @property
    def pending(self) -> int:
        """Children not yet accepted (half-open or established)."""
        self._purge()
        return len(self.children)

    def receive(self, seg: TCP, remote: tuple, now: int,
                isn: int | None = None) -> Connection | None:
        """Handle a segment addressed to the listening port (RFC 9293 3.10.7.2 LISTEN).

        Args:
            seg: the segment.
            remote: ``(ip, port)`` it came from.
            now: virtual time (ns).
            isn: the ISN for a new child instead of ``isn()``: a SYN that ended a TIME_WAIT
                connection comes with one above that connection's sequence space
                (:meth:`Connection.accept_new_syn`, RFC 6191).

        Returns:
            the child connection the segment went to (new on a SYN, or an existing child),
            or None (RST ignored, SYN dropped over the backlog, ACK answered with a RST, which
            :meth:`pending_replies` returns).
        """
        self._purge()
        child = self.children.get(remote)
        if child is not None:
            child.receive(seg, now)
            return child
        if seg.flags & RST:
            return None
        if seg.flags & ACK or not seg.flags & SYN:
            rst = rst_for(seg) if seg.flags & ACK else None
            if rst is not None:
                self._replies.append((remote, rst))
            return None
        if len(self.children) >= self.backlog:
            self.dropped_syns += 1
            return None
        if isn is None:
            isn = self.isn(self.local, remote)
        child = Connection(self.local, remote, isn, self.cfg)  # the child copies cfg
        child.open_passive(now, listener_child=True)
        child.receive(seg, now)
        self.children[remote] = child
        return child

    def accept(self) -> Connection | None:
        """Take the oldest child that completed its handshake, or None."""
        self._purge()
        for remote, child in self.children.items():
            if any(new is State.ESTABLISHED for _, new, _, _ in child.sm.history):
                del self.children[remote]
                return child
        return None

    def pending_replies(self) -> list[tuple[tuple, TCP]]:
        """Take ``(remote, segment)`` replies not tied to a child (RSTs to stray ACKs)."""
        out, self._replies = self._replies, []
        return out
