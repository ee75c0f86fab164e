"""YAML reading that remembers line numbers, and the field checks topology files use.

PyYAML's safe loader forgets where each value came from. Here mappings load as
:class:`YMap` and sequences as :class:`YList`, which keep the line of the collection, of every
key and of every value, so each error can say ``topo.yaml:12: link 3: ...`` the way a compiler
does. Duplicate keys, which PyYAML silently lets the last one win, are recorded so the checker
can refuse them with both lines.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ..sim.units import parse_rate, parse_time

__all__ = ["TopologyError", "YMap", "YList", "load_yaml", "Where"]


class TopologyError(ValueError):
    """A topology file or topology description is wrong.

    Attributes:
        message: what is wrong, without the location.
        line: 1-based line in the file (None when unknown).
        path: the file, as given by the caller (None for in-memory text).
    """

    def __init__(self, message: str, line: int | None = None, path: str | None = None):
        self.message = message
        self.line = line
        self.path = path
        where = path or "<topology>"
        super().__init__(f"{where}:{line}: {message}" if line else f"{where}: {message}")


class YMap(dict):
    """A YAML mapping with ``line`` (its own), ``lines`` (value lines) and ``key_lines``."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.lines: dict[Any, int] = {}
        self.key_lines: dict[Any, int] = {}
        self.duplicates: list[tuple[Any, int, int]] = []  # (key, line, first line)


class YList(list):
    """A YAML sequence with ``line`` (its own) and ``item_lines``."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose mappings and sequences remember their lines."""


