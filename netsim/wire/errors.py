"""The one error family for bad input on the wire."""

from __future__ import annotations

__all__ = ["DecodeError"]


class DecodeError(ValueError):
    """Bytes that do not decode: names the layer, the field and the byte offset.

    ``str(err)`` reads like ``IPv4.ihl at offset 0: header length 3 words is below the minimum 5``.
    """

    def __init__(self, layer: str, field: str, offset: int, message: str):
        self.layer = layer
        self.field = field
        self.offset = offset
        self.message = message
        super().__init__(f"{layer}.{field} at offset {offset}: {message}")

    def __reduce__(self):  # keep pickling (worker processes) working with the custom __init__
        return (type(self), (self.layer, self.field, self.offset, self.message))
