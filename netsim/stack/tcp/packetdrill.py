"""A packetdrill-style script runner for the sans-I/O TCP core (a subset of packetdrill).

A script drives ONE endpoint of ours on a virtual clock, with no simulator: ``<`` lines are
segments the peer sends (fed to ``receive``), ``>`` lines are segments we must send (checked
against what the core produced, in order, at that time within a tolerance), and socket calls
(``socket bind listen accept connect write read shutdown close setsockopt fcntl``) call the
core's user interface. Timers fire at their exact deadlines as the clock advances. The syntax
is in :mod:`.packetdrill_script`; besides segments and calls, `` `sysctl -q name=value` ``
lines set the host's tunables (:data:`~netsim.stack.tcp.config.SYSCTLS`) and ``%{ ... }%``
lines run a Python assertion with the connection's ``tcpi_*`` values (Linux's TCP_INFO).

Sequence numbers are relative: inbound ones to the peer's ISN (the number on the script's
first inbound SYN, plus the runner's ``remote_isn``), our ``ack``/``seq`` (and SACK blocks)
to the ISN of our connection (the runner picks it). A RST we send to a closed port in
answer to a segment without ACK carries SEQ=0, which is shown absolute (as packetdrill
prints it). Outbound ``<...>`` skips the option check; no options means "expect none".
``ack`` and ``win`` are checked only when written. As in packetdrill, our TSval is not
checked: the first one we send fixes the offset between script and real values, and an
inbound TSecr is shifted by it, so a script can echo the TSval it wrote.

Blocking calls (``accept``, ``connect``, ``read`` on a blocking fd) wait until the core can
complete them; their return value is checked then. A call still waiting at the end of the
script, an unexpected outbound segment, or a mismatch raises :class:`ScriptError` naming the
script line, the expected and the actual segment.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import dataclass

from ...sim.units import NS_PER_S as _NS
from . import sockopt
from .config import TcpConfig
from .connection import Connection
from .listener import Listener
from .packetdrill_script import (
    ScriptCall,
    ScriptCommand,
    ScriptError,
    ScriptLine,
    ScriptPython,
    ScriptSegment,
    option_text,
    parse_script,
)
from .segment import ACK, CWR, ECE, FIN, PSH, RST, SYN, TCP, flag_letters, rst_for
from .seqnum import MASK
from .states import State

__all__ = ["ScriptError", "ScriptSegment", "ScriptCall", "ScriptLine", "parse_script",
           "run_script", "Runner"]

_FLAG_BITS = {"S": SYN, "F": FIN, "R": RST, "P": PSH, ".": ACK, "E": ECE, "W": CWR}
_SHUT = {"SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2, "0": 0, "1": 1, "2": 2}


@dataclass(slots=True)
class _Fd:
    kind: str = "socket"  # socket, listener, conn
    obj: Connection | Listener | None = None
    nonblocking: bool = False
    rd_shut: bool = False
    opts: dict | None = None  # TcpConfig fields set by setsockopt before the connection


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
        self.cfg = config.copy() if config is not None else TcpConfig()
        self.local, self.remote = ("192.168.0.1", 8080), ("192.0.2.1", 40000)
        self.now = 0
        self.fds: dict[int, _Fd] = {}
        self.conns: list[Connection] = []
        self.listeners: list[Listener] = []
        # (time, segment, the ISN its seq is relative to, or None when absolute)
        self.outq: list[tuple[int, TCP, int | None]] = []
        self.waiting: list[tuple[ScriptLine, int]] = []  # blocked calls (line, fd)
        self.ts_offset: int | None = None  # our TSval minus the script's

    @property
    def isn(self) -> int:
        """Our ISN for relative numbers: the newest connection's (the runner's before)."""
        return self.conns[-1].iss if self.conns else self.local_isn

    # -------------------------------------------------------------- plumbing
    def _fail(self, line: ScriptLine, msg: str, expected: str = "", actual: str = "") -> None:
        raise ScriptError(self.name, line.lineno, msg, expected, actual)

    def _collect(self) -> None:
        self._resolve_waiting()  # first: a completed read may send a window update
        for lst in self.listeners:
            for _remote, seg in lst.pending_replies():
                self.outq.append((self.now, seg, self.isn))
        for c in self.conns:
            for seg in c.pending_segments():
                self.outq.append((self.now, seg, c.iss))
            c.pop_events()

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

    def _describe(self, seg: TCP, base: int | None) -> str:
        seq = seg.seq if base is None else (seg.seq - base) & MASK
        n = len(seg.payload)
        out = f"> {flag_letters(seg.flags)} {seq}:{(seq + n) & MASK}({n})"
        if seg.flags & ACK:
            out += f" ack {(seg.ack - self.remote_isn) & MASK}"
        out += f" win {seg.window}"
        if seg.options:
            out += " <" + ",".join(option_text(o) for o in self._script_options(seg.options)) + ">"
        return out

    def _script_options(self, options: tuple) -> tuple:
        """Our options as the script writes them: SACK blocks relative, TSval shifted."""
        out = []
        for name, value in options:
            if name == "SAck":
                value = tuple(((a - self.remote_isn) & MASK, (b - self.remote_isn) & MASK)
                              for a, b in value)
            elif name == "Timestamp" and self.ts_offset is not None:
                value = ((value[0] - self.ts_offset) & MASK, value[1])
            out.append((name, value))
        return tuple(out)

    def _options_match(self, expected: tuple, actual: tuple) -> bool:
        if len(expected) != len(actual):
            return False
        for (en, ev), (an, av) in zip(expected, actual):
            if en == an == "Timestamp":
                if self.ts_offset is None:  # the first TSval we send fixes the offset
                    self.ts_offset = (av[0] - ev[0]) & MASK
                if ev[1] != av[1]:  # TSecr is checked; TSval is not (packetdrill's default)
                    return False
            elif (en, ev) != (an, av):
                return False
        return True

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
                t, seg, base = self.outq[0]
                self._fail(line, f"unexpected outbound segment at {t / _NS:.6f}s before this "
                           "line", line.source, self._describe(seg, base))
            self._advance(line.time_ns)
            item = line.item
            if isinstance(item, ScriptSegment):
                self._inject(item)
            elif isinstance(item, ScriptCommand):
                self._command(line, item)
            elif isinstance(item, ScriptPython):
                self._python(line, item)
            else:
                self._call(line, item)
            self._collect()
        if self.outq:
            t, seg, base = self.outq[0]
            last = self.lines[-1] if self.lines else ScriptLine(0, 0, ScriptCall("", [], 0))
            self._fail(last, f"unexpected outbound segment at {t / _NS:.6f}s after the "
                       "script ended", "nothing more", self._describe(seg, base))
        if self.waiting:
            line, _fd = self.waiting[0]
            self._fail(line, "blocking call never returned", line.source, "still blocked")

    def _expect(self, line: ScriptLine, exp: ScriptSegment) -> None:
        self._advance_until_output(line.time_ns + self.tol)
        if not self.outq:
            self._fail(line, f"no segment sent by {(line.time_ns + self.tol) / _NS:.6f}s",
                       exp.text(), "nothing")
        t, seg, base = self.outq.pop(0)
        if exp.options is not None:
            opts_ok = self._options_match(exp.options, self._script_options(seg.options))
        actual = self._describe(seg, base)
        if abs(t - line.time_ns) > self.tol:
            self._fail(line, f"segment sent at {t / _NS:.6f}s, expected at "
                       f"{line.time_ns / _NS:.6f}s", exp.text(), actual)
        seq = seg.seq if base is None else (seg.seq - base) & MASK
        ok = (set(exp.flags) == set(flag_letters(seg.flags)) and exp.start == seq
              and exp.length == len(seg.payload))
        if exp.ack is not None:
            ok = ok and bool(seg.flags & ACK) and \
                exp.ack == (seg.ack - self.remote_isn) & 0xFFFFFFFF
        if exp.win is not None:
            ok = ok and exp.win == seg.window
        if exp.options is not None:
            ok = ok and opts_ok
        if not ok:
            self._fail(line, "outbound segment differs", exp.text(), actual)
        self.now = max(self.now, t)

    def _inject(self, s: ScriptSegment) -> None:
        if s.options is None:
            raise ScriptError(self.name, 0, "inbound segments need explicit options")
        flags = 0
        for ch in s.flags:
            flags |= _FLAG_BITS[ch]
        isn = self.isn
        seg = TCP(sport=self.remote[1], dport=self.local[1],
                  seq=(self.remote_isn + s.start) & MASK,
                  ack=(isn + s.ack) & MASK if s.ack is not None else 0,
                  flags=flags, window=65535 if s.win is None else s.win,
                  payload=bytes((s.start + i) & 0xFF for i in range(s.length)),
                  options=self._inbound_options(s.options, isn))
        reopen = None
        for c in reversed(self.conns):
            if c.state is not State.CLOSED and c.state is not State.LISTEN:
                if self.listeners:
                    reopen = c.accept_new_syn(seg, self.now)  # RFC 6191 (TIME_WAIT only)
                if reopen is None:
                    c.receive(seg, self.now)
                    return
                break
        for lst in self.listeners:
            child = lst.receive(seg, self.remote, self.now, isn=reopen)
            if child is not None and child not in self.conns:
                self.conns.append(child)
            return
        rst = rst_for(seg)
        if rst is not None:
            self.outq.append((self.now, rst, isn if seg.flags & ACK else None))

    def _inbound_options(self, options: tuple, isn: int) -> tuple:
        out = []
        for name, value in options:
            if name == "SAck":  # blocks SACK our data: relative to our ISN
                value = tuple(((a + isn) & MASK, (b + isn) & MASK) for a, b in value)
            elif name == "Timestamp" and value[1] and self.ts_offset is not None:
                value = (value[0], (value[1] + self.ts_offset) & MASK)
            out.append((name, value))
        return tuple(out)

    def _command(self, line: ScriptLine, item: ScriptCommand) -> None:
        words = item.command.split()
        if not words or words[0] != "sysctl":
            self._fail(line, f"unsupported command {item.command!r} (only sysctl)")
        for word in words[1:]:
            if word.startswith("-"):
                continue
            name, _, value = word.partition("=")
            try:
                self.cfg.sysctl(name, value)
            except (KeyError, ValueError):
                self._fail(line, f"unknown sysctl or bad value {word!r}")

    def _python(self, line: ScriptLine, item: ScriptPython) -> None:
        conn = self.conns[-1] if self.conns else None
        names = {"conn": conn, **(conn.info() if conn is not None else {})}
        try:
            exec(item.code, {}, names)  # the script is the test's own text
        except AssertionError as exc:
            self._fail(line, f"assertion failed: {exc}", item.code,
                       ", ".join(f"{k}={v}" for k, v in names.items() if k.startswith("tcpi_")))

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
        entry = self.fds[fd]
        raw = call.args[3].strip("[]\"' ")  # [1] or "reno"
        value = int(raw) if raw.lstrip("-").isdigit() else raw
        try:
            level, option = sockopt.option_by_name(call.args[1], call.args[2])
            changes = sockopt.config_changes(level, option, value)
        except AttributeError:
            self._fail(line, f"unknown socket option {call.args[1]}, {call.args[2]}")
        except OSError as exc:
            return -1, _errno.errorcode[exc.errno]
        if changes is None:
            return 0, None  # accepted and ignored (SO_REUSEADDR, ...)
        if isinstance(entry.obj, Connection):
            sockopt.apply(entry.obj, changes, self.now)
        elif isinstance(entry.obj, Listener):
            for key, value in changes.items():
                setattr(entry.obj.cfg, key, value)
        else:
            entry.opts = {**(entry.opts or {}), **changes}
        return 0, None

    def _sys_getsockopt(self, line, call, fd):
        """``getsockopt(fd, SOL_SOCKET, SO_ERROR, [ECONNRESET], [4]) = 0``: the pending
        error (cleared by reading, as on Linux) must be the one written."""
        if call.args[2] != "SO_ERROR":
            self._fail(line, f"unsupported getsockopt option {call.args[2]}")
        conn = self.fds[fd].obj
        code = conn.error if isinstance(conn, Connection) else None
        want = call.args[3].strip("[]")
        got = _errno.errorcode.get(code, str(code)) if code else "0"
        if got != want:
            self._fail(line, "getsockopt(SO_ERROR) returned something else", want, got)
        if isinstance(conn, Connection):
            conn.error = None
        return 0, None

    def _sys_listen(self, line, call, fd):
        lst = Listener(self.local, int(call.args[1]), lambda _l, _r: self.local_isn,
                       self._config(fd))
        self.fds[fd].kind, self.fds[fd].obj = "listener", lst
        self.listeners.append(lst)
        return 0, None

    def _config(self, fd: int) -> TcpConfig:
        cfg = self.cfg.copy()
        for key, value in (self.fds[fd].opts or {}).items():
            setattr(cfg, key, value)
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
        how = _SHUT.get(call.args[1] if len(call.args) > 1 else "")
        if how is None:
            return -1, "EINVAL"
        entry = self.fds[fd]
        if how in (0, 2):  # SHUT_RD: no segment; reads return what is queued, then 0
            entry.rd_shut = True
        if how in (1, 2) and isinstance(entry.obj, Connection):
            entry.obj.shutdown_write(self.now)  # SHUT_WR: FIN after the queued data
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
                return len(obj.recv(int(call.args[2]), self.now)), None
            if entry.rd_shut or obj.at_eof:
                return 0, None  # after the peer's FIN even a reset reads as EOF (Linux)
            if obj.error is not None:
                return -1, _errno.errorcode[obj.error]
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
