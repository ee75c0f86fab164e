"""What crosses between virtual processes: pickles, as with multiprocessing's spawn method.

A process's arguments, queue items and pool results are pickled in the sender's context and
unpickled in the receiver's, so the receiver gets copies (the seed's lesson: a child's
``global num`` is its own). Three kinds of object travel by reference instead:

* functions and classes of the program (``__main__`` and its own modules): as a module and a
  qualified name, looked up in the receiver's fresh copy of that module (the child re-ran the
  program as ``__mp_main__``);
* sockets: duplicated, as multiprocessing duplicates a descriptor for the child; the stack's
  socket stays open while any process holds a descriptor for it;
* multiprocessing's shared objects (``Queue``, ``Lock``, ``Value``, ``Manager`` proxies...):
  the same object, since processes of one simulation live in one interpreter.
"""

from __future__ import annotations

import io
import pickle
import types
from typing import TYPE_CHECKING, Any

from .vsocket import socket as vsocket_type

if TYPE_CHECKING:
    from .process import VProcess

__all__ = ["Payload", "dumps", "loads", "copy_between"]


class Payload:
    """Pickled bytes plus the objects that travel by reference."""

    __slots__ = ("data", "refs", "loaded")

    def __init__(self, data: bytes, refs: list):
        self.data = data
        self.refs = refs
        self.loaded = False

    def release(self) -> None:
        """Give back the socket references of a payload nobody will load."""
        if not self.loaded:
            self.loaded = True
            for ref in self.refs:
                if ref[0] == "socket":
                    ref[1].release()


class _Pickler(pickle.Pickler):
    def __init__(self, file: Any, proc: VProcess, refs: list):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc = proc
        self.refs = refs

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, vsocket_type):
            if obj._fd < 0:
                raise OSError(9, "Bad file descriptor")
            obj._shared.refs += 1
            self.refs.append(("socket", obj._shared, obj._timeout))
            return ("ref", len(self.refs) - 1)
        if getattr(type(obj), "_netsim_shared", False):
            self.refs.append(("object", obj))
            return ("ref", len(self.refs) - 1)
        builtins = self.proc.importer.builtins
        for name in ("print", "input", "exit", "quit", "__import__"):
            if obj is builtins[name]:   # this process's version of a builtin: by name
                return ("builtin", name)
        if isinstance(obj, (types.FunctionType, type)):
            module = getattr(obj, "__module__", None)
            if module in self.proc.importer.owned and _lookup(
                    self.proc.importer.modules[module], obj.__qualname__) is obj:
                return ("global", "__main__" if module == "__mp_main__" else module,
                        obj.__qualname__)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, proc: VProcess, refs: list):
        super().__init__(file)
        self.proc = proc
        self.refs = refs

    def persistent_load(self, pid: Any) -> Any:
        if pid[0] == "ref":
            ref = self.refs[pid[1]]
            if ref[0] == "socket":
                sock = vsocket_type._adopt(self.proc, ref[1])
                sock._timeout = ref[2]
                return sock
            return ref[1]
        if pid[0] == "builtin":
            return self.proc.importer.builtins[pid[1]]
        _, module, qualname = pid
        found = _lookup(self.proc.importer.load(module), qualname)
        if found is None:
            raise pickle.UnpicklingError(f"Can't get attribute {qualname!r} on <module {module!r}>")
        return found


def _lookup(module: Any, qualname: str) -> Any:
    obj = module
    for part in qualname.split("."):
        if part == "<locals>":
            return None
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def dumps(obj: Any, proc: VProcess) -> Payload:
    """Pickle ``obj`` in ``proc``'s context (PicklingError/TypeError as multiprocessing gives)."""
    buf = io.BytesIO()
    refs: list = []
    try:
        _Pickler(buf, proc, refs).dump(obj)
    except BaseException:
        Payload(b"", refs).release()
        raise
    return Payload(buf.getvalue(), refs)


def loads(payload: Payload, proc: VProcess) -> Any:
    """Unpickle a payload in ``proc``'s context (it can be loaded once)."""
    if payload.loaded:
        raise RuntimeError("a pickled message was delivered twice")
    payload.loaded = True
    return _Unpickler(io.BytesIO(payload.data), proc, payload.refs).load()


def copy_between(obj: Any, source: VProcess, target: VProcess) -> Any:
    """``obj`` as ``target`` receives it from ``source``."""
    return loads(dumps(obj, source), target)
