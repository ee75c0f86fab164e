"""Keeping programs off the real machine, and in their own working directory.

Two interpreter-wide hooks, installed the first time a program runs:

* an audit hook (PEP 578) that refuses, while a program thread runs, the real operations a
  module netsim did not virtualise would perform: opening or using a real socket, starting a
  real process, sleeping in wall-clock time (Python 3.12 and later audit that). The program gets one
  :class:`~netsim.userland.errors.NotVirtualisedError` naming the call and the module that made
  it, never a silent fallback to the real network. Outside program threads the hook does
  nothing (netsim's real-socket TFTP driver and the tests are unaffected).
* a greenlet switch hook that ``chdir``s into a program's working directory while one of its
  threads runs and back when the scheduler takes over, so ``open("x")``, ``os.listdir()`` and
  ``pathlib`` all see the per-host directory. Only programs given a ``cwd`` cost anything.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import greenlet

from . import sched
from .errors import NotVirtualisedError

__all__ = ["install", "use_cwd", "allow_real"]

_WATCHED = {
    "socket.__new__": "a real socket",
    "socket.bind": "a real socket (bind)",
    "socket.connect": "a real socket (connect)",
    "socket.sendto": "a real socket (sendto)",
    "socket.sendmsg": "a real socket (sendmsg)",
    "socket.getaddrinfo": "real name resolution (getaddrinfo)",
    "socket.gethostbyname": "real name resolution (gethostbyname)",
    "socket.gethostbyaddr": "real name resolution (gethostbyaddr)",
    "socket.getnameinfo": "real name resolution (getnameinfo)",
    "subprocess.Popen": "subprocess (a real program)",
    "os.system": "os.system (a real program)",
    "os.exec": "os.exec* (a real program)",
    "os.posix_spawn": "os.posix_spawn (a real program)",
    "os.spawn": "os.spawn* (a real program)",
    "os.fork": "os.fork",
    "os.forkpty": "os.forkpty",
    "time.sleep": "the real time.sleep (wall-clock time)",   # audited from Python 3.12
}
_OWN_DIR = str(Path(__file__).resolve().parent)
_installed = False
_allowed = 0


@contextlib.contextmanager
def allow_real():
    """Let netsim's own code make a watched call on a program's behalf."""
    global _allowed
    _allowed += 1
    try:
        yield
    finally:
        _allowed -= 1


def _culprit() -> str:
    """The module (outside netsim and the C call) that made the refused call."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "?")
        if not frame.f_code.co_filename.startswith(_OWN_DIR) and name not in ("socket", "subprocess"):
            return name
        frame = frame.f_back
    return "?"


def _audit(event: str, args: tuple) -> None:
    what = _WATCHED.get(event)
    if what is None or _allowed or sched.current() is None:
        return
    module = _culprit()
    raise NotVirtualisedError(
        f"{what} from module {module!r}",
        "netsim gives programs virtual socket, time, threading, queue, select, selectors, "
        "multiprocessing and os modules, and loads socketserver, http.server, http.client and "
        "urllib.request against them; this module was imported for real and reached for the "
        "real machine")


def install() -> None:
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True


# -- working directories ---------------------------------------------------------------------

_cwd_hooked = False
_entered: str | None = None   # the program directory we chdir'ed into, if any
_saved: str | None = None     # where the scheduler was before that
_previous_trace = None


def use_cwd() -> None:
    """Start following program working directories on greenlet switches."""
    global _cwd_hooked, _previous_trace
    if not _cwd_hooked:
        _previous_trace = greenlet.settrace(_on_switch)
        _cwd_hooked = True


def _on_switch(event: str, args: tuple) -> None:
    global _entered, _saved
    if _previous_trace is not None:
        _previous_trace(event, args)
    vt = sched.thread_of(args[1])
    want = vt.proc.cwd if vt is not None else None
    if want == _entered:
        return
    try:
        if _entered is None:
            _saved = os.getcwd()
        os.chdir(want if want is not None else _saved)
    except OSError:
        return  # the directory vanished: the program's next file access will say so
    _entered = want


def entered(path: str) -> None:
    """A program thread changed directory itself (``os.chdir``): we are now in ``path``."""
    global _entered, _saved
    if _entered is None:
        _saved = os.getcwd()
    _entered = path
