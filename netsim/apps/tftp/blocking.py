"""One blocking loop that drives a sans-I/O session over any socket shaped like Python's.

Used by the OS client (``socket.socket`` and ``time.monotonic_ns``) and by the simulator
client (``host.socket(...)`` and ``host.kernel.now``): the socket needs ``sendto``,
``recvfrom``, ``settimeout`` (a receive that times out raises ``TimeoutError``, or
``BlockingIOError`` for an OS socket using ``SO_RCVTIMEO``), and the clock returns int ns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netsim.apps.tftp.session import Session, State, Stats
from netsim.sim.units import NS_PER_S

__all__ = ["TftpError", "run_session"]

RECV_SIZE = 65536 + 4
_MIN_WAIT = NS_PER_S // 1000                # never ask the socket for less than 1 ms
_DONE, _FAILED, _DALLYING = State.DONE, State.FAILED, State.DALLYING


class TftpError(Exception):
    """A transfer that failed: the TFTP error ``code`` and ``message``; ``sent`` is True when we
    sent the ERROR (a timeout, a bad OACK), False when the peer did."""

    def __init__(self, code: int, message: str, sent: bool):
        who = "local" if sent else "remote"
        super().__init__(f"TFTP error {code} ({who}): {message}")
        self.code = code
        self.message = message
        self.sent = sent


def run_session(session: Session, sock: Any, clock: Callable[[], int],
                on_finished: Callable[[Session], None] | None = None) -> Stats:
    """Run ``session`` to its end over ``sock``.

    Args:
        session: a fresh client (or server) session.
        sock: a datagram socket, already bound if needed; a receive that times out raises
            ``TimeoutError`` (or ``BlockingIOError``: an OS socket with ``SO_RCVTIMEO``).
        clock: returns the current time in ns.
        on_finished: called once when all data has moved (before any dallying), e.g. to
            commit a downloaded file.

    Returns:
        The session's statistics.

    Raises:
        TftpError: the transfer failed (an ERROR was sent or received).
    """
    sendto, recvfrom, receive = sock.sendto, sock.recvfrom, session.receive
    now = clock()
    for payload, dest in session.start(now):
        sendto(payload, dest)
    wait = None
    notified = False
    while True:
        state = session.state
        if state is _DONE or state is _FAILED:
            break
        if state is _DALLYING and not notified:
            notified = True
            if on_finished is not None:
                on_finished(session)
        # ``now`` is when the last datagram arrived: microseconds old, against deadlines of
        # milliseconds, so the per-packet path reads the clock once.
        deadline = session.next_deadline()
        if deadline is not None and now >= deadline:
            out = session.on_timer(now)
        else:
            # A recv timeout of one base RTO is enough: progress pushes the deadline back, and
            # a timeout with no packet always means the deadline has come (or nearly).
            want = session.rto_ns if deadline is None else min(session.rto_ns, deadline - now)
            if wait is None or want < wait * 0.5 or want > wait:
                wait = want
                sock.settimeout(max(want, _MIN_WAIT) / NS_PER_S)
            try:
                payload, addr = recvfrom(RECV_SIZE)
            except (TimeoutError, BlockingIOError):
                now = clock()
                continue
            now = clock()
            out = receive(payload, addr, now)
        for payload, dest in out:
            sendto(payload, dest)
    if not notified and session.finished and on_finished is not None:
        on_finished(session)
    if session.error is not None:
        raise TftpError(session.error.code, session.error.message, session.error_sent)
    return session.stats
