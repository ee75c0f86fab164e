"""Unmodified Python programs on virtual hosts, in virtual time.

``host.run_program("server.py", argv=[...])`` runs a program as ``python server.py ...`` would,
except that its system modules belong to the virtual host:

* ``socket`` opens sockets of the host's simulated stack; names resolve in the simulated
  network;
* ``time`` is the network's virtual clock (``sleep`` suspends in virtual time);
* ``threading`` and ``_thread`` threads are kernel tasks; locks, conditions, events,
  semaphores, barriers and timers block in virtual time; ``threading.local`` is per thread;
* ``queue``, ``selectors``, ``socketserver``, ``http.server``, ``http.client``,
  ``urllib.request``, ``argparse`` are the stdlib's own code, loaded fresh for the process
  on top of the virtual modules;
* ``multiprocessing`` starts virtual processes with spawn semantics (``Process``, ``Pool``,
  ``Queue``, ``Manager``...); ``os.getpid`` and ``sys.argv`` are the process's;
* ``print`` goes to the network's console, each line stamped ``[1.003 s h2]``.

Other imports are the ordinary modules. What is not simulated (``subprocess``, ``ssl``,
``asyncio``, a module that reaches for a real socket or the real clock) raises
:class:`NotVirtualisedError` naming it. When every thread of a program waits on another one
and nothing else can happen, ``net.run()`` raises :class:`DeadlockError` naming each thread and
the line it waits on.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_program", "console", "VProcess", "OutputLine", "NotVirtualisedError",
           "NotVirtualisedImportError", "DeadlockError", "ProgramError"]

_LAZY = {
    "run_program": "runner", "console": "runner", "VProcess": "process", "OutputLine": "output",
    "NotVirtualisedError": "errors", "NotVirtualisedImportError": "errors",
    "DeadlockError": "errors", "ProgramError": "errors",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
