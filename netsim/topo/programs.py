"""The small set of named programs a topology file can start on its hosts (``netsim run``).

Each program is ordinary blocking socket code run as a task on a virtual host, as a student
would write it. A program reports through ``out(line)``; the runner stamps each line with the
virtual time and the host's name. Expected network outcomes (a timeout, a refused connection)
are reported, not raised; TCP programs say so plainly when SOCK_STREAM sockets are missing.

    programs:
      - {host: h2, run: udp_echo_server, port: 9000}
      - {host: h1, run: udp_send, target: h2, port: 9000, message: hi, count: 2}
      - {host: h1, run: ping, target: 10.0.1.20, count: 3, at: 10ms}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from socket import AF_INET, SOCK_DGRAM, SOCK_STREAM
from typing import Any

from ..sim.units import format_time

__all__ = ["Param", "Program", "PROGRAMS", "REQUIRED"]

REQUIRED = object()
Out = Callable[[str], None]


@dataclass(frozen=True)
class Param:
    """A program parameter: ``kind`` is target (address or node name), port, count, time, text."""

    kind: str
    default: Any = REQUIRED


@dataclass(frozen=True)
class Program:
    """A named program: ``fn(host, out, **params)`` and the parameters it takes."""

    name: str
    fn: Callable[..., None]
    summary: str
    params: dict[str, Param] = field(default_factory=dict)


def _ping(host: Any, out: Out, target: str, count: int) -> None:
    result = host.ping(target, count=count)
    for line in str(result).splitlines():
        if line.strip():
            out(line)


def _udp_echo_server(host: Any, out: Out, port: int) -> None:
    sock = host.socket(AF_INET, SOCK_DGRAM)
    sock.bind(("", port))
    out(f"udp echo server listening on port {port}")
    while True:
        data, addr = sock.recvfrom(65535)
        try:
            sock.sendto(data, addr)
        except OSError as exc:  # a source nobody can answer (port 0, no route back)
            out(f"cannot answer {addr[0]}:{addr[1]}: {exc.strerror}")
            continue
        out(f"echoed {len(data)} bytes to {addr[0]}:{addr[1]}")


def _udp_send(host: Any, out: Out, target: str, port: int, message: str, count: int,
              interval: int, timeout: int) -> None:
    sock = host.socket(AF_INET, SOCK_DGRAM)
    sock.settimeout(timeout / 1e9)
    for i in range(count):
        if i:
            host.sleep(interval / 1e9)
        sock.sendto(message.encode(), (target, port))
        out(f"sent {len(message)} bytes to {target}:{port}")
        try:
            data, addr = sock.recvfrom(65535)
        except TimeoutError:
            out(f"no reply within {format_time(timeout)}")
        else:
            out(f"reply from {addr[0]}:{addr[1]}: {data!r}")
    sock.close()


def _tcp_echo_server(host: Any, out: Out, port: int) -> None:
    sock = host.socket(AF_INET, SOCK_STREAM)
    sock.bind(("", port))
    sock.listen(5)
    out(f"tcp echo server listening on port {port}")
    while True:
        conn, addr = sock.accept()
        out(f"connection from {addr[0]}:{addr[1]}")
        host.spawn(_serve_echo, conn, out)


def _serve_echo(conn: Any, out: Out) -> None:
    total = 0
    try:
        while data := conn.recv(65536):
            conn.sendall(data)
            total += len(data)
    except OSError as exc:  # the client reset the connection: that one ends, the server not
        out(f"echoed {total} bytes, connection lost: {exc.strerror}")
        conn.close()
        return
    conn.close()
    out(f"echoed {total} bytes, connection closed")


def _tcp_client(host: Any, out: Out, target: str, port: int, message: str) -> None:
    sock = host.socket(AF_INET, SOCK_STREAM)
    try:
        sock.connect((target, port))
    except (ConnectionRefusedError, TimeoutError) as exc:
        out(f"connect to {target}:{port} failed: {exc}")
        sock.close()
        return
    sock.sendall(message.encode())
    got = b""
    while len(got) < len(message.encode()):
        data = sock.recv(65536)
        if not data:
            break
        got += data
    out(f"sent {len(message)} bytes to {target}:{port}, got back {got!r}")
    sock.close()


_TARGET, _PORT = Param("target"), Param("port")
PROGRAMS: dict[str, Program] = {p.name: p for p in (
    Program("ping", _ping, "ICMP echo to a target", {"target": _TARGET, "count": Param("count", 3)}),
    Program("udp_echo_server", _udp_echo_server, "echo every UDP datagram back to its sender",
            {"port": Param("port", 7)}),
    Program("udp_send", _udp_send, "send UDP datagrams and wait for each reply",
            {"target": _TARGET, "port": _PORT, "message": Param("text", "hello"),
             "count": Param("count", 1), "interval": Param("time", 1_000_000_000),
             "timeout": Param("time", 1_000_000_000)}),
    Program("tcp_echo_server", _tcp_echo_server, "echo every TCP connection's bytes back",
            {"port": Param("port", 7)}),
    Program("tcp_client", _tcp_client, "connect, send a message, read the echo, close",
            {"target": _TARGET, "port": _PORT, "message": Param("text", "hello")}),
)}
