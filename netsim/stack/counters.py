"""Stack counters that cost memory only once they move: a dict of named zeros, stored sparsely.

A host keeps 34 counters (``host.counters``). As a plain ``dict.fromkeys(names, 0)`` that is
about 950 bytes per host, most of them zeros that never move on most hosts of a large network
(issue 16: per-host memory). :class:`Counters` is a ``dict`` that stores a counter once it is
first written: the stack's ``counters["udp_rx"] += 1`` reads 0 for a declared name that was
never written (``__missing__``), then stores 1, at the speed of a dict (the item access is
dict's own C code; only the first write of each name runs ``__missing__``).

Every other reader sees exactly today's mapping: iterating, ``len``, ``in``, ``keys()``,
``items()``, ``values()``, ``get``, ``==``, ``repr``, ``copy()``, ``dict(c)``, ``{**c}``,
``json.dumps``, pickling and :mod:`copy` first *fill* it, once: the names not written yet are
added as 0 and the dict is put in declared order, followed by any names a caller added, in
the order they were added. From then on it is an ordinary dict (a later ``del`` or ``pop``
removes a name as it would from a dict). Copies and pickles are plain dicts, as before.

The first declared name is stored from the start, so the dict is never empty underneath: C
code that checks a dict's size before asking a subclass for its items (the ``json`` encoder)
still lists every counter.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["Counters"]


class Counters(dict):
    """A dict of the counters named by the subclass's ``names``, all 0 until they move.

    Subclass with the names: ``class HostCounters(Counters, names=("frames_rx", ...))``.
    """

    __slots__ = ("_filled",)
    NAMES: ClassVar[tuple[str, ...]] = ()
    _KNOWN: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, names: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if names:
            cls.NAMES = tuple(names)
            cls._KNOWN = frozenset(names)

    def __init__(self) -> None:
        super().__init__()
        self._filled = False
        if self.NAMES:
            dict.__setitem__(self, self.NAMES[0], 0)

    def __missing__(self, key: str) -> int:
        if not self._filled and key in self._KNOWN:
            return 0
        raise KeyError(key)

    def _fill(self) -> None:
        """Add the names never written as 0, in declared order, then the callers' own names."""
        if self._filled:
            return
        moved = dict(dict.items(self))  # the stored counters (dict.copy would ask self.keys())
        dict.clear(self)
        for name in self.NAMES:
            dict.__setitem__(self, name, moved.pop(name, 0))
        dict.update(self, moved)
        self._filled = True

    def _plain(self) -> dict[str, int]:
        """A plain dict of every counter, in order."""
        self._fill()
        return dict(dict.items(self))

    # -- readers: fill, then behave as the dict -------------------------------------------

    def __iter__(self):
        self._fill()
        return dict.__iter__(self)

    def __reversed__(self):
        self._fill()
        return dict.__reversed__(self)

    def __len__(self) -> int:
        self._fill()
        return dict.__len__(self)

    def __contains__(self, key: object) -> bool:
        self._fill()
        return dict.__contains__(self, key)

    def keys(self):
        self._fill()
        return dict.keys(self)

    def values(self):
        self._fill()
        return dict.values(self)

    def items(self):
        self._fill()
        return dict.items(self)

    def get(self, key: str, default: Any = None) -> Any:
        self._fill()
        return dict.get(self, key, default)

    def __eq__(self, other: object) -> bool:
        self._fill()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        self._fill()
        return dict.__ne__(self, other)

    __hash__ = None  # type: ignore[assignment]  # a dict is unhashable

    def __repr__(self) -> str:
        self._fill()
        return dict.__repr__(self)

    def copy(self) -> dict[str, int]:
        return self._plain()

    def __reduce_ex__(self, protocol: int):
        return (dict, (self._plain(),))

    def __or__(self, other: Any):
        self._fill()
        return dict.__or__(self, other)

    def __ror__(self, other: Any):
        self._fill()
        return dict.__ror__(self, other)

    # -- writers other than item assignment: fill first, so the order stays the dict's -----

    def __ior__(self, other: Any):
        self._fill()
        return dict.__ior__(self, other)

    def __delitem__(self, key: str) -> None:
        self._fill()
        dict.__delitem__(self, key)

    def pop(self, key: str, *default: Any) -> Any:
        self._fill()
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, int]:
        self._fill()
        return dict.popitem(self)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._fill()
        return dict.setdefault(self, key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._fill()
        dict.update(self, *args, **kwargs)

    def clear(self) -> None:
        dict.clear(self)
        self._filled = True

    @classmethod
    def fromkeys(cls, iterable: Any, value: Any = None) -> dict:  # type: ignore[override]
        return dict.fromkeys(iterable, value)
