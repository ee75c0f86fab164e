"""Imports point down: the layering of the README's architecture section, checked on the source.

Every module under netsim/ is parsed with ``ast``; every import counts, at any depth (inside
functions, under ``if TYPE_CHECKING:``) and so do the names a package ``__init__`` exports
lazily through ``lazy_exports``. The test fails on an import from a layer into one that is not
below it, and on a cycle between packages.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "netsim"

# The layering, once. Each row: the layer, the modules in it (a name stands for the module and
# everything under it; a module belongs to the row with the longest match), and the layers
# directly beneath it. A layer may import itself and every layer beneath it, transitively.
LAYERS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("wire", ("netsim.wire",), ()),
    ("lazy", ("netsim._lazy",), ()),  # the lazy-export helper of package __init__s
    ("sim", ("netsim.sim",), ("wire", "lazy")),
    ("capture", ("netsim.capture",), ("wire", "sim")),
    ("stack.tcp", ("netsim.stack.tcp",), ("wire", "sim")),
    ("tftp core", ("netsim.apps.tftp", "netsim.apps.tftp.session", "netsim.apps.tftp.options",
                   "netsim.apps.tftp.paths"), ("wire", "sim")),
    ("trace", ("netsim.trace",), ("wire", "sim", "capture", "stack.tcp")),
    ("net", ("netsim.net",), ("wire", "sim", "capture", "trace")),
    ("devices", ("netsim.devices",), ("net",)),
    ("userland", ("netsim.userland",), ("sim",)),  # per-program virtual modules (duck-typed host)
    ("stack", ("netsim.stack",), ("devices", "userland")),
    ("apps", ("netsim.apps", "netsim.apps.tftp.blocking", "netsim.apps.tftp.os_driver",
              "netsim.apps.tftp.sim_driver", "netsim.apps.tftp.cli",
              "netsim.apps.tftp.client", "netsim.apps.tftp.os_server",
              "netsim.apps.tftp.server_files"), ("stack", "tftp core")),
    ("topo", ("netsim.topo",), ("apps", "stack", "devices", "net")),
    ("realworld", ("netsim.realworld",), ("apps", "topo")),  # real time, OS links, forwarding
    ("viewer", ("netsim.viewer",), ("topo",)),  # timelines and the page; net.view() uses it
    ("network", ("netsim.network",), ("realworld", "viewer")),
    ("grade", ("netsim.grade",), ("network",)),  # netsim grade: programs against reference peers
    ("top", ("netsim", "netsim.cli", "netsim.cli_step", "netsim.cli_exec", "netsim.cli_realworld",
             "netsim.cli_grade", "netsim.cli_view", "netsim.cli_sweep", "labs"),
            ("network", "grade")),
]

# Upward imports that other work in progress removes; each must still exist (so the list can
# only shrink) and the list must be empty when that work is merged.
def _beneath() -> dict[str, set[str]]:
    direct = {name: set(below) for name, _, below in LAYERS}
    closed: dict[str, set[str]] = {}

    def close(name: str) -> set[str]:
        if name not in closed:
            closed[name] = set()
            for below in direct[name]:
                closed[name] |= {below} | close(below)
        return closed[name]
    for name in direct:
        close(name)
    return closed


BENEATH = _beneath()


def layer_of(module: str) -> str:
    best, best_len = None, -1
    for name, prefixes, _ in LAYERS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = name, len(prefix)
    if best is None:
        raise AssertionError(f"{module} is in no layer of the table")
    return best


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(SOURCE.rglob("*.py"))}


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _resolve(module: str, level: int, name: str | None) -> str:
    """The absolute name of a (possibly relative) import written in ``module``."""
    if level == 0:
        return name or ""
    base = module.split(".")
    if not _is_package(module):
        base.pop()
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _target(name: str) -> str | None:
    """The module an imported name refers to: itself, or the module defining it; None when
    it is not ours."""
    if name == "labs" or name.startswith("labs."):
        return "labs"  # the lessons sit on top; their insides are not checked here
    if not (name == "netsim" or name.startswith("netsim.")):
        return None
    while name not in MODULES:
        name = name.rsplit(".", 1)[0]  # ``from pkg import value`` names a value in pkg
    return name


def imports_of(module: str) -> Iterator[tuple[str, int]]:
    """(imported netsim module, line) for every import in ``module``'s source."""
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    for node in ast.walk(tree):
        found: list[str] = []
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node.level, node.module)
            found = [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "lazy_exports":
            table = node.args[1]
            assert isinstance(table, ast.Dict), f"{module}: lazy_exports takes a dict literal"
            for key, names in zip(table.keys, table.values, strict=True):
                relative = key.value.lstrip(".")
                base = _resolve(module, len(key.value) - len(relative), relative or None)
                if relative:
                    found.append(base)
                else:  # "." exports subpackages by their own names
                    found += [f"{base}.{elt.value}" for elt in names.elts]
        for name in found:
            target = _target(name)
            if target is not None and target != module:
                yield target, node.lineno


EDGES = [(m, t, line) for m in MODULES for t, line in imports_of(m)]


def _unit(module: str) -> str:
    """The package a module belongs to; netsim's own top-level modules stand alone."""
    if module == "labs" or module.count(".") <= 1:
        return module
    return module if _is_package(module) else module.rsplit(".", 1)[0]


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_the_table_itself_points_down():
    names = [name for name, _, _ in LAYERS]
    for i, (name, _, below) in enumerate(LAYERS):
        assert set(below) <= set(names[:i]), f"{name} lists a layer not above it in the table"


def upward_imports() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for module, target, line in EDGES:
        src, dst = layer_of(module), layer_of(target)
        if dst != src and dst not in BENEATH[src]:
            found.setdefault((module, target), []).append(f"{module}:{line} ({src} -> {dst})")
    return found


def test_no_import_points_up():
    found = upward_imports()
    new = [where for lines in found.values() for where in lines]
    assert new == [], "imports into a layer that is not below:\n" + "\n".join(new)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def package_cycles() -> list[list[str]]:
    """Cycles between packages."""
    graph: dict[str, set[str]] = {}
    for module, target, _ in EDGES:
        a, b = _unit(module), _unit(target)
        if a != b:
            graph.setdefault(a, set()).add(b)
    return _cycles(graph)


def test_no_cycle_between_packages():
    cycles = package_cycles()
    assert cycles == [], f"packages importing each other: {cycles}"


def test_the_checker_sees_every_kind_of_import():
    """Guards the guard: function-local, TYPE_CHECKING, relative and lazy imports all count."""
    edges = {(m, t) for m, t, _ in EDGES}
    assert ("netsim.network", "netsim.stack.host") in edges            # inside a method
    assert ("netsim.net.interface", "netsim.sim.kernel") in edges      # under TYPE_CHECKING
    assert ("netsim", "netsim.network") in edges                       # lazy_exports table
    assert ("netsim.apps", "netsim.apps.tftp") in edges                # lazy subpackage
    assert layer_of("netsim.apps.tftp.session") == "tftp core"
    assert layer_of("netsim.apps.tftp.os_driver") == "apps"
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
