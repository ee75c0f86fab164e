"""A listening endpoint: a SYN queue, an accept queue, and SYN cookies when the first is full.

Design: the listener itself is not a :class:`Connection` in LISTEN. Each SYN creates a child
connection (``open_passive(listener_child=True)`` then ``receive(syn)``), which goes through
LISTEN -> SYN_RECEIVED -> ESTABLISHED in its own state machine. The driver registers the
returned child in its 4-tuple demultiplexer and feeds it later segments directly (or calls
:meth:`Listener.receive` again, which forwards to a known child). :meth:`Listener.accept`
hands out children that completed the handshake, in arrival order.

Two queues, as in Linux (``inet_connection_sock``), both bounded by the listen backlog:

* the **SYN queue** holds half-open children (SYN_RECEIVED). It is full when it holds
  ``backlog`` of them; a SYN beyond that gets a stateless SYN cookie (RFC 4987 3.6,
  :mod:`.syncookies`) instead of a child, so a flood of spoofed SYNs cannot lock the port. A
  returning ACK that carries a valid cookie makes an ESTABLISHED child at once.
* the **accept queue** holds established children not yet accepted. It is full beyond
  ``backlog`` of them (Linux's ``sk_acceptq_is_full`` lets ``backlog + 1`` wait); then a SYN
  is dropped (counted in ``dropped_syns``), and so is the ACK that would complete a handshake
  (:meth:`admits` tells the driver), so the peer retries later.

A half-open child sends its SYN,ACK ``synack_retries`` times more (Linux
``tcp_synack_retries``: 5, 63 s in all) before it gives up; ``syn_retries`` (6) is the
client's count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .connection import Connection
from .events import TcpConfig
from .segment import ACK, RST, SYN, TCP, get_option, rst_for
from .states import SYNCHRONIZED, State
from .syncookies import VALID_NS, check_cookie, make_cookie

__all__ = ["Listener", "SOMAXCONN"]

SOMAXCONN = 4096  # Linux net.core.somaxconn: the largest backlog listen() takes


class Listener:
    """Accepts connections on one local address.

    Args:
        local: ``(ip, port)`` listened on.
        backlog: bound of the SYN queue and of the accept queue (0 to :data:`SOMAXCONN`).
        isn: called with ``(local, remote)`` for each child's initial sequence number (the
            driver draws it from the network's seeded RNG).
        config: tunables copied to every child.
        syncookies: answer SYNs with cookies when the SYN queue is full (Linux
            ``tcp_syncookies = 1``); False drops them.
        secret: the cookie secret, or a function returning it (called on first need, so a
            driver can draw it from its RNG only when a flood happens).

    Attributes:
        dropped_syns: SYNs dropped (accept queue full, or SYN queue full without cookies).
        cookies_sent, cookies_accepted, cookies_failed: SYN cookie counters.
        overflows: handshake-completing ACKs dropped because the accept queue was full.
    """

    __slots__ = ("local", "backlog", "isn", "cfg", "_half", "_ready", "dropped_syns",
                 "_replies", "syncookies", "_secret", "cookies_sent", "cookies_accepted",
                 "cookies_failed", "overflows", "_last_cookie")

    def __init__(self, local: tuple, backlog: int, isn: Callable[[tuple, tuple], int],
                 config: TcpConfig | None = None, *, syncookies: bool = True,
                 secret: bytes | Callable[[], bytes] = b"netsim syncookie"):
        self.local = local
        self.backlog = min(max(backlog, 0), SOMAXCONN)
        self.isn = isn
        self.cfg = config or TcpConfig()
        # The two queues, by remote address. The driver feeds children directly, so a child
        # moves from the SYN queue to the accept queue when _purge() sees it synchronized.
        self._half: dict[tuple, Connection] = {}
        self._ready: dict[tuple, Connection] = {}
        self.dropped_syns = 0
        self._replies: list[tuple[tuple, TCP]] = []
        self.syncookies = syncookies
        self._secret = secret
        self.cookies_sent = self.cookies_accepted = self.cookies_failed = self.overflows = 0
        self._last_cookie: int | None = None

    # -- the queues ------------------------------------------------------------------------

    def _purge(self) -> None:
        """Move children that finished their handshake to the accept queue; forget closed
        ones (a half-open child that gave up, an established one that was reset)."""
        for remote, child in list(self._half.items()):
            st = child.state
            if st is State.CLOSED:
                del self._half[remote]
            elif st in SYNCHRONIZED:
                del self._half[remote]
                self._ready[remote] = child
        for remote in [r for r, c in self._ready.items() if c.state is State.CLOSED]:
            del self._ready[remote]

    def _child_of(self, remote: tuple) -> Connection | None:
        return self._half.get(remote) or self._ready.get(remote)

    @property
    def pending(self) -> int:
        """Children not yet accepted (half-open or established)."""
        self._purge()
        return len(self._half) + len(self._ready)

    @property
    def syn_queue(self) -> int:
        """Half-open children (SYN_RECEIVED)."""
        self._purge()
        return len(self._half)

    @property
    def accept_queue(self) -> int:
        """Established children waiting for :meth:`accept`."""
        self._purge()
        return len(self._ready)

    def _accept_full(self) -> bool:
        return len(self._ready) > self.backlog  # call after _purge()

    def admits(self, child: Connection) -> bool:
        """Whether ``child``'s handshake may complete now: False while the accept queue is
        full, and the driver then drops the completing ACK (Linux: a listen overflow) so that
        a retransmitted SYN,ACK and the peer's repeated ACK try again later."""
        self._purge()
        if child.state in SYNCHRONIZED or not self._accept_full():
            return True
        self.overflows += 1
        return False

    # -- segments --------------------------------------------------------------------------

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
            the child connection the segment went to (new on a SYN or on an ACK carrying a
            valid cookie, or an existing child), or None (RST ignored, SYN answered with a
            cookie or dropped, ACK answered with a RST, which :meth:`pending_replies`
            returns).
        """
        self._purge()
        child = self._child_of(remote)
        if child is not None:
            child.receive(seg, now)
            return child
        if seg.flags & RST:
            return None
        if seg.flags & ACK or not seg.flags & SYN:
            if seg.flags & ACK and not seg.flags & SYN:
                made = self._from_cookie(seg, remote, now)
                if made is not False:
                    return made
            rst = rst_for(seg) if seg.flags & ACK else None
            if rst is not None:
                self._replies.append((remote, rst))
            return None
        if self._accept_full():
            self.dropped_syns += 1
            return None
        if len(self._half) >= self.backlog:
            if not self.syncookies:
                self.dropped_syns += 1
                return None
            self._send_cookie(seg, remote, now)
            return None
        if isn is None:
            isn = self.isn(self.local, remote)
        child = self._child(remote, isn, now)
        child.receive(seg, now)
        self._half[remote] = child
        return child

    def _child(self, remote: tuple, iss: int, now: int) -> Connection:
        # Each child has its own copy of the tunables (a socket option set on one accepted
        # connection must not change its siblings), with the SYN,ACK retry count as its
        # SYN retry count: in SYN_RECEIVED that is the one the core uses.
        cfg = dataclasses.replace(self.cfg, syn_retries=self.cfg.synack_retries)
        child = Connection(self.local, remote, iss, cfg)
        child.open_passive(now, listener_child=True)
        return child

    def _secret_bytes(self) -> bytes:
        if callable(self._secret):
            self._secret = self._secret()
        return self._secret

    def _send_cookie(self, syn: TCP, remote: tuple, now: int) -> None:
        mss = get_option(syn, "MSS")
        cookie = make_cookie(self._secret_bytes(), self.local, remote, syn.seq,
                             mss if isinstance(mss, int) else None, now)
        self._replies.append((remote, TCP(
            sport=syn.dport, dport=syn.sport, seq=cookie, ack=(syn.seq + 1) & 0xFFFFFFFF,
            flags=SYN | ACK, window=min(self.cfg.rcv_buf, 0xFFFF),
            options=(("MSS", self.cfg.mss),))))
        self.cookies_sent += 1
        self._last_cookie = now

    def _from_cookie(self, seg: TCP, remote: tuple, now: int) -> Connection | None | bool:
        """An ACK for no child: the child its SYN cookie describes, None when the accept queue
        is full (the ACK is dropped), False when it carries no valid cookie (answer RST)."""
        # Linux checks cookies only within two minutes of sending one (no recent overflow:
        # an ACK is just a stray).
        if not self.syncookies or self._last_cookie is None or now - self._last_cookie > VALID_NS:
            return False
        client_isn, cookie = (seg.seq - 1) & 0xFFFFFFFF, (seg.ack - 1) & 0xFFFFFFFF
        mss = check_cookie(self._secret_bytes(), self.local, remote, client_isn, cookie, now)
        if mss is None:
            self.cookies_failed += 1
            return False
        if self._accept_full():
            self.overflows += 1
            return None
        # Rebuild the handshake the cookie stands for: the SYN it answered (with the MSS it
        # kept), the SYN,ACK that went out (already sent: discarded here), then this ACK.
        child = self._child(remote, cookie, now)
        child.receive(TCP(sport=seg.sport, dport=seg.dport, seq=client_isn, flags=SYN,
                          window=seg.window, options=(("MSS", mss),)), now)
        child.pending_segments()
        child.receive(seg, now)
        self._ready[remote] = child
        self.cookies_accepted += 1
        return child

    def accept(self) -> Connection | None:
        """Take the oldest child that completed its handshake, or None."""
        self._purge()
        for remote in self._ready:
            return self._ready.pop(remote)
        return None

    def pending_replies(self) -> list[tuple[tuple, TCP]]:
        """Take ``(remote, segment)`` replies not tied to a child: RSTs to stray ACKs and
        SYN cookie SYN,ACKs."""
        out, self._replies = self._replies, []
        return out
