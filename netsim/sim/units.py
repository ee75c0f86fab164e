"""Parsing of the human units used in topologies and labs: "50us", "100Mbps", "1MB".

Virtual time is an integer count of nanoseconds everywhere inside netsim; these helpers are the
only place where seconds, strings and floats are turned into that integer.
"""

from __future__ import annotations

import re

__all__ = ["parse_time", "parse_rate", "parse_size", "format_time", "format_rate", "NS_PER_S"]

NS_PER_S = 1_000_000_000

_TIME_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": NS_PER_S, "min": 60 * NS_PER_S}
_RATE_UNITS = {"bps": 1, "kbps": 10**3, "mbps": 10**6, "gbps": 10**9}
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
_NUM_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Zµ]*)\s*$")


def _split(text: str, what: str) -> tuple[float, str]:
    m = _NUM_UNIT.match(text)
    if not m:
        raise ValueError(f"cannot parse {what} {text!r}: expected a number and a unit, e.g. '10ms'")
    return float(m.group(1)), m.group(2)


def parse_time(value: str | int | float) -> int:
    """Return a duration in integer nanoseconds.

    Args:
        value: a string with a unit ("5s", "10ms", "50us", "100ns"), or a number of seconds.

    Raises:
        ValueError: unknown unit, negative or unparsable value.
    """
    if isinstance(value, bool):
        raise ValueError(f"cannot parse time {value!r}")
    if isinstance(value, (int, float)):
        ns = round(value * NS_PER_S)
    else:
        num, unit = _split(value, "time")
        unit = unit or "s"
        if unit not in _TIME_UNITS:
            raise ValueError(f"unknown time unit {unit!r} in {value!r}; use ns, us, ms, s or min")
        ns = round(num * _TIME_UNITS[unit])
    if ns < 0:
        raise ValueError(f"time must not be negative: {value!r}")
    return ns


def parse_rate(value: str | int | float) -> int:
    """Return a bit rate in bits per second ("100Mbps" -> 100_000_000; numbers are bit/s)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        bps = int(value)
    else:
        num, unit = _split(str(value), "rate")
        key = (unit or "bps").lower()
        if key not in _RATE_UNITS:
            raise ValueError(f"unknown rate unit {unit!r} in {value!r}; use bps, kbps, Mbps or Gbps")
        bps = int(num * _RATE_UNITS[key])
    if bps <= 0:
        raise ValueError(f"rate must be positive: {value!r}")
    return bps


def parse_size(value: str | int) -> int:
    """Return a size in bytes ("1MB" -> 1_000_000, "1MiB" -> 1_048_576; numbers are bytes)."""
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    else:
        num, unit = _split(str(value), "size")
        key = (unit or "b").lower()
        if key not in _SIZE_UNITS:
            raise ValueError(f"unknown size unit {unit!r} in {value!r}; use B, kB, MB, KiB, MiB")
        n = int(num * _SIZE_UNITS[key])
    if n < 0:
        raise ValueError(f"size must not be negative: {value!r}")
    return n


def format_time(ns: int) -> str:
    """Render nanoseconds for people: 1500 -> '1.500us', 2_000_000_000 -> '2.000000s'."""
    if ns >= NS_PER_S:
        return f"{ns / NS_PER_S:.6f}s"
    if ns >= 1_000_000:
        return f"{ns / 1_000_000:.3f}ms"
    if ns >= 1_000:
        return f"{ns / 1_000:.3f}us"
    return f"{ns}ns"


def format_rate(bps: float) -> str:
    for unit, scale in (("Gbps", 1e9), ("Mbps", 1e6), ("kbps", 1e3)):
        if bps >= scale:
            return f"{bps / scale:.2f} {unit}"
    return f"{bps:.0f} bps"
