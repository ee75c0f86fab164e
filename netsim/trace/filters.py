"""Display filters for trace events, a small subset of Wireshark's syntax.

Used by the stepper's ``break`` command and by ``net.run(until=...)`` callers who prefer a
string. A filter is terms joined by ``and`` / ``or`` (``and`` binds tighter), each term one of:

* a protocol present in the frame: ``eth arp ip icmp udp tcp tftp``;
* a TCP flag: ``tcp.flags.syn``, ``tcp.flags.fin``, ``tcp.flags.rst``, ``tcp.flags.ack`` ...;
* a comparison ``field == value`` / ``!=`` / ``<`` / ``>`` / ``<=`` / ``>=`` on ``ip.src ip.dst
  ip.ttl ip.proto tcp.srcport tcp.dstport tcp.port tcp.seq tcp.ack tcp.len tcp.window
  udp.srcport udp.dstport udp.port eth.src eth.dst icmp.type arp.opcode frame.len``;
* ``node NAME`` (the event happened on that node), ``iface h1-eth0``, ``kind rx`` (tx, rx,
  drop, state, app), ``state`` (any TCP state change), ``state ESTABLISHED`` (a change into it);
* ``not TERM``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from .events import TraceEvent

__all__ = ["compile_filter", "FilterError"]

Predicate = Callable[[TraceEvent], bool]


class FilterError(ValueError):
    """A filter that does not parse; the message says which word and why."""


_PROTOCOLS = ("eth", "arp", "ip", "icmp", "udp", "tcp", "tftp")
_FLAGS = {"fin": 0x01, "syn": 0x02, "rst": 0x04, "reset": 0x04, "psh": 0x08, "push": 0x08,
          "ack": 0x10, "urg": 0x20, "ece": 0x40, "cwr": 0x80}
_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
        "<=": operator.le, ">=": operator.ge}


def _field(name: str) -> Callable[[Any], Any]:
    def ip(attr):
        return lambda f: getattr(f.ip, attr) if f.ip is not None else None

    def layer(lname, attr):
        return lambda f: getattr(getattr(f, lname), attr) if getattr(f, lname) is not None else None

    table = {
        "ip.src": ip("src"), "ip.dst": ip("dst"), "ip.ttl": ip("ttl"), "ip.proto": ip("proto"),
        "eth.src": layer("eth", "src"), "eth.dst": layer("eth", "dst"),
        "tcp.srcport": layer("tcp", "sport"), "tcp.dstport": layer("tcp", "dport"),
        "tcp.seq": layer("tcp", "seq"), "tcp.ack": layer("tcp", "ack"),
        "tcp.window": layer("tcp", "window"),
        "tcp.len": lambda f: len(f.tcp.payload) if f.tcp is not None else None,
        "udp.srcport": layer("udp", "sport"), "udp.dstport": layer("udp", "dport"),
        "icmp.type": layer("icmp", "type"), "arp.opcode": layer("arp", "op"),
        "frame.len": lambda f: len(f.data),
    }
    if name in ("tcp.port", "udp.port"):
        lname = name.split(".")[0]
        return lambda f: (getattr(f, lname).sport, getattr(f, lname).dport) if getattr(f, lname) else None
    if name not in table:
        raise FilterError(f"unknown field {name!r}; known fields: {', '.join(sorted(table))}, tcp.port, udp.port")
    return table[name]


def _coerce(text: str) -> Any:
    if re.fullmatch(r"0x[0-9a-fA-F]+", text):
        return int(text, 16)
    if re.fullmatch(r"\d+", text):
        return int(text)
    return text.strip("\"'").lower()


def _term(words: list[str]) -> Predicate:
    if not words:
        raise FilterError("empty filter term")
    head = words[0].lower()
    if head == "not":
        inner = _term(words[1:])
        return lambda ev: not inner(ev)
    if head in ("node", "iface", "kind"):
        if len(words) != 2:
            raise FilterError(f"'{head}' takes one name, e.g. '{head} h2'")
        want = words[1]
        if head == "node":
            return lambda ev: ev.node == want
        if head == "kind":
            return lambda ev: ev.kind == want
        return lambda ev: f"{ev.node}-{ev.iface}" == want
    if head == "state":
        if len(words) == 1:
            return lambda ev: ev.kind == "state"
        want = words[1].upper()
        return lambda ev: ev.kind == "state" and ev.note is not None and ev.note.rstrip().endswith(want)
    if len(words) == 1:
        if head in _PROTOCOLS:
            return lambda ev: ev.frame is not None and _decoded_has(ev, head)
        m = re.fullmatch(r"tcp\.flags\.(\w+)", head)
        if m:
            if m.group(1) not in _FLAGS:
                raise FilterError(f"unknown TCP flag {m.group(1)!r}; use one of {', '.join(_FLAGS)}")
            bit = _FLAGS[m.group(1)]
            return lambda ev: ev.frame is not None and _tcp_flags(ev) & bit != 0
        raise FilterError(f"unknown filter word {words[0]!r}")
    if len(words) == 3 and words[1] in _OPS:
        get, op, value = _field(head), _OPS[words[1]], _coerce(words[2])

        def compare(ev: TraceEvent) -> bool:
            if ev.frame is None:
                return False
            try:
                got = get(ev.decoded)
            except ValueError:
                return False
            if got is None:
                return False
            if isinstance(got, tuple):  # tcp.port == 80 matches either side
                return any(op(_norm(g), value) for g in got)
            return op(_norm(got), value)
        return compare
    raise FilterError(f"cannot read {' '.join(words)!r}: expected e.g. 'tcp.flags.fin', "
                      f"'ip.dst == 10.0.0.2', 'node h2'")


def _norm(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _decoded_has(ev: TraceEvent, proto: str) -> bool:
    try:
        return getattr(ev.decoded, proto) is not None
    except ValueError:
        return False


def _tcp_flags(ev: TraceEvent) -> int:
    try:
        tcp = ev.decoded.tcp
    except ValueError:
        return 0
    return tcp.flags if tcp is not None else 0


def compile_filter(text: str) -> Predicate:
    """Compile ``text`` into a predicate on :class:`TraceEvent`.

    Raises:
        FilterError: the filter does not parse (the message names the word).
    """
    tokens = re.findall(r"==|!=|<=|>=|<|>|[^\s=!<>]+", text)
    if not tokens:
        raise FilterError("empty filter")
    alternatives: list[list[list[str]]] = [[[]]]
    for tok in tokens:
        low = tok.lower()
        if low in ("or", "||"):
            alternatives.append([[]])
        elif low in ("and", "&&"):
            alternatives[-1].append([])
        else:
            alternatives[-1][-1].append(tok)
    compiled = [[_term(t) for t in conj] for conj in alternatives]
    return lambda ev: any(all(p(ev) for p in conj) for conj in compiled)