def _construct_map(loader: _LineLoader, node: yaml.MappingNode):
    data = YMap(node.start_mark.line + 1)
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key_line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise TopologyError("a mapping key must be a plain name, not a list or mapping",
                                key_line) from None
        if key in data:
            data.duplicates.append((key, key_line, data.key_lines[key]))
            continue
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_line
        data.lines[key] = value_node.start_mark.line + 1


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode):
    data = YList(node.start_mark.line + 1)
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_lines.append(item.start_mark.line + 1)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def load_yaml(text: str, path: str | None = None) -> Any:
    """Parse YAML text into YMap/YList/scalars.

    Args:
        text: the document.
        path: the file name used in error messages.

    Returns:
        The document's root value (None for an empty document).

    Raises:
        TopologyError: malformed YAML (with the parser's line) or an unhashable key.
    """
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: no arbitrary objects
    except RecursionError:
        # PyYAML's parser recurses once per nesting level: thousands of "[" exhaust the stack.
        raise TopologyError("malformed YAML: lists or mappings nested too deeply (a topology "
                            "file needs only a few levels)", None, path) from None
    except TopologyError as exc:
        raise TopologyError(exc.message, exc.line, path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        parts = [p for p in (exc.context, exc.problem) if p]
        message = "malformed YAML: " + "; ".join(parts)
        raise TopologyError(message, mark.line + 1 if mark else None, path) from None
    except yaml.YAMLError as exc:
        raise TopologyError(f"malformed YAML: {exc}", None, path) from None


class Where:
    """Error context: the file, and a prefix naming the item ("link 3", "node h1")."""

    def __init__(self, path: str | None, what: str = ""):
        self.path = path
        self.what = what

    def sub(self, what: str) -> Where:
        return Where(self.path, what)

    def error(self, message: str, line: int | None) -> TopologyError:
        return TopologyError(f"{self.what}: {message}" if self.what else message, line, self.path)

    # -- shape checks --------------------------------------------------------------------

    def mapping(self, value: Any, line: int | None, what: str) -> YMap:
        if not isinstance(value, YMap):
            raise self.error(f"{what} must be a mapping (key: value), got {_describe(value)}", line)
        return value

    def sequence(self, value: Any, line: int | None, what: str) -> YList:
        if not isinstance(value, YList):
            raise self.error(f"{what} must be a list (- item), got {_describe(value)}", line)
        return value

    def keys(self, m: YMap, allowed: Iterable[str], required: Iterable[str] = (),
             noun: str = "key") -> None:
        """Refuse duplicate, unknown (with a close-match hint) and missing keys."""
        allowed = list(allowed)
        for key, line, first in m.duplicates:
            raise self.error(f"duplicate {noun} {key!r} (first on line {first})", line)
        for key in m:
            if not isinstance(key, str):
                raise self.error(f"{noun} {key!r} must be a name (text)", m.key_lines[key])
            if key not in allowed:
                raise self.error(f"unknown {noun} {key!r}{suggest(key, allowed)}",
                                 m.key_lines[key])
        for key in required:
            if key not in m:
                raise self.error(f"missing {noun} {key!r}", m.line)

    # -- typed fields ----------------------------------------------------------------------

    def text(self, m: YMap, key: str) -> str:
        value = m[key]
        if not isinstance(value, str) or not value:
            raise self.error(f"{key} must be text, got {_describe(value)}", m.lines[key])
        return value

    def boolean(self, m: YMap, key: str) -> bool:
        value = m[key]
        if not isinstance(value, bool):
            raise self.error(f"{key} must be true or false, got {_describe(value)}", m.lines[key])
        return value

    def integer(self, m: YMap, key: str, low: int | None = None,
                high: int | None = None) -> int:
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{key} must be a whole number, got {_describe(value)}", m.lines[key])
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.error(f"{key} must be {_range(low, high)}, got {value}", m.lines[key])
        return value

    def probability(self, m: YMap, key: str) -> float:
        value = m[key]
        line = m.lines[key]
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                value = float(value.strip()[:-1]) / 100
            except ValueError:
                raise self.error(f"{key} must be a probability like 0.01 or 1%, got {value!r}",
                                 line) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(f"{key} must be a probability like 0.01 or 1%, got "
                             f"{_describe(value)}", line)
        if not 0.0 <= value <= 1.0:
            raise self.error(f"{key} must be between 0 and 1, got {value}", line)
        return float(value)

    def time_ns(self, m: YMap, key: str, low: str | None = None, high: str | None = None,
                low_open: bool = False) -> int:
        """A time ("50us", "2s"; a bare number is seconds) in nanoseconds, in [low, high]."""
        return self._unit(m, key, parse_time, low, high, low_open)

    def rate_bps(self, m: YMap, key: str, low: str | None = None,
                 high: str | None = None) -> int:
        """A bit rate ("100Mbps"; a bare number is bit/s), in [low, high]."""
        return self._unit(m, key, parse_rate, low, high)

    def _unit(self, m: YMap, key: str, parse, low: str | None = None, high: str | None = None,
              low_open: bool = False) -> int:
        value, line = m[key], m.lines[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.error(f"{key} must be a number with a unit, got {_describe(value)}", line)
        try:
            number = parse(value)
        except (ValueError, OverflowError) as exc:  # OverflowError: "1e400s" is inf seconds
            why = f"{value} is too large" if isinstance(exc, OverflowError) else str(exc)
            allowed = f"; allowed: {_range(low, high, low_open)}" if low or high else ""
            raise self.error(f"{key}: {why}{allowed}", line) from None
        lo = None if low is None else parse(low)
        hi = None if high is None else parse(high)
        if (lo is not None and (number < lo or (low_open and number == lo))) or \
                (hi is not None and number > hi):
            raise self.error(f"{key} must be {_range(low, high, low_open)}, got {value}", line)
        return number

    def cidr(self, m: YMap, key: str) -> ipaddress.IPv4Interface:
        """An interface address with its prefix length, "10.0.1.10/24"."""
        value, line = m[key], m.lines[key]
        if not isinstance(value, str) or "/" not in value:
            raise self.error(f"{key} must be an IPv4 address with a prefix length like "
                             f"10.0.1.10/24, got {_describe(value)}", line)
        try:
            addr = ipaddress.IPv4Interface(value)
        except ValueError as exc:
            raise self.error(f"{key}: bad address {value!r} ({exc})", line) from None
        net = addr.network
        if net.prefixlen <= 30 and addr.ip in (net.network_address, net.broadcast_address):
            which = "network" if addr.ip == net.network_address else "broadcast"
            raise self.error(f"{key}: {addr.ip} is the {which} address of {net}; pick a host "
                             f"address", line)
        return addr

    def address(self, m: YMap, key: str) -> ipaddress.IPv4Address:
        value, line = m[key], m.lines[key]
        try:
            if not isinstance(value, str):
                raise ValueError("not text")
            return ipaddress.IPv4Address(value)
        except ValueError:
            raise self.error(f"{key} must be an IPv4 address like 10.0.1.1, got "
                             f"{_describe(value)}", line) from None

    def prefix(self, m: YMap, key: str) -> ipaddress.IPv4Network:
        value, line = m[key], m.lines[key]
        if not isinstance(value, str):
            raise self.error(f"{key} must be a prefix like 10.0.3.0/24, got {_describe(value)}",
                             line)
        if value == "default":
            return ipaddress.IPv4Network("0.0.0.0/0")
        try:
            return ipaddress.IPv4Network(value)
        except ValueError as exc:
            hint = ""
            try:
                hint = f"; did you mean {ipaddress.IPv4Network(value, strict=False)}?"
            except ValueError:
                pass
            raise self.error(f"{key}: bad prefix {value!r} ({exc}){hint}", line) from None


def suggest(word: str, choices: Iterable[str]) -> str:
    """A "(did you mean ...?)" hint and the list of valid choices."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (expected one of: {', '.join(choices)})"


def _range(low: Any, high: Any, low_open: bool = False) -> str:
    """"at least 68 and at most 65535", "more than 0s and at most 86400s", ..."""
    words = []
    if low is not None:
        words.append(f"more than {low}" if low_open else f"at least {low}")
    if high is not None:
        words.append(f"at most {high}")
    return " and ".join(words)


def _describe(value: Any) -> str:
    if isinstance(value, YMap):
        return "a mapping"
    if isinstance(value, YList):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


def read_text(path: str | Path) -> str:
    """The file's text, or a TopologyError naming the file when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TopologyError(f"cannot read the topology file ({exc})", None, str(path)) from None
