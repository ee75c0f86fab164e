"""``os`` and ``sys`` for programs on virtual hosts: the process-level facts are the virtual
process's (pid, argv, working directory, environment, stdout); everything else is the real
module's. Starting real programs (``os.system``, ``fork``, ``exec*``, ``spawn*``) is refused
with a clear error; ``os.kill`` reaches virtual processes of the same host.
"""

from __future__ import annotations

import collections
import os as _os
import sys as _sys
import types
from typing import TYPE_CHECKING, Any

from . import guard
from .errors import NotVirtualisedError

if TYPE_CHECKING:
    from .process import VProcess

__all__ = ["make_os", "make_sys"]

_REFUSED = ("system", "popen", "fork", "forkpty", "execv", "execve", "execl", "execle", "execlp",
            "execlpe", "execvp", "execvpe", "spawnv", "spawnve", "spawnl", "spawnle", "spawnlp",
            "spawnlpe", "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp", "startfile",
            "killpg", "setsid", "setpgid")
CPU_COUNT = 4   # what os.cpu_count() says on a virtual host: the same on every machine


def _refuse(name: str) -> Any:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise NotVirtualisedError(f"os.{name}", "programs on virtual hosts cannot start real "
                                  "programs or processes; use multiprocessing")
    refused.__name__ = name
    return refused


def make_os(proc: VProcess) -> types.ModuleType:
    m = types.ModuleType("os", _os.__doc__)
    m.__dict__.update({k: v for k, v in _os.__dict__.items() if not k.startswith("__")})
    for name in _REFUSED:
        if hasattr(_os, name):
            setattr(m, name, _refuse(name))
    environ = proc.environ

    def getcwd() -> str:
        return proc.cwd if proc.cwd is not None else _os.getcwd()

    def chdir(path: Any) -> None:
        target = _os.path.abspath(_os.path.join(getcwd(), _os.fspath(path)))
        if not _os.path.isdir(target):
            raise FileNotFoundError(2, "No such file or directory", _os.fspath(path))
        proc.cwd = target
        guard.use_cwd()
        _os.chdir(target)
        guard.entered(target)

    def getenv(key: str, default: Any = None) -> Any:
        return environ.get(key, default)

    def putenv(key: str, value: str) -> None:
        environ[key] = value

    def unsetenv(key: str) -> None:
        environ.pop(key, None)

    def kill(pid: int, sig: int) -> None:
        target = next((p for root in proc.machine.roots for p in root.tree()
                       if p.host is proc.host and p.pid == pid and not p.done), None)
        if target is None:
            raise ProcessLookupError(3, "No such process")
        if sig != 0:
            target.terminate(sig)

    def _exit(status: int) -> None:
        proc.exitcode = status
        proc.terminate()

    real = _os.uname()
    uname = _os.uname_result((real.sysname, proc.host.name, real.release, real.version,
                              real.machine))
    m.__dict__.update(
        getpid=lambda: proc.pid,
        getppid=lambda: proc.parent.pid if proc.parent is not None else 1,
        getcwd=getcwd, getcwdb=lambda: _os.fsencode(getcwd()), chdir=chdir,
        environ=environ, getenv=getenv, putenv=putenv, unsetenv=unsetenv,
        kill=kill, _exit=_exit, cpu_count=lambda: CPU_COUNT, uname=lambda: uname,
        sched_getaffinity=lambda pid: set(range(CPU_COUNT)),
        # nothing forks on a virtual host, so fork handlers never run
        register_at_fork=lambda **handlers: None,
    )
    return m


class _SysModule(types.ModuleType):
    """Everything not set on it comes from the real ``sys``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_sys, name)


def make_sys(proc: VProcess) -> types.ModuleType:
    m = _SysModule("sys", _sys.__doc__)
    argv = list(proc.argv)
    m.argv = argv
    m.orig_argv = [_sys.executable, *argv]
    m.stdout = m.__stdout__ = proc.stdout
    m.stderr = m.__stderr__ = proc.stderr
    m.stdin = m.__stdin__ = _Stdin(proc)
    m.modules = collections.ChainMap(proc.importer.modules, _sys.modules)
    m.path = [*proc.search_path, *_sys.path]
    m.exit = _sys.exit
    m.flags = _sys.flags
    m.excepthook = m.__excepthook__ = lambda t, v, tb: proc.stderr.write(
        "".join(__import__("traceback").format_exception(t, v, tb)))
    return m


class _Stdin:
    """``sys.stdin``: the text given as ``stdin=`` to run_program."""

    def __init__(self, proc: VProcess):
        self._proc = proc

    def readline(self, size: int = -1) -> str:
        from .process import stdin_readline
        return stdin_readline(self._proc)

    def read(self, size: int = -1) -> str:
        lines, self._proc.stdin_lines = "".join(self._proc.stdin_lines), collections.deque()
        return lines

    def __iter__(self) -> Any:
        while line := self.readline():
            yield line

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("a virtual program's stdin has no file descriptor")

    encoding = "utf-8"

