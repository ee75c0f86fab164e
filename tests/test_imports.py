"""The codecs and the sans-I/O cores import on their own.

Each case imports one module in a fresh interpreter and lists the netsim modules that got
loaded: a package ``__init__`` that imported its whole package eagerly (``netsim`` importing
the Network, ``netsim.stack`` importing Host) would show up here as extra modules, and the
heavy third-party libraries of the simulator and the command line must stay out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fnmatch import fnmatchcase

import pytest

# Loaded by every import of a netsim module: the root package and its lazy-export helper.
ROOT = ("netsim", "netsim._lazy")

# target -> the modules it may load besides ROOT (fnmatch patterns).
ALLOWED = {
    "netsim.wire": ("netsim.wire", "netsim.wire.*"),
    "netsim.capture": ("netsim.capture", "netsim.capture.*", "netsim.wire", "netsim.wire.*",
                       "netsim.sim", "netsim.sim.units"),   # NS_PER_S, never the kernel
    # the TCP core may use the units (parse_time, NS_PER_S), never the kernel
    "netsim.stack.tcp.connection": ("netsim.stack", "netsim.stack.tcp", "netsim.stack.tcp.*",
                                    "netsim.wire", "netsim.wire.*", "netsim.sim",
                                    "netsim.sim.units"),
    "netsim.apps.tftp.session": ("netsim.apps", "netsim.apps.tftp", "netsim.apps.tftp.options",
                                 "netsim.apps.tftp.paths", "netsim.apps.tftp.session",
                                 "netsim.wire", "netsim.wire.*", "netsim.sim",
                                 "netsim.sim.units"),
}

HEAVY = ("greenlet", "networkx", "matplotlib", "numpy", "rich", "click", "yaml", "scapy")


def _loaded(target: str) -> list[str]:
    code = (f"import json, sys\nimport {target}\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return json.loads(out)


@pytest.mark.parametrize("target", sorted(ALLOWED))
def test_module_imports_only_its_own_layers(target):
    modules = _loaded(target)
    ours = [m for m in modules if m == "netsim" or m.startswith("netsim.")]
    allowed = ROOT + ALLOWED[target]
    extra = [m for m in ours if not any(fnmatchcase(m, pattern) for pattern in allowed)]
    assert extra == [], f"import {target} also loaded {extra}"
    assert target in ours
    heavy = [m for m in HEAVY if m in modules]
    assert heavy == [], f"import {target} loaded {heavy}"


def test_wire_loads_nothing_but_the_codecs():
    ours = [m for m in _loaded("netsim.wire") if m.startswith("netsim")]
    assert {m for m in ours if not m.startswith("netsim.wire")} == set(ROOT)


def test_the_package_names_still_resolve_lazily():
    code = ("import netsim, netsim.stack, netsim.trace, netsim.apps, netsim.topo, netsim.sim\n"
            "import sys\n"
            "assert 'netsim.network' not in sys.modules\n"
            "for p in (netsim, netsim.stack, netsim.trace, netsim.apps, netsim.topo, netsim.sim):\n"
            "    assert set(p.__all__) <= set(dir(p)), p\n"
            "    for name in p.__all__:\n"
            "        getattr(p, name)\n"
            "from netsim import Network\n"
            "assert Network.__module__ == 'netsim.network'\n"
            "assert callable(netsim.topo.draw) and callable(netsim.sim.parse_time)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_an_unknown_name_is_an_attribute_error():
    import netsim.stack
    with pytest.raises(AttributeError, match="no attribute 'Hots'"):
        netsim.stack.Hots  # noqa: B018
