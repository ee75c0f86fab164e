"""Both ends of the TCP interop tests: the Linux side as a script, the scenarios as functions.

The scenario functions (:data:`SCENARIOS`) take an ``api`` with ``socket()`` and ``sleep(s)``
and use only the standard socket calls, so the same code runs on Linux (this file as a script,
inside a namespace, with CPython's ``socket``) and on a virtual host (``host.socket``). Each
returns what it saw, one line per call (``recv -> b'' (0 bytes)``, ``send -> BrokenPipeError
EPIPE``), and the test compares the two runs line by line: netsim's errno must be the one
Linux gave in the same place.

    python3 linux_tcp_peer.py scenario NAME ROLE ADDR PORT   run one side of a scenario
    python3 linux_tcp_peer.py bulk client|server ADDR PORT NBYTES SEED
        send NBYTES (seeded) while reading to EOF; print sizes, sha256, times and counters

Prints JSON lines: ``{"listening": PORT}`` once a server listens, then the result. Only the
standard library is used: the script runs under whatever Python the namespace has.
"""

from __future__ import annotations

import errno
import hashlib
import json
import random
import socket
import struct
import sys
import threading
import time

# Netns-wide counters (each test has its own namespace, so they count its connections only):
# /proc/net/snmp "Tcp:" and /proc/net/netstat "TcpExt:" (RFC 4022 names; Linux's own).
COUNTERS = {"Tcp": ("RetransSegs", "OutSegs", "InSegs"),
            "TcpExt": ("TCPTimeouts", "TCPLossProbes", "TCPSackRecovery", "TCPRenoRecovery",
                       "TCPFastRetrans", "TCPSlowStartRetrans", "TCPSpuriousRTOs")}

LOSS_TABLE = "netsim_loss"


def loss_ruleset(percent: int, ports: tuple[str, str]) -> str:
    """nftables: a bridge that drops ``percent`` % of the TCP frames it forwards, each way.

    The drop sits in a bridge between the endpoints, not in an endpoint's own input/output
    hook: a packet dropped in the sender's output hook fails its transmit call locally
    (NF_DROP returns -EPERM to ``tcp_transmit_skb``), and Linux simply sends it again at
    once, so losses there never reach Linux's loss recovery. This kernel has no netem;
    ``numgen random`` draws per frame, and each direction has its own counter.
    """
    rules = "".join(f"    iifname \"{port}\" meta l4proto tcp numgen random mod 100 < {percent} "
                    "counter drop\n" for port in ports)
    return (f"table bridge {LOSS_TABLE} {{\n"
            "  chain across {\n    type filter hook forward priority 0;\n"
            f"{rules}  }}\n}}\n")


def dropped(listing: str) -> list[int]:
    """The packet counts of :func:`loss_ruleset`'s rules, in order, from ``nft list``."""
    return [int(line.split("counter packets")[1].split()[0])
            for line in listing.splitlines() if "counter packets" in line]


def counters() -> dict[str, int]:
    """This namespace's TCP counters (``nstat``'s names, e.g. ``TcpExtTCPTimeouts``)."""
    found: dict[str, int] = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        with open(path) as f:
            lines = f.read().splitlines()
        for names, values in zip(lines[::2], lines[1::2]):
            group, _, keys = names.partition(":")
            vals = values.partition(":")[2].split()
            for key, value in zip(keys.split(), vals):
                if key in COUNTERS.get(group, ()):
                    found[group + key] = int(value)
    return found


# struct tcp_info (<linux/tcp.h>) up to tcpi_total_rto_time (Linux 6.7); older kernels
# return a prefix, and the fields they lack are left out.
_TCP_INFO = [("state", "B"), ("ca_state", "B"), ("retransmits", "B"), ("probes", "B"),
             ("backoff", "B"), ("options", "B"), ("wscale", "B"), ("flags", "B")]
_TCP_INFO += [(name, "I") for name in (
    "rto", "ato", "snd_mss", "rcv_mss", "unacked", "sacked", "lost", "retrans", "fackets",
    "last_data_sent", "last_ack_sent", "last_data_recv", "last_ack_recv", "pmtu",
    "rcv_ssthresh", "rtt", "rttvar", "snd_ssthresh", "snd_cwnd", "advmss", "reordering",
    "rcv_rtt", "rcv_space", "total_retrans")]
