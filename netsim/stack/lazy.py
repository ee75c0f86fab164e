"""An attribute made the first time it is read: for the parts of a host most hosts never use.

A large network's hosts mostly never open a TCP socket or reassemble a fragment, yet an empty
table, a tunables object or a reassembler costs tens to hundreds of bytes each (issue 16:
per-host memory). :class:`OnFirstUse` is a non-data descriptor: the first read makes the value
with ``make(instance)`` and stores it as an ordinary instance attribute, which every later
read and assignment then finds first, at the cost of an ordinary attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["OnFirstUse"]


class OnFirstUse:
    """``table = OnFirstUse(lambda owner: {})`` in a class body (whose instances have a __dict__)."""

    __slots__ = ("make", "name")

    def __init__(self, make: Callable[[Any], Any]):
        self.make = make
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self.make(instance)
        # setattr, not instance.__dict__[...]: reading __dict__ would turn the instance's
        # compact attribute values into a dict of their own
        setattr(instance, self.name, value)
        return value
