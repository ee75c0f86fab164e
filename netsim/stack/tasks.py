"""Checking a task's arguments where it is started: ``host.spawn`` versus ``host.spawn_with_host``.

``host.spawn(fn, *args)`` calls ``fn(*args)``, as ``threading.Thread(target=fn, args=args)``
does; ``host.spawn_with_host(fn, *args)`` calls ``fn(host, *args)``. Mixing them up would
otherwise surface later, inside the task, as a TypeError about the wrong function; here it is
raised at the call site, naming the function and the form that fits.
"""

from __future__ import annotations

import inspect
import reprlib
from collections.abc import Callable
from typing import Any

__all__ = ["check_task_call"]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _fits(sig: inspect.Signature, args: tuple, kwargs: dict) -> bool:
    try:
        sig.bind(*args, **kwargs)
    except TypeError:
        return False
    return True


def _takes(name: str, sig: inspect.Signature) -> str:
    """``"handle() takes 2 positional arguments (host, conn)"``."""
    params = [p for p in sig.parameters.values() if p.kind in _POSITIONAL]
    star = next((p for p in sig.parameters.values()
                 if p.kind is inspect.Parameter.VAR_POSITIONAL), None)
    required = sum(p.default is inspect.Parameter.empty for p in params)
    names = [p.name if p.default is inspect.Parameter.empty else f"{p.name}=..." for p in params]
    if star is not None:
        names.append(f"*{star.name}")
        count = f"at least {required}"
    elif required == len(params):
        count = str(required)
    else:
        count = f"{required} to {len(params)}"
    plural = "" if count == "1" else "s"
    return f"{name}() takes {count} positional argument{plural} ({', '.join(names)})"


def _labels(sig: inspect.Signature, first: int, values: tuple) -> list[str]:
    """Names for ``values`` passed from positional parameter number ``first`` on."""
    params = [p.name for p in sig.parameters.values() if p.kind in _POSITIONAL]
    star = next((p.name for p in sig.parameters.values()
                 if p.kind is inspect.Parameter.VAR_POSITIONAL), "...")
    return [params[first + i] if first + i < len(params) else f"*{star}"
            for i in range(len(values))]


def _passes(labels: list[str]) -> str:
    return f"({', '.join(labels)})" if labels else "no arguments"


def check_task_call(node: Any, method: str, fn: Callable, args: tuple, kwargs: dict) -> None:
    """Raise TypeError now if ``fn`` cannot take what ``node.<method>`` will pass it.

    Args:
        node: the host (passed first by ``spawn_with_host``; its ``name`` is shown).
        method: ``"spawn"`` or ``"spawn_with_host"``.
        fn, args, kwargs: as given to the method.

    Raises:
        TypeError: the call would fail, with the signature and the form that fits, e.g.
            "h1.spawn(handle, conn): handle() takes 2 positional arguments (host, conn) but
            spawn passes only (conn); use h1.spawn_with_host(handle, conn) to pass the host
            first".
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # no signature to check (some builtins): the call itself will tell
    with_host = method == "spawn_with_host"
    passed = (node, *args) if with_host else args
    if _fits(sig, passed, kwargs):
        return
    name = getattr(fn, "__name__", None) or type(fn).__name__
    keywords = [f"{k}=..." for k in kwargs]
    other = args if with_host else (node, *args)
    if not _fits(sig, other, kwargs):
        shown = [reprlib.repr(a) for a in args]
        call = ", ".join([name, *shown, *keywords])
        try:
            sig.bind(*passed, **kwargs)
        except TypeError as exc:
            reason = str(exc)
        raise TypeError(f"{node.name}.{method}({call}): {name}() cannot take what {method} "
                        f"passes: {reason}") from None
    if with_host:
        labels = _labels(sig, 0, args)
        call = ", ".join([name, *labels, *keywords])
        raise TypeError(f"{node.name}.{method}({call}): {_takes(name, sig)} but {method} passes "
                        f"{_passes(['host', *labels])}; use {node.name}.spawn({call}) to call it "
                        "without the host")
    labels = _labels(sig, 1, args)
    call = ", ".join([name, *labels, *keywords])
    only = "only " if labels else ""
    raise TypeError(f"{node.name}.{method}({call}): {_takes(name, sig)} but {method} passes "
                    f"{only}{_passes(labels)}; use {node.name}.spawn_with_host({call}) to pass "
                    "the host first")