_TCP_INFO += [(name, "Q") for name in ("pacing_rate", "max_pacing_rate", "bytes_acked",
                                       "bytes_received")]
_TCP_INFO += [(name, "I") for name in ("segs_out", "segs_in", "notsent_bytes", "min_rtt",
                                       "data_segs_in", "data_segs_out")]
_TCP_INFO += [(name, "Q") for name in ("delivery_rate", "busy_time", "rwnd_limited",
                                       "sndbuf_limited")]
_TCP_INFO += [("delivered", "I"), ("delivered_ce", "I"), ("bytes_sent", "Q"),
              ("bytes_retrans", "Q")]
_TCP_INFO += [(name, "I") for name in ("dsack_dups", "reord_seen", "rcv_ooopack", "snd_wnd",
                                       "rcv_wnd", "rehash")]
_TCP_INFO += [("total_rto", "H"), ("total_rto_recoveries", "H"), ("total_rto_time", "I")]


def tcp_info(sock) -> dict[str, int]:
    """``getsockopt(TCP_INFO)`` decoded with Linux's ``tcpi_`` names (snd/rcv_wscale split)."""
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 512)
    info, offset = {}, 0
    for name, code in _TCP_INFO:
        size = struct.calcsize(code)
        offset += -offset % size                      # natural alignment, as the C struct
        if offset + size > len(raw):
            break
        info["tcpi_" + name] = struct.unpack_from("=" + code, raw, offset)[0]
        offset += size
    wscale = info.pop("tcpi_wscale")
    info["tcpi_snd_wscale"], info["tcpi_rcv_wscale"] = wscale & 0x0F, wscale >> 4
    return info


def payload(nbytes: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(nbytes)


# -- what a call gave ----------------------------------------------------------------------

def outcome(what: str, call) -> str:
    """``what -> result`` for one socket call: its value, or the exception and errno."""
    try:
        value = call()
    except OSError as exc:
        name = errno.errorcode.get(exc.errno, str(exc.errno)) if exc.errno else "no errno"
        return f"{what} -> {type(exc).__name__} {name}"
    if isinstance(value, bytes):
        return f"{what} -> {value[:8]!r} ({len(value)} bytes)"
    return f"{what} -> {value!r}"


def read_to_eof(sock) -> bytes:
    got = bytearray()
    while chunk := sock.recv(65536):
        got.extend(chunk)
    return bytes(got)


def digest(data: bytes) -> str:
    return f"{len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()[:16]}"


def listening(api, port: int):
    ls = api.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("", port))
    ls.listen(1)
    api.ready(port)
    return ls


# -- scenarios: (client, server) pairs ------------------------------------------------------

def half_close_client(api, addr: str, port: int) -> list[str]:
    """Send, SHUT_WR (our FIN), keep reading the server's answer to its FIN."""
    c = api.socket()
    c.connect((addr, port))
    c.sendall(payload(200_000, 1))
    c.shutdown(socket.SHUT_WR)
    seen = [outcome("send after SHUT_WR", lambda: c.send(b"x"))]
    seen.append("read " + digest(read_to_eof(c)))
    seen.append(outcome("recv at EOF", lambda: c.recv(10)))
    c.close()
    return seen


def half_close_server(api, addr: str, port: int) -> list[str]:
    """Read to the client's FIN, then answer in CLOSE_WAIT (the half-open direction)."""
    ls = listening(api, port)
    conn, _ = ls.accept()
    seen = ["read " + digest(read_to_eof(conn))]
    seen.append(outcome("send in CLOSE_WAIT", lambda: conn.sendall(payload(300_000, 2))))
    conn.close()
    ls.close()
    return seen


