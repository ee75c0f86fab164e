"""32-bit sequence number arithmetic (RFC 9293 section 3.4; RFC 1982 serial numbers).

Sequence numbers live on a circle of 2**32; ``a < b`` means "b is ahead of a by less than
half the circle".
"""

from __future__ import annotations

__all__ = ["MOD", "MASK", "seq_add", "seq_diff", "seq_lt", "seq_le", "seq_gt", "seq_ge",
           "seq_max", "seq_between"]

MOD = 1 << 32
MASK = MOD - 1
_HALF = 1 << 31


def seq_add(a: int, n: int) -> int:
    """``a + n`` modulo 2**32."""
    return (a + n) & MASK


def seq_diff(a: int, b: int) -> int:
    """Signed distance ``a - b`` on the circle, in ``[-2**31, 2**31)``."""
    return ((a - b + _HALF) & MASK) - _HALF


def seq_lt(a: int, b: int) -> bool:
    """``a`` strictly before ``b``."""
    return seq_diff(a, b) < 0


def seq_le(a: int, b: int) -> bool:
    """``a`` before or equal to ``b``."""
    return seq_diff(a, b) <= 0


def seq_gt(a: int, b: int) -> bool:
    """``a`` strictly after ``b``."""
    return seq_diff(a, b) > 0


def seq_ge(a: int, b: int) -> bool:
    """``a`` after or equal to ``b``."""
    return seq_diff(a, b) >= 0


def seq_max(a: int, b: int) -> int:
    """The later of two sequence numbers."""
    return a if seq_ge(a, b) else b


def seq_between(low: int, x: int, high: int) -> bool:
    """``low <= x < high`` on the circle (the RFC's window test)."""
    return 0 <= seq_diff(x, low) < seq_diff(high, low)
