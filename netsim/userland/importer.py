"""Per-process imports: virtual system modules, stdlib modules loaded fresh, the rest untouched.

Every module a program's code runs in gets ``__builtins__`` = this process's builtins, whose
``__import__`` is :meth:`Importer.import_`. An ``import`` statement there resolves, in order:

1. a *virtual* module (``socket``, ``time``, ``threading``, ``queue``'s ``_thread``, ``select``,
   ``multiprocessing``, ``os``, ``sys``, ``importlib``): built for this process, bound to its host
   and to virtual time;
2. a *refused* module (``subprocess``, ``ssl``, ``asyncio``...): one ImportError naming it;
3. a module next to the program (its own helpers) or a stdlib module built on the virtual ones
   (``socketserver``, ``http.server``, ``http.client``, ``urllib.request``, ``queue``,
   ``selectors``, ``argparse``...): executed *fresh* for this process from the stdlib's own code,
   so it sees the virtual modules and keeps its state (``urllib.request``'s opener, a server's
   class attributes) to this process;
4. anything else (``struct``, ``json``, ``email``...): the ordinary shared module, untouched.

So two hosts running one program share nothing but immutable code.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.machinery
import importlib.util
import os
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import NotVirtualisedImportError

if TYPE_CHECKING:
    from .process import VProcess

__all__ = ["Importer", "FRESH", "REFUSED"]

# Stdlib modules executed again for each process (pure Python built on the virtual modules).
FRESH = frozenset({
    "queue", "selectors", "socketserver", "argparse", "optparse",
    "http", "http.client", "http.server", "urllib", "urllib.request",
    "concurrent", "concurrent.futures", "concurrent.futures._base", "concurrent.futures.thread",
})

_WHY_PROCESSES = "programs on virtual hosts cannot start real programs; run Python programs " \
                 "with host.run_program, or use multiprocessing"
REFUSED = {
    "subprocess": _WHY_PROCESSES,
    "pty": _WHY_PROCESSES,
    "ssl": "netsim does not simulate TLS (use http:// URLs)",
    "_ssl": "netsim does not simulate TLS (use http:// URLs)",
    "asyncio": "the asyncio event loop is not virtualised; use threads, select or selectors",
    "_asyncio": "the asyncio event loop is not virtualised",
    "_socket": "use the socket module (virtualised)",
    "_queue": "the pure-Python queue module is used instead",
    "_multiprocessing": "use the multiprocessing module (virtualised)",
    "concurrent.futures.process": "use multiprocessing.Pool (virtualised)",
    "multiprocessing": "only multiprocessing, multiprocessing.pool and multiprocessing.dummy "
                       "are virtualised",
}

_real_print = builtins.print
_CODE: dict[Any, types.CodeType] = {}


def _refusal(name: str) -> str | None:
    probe = name
    while probe:
        if probe in REFUSED:
            return REFUSED[probe]
        probe = probe.rpartition(".")[0]
    return None


def _factories() -> dict[str, Callable[[VProcess], types.ModuleType]]:
    from . import vmultiprocessing, vos, vselect, vsocket, vthreading, vtime
    return {
        "socket": vsocket.make_module,
        "time": vtime.make_module,
        "threading": vthreading.make_module,
        "_thread": vthreading.make_thread_module,
        "select": vselect.make_module,
        "os": vos.make_os,
        "sys": vos.make_sys,
        "importlib": _make_importlib,
        "multiprocessing": vmultiprocessing.make_module,
        "multiprocessing.pool": vmultiprocessing.make_pool_module,
        "multiprocessing.dummy": vmultiprocessing.make_dummy_module,
        "multiprocessing.queues": vmultiprocessing.make_module,
        "multiprocessing.managers": vmultiprocessing.make_module,
        "multiprocessing.process": vmultiprocessing.make_module,
    }


_FACTORIES: dict[str, Callable] | None = None


class Importer:
    """One process's modules and the ``__import__`` its code uses."""

    def __init__(self, proc: VProcess):
        global _FACTORIES
        if _FACTORIES is None:
            _FACTORIES = _factories()
        self.proc = proc
        self.modules: dict[str, types.ModuleType] = {}
        self.owned: set[str] = set()    # modules that are this process's own objects
        b = dict(builtins.__dict__)
        b["__import__"] = self.import_
        b["print"] = self.print_
        b["input"] = self.input_
        b["exit"] = b["quit"] = _Exit()
        self.builtins = b

    # -- builtins ---------------------------------------------------------------------------

    @property
    def sys(self) -> types.ModuleType:
        return self.load("sys")

    def print_(self, *args: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None,
               flush: bool = False) -> None:
        """``print``: to this process's ``sys.stdout`` (its console stream, unless replaced)."""
        if file is None:
            file = self.sys.stdout
            if file is None:
                return
        _real_print(*args, sep=sep, end=end, file=file, flush=flush)

    def input_(self, prompt: Any = "") -> str:
        """``input``: lines given as ``stdin=`` to run_program; EOFError when there are none."""
        from .process import stdin_readline
        if prompt:
            self.sys.stdout.write(str(prompt))
        line = stdin_readline(self.proc)
        if not line:
            raise EOFError("EOF when reading a line")
        return line[:-1] if line.endswith("\n") else line

    # -- the import statement -----------------------------------------------------------------

    def import_(self, name: str, globals: dict | None = None, locals: Any = None,
                fromlist: Any = (), level: int = 0) -> types.ModuleType:
        """``builtins.__import__`` for this process (same contract as the interpreter's)."""
        full = _resolve(name, globals, level) if level else name
        if not full:
            raise ValueError("Empty module name")
        module = self.load(full)
        if fromlist:
            if hasattr(module, "__path__"):
                self._fromlist(module, full, fromlist)
            return module
        if level == 0:
            return self.load(full.partition(".")[0])
        if not name:
            return module
        cut = len(name) - len(name.partition(".")[0])
        return self.load(full[:len(full) - cut])

    def _fromlist(self, module: types.ModuleType, full: str, fromlist: Any) -> None:
        for item in fromlist:
            if item == "*":
                self._fromlist(module, full, getattr(module, "__all__", ()))
            elif not hasattr(module, item):
                try:
                    self.load(f"{full}.{item}")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{full}.{item}":
                        raise

    def import_module(self, name: str, package: str | None = None) -> types.ModuleType:
        """``importlib.import_module`` for this process."""
        if name.startswith("."):
            if not package:
                raise TypeError(f"the 'package' argument is required to perform a relative "
                                f"import for {name!r}")
            level = len(name) - len(name.lstrip("."))
            name = _resolve(name[level:], {"__package__": package}, level)
        return self.load(name)

    # -- loading ------------------------------------------------------------------------------

    def load(self, name: str) -> types.ModuleType:
        """The process's module ``name``, importing it (and its parents) as needed."""
        module = self.modules.get(name)
        if module is not None:
            return module
        parent_name, _, short = name.rpartition(".")
        parent = self.load(parent_name) if parent_name else None
        module = self.modules.get(name)   # importing the parent may have imported us
        if module is not None:
            return module
        factory = _FACTORIES.get(name)
        if factory is not None:
            module = factory(self.proc)
            self._own(name, module, parent, short)
            return module
        why = _refusal(name)
        if why is not None:
            raise NotVirtualisedImportError(name, why)
        spec = self._local_spec(name, parent)
        if spec is None and name in FRESH:
            spec = importlib.util.find_spec(name)
        if spec is not None:
            return self._exec_fresh(name, spec, parent, short)
        module = importlib.import_module(name)
        self.modules[name] = module
        if parent_name in self.owned:
            setattr(parent, short, module)
        return module

    def _own(self, name: str, module: types.ModuleType, parent: Any, short: str) -> None:
        self.modules[name] = module
        self.owned.add(name)
        if parent is not None and name.rpartition(".")[0] in self.owned:
            setattr(parent, short, module)

    def _local_spec(self, name: str, parent: Any) -> Any:
        """A module of the program's own (beside it, or inside one of its packages)."""
        if parent is None:
            path = self.proc.search_path
        elif name.rpartition(".")[0] in self.owned and name.rpartition(".")[0] not in FRESH:
            path = getattr(parent, "__path__", None)
        else:
            return None
        if not path:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, list(path))
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            return None
        self.proc.user_files.add(spec.origin)
        return spec

    def _exec_fresh(self, name: str, spec: Any, parent: Any, short: str) -> types.ModuleType:
        module = importlib.util.module_from_spec(spec)
        module.__builtins__ = self.builtins
        self._own(name, module, parent, short)
        try:
            exec(_code_of(spec), module.__dict__)
        except BaseException:
            self.modules.pop(name, None)
            self.owned.discard(name)
            raise
        return module

    def run_main(self, as_name: str = "__main__") -> types.ModuleType:
        """Execute the program (file or ``-m`` module) as ``__main__`` (or ``__mp_main__`` in a
        spawned child, which re-imports the parent's main module as CPython's spawn does)."""
        proc = self.proc
        module = types.ModuleType(as_name)
        if proc.module is not None:
            spec = self._local_spec(proc.module, None) or importlib.util.find_spec(proc.module)
            if spec is None:
                raise ModuleNotFoundError(f"No module named {proc.module!r}", name=proc.module)
            code = _code_of(spec)
            module.__spec__ = spec
            module.__file__ = spec.origin
            module.__package__ = spec.parent
        else:
            path = os.path.abspath(proc.path)
            proc.user_files.add(path)
            code = _compile_file(path)
            module.__file__ = path
            module.__spec__ = None
            module.__package__ = None
        module.__loader__ = None
        module.__builtins__ = self.builtins
        self.modules[as_name] = module
        self.owned.add(as_name)
        if as_name != "__main__":
            self.modules["__main__"] = module
        exec(code, module.__dict__)
        return module