def _reset_victim(api, addr: str, port: int, calls: tuple[str, ...]) -> list[str]:
    c = api.socket()
    c.connect((addr, port))
    c.sendall(b"q" * 1000)            # left unread: the server's close() then sends RST
    api.sleep(0.6)
    seen = []
    for i, call in enumerate(calls):
        if call == "recv":
            seen.append(outcome(f"{i}: recv", lambda: c.recv(100)))
        else:
            seen.append(outcome(f"{i}: send", lambda: c.send(b"y")))
    seen.append(outcome("SO_ERROR", lambda: c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
    c.close()
    return seen


def reset_recv_first_client(api, addr: str, port: int) -> list[str]:
    """RST in ESTABLISHED, then recv, recv, send."""
    return _reset_victim(api, addr, port, ("recv", "recv", "send"))


def reset_send_first_client(api, addr: str, port: int) -> list[str]:
    """RST in ESTABLISHED, then send, send, recv."""
    return _reset_victim(api, addr, port, ("send", "send", "recv"))


def reset_server(api, addr: str, port: int) -> list[str]:
    """Close with the client's bytes unread: RFC 2525 2.17 (and Linux) send RST, not FIN."""
    ls = listening(api, port)
    conn, _ = ls.accept()
    api.sleep(0.2)
    conn.close()
    ls.close()
    return ["closed with 1000 bytes unread"]


def reset_with_data_queued_client(api, addr: str, port: int) -> list[str]:
    """The server's 500 bytes wait unread here when its RST arrives: recv (100) seven times."""
    return _reset_victim(api, addr, port, ("recv",) * 7)


def reset_after_data_server(api, addr: str, port: int) -> list[str]:
    """Send 500 bytes, then close with the client's bytes unread (RST)."""
    ls = listening(api, port)
    conn, _ = ls.accept()
    conn.sendall(b"d" * 500)
    api.sleep(0.2)
    conn.close()
    ls.close()
    return ["sent 500 bytes, closed with 1000 bytes unread"]


def reset_in_close_wait_client(api, addr: str, port: int) -> list[str]:
    """Get the server's FIN, send into the half-open connection, then get its RST."""
    c = api.socket()
    c.connect((addr, port))
    seen = [outcome("recv (FIN)", lambda: c.recv(100))]
    seen.append(outcome("send in CLOSE_WAIT", lambda: c.send(b"z" * 100)))
    api.sleep(0.6)
    seen.append(outcome("recv after RST", lambda: c.recv(100)))
    seen.append(outcome("send after RST", lambda: c.send(b"z")))
    seen.append(outcome("send again", lambda: c.send(b"z")))
    c.close()
    return seen


def reset_in_close_wait_server(api, addr: str, port: int) -> list[str]:
    """SHUT_WR at once, then close with the client's data unread (RST from FIN_WAIT_2)."""
    ls = listening(api, port)
    conn, _ = ls.accept()
    conn.shutdown(socket.SHUT_WR)
    api.sleep(0.3)
    conn.close()
    ls.close()
    return ["shut down, then closed with 100 bytes unread"]


def refused_client(api, addr: str, port: int) -> list[str]:
    """Connect to a port nobody listens on: the RST answers the SYN."""
    c = api.socket()
    seen = [outcome("connect", lambda: c.connect((addr, port)))]
    c.close()
    return seen


def no_server(api, addr: str, port: int) -> list[str]:
    api.ready(port)
    return []


SCENARIOS = {
    "half-close": (half_close_client, half_close_server),
    "reset-recv-first": (reset_recv_first_client, reset_server),
    "reset-send-first": (reset_send_first_client, reset_server),
    "reset-with-data-queued": (reset_with_data_queued_client, reset_after_data_server),
    "reset-in-close-wait": (reset_in_close_wait_client, reset_in_close_wait_server),
    "refused": (refused_client, no_server),
}


# -- bulk: NBYTES each way, timed ------------------------------------------------------------

def bulk(api, sock, data: bytes, timeout: float = 60.0) -> dict:
    """Send ``data`` then SHUT_WR while a second thread reads to EOF; then wait until our
    FIN (so every byte before it) is acknowledged, so counters read afterwards are final.

    Times are ``time.monotonic()`` (CLOCK_MONOTONIC: one clock for every process here, so a
    sender's start and a receiver's last byte can be subtracted).
    """
    got = bytearray()
    marks: dict[str, float] = {}

    def reader() -> None:
        while chunk := sock.recv(65536):
            got.extend(chunk)
        marks["read_at"] = time.monotonic()

    t = api.spawn(reader)
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    marks["sent_at"] = time.monotonic()
    t.join()
    deadline = time.monotonic() + timeout
    while not api.fin_acked(sock) and time.monotonic() < deadline:
        api.sleep(0.002)
    marks["acked_at"] = time.monotonic()
    return {"sent": len(data), "sent_sha256": hashlib.sha256(data).hexdigest(),
            "received": len(got), "received_sha256": hashlib.sha256(got).hexdigest(), **marks}


# Linux's TCP_* state numbers (include/net/tcp_states.h) where our FIN has been ACKed.
_FIN_ACKED = {5: "FIN_WAIT2", 6: "TIME_WAIT", 7: "CLOSE"}


class LinuxApi:
    """The scenario ``api`` on Linux: CPython sockets, threads and the wall clock."""

    @staticmethod
    def socket():
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    sleep = staticmethod(time.sleep)

    @staticmethod
    def ready(port: int) -> None:
        print(json.dumps({"listening": port}), flush=True)

    @staticmethod
    def spawn(fn) -> threading.Thread:
        t = threading.Thread(target=fn)
        t.start()
        return t

    @staticmethod
    def fin_acked(sock) -> bool:
        return tcp_info(sock)["tcpi_state"] in _FIN_ACKED


class SimApi:
    """The scenario ``api`` on a virtual host: its sockets and tasks, its (real-time) clock.

    Only this class touches netsim, and only when used, so the script runs without it.
    """

    def __init__(self, host):
        self.host = host

    def socket(self):
        return self.host.socket(socket.AF_INET, socket.SOCK_STREAM)

    def sleep(self, seconds: float) -> None:
        self.host.sleep(seconds)

    def ready(self, port: int) -> None:
        pass

    def spawn(self, fn) -> _Joinable:
        return _Joinable(self.host, fn)

    @staticmethod
    def fin_acked(sock) -> bool:
        return sock.state in ("FIN_WAIT_2", "TIME_WAIT", "CLOSED")


class _Joinable:
    """A task on a virtual host that another task can ``join()``, as a thread."""

    def __init__(self, host, fn):
        from netsim.sim.kernel import Waiters
        self.finished = False
        self._waiters = Waiters(host.kernel)
        host.spawn(self._run, fn)

    def _run(self, fn) -> None:
        fn()
        self.finished = True
        self._waiters.notify_all()

    def join(self) -> None:
        while not self.finished:
            self._waiters.wait("join")


def sim_bulk(host, role: str, addr: str, port: int, nbytes: int, seed: int,
             rcvbuf: int | None = None) -> tuple[dict, dict]:
    """netsim's side of ``bulk`` (a task body on ``host``); returns (result, tcp_info)."""
    api = SimApi(host)
    if role == "server":
        ls = api.socket()
        if rcvbuf:
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        ls.bind(("", port))
        ls.listen(1)
        sock, _ = ls.accept()
        ls.close()
        started = time.monotonic()
    else:
        sock = api.socket()
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        started = time.monotonic()
        sock.connect((addr, port))
    out = bulk(api, sock, payload(nbytes, seed))
    info = sock.tcp_info()
    sock.close()
    return {**out, "started": started}, info


def main(argv: list[str]) -> dict:
    kind = argv[0]
    if kind == "scenario":
        name, role, addr, port = argv[1], argv[2], argv[3], int(argv[4])
        fn = SCENARIOS[name][0 if role == "client" else 1]
        return {"seen": fn(LinuxApi, addr, port)}
    role, addr, port, nbytes, seed = argv[1], argv[2], int(argv[3]), int(argv[4]), int(argv[5])
    data = payload(nbytes, seed)
    before = counters()
    if role == "server":
        ls = listening(LinuxApi, port)
        ls.settimeout(60)
        sock, _ = ls.accept()
        ls.close()
        started = time.monotonic()
    else:
        sock = socket.socket()
        started = time.monotonic()
        sock.connect((addr, port))
    sock.settimeout(60)
    out = bulk(LinuxApi, sock, data)
    info = tcp_info(sock)
    sock.close()
    after = counters()
    return {**out, "started": started, "tcp_info": info,
            "counters": {k: after[k] - before.get(k, 0) for k in after}}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])), flush=True)
