"""The kit of the socket parity test: cases, the two environments, and the docs table.

A case is a small program written against an environment (``env``) that gives it sockets,
a loopback peer and a way to let time pass; it returns what it saw. The same case runs once
over the real ``socket`` module on 127.0.0.1 (:class:`RealEnv`) and once on a virtual host's
loopback (:class:`VirtualEnv`); ``test_socket_parity.py`` compares the two outcomes, and the
table in ``docs/sockets.md`` lists them (``python -m tests.kits.sockets`` prints it). The
cases are in ``socket_cases_tcp.py`` and ``socket_cases_udp.py``.

``env.attempt(fn)`` turns an exception into text such as ``BrokenPipeError(EPIPE)``, so a
case can return a sequence of outcomes (what the first send raised, then the second...).
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TCP, UDP = socket.SOCK_STREAM, socket.SOCK_DGRAM
SOL, IPT, IPP = socket.SOL_SOCKET, socket.IPPROTO_TCP, socket.IPPROTO_IP


def describe(exc: BaseException) -> str:
    """``"BrokenPipeError(EPIPE)"``, ``"TimeoutError"``, ``"TypeError"``."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int):
        return f"{type(exc).__name__}({errno.errorcode.get(code, code)})"
    return type(exc).__name__


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    run: Callable[[Any], Any]


CASES: list[Case] = []


def case(group: str, name: str):
    def register(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        CASES.append(Case(name, group, fn))
        return fn
    return register




NOT_MODELLED: list[Case] = []


def not_modelled(name: str):
    def register(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        NOT_MODELLED.append(Case(name, "not modelled", fn))
        return fn
    return register


# -- the two environments --------------------------------------------------------------------

def normalize(value: Any) -> Any:
    """Outcomes as plain data: tuples of ints, bytes, str, bool and None."""
    if isinstance(value, (list, tuple)):
        return tuple(normalize(v) for v in value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return type(value).__name__


class Env:
    """What a case may use. Subclasses give ``socket`` and ``sleep``."""

    def __init__(self) -> None:
        self.opened: list[Any] = []
        self.last_listener: Any = None
        self.last_listener_addr: tuple[str, int] | None = None

    def socket(self, kind: int = TCP) -> Any:
        raise NotImplementedError

    def sleep(self, seconds: float) -> None:
        raise NotImplementedError

    def _keep(self, sock: Any) -> Any:
        self.opened.append(sock)
        return sock

    def attempt(self, fn: Callable[[], Any]) -> Any:
        try:
            return normalize(fn())
        except Exception as exc:  # noqa: BLE001 - the exception is the outcome
            return describe(exc)

    def listener(self, backlog: int = 5) -> tuple[Any, tuple[str, int]]:
        lsock = self.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(backlog)
        self.last_listener, self.last_listener_addr = lsock, lsock.getsockname()
        return lsock, self.last_listener_addr

    def pair(self) -> tuple[Any, Any]:
        """A connected client and the server's accepted socket."""
        lsock, addr = self.listener()
        c = self.socket()
        c.connect(addr)
        s, _ = lsock.accept()
        return c, self._keep(s)

    def udp_pair(self) -> tuple[Any, Any]:
        a, b = self.socket(UDP), self.socket(UDP)
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        a.connect(b.getsockname())
        b.connect(a.getsockname())
        return a, b

    def closed_port(self) -> int:
        s = self.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def time_wait_port(self, reuse_old: bool) -> int:
        """A port left in TIME_WAIT by a client socket that had SO_REUSEADDR or not."""
        lsock, addr = self.listener()
        c = self.socket()
        if reuse_old:
            c.setsockopt(SOL, socket.SO_REUSEADDR, 1)
        c.bind(("127.0.0.1", 0))
        port = c.getsockname()[1]
        c.connect(addr)
        s, _ = lsock.accept()
        c.close()                # the active close: the client's end goes to TIME_WAIT
        self.sleep(0.02)
        s.close()
        self.sleep(0.02)
        return port

    def close(self) -> None:
        for sock in self.opened:
            try:
                sock.close()
            except OSError:
                pass


class RealEnv(Env):
    """CPython's socket module on the machine's loopback."""

    def socket(self, kind: int = TCP) -> Any:
        return self._keep(socket.socket(socket.AF_INET, kind))

    def sleep(self, seconds: float) -> None:
        import time
        time.sleep(min(seconds, 0.02))  # loopback delivers in microseconds


class VirtualEnv(Env):
    """A netsim host's loopback (127.0.0.1), the case running as a task on it."""

    def __init__(self, host: Any) -> None:
        super().__init__()
        self.host = host

    def socket(self, kind: int = TCP) -> Any:
        return self._keep(self.host.socket(socket.AF_INET, kind))

    def sleep(self, seconds: float) -> None:
        self.host.sleep(seconds)


def run_real(case: Case) -> Any:
    env = RealEnv()
    try:
        return env.attempt(lambda: case.run(env))
    finally:
        env.close()


def run_virtual(case: Case) -> Any:
    from netsim import Network
    net = Network(seed=1, trace=False)
    host = net.add_host("h1")
    env = VirtualEnv(host)
    out: list[Any] = []
    host.spawn(lambda: out.append(env.attempt(lambda: case.run(env))), name=case.name)
    net.run(duration="120s")
    return out[0] if out else "blocked (the call never returned)"


def all_cases() -> tuple[list[Case], list[Case]]:
    """Every case (importing the case modules registers them), and the not-modelled ones."""
    from tests.kits import (
        socket_cases_tcp,  # noqa: F401
        socket_cases_udp,  # noqa: F401
    )
    return CASES, NOT_MODELLED


def table_rows() -> list[str]:
    """The markdown rows of docs/sockets.md: group, operation, outcome (netsim's, which
    the parity test checks is CPython's on Linux)."""
    rows = []
    all_cases()
    for c in CASES:
        rows.append(f"| {c.group} | {c.name} | `{_show(run_virtual(c))}` |")
    for c in NOT_MODELLED:
        rows.append(f"| {c.group} | {c.name} | `{_show(run_virtual(c))}` |")
    return rows


def _show(outcome: Any) -> str:
    text = repr(outcome) if not isinstance(outcome, str) else outcome
    return text.replace("|", "\\|")


def render() -> str:
    """The table of docs/sockets.md."""
    head = ["| group | operation | outcome on CPython/Linux and on netsim |", "|---|---|---|"]
    return "\n".join(head + table_rows())


if __name__ == "__main__":
    from tests.kits import sockets  # the module the case modules register with (not __main__)
    print(sockets.render())
