"""Lab parameters: each declares its type and its valid range, and values are checked up front.

A lab lists its parameters once::

    PARAMS = declare(
        Param("hosts", int, 4, min=3, max=254, help="hosts on the switch"),
        Param("aging", TIME, "20s", min="10s", max="1000000s", help="MAC table aging time"),
    )

    @checked(PARAMS)
    def run(hosts=PARAMS["hosts"].default, aging=PARAMS["aging"].default, ...): ...

The same declaration builds the command line's options (``netsim lab NAME --help`` prints the
ranges), converts the text a student typed, and checks every value *before* anything runs, so a
mistake costs one line, ``--hosts must be an integer from 3 to 254 (got 500)``, instead of a
traceback from deep inside a run. :func:`checked` applies the same checks when a lab is called
from Python, where the message names the keyword (``hosts must be ...``).

A value is accepted as text (from the command line: ``"2,4,8"``, ``"0.5s"``) or as the Python
value itself (``[2, 4, 8]``, ``"0.5s"``, ``0.5``); lists (``many=True``) also take one value.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from netsim.sim.units import parse_rate, parse_time

__all__ = ["Kind", "INT", "FLOAT", "TEXT", "TIME", "RATE", "Param", "ParamError", "declare",
           "checked", "check_values"]


@dataclass(frozen=True)
class Kind:
    """What a parameter's values are: how to read one from text, and how to compare it.

    ``parse(text)`` turns command-line text into the value, ``accept(value)`` checks a Python
    value of the right type (both raise ValueError/TypeError on a wrong one); ``measure(value)``
    gives the number the range is checked on (nanoseconds for a time, bit/s for a rate, bytes
    for text); ``unit`` is printed after that number when a bound is shown as one.
    """

    noun: str            # "an integer"
    plural: str          # "integers"
    parse: Callable[[str], Any]
    accept: Callable[[Any], Any]
    measure: Callable[[Any], float]
    unit: str = ""


def _int_text(text: str) -> int:
    return int(text.strip())  # "2.5", "abc" and "" raise ValueError


def _int_value(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an integer")
    return value


def _float_text(text: str) -> float:
    return _float_value(float(text.strip()))


def _float_value(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("not a number")
    if not math.isfinite(value):  # nan and inf compare false with every bound
        raise ValueError("not a finite number")
    return float(value)


def _text_value(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    value.encode("utf-8")  # a command-line argument that is not UTF-8 arrives as surrogates
    return value


def _unit_value(parse: Callable[[Any], int]) -> Callable[[Any], Any]:
    def accept(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise TypeError("not a number with a unit")
        try:
            parse(value)
        except OverflowError as exc:  # "1e400s" is inf seconds
            raise ValueError(str(exc)) from None
        return value  # kept as given ("0.5s"): the lab prints it and parses it itself
    return accept


def _measure_time(value: Any) -> float:
    return parse_time(value)


def _measure_rate(value: Any) -> float:
    return parse_rate(value)


INT = Kind("an integer", "integers", _int_text, _int_value, float)
FLOAT = Kind("a number", "numbers", _float_text, _float_value, float)
TEXT = Kind("text", "texts", _text_value, _text_value,
            lambda v: len(v.encode("utf-8")), " bytes")
TIME = Kind("a time", "times", _unit_value(parse_time), _unit_value(parse_time),
            _measure_time)
RATE = Kind("a rate", "rates", _unit_value(parse_rate), _unit_value(parse_rate),
            _measure_rate)
_KINDS = {int: INT, float: FLOAT, str: TEXT}


class ParamError(ValueError):
    """A value its parameter does not allow; ``str()`` is the whole message, one line.

    Attributes:
        param: the :class:`Param`.
        value: what was given.
    """

    def __init__(self, message: str, param: Param | None = None, value: Any = None):
        super().__init__(message)
        self.param = param
        self.value = value


@dataclass(frozen=True)
class Param:
    """One lab parameter: its name, kind, default, valid range and help text.

    Args:
        name: the keyword of ``run()`` (``prefix_len``); the option is ``--prefix-len``.
        type: ``int``, ``float``, ``str`` or a :class:`Kind` (:data:`TIME`, :data:`RATE`).
        default: used when the parameter is not given; checked against the range too.
        help: one line for ``--help``.
        min, max: the valid range, inclusive (for text: its length in UTF-8 bytes; for times
            and rates: text such as ``"10ms"``, ``"1kbps"``).
        min_open: the minimum itself is not allowed (``> 0`` rather than ``>= 0``).
        choices: the only values allowed (text parameters).
        many: a comma-separated list of values, each in the range.
    """

    name: str
    type: Any
    default: Any
    help: str = ""
    min: Any = None
    max: Any = None
    min_open: bool = False
    choices: tuple[str, ...] = ()
    many: bool = False

    def __post_init__(self) -> None:
        kind = _KINDS.get(self.type, self.type)
        if not isinstance(kind, Kind):
            raise TypeError(f"parameter {self.name}: type must be int, float, str, TIME or RATE")
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "choices", tuple(self.choices))
        self.check(self.default, label=f"the default of {self.name}")  # a wrong declaration

    @property
    def kind(self) -> Kind:
        return self.type

    @property
    def flag(self) -> str:
        """The command-line option: ``--prefix-len``."""
        return "--" + self.name.replace("_", "-")

    # -- what is allowed, in words ---------------------------------------------------------

    def describe(self, example: bool = True) -> str:
        """What a value must be: ``an integer from 3 to 254``, ``a time from 10ms to 60s, like
        0.5s``, ``one of a, b`` (``example``: end with the default as an example)."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        kind = self.kind
        if kind is TEXT:
            low, high = self.min or 0, self.max
            size = f"{low} to {high}" if high is not None else f"at least {low}"
            noun = f"text of {size} bytes (UTF-8)" if (low or high is not None) else "text"
            return f"texts of {size} bytes each" if self.many else noun
        rng = self._range_words()
        if self.many:
            like = f", like {self._list_example()}" if example else ""
            return f"a comma-separated list of {kind.plural}{rng}{like}"
        if kind in (TIME, RATE) and example:
            return f"{kind.noun}{rng}, like {self.default}"
        return f"{kind.noun}{rng}"

    def _range_words(self) -> str:
        low, high = self.min, self.max
        if low is not None and high is not None:
            if self.min_open:
                return f" > {low} and <= {high}"
            return f" from {low} to {high}"
        if low is not None:
            return f" > {low}" if self.min_open else f" >= {low}"
        if high is not None:
            return f" <= {high}"
        return ""

    def _list_example(self) -> str:
        d = self.default
        return ",".join(map(str, d)) if isinstance(d, (list, tuple)) else str(d)

    def bounds(self) -> tuple[float | None, float | None]:
        """The range as numbers of :attr:`Kind.measure` (nanoseconds, bit/s, bytes, ...)."""
        conv = self.kind.measure if self.kind in (TIME, RATE) else float
        return (None if self.min is None else conv(self.min),
                None if self.max is None else conv(self.max))

    # -- checking ---------------------------------------------------------------------------

    def check(self, value: Any, label: str | None = None) -> Any:
        """Convert and check ``value`` (command-line text or a Python value).

        Args:
            value: the value; text is parsed, a Python value is type-checked.
            label: how the message names the parameter (default: the Python name).

        Returns:
            The value to pass to ``run()``: a list for ``many`` parameters.

        Raises:
            ParamError: wrong type or out of range; the message names the parameter, the value
                given and what is allowed.
        """
        label = label or self.name
        if not self.many:
            return self._one(value, value, label)
        items = self._items(value, label)
        return [self._one(item, value, label) for item in items]

    def _items(self, value: Any, label: str) -> list[Any]:
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",")]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            items = [value]
        if not items or any(isinstance(v, str) and not v for v in items):
            raise self._error(label, value, value)
        return items

    def _one(self, value: Any, whole: Any, label: str) -> Any:
        kind = self.kind
        try:
            got = kind.parse(value) if isinstance(value, str) else kind.accept(value)
        except (ValueError, TypeError, UnicodeError):
            raise self._error(label, value, whole) from None
        if self.choices:
            if got not in self.choices:
                raise self._error(label, value, whole)
            return got
        size = kind.measure(got)
        low, high = self.bounds()
        if low is not None and (size < low or (self.min_open and size == low)):
            raise self._error(label, value, whole)
        if high is not None and size > high:
            raise self._error(label, value, whole)
        return got

    def _error(self, label: str, item: Any, whole: Any) -> ParamError:
        shown = _show(item)
        if self.kind is TEXT and isinstance(item, str) and not self.choices:
            try:
                shown = f"{len(item.encode('utf-8'))} bytes"
            except UnicodeError:
                shown = "text that is not UTF-8"
        if self.many and whole is not item and not isinstance(whole, (list, tuple)):
            shown += f" in {_show(whole)}"
        return ParamError(f"{label} must be {self.describe()} (got {shown})", self, whole)


