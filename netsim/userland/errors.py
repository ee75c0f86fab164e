"""The errors a program on a virtual host can meet that a real machine would not give it."""

from __future__ import annotations

__all__ = ["NotVirtualisedError", "NotVirtualisedImportError", "DeadlockError", "ProgramError"]


class NotVirtualisedError(RuntimeError):
    """The program used something netsim does not simulate (``subprocess``, ``ssl``, a module
    that opened a real socket...). Raised instead of silently touching the real machine.

    Attributes:
        feature: what was used ("subprocess", "socket.connect from requests", ...).
    """

    def __init__(self, feature: str, why: str):
        super().__init__(f"{feature} is not available to programs on virtual hosts: {why}")
        self.feature = feature


class NotVirtualisedImportError(NotVirtualisedError, ImportError):
    """``import`` of a module netsim does not simulate. An ``ImportError``, so stdlib code that
    treats the module as optional (``try: import ssl except ImportError``) carries on without it."""

    def __init__(self, feature: str, why: str):
        ImportError.__init__(self, f"{feature} is not available to programs on virtual hosts: {why}",
                             name=feature)
        self.feature = feature


class DeadlockError(RuntimeError):
    """Every thread of a program waits on another one (a lock, a queue, a join) and nothing
    else can happen. ``waits`` lists ``(thread, what, "file:line")`` for each blocked thread."""

    def __init__(self, message: str, waits: list[tuple[str, str, str]]):
        super().__init__(message)
        self.waits = waits


class ProgramError(RuntimeError):
    """A program exited with a non-zero status (``Program.check()``)."""
