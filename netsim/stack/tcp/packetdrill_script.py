"""The script language of the packetdrill-style runner (:mod:`.packetdrill`): its parser.

One event per line, ``//`` starts a comment::

    0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
    +0    `sysctl -q net.ipv4.tcp_sack=0`          // a host setting, as on Linux
    +0    setsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "reno", 4) = 0
    +0    < S 0:0(0) win 32792 <mss 1000,sackOK,TS val 100 ecr 0,nop,wscale 7>
    +0    > S. 0:0(0) ack 1 <...>
    +.1   < . 1:1(0) ack 1 win 257 <nop,nop,TS val 110 ecr 100,nop,nop,sack 1001:2001>
    +0    %{ assert tcpi_snd_cwnd == 10 }%         // Python on the connection's TCP_INFO

Times are seconds, absolute or ``+`` relative to the previous line's script time. Flags are
``S F R P . E W`` (``.`` is ACK). Options: ``mss N``, ``wscale N``, ``sackOK``, ``TS val V
ecr E``, ``sack L:R ...``, ``nop``, ``eol``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...sim.units import NS_PER_S as _NS

__all__ = ["ScriptError", "ScriptSegment", "ScriptCall", "ScriptCommand", "ScriptPython",
           "ScriptLine", "parse_script", "option_text"]

_TIME_RE = re.compile(r"^(\+?)(\d+(?:\.\d*)?|\.\d+)\s+(.*)$")
_SEG_RE = re.compile(r"^([<>])\s+([SFRPEW.]+)\s+(\d+):(\d+)\((\d+)\)\s*(.*)$")
_CALL_RE = re.compile(r"^(\w+)\((.*)\)\s*=\s*(-?\d+)(?:\s+(E[A-Z0-9]+))?(?:\s*\(.*\))?\s*$")
_COMMAND_RE = re.compile(r"^`([^`]*)`$")
_PYTHON_RE = re.compile(r"^%\{(.*)\}%$")


class ScriptError(AssertionError):
    """A script failed: ``lineno``, ``expected`` and ``actual`` say where and how."""

    def __init__(self, name: str, lineno: int, message: str, expected: str = "",
                 actual: str = ""):
        self.lineno, self.expected, self.actual = lineno, expected, actual
        text = f"{name}:{lineno}: {message}"
        if expected:
            text += f"\n  expected: {expected}"
        if actual:
            text += f"\n  actual:   {actual}"
        super().__init__(text)


@dataclass(slots=True)
class ScriptSegment:
    """A ``<`` or ``>`` line."""

    direction: str
    flags: str
    start: int
    end: int
    length: int
    ack: int | None = None
    win: int | None = None
    options: tuple | None = ()  # None: ``<...>``, skip the check

    def text(self) -> str:
        """The segment in script syntax."""
        out = f"{self.direction} {self.flags} {self.start}:{self.end}({self.length})"
        if self.ack is not None:
            out += f" ack {self.ack}"
        if self.win is not None:
            out += f" win {self.win}"
        if self.options is None:
            out += " <...>"
        elif self.options:
            out += " <" + ",".join(option_text(o) for o in self.options) + ">"
        return out


@dataclass(slots=True)
class ScriptCall:
    """A socket call line: ``name(args) = ret [ERRNO]``."""

    name: str
    args: list[str]
    ret: int
    errno: str | None = None

    def text(self) -> str:
        """The expected result in script syntax."""
        return f"{self.name}(...) = {self.ret}" + (f" {self.errno}" if self.errno else "")


@dataclass(slots=True)
class ScriptCommand:
    """A backtick line: a shell command; the runner understands ``sysctl`` only."""

    command: str


@dataclass(slots=True)
class ScriptPython:
    """A ``%{ ... }%`` line: Python run with the connection's ``tcpi_*`` values."""

    code: str


@dataclass(slots=True)
class ScriptLine:
    """One event line: absolute script time (ns), the item, and where it came from."""

    lineno: int
    time_ns: int
    item: ScriptSegment | ScriptCall | ScriptCommand | ScriptPython
    source: str = field(default="")


