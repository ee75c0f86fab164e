"""A packetdrill-style script runner for the sans-I/O TCP core (a subset of packetdrill).

A script drives ONE endpoint of ours on a virtual clock, with no simulator: ``<`` lines are
segments the peer sends (fed to ``receive``), ``>`` lines are segments we must send (checked
against what the core produced, in order, at that time within a tolerance), and socket calls
(``socket bind listen accept connect write read shutdown close setsockopt fcntl``) call the
core's user interface. Timers fire at their exact deadlines as the clock advances.

Syntax (one event per line, ``//`` starts a comment)::

    0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
    +0    listen(3, 1) = 0
    +0    < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>
    +0    > S. 0:0(0) ack 1 <...>
    +1.0  > P. 1:1001(1000) ack 1        // RTO retransmission
    +0    connect(3, ..., ...) = -1 ECONNREFUSED (Connection refused)

Times are seconds, absolute or ``+`` relative to the previous line's script time. Flags are
``S F R P . E W`` (``.`` is ACK). Sequence numbers are relative: inbound ones to the peer's
ISN (the number on the script's first inbound SYN, plus the runner's ``remote_isn``), our
``ack``/``seq`` to our ISN (picked by the runner). A RST we send to a closed port in answer
to a segment without ACK carries SEQ=0, which is shown absolute (as packetdrill prints it).
Outbound ``<...>`` skips the option check; no options means "expect none". ``ack`` and
``win`` are checked only when written.

Blocking calls (``accept``, ``connect``, ``read`` on a blocking fd) wait until the core can
complete them; their return value is checked then. A call still waiting at the end of the
script, an unexpected outbound segment, or a mismatch raises :class:`ScriptError` naming the
script line, the expected and the actual segment.
"""

from __future__ import annotations

import errno as _errno
import re
from dataclasses import dataclass, field

from ...sim.units import NS_PER_S as _NS
from .connection import Connection
from .events import TcpConfig
from .listener import Listener
from .segment import ACK, CWR, ECE, FIN, PSH, RST, SYN, TCP, flag_letters, rst_for
from .states import State

__all__ = ["ScriptError", "ScriptSegment", "ScriptCall", "ScriptLine", "parse_script",
           "run_script", "Runner"]

_FLAG_BITS = {"S": SYN, "F": FIN, "R": RST, "P": PSH, ".": ACK, "E": ECE, "W": CWR}
_TIME_RE = re.compile(r"^(\+?)(\d+(?:\.\d*)?|\.\d+)\s+(.*)$")
_SEG_RE = re.compile(r"^([<>])\s+([SFRPEW.]+)\s+(\d+):(\d+)\((\d+)\)\s*(.*)$")
_CALL_RE = re.compile(r"^(\w+)\((.*)\)\s*=\s*(-?\d+)(?:\s+(E[A-Z0-9]+))?(?:\s*\(.*\))?\s*$")


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
            out += " <" + ",".join(_option_text(o) for o in self.options) + ">"
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
class ScriptLine:
    """One event line: absolute script time (ns), the item, and where it came from."""

    lineno: int
    time_ns: int
    item: ScriptSegment | ScriptCall
    source: str = field(default="")


def _option_text(opt: tuple) -> str:
    name, value = opt
    simple = {"MSS": "mss", "WScale": "wscale"}
    if name in simple:
        return f"{simple[name]} {value}"
    if name == "Timestamp":
        return f"TS val {value[0]} ecr {value[1]}"
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
            item: ScriptSegment | ScriptCall = _parse_segment(sm, sm.group(6), name, lineno)
        else:
            cm = _CALL_RE.match(rest)
            if not cm:
                raise ScriptError(name, lineno, f"cannot parse {rest!r}")
            args = [a.strip() for a in cm.group(2).split(",")]
            item = ScriptCall(cm.group(1), args, int(cm.group(3)), cm.group(4))
        lines.append(ScriptLine(lineno, t, item, raw.strip()))
    return lines


@dataclass(slots=True)
class _Fd:
    kind: str = "socket"  # socket, listener, conn
    obj: Connection | Listener | None = None
    nonblocking: bool = False
    nodelay: bool = False


