"""Virtual processes: a program's threads, modules, descriptors and output on one host.

A :class:`VProcess` is what ``python program.py`` is on a real machine: a pid, ``sys.argv``,
a working directory and environment, its own copies of the modules it imports (see
:mod:`.importer`), a descriptor table of sockets, a main thread and the threads it starts.
Exit follows CPython: the main thread's end waits for non-daemon threads, terminates daemonic
child processes and joins the others (``multiprocessing``'s exit function), ends daemon
threads, then closes every descriptor still open, as the OS does.

One :class:`Machine` per network holds the console, the pid counters and the idle check that
turns "every thread waits on another and nothing else can happen" into a :class:`DeadlockError`.
"""

from __future__ import annotations

import linecache
import os
import signal
import sys
import traceback
import weakref
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import guard, sched
from .errors import DeadlockError, ProgramError
from .output import Console, OutputLine, Stream
from .sched import TIMED_OUT, Terminated, VThread

__all__ = ["Machine", "VProcess", "machine_of"]

_PKG_DIR = str(Path(__file__).resolve().parent)
_NETSIM_DIR = str(Path(__file__).resolve().parent.parent)
_MACHINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PROXY_VARS = ("http_proxy", "https_proxy", "ftp_proxy", "all_proxy", "no_proxy")


def machine_of(host: Any) -> Machine:
    """The userland state of ``host``'s network (created on first use)."""
    kernel = host.kernel
    machine = _MACHINES.get(kernel)
    if machine is None:
        machine = _MACHINES[kernel] = Machine(kernel)
    return machine


class Machine:
    """Per-network state: the console, pids per host, and the deadlock check."""

    def __init__(self, kernel: Any):
        self.kernel = kernel
        self.console = Console()
        self._pids: dict[str, int] = {}
        self.roots: list[VProcess] = []
        kernel.idle_hooks.append(self.check_deadlock)

    def new_pid(self, host: Any) -> int:
        # Each host is its own machine, so pids repeat across hosts as they would.
        pid = self._pids.get(host.name, 1000)
        self._pids[host.name] = pid + 1
        return pid

    def check_deadlock(self) -> None:
        """Idle hook: the network has no event left. A program none of whose threads waits on
        the network (or a timer) but some of which wait on each other can never go on."""
        found = []
        for root in self.roots:
            threads = [vt for p in root.tree() if not p.done for vt in p.threads
                       if not vt.done and not vt.internal]
            if threads and all(vt.sync_wait for vt in threads):
                found.append((root, threads))
        if not found:
            return
        lines, waits = [], []
        for root, threads in found:
            lines.append(f"deadlock in {root.label} on {root.host.name}: every thread waits "
                         "on another one and nothing else can happen")
            for vt in threads:
                where = waiting_at(vt)
                who = f"pid {vt.proc.pid} {vt.name}"
                waits.append((who, vt.sync_wait, where))
                lines.append(f"  {who}: {vt.sync_wait} at {where}")
        raise DeadlockError("\n".join(lines), waits)


def waiting_at(vt: VThread) -> str:
    """``file:line`` of the program code a suspended thread is waiting in."""
    if vt is vt.proc.main and vt.proc.exiting:
        return f"the end of {vt.proc.label}"
    frame = getattr(vt.task.glet, "gr_frame", None) if vt.task is not None else None
    user = vt.proc.user_files
    fallback = None
    while frame is not None:
        name = frame.f_code.co_filename
        if name in user:
            code = linecache.getline(name, frame.f_lineno).strip()
            return f"{Path(name).name}:{frame.f_lineno}" + (f" ({code})" if code else "")
        if fallback is None and not name.startswith(_NETSIM_DIR):
            fallback = f"{Path(name).name}:{frame.f_lineno}"
        frame = frame.f_back
    return fallback or "(not in program code)"