def option_text(opt: tuple) -> str:
    """One option in script syntax, e.g. ``TS val 5 ecr 0`` or ``sack 1001:2001``."""
    name, value = opt
    simple = {"MSS": "mss", "WScale": "wscale"}
    if name in simple:
        return f"{simple[name]} {value}"
    if name == "Timestamp":
        return f"TS val {value[0]} ecr {value[1]}"
    if name == "SAck":
        return "sack " + " ".join(f"{left}:{right}" for left, right in value)
    return {"NOP": "nop", "EOL": "eol", "SAckOK": "sackOK"}.get(name, f"{name} {value!r}")


def _parse_options(text: str, name: str, lineno: int) -> tuple:
    out = []
    for part in (p.strip() for p in text.split(",")):
        words = part.split()
        try:
            if words[0] == "mss":
                out.append(("MSS", int(words[1])))
            elif words[0] == "wscale":
                out.append(("WScale", int(words[1])))
            elif words[0] == "nop":
                out.append(("NOP", None))
            elif words[0] == "eol":
                out.append(("EOL", None))
            elif words[0] == "sackOK":
                out.append(("SAckOK", b""))
            elif words[0] == "TS":
                out.append(("Timestamp", (int(words[2]), int(words[4]))))
            elif words[0] == "sack":
                blocks = tuple(tuple(int(x) for x in w.split(":")) for w in words[1:])
                if not blocks or any(len(b) != 2 for b in blocks):
                    raise ValueError(part)
                out.append(("SAck", blocks))
            else:
                raise ScriptError(name, lineno, f"unknown option {part!r}")
        except (IndexError, ValueError):
            raise ScriptError(name, lineno, f"bad option {part!r}") from None
    return tuple(out)


def _parse_segment(m: re.Match, rest: str, name: str, lineno: int) -> ScriptSegment:
    seg = ScriptSegment(m.group(1), m.group(2), int(m.group(3)), int(m.group(4)),
                        int(m.group(5)))
    if seg.end - seg.start != seg.length:
        raise ScriptError(name, lineno, f"{seg.start}:{seg.end} does not span ({seg.length})")
    opt = re.search(r"<(.*)>\s*$", rest)
    if opt:
        seg.options = None if opt.group(1).strip() == "..." else \
            _parse_options(opt.group(1), name, lineno)
        rest = rest[:opt.start()]
    words = rest.split()
    i = 0
    while i < len(words):
        if words[i] in ("ack", "win") and i + 1 < len(words) and words[i + 1].isdigit():
            setattr(seg, words[i], int(words[i + 1]))
            i += 2
        else:
            raise ScriptError(name, lineno, f"cannot parse {words[i]!r} in segment")
    return seg


def parse_script(text: str, name: str = "script") -> list[ScriptLine]:
    """Parse a script into lines with absolute times.

    Args:
        text: the script.
        name: shown in error messages.

    Returns:
        the event lines in order.

    Raises:
        ScriptError: a line does not parse.
    """
    lines: list[ScriptLine] = []
    last = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        body = raw.split("//", 1)[0].strip()
        if not body:
            continue
        m = _TIME_RE.match(body)
        if not m:
            raise ScriptError(name, lineno, f"no time at the start of {body!r}")
        t = round(float(m.group(2)) * _NS)
        t = last + t if m.group(1) else t
        last = t
        rest = m.group(3).strip()
        sm = _SEG_RE.match(rest)
        if sm:
            item: ScriptSegment | ScriptCall | ScriptCommand | ScriptPython = \
                _parse_segment(sm, sm.group(6), name, lineno)
        elif (bm := _COMMAND_RE.match(rest)) is not None:
            item = ScriptCommand(bm.group(1).strip())
        elif (pm := _PYTHON_RE.match(rest)) is not None:
            item = ScriptPython(pm.group(1).strip())
        else:
            cm = _CALL_RE.match(rest)
            if not cm:
                raise ScriptError(name, lineno, f"cannot parse {rest!r}")
            args = [a.strip() for a in cm.group(2).split(",")]
            item = ScriptCall(cm.group(1), args, int(cm.group(3)), cm.group(4))
        lines.append(ScriptLine(lineno, t, item, raw.strip()))
    return lines
