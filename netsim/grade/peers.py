"""Reference peers for the socket exercises: UDP senders that note every answer, and scripted
TCP clients (send in pieces, half-close, reset, hold a session), all plain tasks on virtual
hosts using netsim's own sockets, each keeping a log of what it saw and when."""

from __future__ import annotations

import socket as _socket
from dataclasses import dataclass, field
from typing import Any

__all__ = ["UdpPeer", "TcpClient", "Step"]

AF_INET, SOCK_DGRAM, SOCK_STREAM = _socket.AF_INET, _socket.SOCK_DGRAM, _socket.SOCK_STREAM


class UdpPeer:
    """A UDP socket on ``host`` bound to ``port``: sends datagrams on a schedule, notes every
    datagram it receives as ``(time_s, data, (ip, port))`` in :attr:`got`; with ``answer``,
    replies to each one with ``answer`` after ``delay`` seconds (the broadcast receivers)."""

    def __init__(self, host: Any, port: int = 0, answer: bytes | None = None,
                 delay: float = 0.0, broadcast: bool = False):
        self.host = host
        self.sock = host.socket(AF_INET, SOCK_DGRAM)
        if broadcast:
            self.sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_BROADCAST, 1)
        self.sock.bind(("", port))
        self.port = self.sock.getsockname()[1]
        self.answer, self.delay = answer, delay
        self.got: list[tuple[float, bytes, tuple[str, int]]] = []
        host.spawn(self._listen)

    def send(self, payloads: list[tuple[float, bytes]], dest: tuple[str, int]) -> UdpPeer:
        """Send each ``(at_s, payload)`` to ``dest`` at virtual time ``at_s``."""
        def sender() -> None:
            for at, data in sorted(payloads, key=lambda x: x[0]):
                wait = at - self.host.kernel.now / 1e9
                if wait > 0:
                    self.host.sleep(wait)
                self.sock.sendto(data, dest)
        self.host.spawn(sender)
        return self

    def _listen(self) -> None:
        while True:
            data, addr = self.sock.recvfrom(65535)
            self.got.append((self.host.kernel.now / 1e9, data, addr))
            if self.answer is not None:
                if self.delay:
                    self.host.sleep(self.delay)
                self.sock.sendto(self.answer, addr)


@dataclass
class Step:
    """One thing a scripted TCP client does: ``send`` bytes, ``recv`` until it has ``n``
    more bytes, ``stream`` (send bytes from a second task while receiving ``n``, as a client
    of an echo server must for big data), ``sleep`` seconds, ``shutdown`` its sending side,
    read to ``eof``, or ``reset`` (close with unread data, which Linux and netsim answer with
    RST)."""

    kind: str
    data: bytes = b""
    n: int = 0
    seconds: float = 0.0


@dataclass
class TcpClient:
    """A scripted TCP client on ``host``: connects to ``server`` at ``at`` seconds, runs its
    :class:`Step` list, and logs what it saw (times in virtual seconds).

    After the run: ``connected`` (time or None), ``received`` (bytes), ``chunks`` ((time,
    bytes) per recv), ``eof`` (time the server's FIN was read, or None), ``error`` (an
    exception text), ``done`` (time the script ended), ``port`` (its local port).
    """

    host: Any
    server: tuple[str, int]
    steps: list[Step]
    at: float = 0.01
    timeout: float = 30.0
    name: str = "client"
    connected: float | None = None
    received: bytes = b""
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    eof: float | None = None
    error: str | None = None
    done: float | None = None
    port: int = 0
    marks: dict[str, float] = field(default_factory=dict)

    def start(self) -> TcpClient:
        self.host.spawn(self._run, at=self.at, name=self.name)
        return self

    def now(self) -> float:
        return self.host.kernel.now / 1e9

    def _run(self) -> None:
        sock = self.host.socket(AF_INET, SOCK_STREAM)
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.server)
            self.connected = self.now()
            self.port = sock.getsockname()[1]
            for step in self.steps:
                self._step(sock, step)
        except (OSError, TimeoutError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            if not self.port:
                try:                              # a refused connect still had a port
                    self.port = sock.getsockname()[1]
                except OSError:
                    pass
        finally:
            sock.close()
            self.done = self.now()

    def _step(self, sock: Any, step: Step) -> None:
        kind = step.kind
        if kind == "send":
            sock.sendall(step.data)
            self.marks.setdefault("first_send", self.now())
        elif kind == "recv":
            want = len(self.received) + step.n
            while len(self.received) < want:
                data = sock.recv(65536)
                if not data:
                    self.eof = self.now()
                    raise ConnectionAbortedError("the server closed before sending it all")
                self.received += data
                self.chunks.append((self.now(), data))
        elif kind == "stream":
            def push() -> None:
                try:
                    sock.sendall(step.data)
                    self.marks["sent_all"] = self.now()
                except OSError:
                    pass
            self.host.spawn(push)
            self._step(sock, Step("recv", n=step.n))
        elif kind == "sleep":
            self.host.sleep(step.seconds)
        elif kind == "shutdown":
            sock.shutdown(_socket.SHUT_WR)
            self.marks["shutdown"] = self.now()
        elif kind == "eof":
            while True:
                data = sock.recv(65536)
                if not data:
                    self.eof = self.now()
                    return
                self.received += data
                self.chunks.append((self.now(), data))
        elif kind == "reset":
            self.marks["reset"] = self.now()
            sock.close()             # unread data waiting: RST, not FIN
        else:
            raise ValueError(f"unknown step {kind!r}")
