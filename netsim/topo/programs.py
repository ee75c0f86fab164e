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

from ..sim.units import NS_PER_S, format_time

__all__ = ["Param", "Program", "PROGRAMS", "REQUIRED", "MAX_TIME"]

REQUIRED = object()
MAX_TIME = "86400s"  # a day of virtual time: the longest run, start time or timeout in a file
Out = Callable[..., None]  # out(line, at_ns=None): at_ns stamps the line (default: now)


@dataclass(frozen=True)
class Param:
    """A program parameter: ``kind`` is target (address or node name), port, count, time, text.

    ``low`` and ``high`` bound a port, a count (numbers) or a time (text like "1ms").
    """

    kind: str
    default: Any = REQUIRED
    low: Any = None
    high: Any = None
    low_open: bool = False


@dataclass(frozen=True)
class Program:
    """A named program: ``fn(host, out, **params)`` and the parameters it takes."""

    name: str
    fn: Callable[..., None]
    summary: str
    params: dict[str, Param] = field(default_factory=dict)


def _ping(host: Any, out: Out, target: str, count: int) -> None:
    start = host.now
    result = host.ping(target, count=count)
    if result.failure:
        out(str(result))
        return
    header, *_ = str(result).splitlines()
    out(header, at_ns=start)
    # Each reply (or ICMP error) at the time it arrived, as ping prints it; the statistics at
    # the end, when ping finished.
    for item in sorted([*result.replies, *result.errors], key=lambda x: (x.time_ns, x.seq)):
        out(str(item), at_ns=item.time_ns)
    summary = str(result).split(f"--- {result.dst} ping statistics ---", 1)[1]
    out(f"--- {result.dst} ping statistics ---")
    for line in summary.splitlines():
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
    sock.settimeout(timeout / NS_PER_S)
    for i in range(count):
        if i:
            host.sleep(interval / NS_PER_S)
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


def _tftp_server(host: Any, out: Out, root: str, port: int) -> None:
    # A directory on the real file system, names checked by netsim.apps.tftp.paths.
    from ..apps.tftp import sim_driver
    out(f"tftp server on port {port}, serving {root}")
    sim_driver.serve(host, root, port=port)


def _port(default: Any = REQUIRED) -> Param:
    return Param("port", default, 1, 65535)


def _count(default: int) -> Param:
    return Param("count", default, 1, 100_000)


def _time(default: int, low: str = "0s", low_open: bool = False) -> Param:
    return Param("time", default, low, MAX_TIME, low_open)


_TARGET = Param("target")
PROGRAMS: dict[str, Program] = {p.name: p for p in (
    Program("ping", _ping, "ICMP echo to a target", {"target": _TARGET, "count": _count(3)}),
    Program("udp_echo_server", _udp_echo_server, "echo every UDP datagram back to its sender",
            {"port": _port(7)}),
    Program("udp_send", _udp_send, "send UDP datagrams and wait for each reply",
            {"target": _TARGET, "port": _port(), "message": Param("text", "hello"),
             "count": _count(1), "interval": _time(NS_PER_S),
             "timeout": _time(NS_PER_S, low_open=True)}),
    Program("tcp_echo_server", _tcp_echo_server, "echo every TCP connection's bytes back",
            {"port": _port(7)}),
    Program("tcp_client", _tcp_client, "connect, send a message, read the echo, close",
            {"target": _TARGET, "port": _port(), "message": Param("text", "hello")}),
    Program("tftp_server", _tftp_server, "serve the files of a directory over TFTP (read only)",
            {"root": Param("text"), "port": _port(69)}),
)}
