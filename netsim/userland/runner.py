"""Starting an unmodified program on a virtual host: :func:`run_program`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from ..sim.units import parse_time
from .output import OutputLine
from .process import VProcess, machine_of

__all__ = ["run_program", "console"]


def run_program(host: Any, path: str | os.PathLike[str], argv: list[Any] | None = None, *,
                cwd: str | os.PathLike[str] | None = None, at: str | float | None = None,
                module: bool = False, stdin: str | None = None, check: bool = False,
                echo: bool = False, on_output: Callable[[OutputLine], None] | None = None,
                name: str | None = None) -> VProcess:
    """Run the Python program at ``path`` on ``host``, as ``python path argv...`` would.

    The program is not modified: its ``import socket``, ``time``, ``threading``, ``queue``,
    ``select``, ``selectors``, ``multiprocessing`` and ``os`` are bound to ``host`` and to the
    network's virtual time (see :mod:`netsim.userland`). It starts when the simulation runs
    (``net.run()``), at virtual time ``at``.

    Args:
        host: the virtual host.
        path: the program file, or with ``module=True`` a module name (``python -m``).
        argv: ``sys.argv[1:]`` (items are turned into strings).
        cwd: working directory for relative file names (default: the current one).
        at: when to start ("1s", a number of seconds); now by default.
        module: run ``path`` as a module name, like ``python -m http.server``.
        stdin: text ``input()`` and ``sys.stdin`` read.
        check: let an uncaught exception of the main thread propagate out of ``net.run()``
            (tests); by default it is printed to the program's stderr and the exit code is 1.
        echo: print the program's lines to the real stdout as they happen.
        on_output: called with each :class:`OutputLine` the program prints.
        name: label for output and error messages (default: the file name).

    Returns:
        The program's :class:`~netsim.userland.process.VProcess`: ``exitcode``, ``lines``,
        ``stdout_text``, ``text()``, ``wait()``, ``check()``, ``terminate()``, ``waiting()``.

    Raises:
        FileNotFoundError: no such program file.
        ValueError: ``at`` is in the past.
    """
    target = str(path)
    if not module and not os.path.isfile(target):
        raise FileNotFoundError(2, "No such file or directory", target)
    delay = 0
    if at is not None:
        delay = parse_time(at) - host.kernel.now
        if delay < 0:
            raise ValueError(f"cannot start {target!r} at {at!r}: that time has passed")
    args = [str(a) for a in (argv or [])]
    proc = VProcess(host, None if module else os.path.abspath(target),
                    [target if not module else target, *args],
                    cwd=None if cwd is None else os.fspath(cwd), module=target if module else None,
                    stdin=stdin, check=check, name=name)
    if echo:
        proc.listeners.append(
            lambda line: print(str(line), file=sys.stderr if line.stream == "stderr" else sys.stdout))
    if on_output is not None:
        proc.listeners.append(on_output)
    return proc.start(delay_ns=delay)


def console(net_or_host: Any):
    """The :class:`~netsim.userland.output.Console` of a network: every program's lines."""
    host = net_or_host if hasattr(net_or_host, "socket") else next(iter(net_or_host.hosts), None)
    if host is None:
        raise ValueError("the network has no host, so no program output")
    return machine_of(host).console
