"""The labs: one module per lesson, each with ``run(**params) -> LabResult``.

Each lab module defines ``NAME``, ``TITLE``, ``SUMMARY`` (one line), ``PARAMS`` (a dict of
:class:`labs.result.Param`) and ``run(**params)``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .result import Check, LabResult, Param, Table

__all__ = ["LABS", "load", "run", "Check", "LabResult", "Param", "Table"]

# name -> module; the order is the order of the course.
LABS = {
    "sockets-basics": "labs.sockets_basics",
    "hub-vs-switch": "labs.hub_vs_switch",
    "switch-learning": "labs.switch_learning",
    "router-subnets": "labs.router_subnets",
    "udp-broadcast": "labs.udp_broadcast",
    "tcp-handshake": "labs.tcp_handshake",
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
    """Run a lab by name with keyword parameters (unknown names are an error)."""
    mod = load(name)
    unknown = set(params) - set(mod.PARAMS) - {"out", "jobs", "progress"}
    if unknown:
        raise TypeError(f"lab {name} has no parameter(s) {', '.join(sorted(unknown))}; "
                        f"it takes {', '.join(mod.PARAMS)}")
    return mod.run(**params)