def _show(value: Any) -> str:
    """A value as a student typed it: 1, 2.5, abc; quoted only when empty or spaced."""
    if isinstance(value, str):
        if not value or value != value.strip() or " " in value:
            return repr(value)
        try:
            value.encode("utf-8")
        except UnicodeError:
            return repr(value.encode("utf-8", "surrogateescape"))
        return value
    return repr(value)


def declare(*params: Param) -> dict[str, Param]:
    """The ``PARAMS`` table of a lab: name -> :class:`Param`, in the order given."""
    table: dict[str, Param] = {}
    for p in params:
        if p.name in table:
            raise ValueError(f"parameter {p.name} declared twice")
        table[p.name] = p
    return table


def check_values(params: dict[str, Param], given: dict[str, Any], flags: bool = False,
                 extra: Iterable[str] = ()) -> dict[str, Any]:
    """Check every value against its declaration; fill in the defaults of the missing ones.

    Args:
        params: a lab's ``PARAMS``.
        given: name -> value; ``None`` means "use the default".
        flags: name parameters as command-line options (``--hosts``) in messages.
        extra: other names that pass through unchecked (``out``, ``jobs``, ``progress``).

    Returns:
        Every declared parameter with its checked value, plus the ``extra`` ones given.

    Raises:
        ParamError: the first value, in declaration order, that is not allowed, or a name
            that is not a parameter.
    """
    extra = set(extra)
    unknown = [k for k in given if k not in params and k not in extra]
    if unknown:
        raise ParamError(f"no parameter named {unknown[0]}; the parameters are "
                         f"{', '.join(params)}")
    values = {}
    for name, p in params.items():
        value = given.get(name)
        values[name] = p.check(p.default if value is None else value,
                               label=p.flag if flags else None)
    values.update({k: v for k, v in given.items() if k in extra})
    return values


def checked(params: dict[str, Param]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a lab's ``run()`` so that every call checks its parameters first.

    Arguments that are not declared parameters (``out``, ``jobs``, ``progress``) pass through.
    """
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)
        missing = [name for name in params if name not in sig.parameters]
        if missing:
            raise TypeError(f"{fn.__module__}.run() does not take declared parameter(s) "
                            f"{', '.join(missing)}")

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            given = {k: v for k, v in bound.arguments.items() if k in params}
            bound.arguments.update(check_values(params, given))
            return fn(*bound.args, **bound.kwargs)

        run.params = params  # type: ignore[attr-defined]
        return run
    return wrap
