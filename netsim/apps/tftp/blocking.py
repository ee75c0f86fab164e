"""One blocking loop that drives a sans-I/O session over any socket shaped like Python's.

Used by the OS client (``socket.socket`` and ``time.monotonic_ns``) and by the simulator
client (``host.socket(...)`` and ``host.kernel.now``): the socket needs ``sendto``,
``recvfrom``, ``settimeout`` (a receive that times out raises ``TimeoutError``, or
``BlockingIOError`` for an OS socket using ``SO_RCVTIMEO``), and the clock returns int ns.

The socket is armed to wake at the session's next deadline and no later, so a retransmission
goes out exactly one timeout after the last progress (1 s, then 1 s again after the next loss;
the timeout doubles only across consecutive timeouts of the same packet). On a real socket the
dally after the final ACK runs on a thread of its own, so a finished download returns at once.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from netsim.apps.tftp.paths import Refused
from netsim.apps.tftp.session import Session, State, Stats
from netsim.sim.units import NS_PER_S
from netsim.wire import tftp

__all__ = ["TftpError", "run_session"]

RECV_SIZE = 65536 + 4
# The shortest wait asked of a socket: SO_RCVTIMEO counts microseconds, and a timeout of 0
# would mean "never" there and "do not wait" for Python. A longer floor would make a timer
# that is due in less than it fire late.
_MIN_WAIT = NS_PER_S // 1_000_000
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
                on_finished: Callable[[Session], None] | None = None, *,
                background_dally: bool | None = None,
                commit: Callable[[Session], None] | None = None) -> Stats:
    """Run ``session`` to its end over ``sock``.

    Args:
        session: a fresh client (or server) session.
        sock: a datagram socket, already bound if needed; a receive that times out raises
            ``TimeoutError`` (or ``BlockingIOError``: an OS socket with ``SO_RCVTIMEO``).
        clock: returns the current time in ns.
        on_finished: called once when all data has moved (before any dallying), e.g. to
            commit a downloaded file.
        background_dally: return as soon as the final ACK is out and leave the dally (the
            linger that re-ACKs a repeated final DATA, RFC 1350) to a daemon thread on a
            duplicate of ``sock``, as a forking server leaves it to its child: the caller may
            close ``sock`` at once. None (the default) does so for a real ``socket.socket``;
            a simulated socket dallies here, in virtual time.
        commit: called once when all data has arrived and *before* the final ACK goes out
            (an upload's server puts the file in place). If it raises ``OSError`` or
            ``Refused``, that ACK is never sent: the peer gets an ERROR (the code of
            :func:`netsim.apps.tftp.server_files.error_for`, or the refusal's) and
            ``TftpError`` is raised, so a client is never told "stored" about a file that
            is not.

    Returns:
        The session's statistics.

    Raises:
        TftpError: the transfer failed (an ERROR was sent or received).
    """
    if background_dally is None:
        background_dally = isinstance(sock, socket.socket)
    now = clock()
    for payload, dest in session.start(now):
        sock.sendto(payload, dest)
    finished = False

    def on_dally() -> bool:
        nonlocal finished
        finished = True
        if on_finished is not None:
            on_finished(session)
        if not background_dally:
            return False
        twin = sock.dup()
        threading.Thread(target=_linger, args=(session, twin, clock), name="tftp-dally",
                         daemon=True).start()
        return True

    first = None if commit is None else _committer(session, sock, commit)
    _drive(session, sock, clock, now, on_dally, first)
    if not finished and session.finished and on_finished is not None:
        on_finished(session)
    if session.error is not None:
        raise TftpError(session.error.code, session.error.message, session.error_sent)
    return session.stats


def _committer(session: Session, sock: Any, commit: Callable[[Session], None]
               ) -> Callable[[], None]:
    def run() -> None:
        try:
            commit(session)
        except (OSError, Refused) as exc:
            if isinstance(exc, Refused):
                code, message = exc.code, exc.message
            else:
                from netsim.apps.tftp.server_files import error_for
                code, message = error_for(exc)
            sock.sendto(tftp.Error(code, message).encode(), session.peer)
            raise TftpError(code, message, sent=True) from exc
    return run


def _linger(session: Session, sock: Any, clock: Callable[[], int]) -> None:
    """The dally of a finished transfer, on its own thread and socket (closed at the end)."""
    try:
        _drive(session, sock, clock, clock(), None)
    except OSError:
        pass             # the socket went away: nobody is left to re-ACK for
    finally:
        sock.close()


def _drive(session: Session, sock: Any, clock: Callable[[], int], now: int,
           on_dally: Callable[[], bool] | None, commit: Callable[[], None] | None = None) -> None:
    """Feed ``session`` from ``sock`` and its timer until it is DONE or FAILED, or until it
    starts dallying and ``on_dally()`` (called once then) returns True. ``commit()`` runs once,
    as soon as the session has finished and before what it answered is sent (the final ACK);
    it raises to stop the transfer instead."""
    sendto, recvfrom, receive = sock.sendto, sock.recvfrom, session.receive
    wait = None
    while True:
        state = session.state
        if state is _DONE or state is _FAILED:
            return
        if state is _DALLYING and on_dally is not None:
            if on_dally():
                return
            on_dally = None
        # ``now`` is when the last datagram arrived: microseconds old, against deadlines of
        # milliseconds, so the per-packet path reads the clock once.
        deadline = session.next_deadline()
        if deadline is not None and now >= deadline:
            out = session.on_timer(now)
        else:
            # Wait for a packet, but never past the deadline: a socket left armed for longer
            # retransmits late (it kept waiting 2 s after a timeout, when the timer had dropped
            # back to 1 s; issue 10). Re-arming costs a system call, so it is done only when
            # the wait changes: in the steady state each packet pushes the deadline back by
            # exactly one timeout, and the wait stays the same.
            want = session.rto_ns if deadline is None else min(session.rto_ns, deadline - now)
            if want != wait:
                wait = want
                sock.settimeout(max(want, _MIN_WAIT) / NS_PER_S)
            try:
                payload, addr = recvfrom(RECV_SIZE)
            except (TimeoutError, BlockingIOError):
                now = clock()
                continue
            now = clock()
            out = receive(payload, addr, now)
        if commit is not None and session.finished:
            commit, run = None, commit
            run()
        for payload, dest in out:
            sendto(payload, dest)
