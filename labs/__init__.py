"""The labs: one module per lesson, each with ``run(**params) -> LabResult``.

Each lab module defines ``NAME``, ``TITLE``, ``SUMMARY`` (one line), ``PARAMS`` (its parameters,
each with a type and a valid range: :mod:`labs.params`) and ``run(**params)``, decorated with
:func:`labs.params.checked` so that a value out of its range is refused before the lab starts.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .params import Param, ParamError
from .result import Check, LabResult, Table

__all__ = ["LABS", "load", "available", "run", "Check", "LabResult", "Param", "ParamError", "Table"]

# name -> module; the order is the order of the course.
LABS = {
    "sockets-basics": "labs.sockets_basics",
    "hub-vs-switch": "labs.hub_vs_switch",
    "switch-learning": "labs.switch_learning",
    "router-subnets": "labs.router_subnets",
    "udp-broadcast": "labs.udp_broadcast",
    "tcp-handshake": "labs.tcp_handshake",
    "tcp-congestion": "labs.tcp_congestion",
    "tftp-transfer": "labs.tftp_transfer",
    "concurrent-server": "labs.concurrent_server",
}


def load(name: str) -> ModuleType:
    """Import the lab module called ``name`` ("hub-vs-switch")."""
    if name not in LABS:
        import difflib
        near = difflib.get_close_matches(name, LABS, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise KeyError(f"no lab named {name!r}{hint} (labs: {', '.join(LABS)})")
    return importlib.import_module(LABS[name])


def available() -> dict[str, ModuleType]:
    """Every lab module, by name, in the order of the course.

    Raises:
        ImportError: a lab does not import (a broken lab must be seen, not skipped).
    """
    return {name: importlib.import_module(mod) for name, mod in LABS.items()}


def run(name: str, **params) -> LabResult:
    """Run a lab by name with keyword parameters.

    Raises:
        TypeError: a name that is not one of the lab's parameters.
        labs.ParamError: a value of the wrong type or out of its range (a ValueError).
    """
    mod = load(name)
    unknown = set(params) - set(mod.PARAMS) - {"out", "jobs", "progress"}
    if unknown:
        raise TypeError(f"lab {name} has no parameter(s) {', '.join(sorted(unknown))}; "
                        f"it takes {', '.join(mod.PARAMS)}")
    return mod.run(**params)
