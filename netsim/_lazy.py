"""Lazy package exports (PEP 562): importing one module of a package does not import all of it.

``import netsim.wire`` must not start the simulator, and ``import netsim.stack.tcp.connection``
must not build hosts; yet ``from netsim.stack import Host`` should keep working. So a package
``__init__`` lists its public names with the submodule that defines each, and a name's module
is imported the first time the name is used::

    __getattr__, __dir__ = lazy_exports(__name__, {
        ".network": ("Network", "NetworkCapture"),
        ".": ("tftp",),                   # a subpackage exported by its own name
    })

The value is then kept in the package's namespace, so later lookups cost nothing. An import
error surfaces at that first use, unchanged. This module imports nothing of netsim, so every
layer may use it (tests/test_layering.py).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, table: Mapping[str, Iterable[str]],
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` for a package's lazily imported names.

    Args:
        package: the package's ``__name__``.
        table: relative module (".network", or "." for subpackages named like the export)
            -> the names it provides.

    Returns:
        ``(__getattr__, __dir__)``, to assign at the package's top level.
    """
    where = {name: module for module, names in table.items() for name in names}
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if module == ".":
            value = importlib.import_module(f".{name}", package)
        else:
            value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