class Runner:
    """Runs a parsed script against the core.

    Args:
        text: the script.
        name: the script's name for messages.
        tolerance_ns: allowed difference between a ``>`` line's time and the actual send time.
        local_isn: our ISN (the runner picks it; wraparound tests pass one near 2**32).
        remote_isn: added to every inbound sequence number of the script.
        config: tunables for our connections.
    """

    def __init__(self, text: str, name: str = "script", tolerance_ns: int = 10_000_000,
                 local_isn: int = 1_000_000, remote_isn: int = 0,
                 config: TcpConfig | None = None):
        self.name = name
        self.lines = parse_script(text, name)
        self.tol = tolerance_ns
        self.local_isn, self.remote_isn = local_isn, remote_isn
        self.cfg = config or TcpConfig()
        self.local, self.remote = ("192.168.0.1", 8080), ("192.0.2.1", 40000)
        self.now = 0
        self.fds: dict[int, _Fd] = {}
        self.conns: list[Connection] = []
        self.listeners: list[Listener] = []
        self.outq: list[tuple[int, TCP, bool]] = []  # (time, segment, seq is absolute)
        self.waiting: list[tuple[ScriptLine, int]] = []  # blocked calls (line, fd)

    # -------------------------------------------------------------- plumbing
    def _fail(self, line: ScriptLine, msg: str, expected: str = "", actual: str = "") -> None:
        raise ScriptError(self.name, line.lineno, msg, expected, actual)

    def _collect(self) -> None:
        for lst in self.listeners:
            for _remote, seg in lst.pending_replies():
                self.outq.append((self.now, seg, False))
        for c in self.conns:
            for seg in c.pending_segments():
                self.outq.append((self.now, seg, False))
            c.pop_events()
        self._resolve_waiting()

    def _advance(self, t: int) -> None:
        """Fire every timer due up to ``t`` at its own deadline, then set the clock to ``t``."""
        while True:
            due = [(d, i) for i, c in enumerate(self.conns)
                   if (d := c.next_deadline()) is not None and d <= t]
            if not due:
                break
            d, i = min(due)
            self.now = max(self.now, d)
            self.conns[i].on_timer(d)
            self._collect()
        self.now = max(self.now, t)

    def _advance_until_output(self, t: int) -> None:
        while not self.outq:
            due = [(d, i) for i, c in enumerate(self.conns)
                   if (d := c.next_deadline()) is not None and d <= t]
            if not due:
                return
            d, i = min(due)
            self.now = max(self.now, d)
            self.conns[i].on_timer(d)
            self._collect()

    def _describe(self, seg: TCP, absolute: bool) -> str:
        seq = seg.seq if absolute else (seg.seq - self.local_isn) & 0xFFFFFFFF
        n = len(seg.payload)
        out = f"> {flag_letters(seg.flags)} {seq}:{(seq + n) & 0xFFFFFFFF}({n})"
        if seg.flags & ACK:
            out += f" ack {(seg.ack - self.remote_isn) & 0xFFFFFFFF}"
        out += f" win {seg.window}"
        if seg.options:
            out += " <" + ",".join(_option_text(o) for o in seg.options) + ">"
        return out

    # -------------------------------------------------------------- running
    def run(self) -> None:
        """Run the whole script.

        Raises:
            ScriptError: the first mismatch, unexpected segment, or call that never returned.
        """
        for line in self.lines:
            if isinstance(line.item, ScriptSegment) and line.item.direction == ">":
                self._expect(line, line.item)
                continue
            self._advance(line.time_ns - self.tol)
            if self.outq:
                t, seg, absolute = self.outq[0]
                self._fail(line, f"unexpected outbound segment at {t / _NS:.6f}s before this "
                           "line", line.source, self._describe(seg, absolute))
            self._advance(line.time_ns)
            if isinstance(line.item, ScriptSegment):
                self._inject(line.item)
            else:
                self._call(line, line.item)
            self._collect()
        if self.outq:
            t, seg, absolute = self.outq[0]
            last = self.lines[-1] if self.lines else ScriptLine(0, 0, ScriptCall("", [], 0))
            self._fail(last, f"unexpected outbound segment at {t / _NS:.6f}s after the "
                       "script ended", "nothing more", self._describe(seg, absolute))
        if self.waiting:
            line, _fd = self.waiting[0]
            self._fail(line, "blocking call never returned", line.source, "still blocked")

    def _expect(self, line: ScriptLine, exp: ScriptSegment) -> None:
        self._advance_until_output(line.time_ns + self.tol)
        if not self.outq:
            self._fail(line, f"no segment sent by {(line.time_ns + self.tol) / _NS:.6f}s",
                       exp.text(), "nothing")
        t, seg, absolute = self.outq.pop(0)
        actual = self._describe(seg, absolute)
        if abs(t - line.time_ns) > self.tol:
            self._fail(line, f"segment sent at {t / _NS:.6f}s, expected at "
                       f"{line.time_ns / _NS:.6f}s", exp.text(), actual)
        seq = seg.seq if absolute else (seg.seq - self.local_isn) & 0xFFFFFFFF
        ok = (set(exp.flags) == set(flag_letters(seg.flags)) and exp.start == seq
              and exp.length == len(seg.payload))
        if exp.ack is not None:
            ok = ok and bool(seg.flags & ACK) and \
                exp.ack == (seg.ack - self.remote_isn) & 0xFFFFFFFF
        if exp.win is not None:
            ok = ok and exp.win == seg.window
        if exp.options is not None:
            ok = ok and tuple(exp.options) == tuple(seg.options)
        if not ok:
            self._fail(line, "outbound segment differs", exp.text(), actual)
        self.now = max(self.now, t)

    def _inject(self, s: ScriptSegment) -> None:
        if s.options is None:
            raise ScriptError(self.name, 0, "inbound segments need explicit options")
        flags = 0
        for ch in s.flags:
            flags |= _FLAG_BITS[ch]
        seg = TCP(sport=self.remote[1], dport=self.local[1],
                  seq=(self.remote_isn + s.start) & 0xFFFFFFFF,
                  ack=(self.local_isn + s.ack) & 0xFFFFFFFF if s.ack is not None else 0,
                  flags=flags, window=65535 if s.win is None else s.win,
                  payload=bytes((s.start + i) & 0xFF for i in range(s.length)),
                  options=s.options)
        for c in reversed(self.conns):
            if c.state is not State.CLOSED and c.state is not State.LISTEN:
                c.receive(seg, self.now)
                return
        for lst in self.listeners:
            child = lst.receive(seg, self.remote, self.now)
            if child is not None and child not in self.conns:
                self.conns.append(child)
            return
        rst = rst_for(seg)
        if rst is not None:
            self.outq.append((self.now, rst, not seg.flags & ACK))

    # -------------------------------------------------------------- socket calls
    def _call(self, line: ScriptLine, call: ScriptCall) -> None:
        handler = getattr(self, "_sys_" + call.name, None)
        if handler is None:
            self._fail(line, f"unsupported call {call.name}()")
        fd = int(call.args[0]) if call.args and call.args[0].isdigit() else -1
        if call.name != "socket" and fd not in self.fds:
            self._fail(line, f"fd {fd} is not open")
        result = handler(line, call, fd)
        if result is not None:
            self._check(line, call, *result)

    def _check(self, line: ScriptLine, call: ScriptCall, ret: int, err: str | None) -> None:
        if ret != call.ret or (call.errno or None) != err:
            got = f"{call.name}(...) = {ret}" + (f" {err}" if err else "")
            self._fail(line, "call returned something else", call.text(), got)

    def _sys_socket(self, line: ScriptLine, call: ScriptCall, _fd: int):
        fd = max(self.fds, default=2) + 1
        self.fds[fd] = _Fd()
        return fd, None

    def _sys_bind(self, line, call, fd):
        return 0, None

    def _sys_fcntl(self, line, call, fd):
        self.fds[fd].nonblocking = any("O_NONBLOCK" in a for a in call.args)
        return 0, None

    def _sys_setsockopt(self, line, call, fd):
        if "TCP_NODELAY" in call.args:
            on = call.args[3].strip("[]") != "0"
            self.fds[fd].nodelay = on
            if isinstance(self.fds[fd].obj, Connection):
                self.fds[fd].obj.cfg.nodelay = on
        return 0, None

    def _sys_listen(self, line, call, fd):
        lst = Listener(self.local, int(call.args[1]), lambda _l, _r: self.local_isn,
                       self._config(fd))
        self.fds[fd].kind, self.fds[fd].obj = "listener", lst
        self.listeners.append(lst)
        return 0, None

    def _config(self, fd: int) -> TcpConfig:
        cfg = TcpConfig(**{k: getattr(self.cfg, k) for k in TcpConfig.__dataclass_fields__})
        cfg.nodelay = cfg.nodelay or self.fds[fd].nodelay
        return cfg

    def _sys_connect(self, line, call, fd):
        conn = Connection(self.local, self.remote, self.local_isn, self._config(fd))
        self.fds[fd].kind, self.fds[fd].obj = "conn", conn
        self.conns.append(conn)
        conn.open_active(self.now)
        if self.fds[fd].nonblocking:
            return -1, "EINPROGRESS"
        self.waiting.append((line, fd))
        return None

    def _sys_accept(self, line, call, fd):
        self.waiting.append((line, fd))
        return None

    def _sys_read(self, line, call, fd):
        self.waiting.append((line, fd))
        return None

    def _sys_write(self, line, call, fd):
        conn = self.fds[fd].obj
        if not isinstance(conn, Connection):
            return -1, "ENOTCONN"
        try:
            n = conn.send(b"w" * int(call.args[2]), self.now)
        except OSError as exc:
            return -1, _errno.errorcode[exc.errno]
        return n, None

    def _sys_shutdown(self, line, call, fd):
        conn = self.fds[fd].obj
        if isinstance(conn, Connection):
            conn.shutdown_write(self.now)
        return 0, None

    def _sys_close(self, line, call, fd):
        entry = self.fds.pop(fd)
        if isinstance(entry.obj, Connection):
            entry.obj.close(self.now)
        elif isinstance(entry.obj, Listener):
            self.listeners.remove(entry.obj)
        return 0, None

    def _resolve_waiting(self) -> None:
        progress = True
        while progress:
            progress = False
            for idx, (line, fd) in enumerate(self.waiting):
                result = self._try_complete(line, fd)
                if result is not None:
                    del self.waiting[idx]
                    self._check(line, line.item, *result)  # type: ignore[arg-type]
                    progress = True
                    break

    def _try_complete(self, line: ScriptLine, fd: int) -> tuple[int, str | None] | None:
        call = line.item
        assert isinstance(call, ScriptCall)
        entry = self.fds.get(fd)
        obj = entry.obj if entry else None
        if call.name == "accept" and isinstance(obj, Listener):
            child = obj.accept()
            if child is None:
                return (-1, "EAGAIN") if entry.nonblocking else None
            new_fd = max(self.fds) + 1
            self.fds[new_fd] = _Fd("conn", child)
            return new_fd, None
        if not isinstance(obj, Connection):
            return -1, "EBADF"
        if call.name == "connect":
            if obj.error is not None:
                return -1, _errno.errorcode[obj.error]
            return (0, None) if obj.state is not State.SYN_SENT and \
                obj.state is not State.SYN_RECEIVED else None
        if call.name == "read":
            if obj.readable:
                return len(obj.recv(int(call.args[2]))), None
            if obj.error is not None:
                return -1, _errno.errorcode[obj.error]
            if obj.at_eof:
                return 0, None
            return (-1, "EAGAIN") if entry.nonblocking else None
        return -1, "EINVAL"


def run_script(text: str, name: str = "script", **options) -> Runner:
    """Parse and run a script; see :class:`Runner` for the options.

    Returns:
        the runner after a successful run (its connections can be inspected).

    Raises:
        ScriptError: the script failed.
    """
    runner = Runner(text, name, **options)
    runner.run()
    return runner