def _resolve(name: str, globals: dict | None, level: int) -> str:
    globals = globals or {}
    package = globals.get("__package__")
    if package is None:
        package = globals.get("__name__", "")
        if "__path__" not in globals:
            package = package.rpartition(".")[0]
    if not package:
        raise ImportError("attempted relative import with no known parent package")
    bits = package.rsplit(".", level - 1)
    if len(bits) < level:
        raise ImportError("attempted relative import beyond top-level package")
    return f"{bits[0]}.{name}" if name else bits[0]


def _code_of(spec: Any) -> types.CodeType:
    code = _CODE.get(spec.origin)
    if code is None:
        code = _CODE[spec.origin] = spec.loader.get_code(spec.name)
    return code


def _compile_file(path: str) -> types.CodeType:
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    code = _CODE.get(key)
    if code is None:
        with open(path, "rb") as f:
            code = _CODE[key] = compile(f.read(), path, "exec")
    return code


class _Exit:
    """``exit()``/``quit()`` in a program: SystemExit, as in a script."""

    def __repr__(self) -> str:
        return "Use exit() or Ctrl-D (i.e. EOF) to exit"

    def __call__(self, code: Any = None) -> None:
        raise SystemExit(code)


def _make_importlib(proc: VProcess) -> types.ModuleType:
    module = types.ModuleType("importlib")
    module.__dict__.update(importlib.__dict__)
    module.import_module = proc.importer.import_module
    return module