class VProcess:
    """One running program (or a child process of one) on a virtual host.

    Attributes:
        host: the host it runs on.
        pid: its process id (``os.getpid()`` inside).
        argv: ``sys.argv``.
        exitcode: None while running, then 0, the ``sys.exit`` code, 1 after an uncaught
            exception, or ``-signal`` when terminated.
        lines: what this program and its children printed (:class:`OutputLine` objects).
    """

    def __init__(self, host: Any, path: str | None, argv: list[str], *, parent: VProcess | None = None,
                 cwd: str | None = None, name: str | None = None, module: str | None = None,
                 stdin: str | None = None, check: bool = False, env: dict | None = None):
        from .importer import Importer
        self.host = host
        self.kernel = host.kernel
        self.machine = machine_of(host)
        self.pid = self.machine.new_pid(host)
        self.parent = parent
        self.root: VProcess = parent.root if parent is not None else self
        self.path = path
        self.module = module
        self.argv = list(argv)
        self.cwd = cwd if cwd is None else os.path.abspath(cwd)
        self.label = name or (Path(path).name if path else f"-m {module}")
        self.check_errors = check
        if env is None:
            env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARS}
        self.environ = env
        self.exitcode: int | None = None
        self.done = False
        self.started = False
        self.exiting = False
        self.bootstrapping = False
        self.children: list[VProcess] = []
        self.mp_children: list[Any] = []     # multiprocessing.Process objects it started
        self.atexit: list[tuple] = []        # threading._register_atexit callbacks
        self.threads: list[VThread] = []
        self.main: VThread | None = None
        self.joiners: list[VThread] = []
        self.lines: list[OutputLine] = []
        self.listeners: list[Any] = []       # called with each line of the program tree
        self.stdout = Stream(lambda s, t: self._emit("stdout", s, t), lambda: self.kernel.now, "stdout")
        self.stderr = Stream(lambda s, t: self._emit("stderr", s, t), lambda: self.kernel.now, "stderr")
        self.stdin_lines: deque[str] = deque((stdin or "").splitlines(keepends=True))
        self.fds: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self.held: dict[int, Any] = {}       # fd -> shared socket, closed at exit
        self._next_fd = 3
        self._idents = 0
        self.thread_counter = 0
        self.child_counter = 0
        self.process_obj: Any = None         # multiprocessing.current_process()
        self.default_timeout: float | None = None
        self.user_files: set[str] = set()
        self.search_path = [os.path.dirname(os.path.abspath(path))] if path else []
        self.importer = Importer(self)
        if parent is None:
            self.machine.roots.append(self)
        else:
            parent.children.append(self)

    # -- identity ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        state = "running" if not self.done else f"exit {self.exitcode}"
        return f"<VProcess {self.label} pid {self.pid} on {self.host.name} {state}>"

    def new_ident(self) -> int:
        self._idents += 1
        return (self.pid << 16) | self._idents

    def tree(self) -> Iterator[VProcess]:
        yield self
        for child in self.children:
            yield from child.tree()

    # -- output -----------------------------------------------------------------------------

    def _emit(self, stream: str, text: str, time_ns: int) -> None:
        line = OutputLine(time_ns, self.host.name, self.pid, self.root.label, stream, text)
        self.root.lines.append(line)
        self.machine.console.emit(line)
        for fn in tuple(self.root.listeners):
            fn(line)

    @property
    def stdout_text(self) -> str:
        """Everything this program (and its children) wrote to stdout, without stamps."""
        return "".join(x.text + "\n" for x in self.lines if x.stream == "stdout")

    @property
    def stderr_text(self) -> str:
        return "".join(x.text + "\n" for x in self.lines if x.stream == "stderr")

    def text(self) -> str:
        """The program's lines as ``[1.003 s h2] ...``."""
        return "\n".join(str(x) for x in self.lines)

    # -- descriptors --------------------------------------------------------------------------

    def add_fd(self, sock: Any, shared: Any) -> int:
        fd = self._next_fd
        self._next_fd += 1
        self.fds[fd] = sock
        self.held[fd] = shared
        return fd

    def drop_fd(self, fd: int) -> Any:
        self.fds.pop(fd, None)
        return self.held.pop(fd, None)

    def lookup_fd(self, fd: int) -> Any:
        return self.fds.get(fd)

    # -- threads ------------------------------------------------------------------------------

    def start_thread(self, fn: Any, args: tuple, name: str, daemon: bool, obj: Any = None,
                     internal: bool = False, delay_ns: int = 0) -> VThread:
        """Run ``fn(*args)`` as a new thread of this process (a kernel task)."""
        vt = VThread(self, name, daemon, obj, internal)
        task = self.kernel.spawn(self._run_thread, vt, fn, args, name=f"{self.label}[{self.pid}] {name}",
                                 node=self.host, delay_ns=delay_ns)
        vt.task = task
        sched.register(task.glet, vt)
        self.threads.append(vt)
        return vt

    def _run_thread(self, vt: VThread, fn: Any, args: tuple) -> None:
        try:
            if not vt.killed:
                fn(*args)
            elif vt is self.main:   # terminated before it ever ran
                self.finish(self.exitcode if self.exitcode is not None else -signal.SIGTERM,
                            abort=True)
        except (Terminated, SystemExit):
            pass
        except BaseException:
            if vt is self.main and self.check_errors:
                raise   # run_program(check=True): out of net.run(), with the kernel's note
            if not vt.killed:
                self.report_thread_exception(vt, sys.exc_info()[1])
        finally:
            self.thread_ended(vt)

    def thread_ended(self, vt: VThread) -> None:
        vt.done = True
        if vt in self.threads:
            self.threads.remove(vt)
        if vt.task is not None:
            sched.unregister(vt.task.glet)
        joiners, vt.joiners = vt.joiners, []
        for j in joiners:
            sched.wake(j)

    def join_thread(self, target: VThread, timeout: float | None, what: str) -> bool:
        """Wait in the running thread until ``target`` ends; False on timeout."""
        me = sched.current()
        if target.done:
            return True
        target.joiners.append(me)
        try:
            got = sched.sync_block(me, what, timeout)
        finally:
            if me in target.joiners:
                target.joiners.remove(me)
        return got is not TIMED_OUT or target.done

    def report_thread_exception(self, vt: VThread, exc: BaseException) -> None:
        """What ``threading.excepthook`` does: name the thread, print the traceback to stderr."""
        hook = getattr(self.importer.modules.get("threading"), "excepthook", None)
        from .vthreading import default_excepthook
        if hook is not None and hook is not default_excepthook:
            from .vthreading import ExceptHookArgs
            hook(ExceptHookArgs((type(exc), exc, exc.__traceback__, vt.obj)))
            return
        self.stderr.write(f"Exception in thread {vt.name}:\n" + format_exception(exc))

    def kill_threads(self, but: VThread | None = None) -> None:
        for vt in list(self.threads):
            if vt is not but and not vt.done:
                vt.killed = True
                self.kernel.throw(vt.task, Terminated())

    # -- running ------------------------------------------------------------------------------

    def start(self, delay_ns: int = 0, body: Any = None) -> VProcess:
        """Start the main thread: ``body()`` (a child's bootstrap) or the program file."""
        guard.install()
        if self.cwd is not None:
            guard.use_cwd()
        self.started = True
        self.main = self.start_thread(self._main_thread, (body,), "MainThread", False,
                                      delay_ns=delay_ns)
        return self

    def _main_thread(self, body: Any) -> None:
        code, failure = 0, None
        try:
            if body is not None:
                code = body() or 0
            else:
                self.importer.run_main()
        except SystemExit as exc:
            code = self._exit_status(exc)
        except Terminated:
            self.finish(self.exitcode if self.exitcode is not None else -signal.SIGTERM, abort=True)
            return
        except BaseException as exc:  # noqa: BLE001 - printed like the interpreter does
            if self.check_errors:
                failure = exc
            else:
                self.stderr.write(format_exception(exc))
            code = 1
        if failure is not None:
            for child in self.children:
                child.terminate()
        self.finish(code, abort=failure is not None)
        if failure is not None:
            raise failure

    def _exit_status(self, exc: SystemExit) -> int:
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        self.stderr.write(f"{exc.code}\n")
        return 1

    def finish(self, code: int, abort: bool = False) -> None:
        """Exit the process from its main thread (CPython's order, see the module doc)."""
        me = sched.current()
        self.exiting = True
        try:
            if not abort:
                self._run_atexit()
                self._wait_for_threads(me)
                for child in list(self.children):
                    if not child.done and child.daemonic:
                        child.terminate()
                for child in list(self.children):
                    if not child.done:
                        child.join(None, "joining child process at exit")
        except Terminated:
            code = self.exitcode if self.exitcode is not None else -signal.SIGTERM
        self.kill_threads(but=me)
        self._close_all()
        self.stdout.close_line()
        self.stderr.close_line()
        self.exitcode = code
        self.done = True
        joiners, self.joiners = self.joiners, []
        for j in joiners:
            sched.wake(j)

    def _run_atexit(self) -> None:
        calls, self.atexit = self.atexit, []
        for fn, args, kwargs in calls:
            try:
                fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - printed, exit goes on
                self.stderr.write(format_exception(exc))

    def _wait_for_threads(self, me: VThread) -> None:
        while True:
            rest = [vt for vt in self.threads if vt is not me and not vt.daemon and not vt.done]
            if not rest:
                return
            self.join_thread(rest[0], None, f"waiting at exit for thread {rest[0].name}")

    @property
    def daemonic(self) -> bool:
        return bool(getattr(self.process_obj, "daemon", False))

    def _close_all(self) -> None:
        for fd in list(self.held):
            sock = self.fds.get(fd)
            if sock is not None:
                sock._real_close()
            else:
                shared = self.held.pop(fd, None)
                if shared is not None:
                    shared.release()

    # -- control from outside -----------------------------------------------------------------

    def terminate(self, sig: int = signal.SIGTERM) -> None:
        """End every thread of the process now (SIGTERM: no cleanup code runs)."""
        if self.done:
            return
        if self.exitcode is None:
            self.exitcode = -sig
        if not self.started or self.main is None:
            self.finish(-sig, abort=True)
            return
        me = sched.current()
        self.kill_threads(but=me if me is not None and me.proc is self else None)
        if me is not None and me.proc is self:
            raise Terminated()

    def join(self, timeout: float | None = None, what: str | None = None) -> bool:
        """Wait until the process exited (from a thread of another process); False on timeout."""
        if self.done:
            return True
        me = sched.current()
        if me is None:
            self.wait()
            return self.done
        self.joiners.append(me)
        try:
            sched.sync_block(me, what or f"join of process {self.label} (pid {self.pid})", timeout)
        finally:
            if me in self.joiners:
                self.joiners.remove(me)
        return self.done

    def wait(self) -> VProcess:
        """From a script: run the simulation until this program has exited."""
        if sched.current() is not None:
            self.join()
            return self
        self.kernel.run(stop=lambda: self.done)
        return self

    def check(self) -> VProcess:
        """Raise :class:`ProgramError` unless the program exited with status 0."""
        if not self.done:
            raise ProgramError(f"{self.label} on {self.host.name} is still running")
        if self.exitcode != 0:
            raise ProgramError(f"{self.label} on {self.host.name} exited with {self.exitcode}:\n"
                               f"{self.stderr_text}")
        return self

    def waiting(self) -> list[tuple[str, str, str]]:
        """``(thread, what it waits on, file:line)`` for each live thread of the program tree."""
        out = []
        for p in self.tree():
            for vt in p.threads:
                if not vt.done and not vt.internal and vt.task is not None:
                    what = vt.sync_wait or vt.task.waiting_on or "running"
                    out.append((f"pid {p.pid} {vt.name}", what, waiting_at(vt)))
        return out


def format_exception(exc: BaseException) -> str:
    """The interpreter's traceback text, without netsim's own frames."""
    te = traceback.TracebackException.from_exception(exc)
    _trim(te)
    return "".join(te.format())


def _trim(te: traceback.TracebackException) -> None:
    # netsim's frames are the virtual machine's kernel: a real traceback ends at the call
    frames = [f for f in te.stack if not f.filename.startswith(_NETSIM_DIR)]
    te.stack = traceback.StackSummary.from_list(frames)
    for linked in (te.__cause__, te.__context__):
        if linked is not None:
            _trim(linked)


def stdin_readline(proc: VProcess) -> str:
    return proc.stdin_lines.popleft() if proc.stdin_lines else ""


sys_modules = sys.modules  # re-exported for the importer's ChainMap
