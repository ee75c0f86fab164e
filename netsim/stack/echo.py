"""The echo engine of a host: ping and traceroute, with results that print like the Linux tools.

``ping`` sends ICMP echo requests (RFC 792) and matches replies by identifier and sequence;
``traceroute`` sends UDP probes to ports 33434 and up with TTL 1, 2, 3... and reads the ICMP
time exceeded / port unreachable messages they cause (as Linux traceroute does by default).
Both run as blocking code inside a task; ``host.ping()`` and ``host.traceroute()`` wrap them so
that a script can call them directly. They use only the node's public services
(:class:`~netsim.stack.services.IpServices`) and a UDP socket.

The results are values of this layer, and each one's ``str()`` is the tool's output: a value
returned by ``host.ping()`` must print itself without the stack importing anything above it.
"""

from __future__ import annotations

import math
import socket as _pysocket
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..sim.kernel import Waiters
from ..sim.units import parse_time
from ..wire import icmp as wicmp
from ..wire.errors import DecodeError
from ..wire.ipv4 import PROTO_ICMP, PROTO_UDP
from .socket import UdpSocket

if TYPE_CHECKING:
    from .services import IpServices

__all__ = ["ping", "traceroute", "PingReply", "PingError", "PingResult", "TracerouteProbe",
           "TracerouteHop", "TracerouteResult", "TRACEROUTE_BASE_PORT"]

TRACEROUTE_BASE_PORT = 33434
_TRACE_DATA = bytes(range(0x40, 0x60))  # 32 bytes: a 60-byte probe, as Linux traceroute sends

_PING_ERRORS = {(3, 0): "Destination Net Unreachable", (3, 1): "Destination Host Unreachable",
                (3, 2): "Destination Protocol Unreachable", (3, 3): "Destination Port Unreachable",
                (3, 4): "Frag needed and DF set", (11, 0): "Time to live exceeded",
                (11, 1): "Frag reassembly time exceeded"}
_TRACE_MARKS = {0: "!N", 1: "!H", 2: "!P", 4: "!F", 13: "!X"}


def _ms(ns: int) -> float:
    return ns / 1e6


# -- ping -------------------------------------------------------------------------------------

@dataclass
class PingReply:
    """One echo reply: ``seq``, ``ttl`` it arrived with, round trip ``rtt`` in ms."""

    seq: int
    ttl: int
    rtt: float
    size: int
    src: str
    time_ns: int = 0

    def __str__(self) -> str:
        return f"{self.size} bytes from {self.src}: icmp_seq={self.seq} ttl={self.ttl} time={self.rtt:.3f} ms"


@dataclass
class PingError:
    """An ICMP error about one of our requests (e.g. from a router: TTL exceeded)."""

    seq: int
    src: str
    message: str
    type: int
    code: int
    time_ns: int = 0

    def __str__(self) -> str:
        return f"From {self.src} icmp_seq={self.seq} {self.message}"


@dataclass
class PingResult:
    """What ``host.ping()`` saw; ``str()`` reads like Linux ping's output."""

    dst: str
    size: int
    sent: int = 0
    replies: list[PingReply] = field(default_factory=list)
    errors: list[PingError] = field(default_factory=list)
    duration_ms: float = 0.0
    failure: str | None = None

    @property
    def received(self) -> int:
        return len(self.replies)

    @property
    def loss(self) -> float:
        """Fraction of requests without a reply (0.0 .. 1.0)."""
        return 1.0 - self.received / self.sent if self.sent else 0.0

    @property
    def rtts(self) -> list[float]:
        return [r.rtt for r in self.replies]

    @property
    def ok(self) -> bool:
        """True when every request got a reply."""
        return self.sent > 0 and self.received == self.sent

    def __str__(self) -> str:
        lines = [f"PING {self.dst} ({self.dst}) {self.size}({self.size + 28}) bytes of data."]
        if self.failure:
            return f"ping: {self.failure}"
        for item in sorted([*self.replies, *self.errors], key=lambda x: (x.time_ns, x.seq)):
            lines.append(str(item))
        lines += ["", f"--- {self.dst} ping statistics ---"]
        errs = f", +{len(self.errors)} errors" if self.errors else ""
        lines.append(f"{self.sent} packets transmitted, {self.received} received{errs}, "
                     f"{self.loss * 100:g}% packet loss, time {self.duration_ms:.0f}ms")
        if self.replies:
            r = self.rtts
            avg = sum(r) / len(r)
            mdev = math.sqrt(max(0.0, sum(x * x for x in r) / len(r) - avg * avg))
            lines.append(f"rtt min/avg/max/mdev = {min(r):.3f}/{avg:.3f}/{max(r):.3f}/{mdev:.3f} ms")
        return "\n".join(lines)


def ping(host: IpServices, dst: str, count: int = 4, interval: float = 1.0, timeout: float = 1.0,
         size: int = 56, ttl: int | None = None) -> PingResult:
    """Send ``count`` echo requests, one per ``interval``, each waiting up to ``timeout``.

    Must run inside a task (``host.ping`` takes care of that).

    Args:
        host: the pinging host.
        dst: address or node name.
        size: ICMP data bytes (56 gives 84-byte IP packets, as Linux ping).
        ttl: IP TTL of the requests (None: the host default).

    Returns:
        A :class:`PingResult`.
    """
    kernel = host.kernel
    ip_dst = host.resolve(dst)
    ident = kernel.rng.randrange(1, 0x10000)
    result = PingResult(ip_dst, size)
    sent_at: dict[int, int] = {}
    waiters = Waiters(kernel)

    def listener(ip, msg) -> None:
        if msg.type == wicmp.ECHO_REPLY and msg.ident == ident:
            seq = msg.seq
            if seq in sent_at and all(r.seq != seq for r in result.replies):
                result.replies.append(PingReply(seq, ip.ttl, _ms(kernel.now - sent_at[seq]),
                                                len(msg.data) + 8, ip.src, kernel.now))
                waiters.notify_all(seq)
        elif msg.type in wicmp.ERROR_TYPES:
            try:
                q = msg.quoted()
            except DecodeError:
                return
            if q.proto != PROTO_ICMP or len(q.payload) < 8 or q.payload[0] != wicmp.ECHO_REQUEST:
                return
            q_ident, q_seq = struct.unpack_from("!HH", q.payload, 4)
            if q_ident == ident and q_seq in sent_at:
                text = _PING_ERRORS.get((msg.type, msg.code),
                                        f"ICMP type {int(msg.type)} code {msg.code}")
                if msg.type == 3 and msg.code == 4:
                    text += f" (mtu = {msg.mtu})"
                result.errors.append(PingError(q_seq, ip.src, text, int(msg.type), msg.code,
                                               kernel.now))
                waiters.notify_all(q_seq)

    remove = host.add_icmp_listener(listener)
    start = kernel.now
    interval_ns, timeout_ns = parse_time(interval), parse_time(timeout)
    pad = bytes(i & 0xFF for i in range(8, max(size, 8)))
    try:
        for i in range(count):
            seq = i + 1
            data = (struct.pack("!Q", kernel.now) + pad)[:size]
            sent_at[seq] = kernel.now
            try:
                host.ip_send(ip_dst, PROTO_ICMP, wicmp.ICMP.echo_request(ident, seq, data).encode(),
                             ttl=ttl)
            except OSError as exc:
                result.failure = f"connect: {exc.strerror}"
                break
            result.sent += 1
            deadline = kernel.now + timeout_ns
            while not _answered(result, seq) and kernel.now < deadline:
                try:
                    waiters.wait(f"echo reply {seq}", deadline - kernel.now)
                except TimeoutError:
                    break
            next_send = start + (i + 1) * interval_ns
            if i + 1 < count and next_send > kernel.now:
                kernel.sleep(next_send - kernel.now)
    finally:
        remove()
    result.duration_ms = _ms(kernel.now - start)
    return result


def _answered(result: PingResult, seq: int) -> bool:
    return any(r.seq == seq for r in result.replies) or any(e.seq == seq for e in result.errors)


# -- traceroute ------------------------------------------------------------------------------

@dataclass
class TracerouteProbe:
    """One probe's answer: who answered, after how long, and a Linux-style mark (``!H``)."""

    addr: str
    rtt: float
    mark: str = ""
    name: str = ""


@dataclass
class TracerouteHop:
    """One TTL: its probes (None for a probe that timed out, printed ``*``)."""

    ttl: int
    probes: list[TracerouteProbe | None] = field(default_factory=list)

    @property
    def addr(self) -> str | None:
        """The first address that answered at this TTL, or None."""
        return next((p.addr for p in self.probes if p is not None), None)

    def __str__(self) -> str:
        parts: list[str] = []
        last = None
        for p in self.probes:
            if p is None:
                parts.append("*")
                continue
            if p.addr != last:
                parts.append(f"{p.name or p.addr} ({p.addr})")
                last = p.addr
            parts.append(f" {p.rtt:.3f} ms{(' ' + p.mark) if p.mark else ''}")
        return f"{self.ttl:2d}  " + " ".join(parts)


@dataclass
class TracerouteResult:
    """What ``host.traceroute()`` saw; ``str()`` reads like Linux traceroute's output."""

    dst: str
    max_hops: int
    hops: list[TracerouteHop] = field(default_factory=list)
    reached: bool = False

    @property
    def path(self) -> list[str | None]:
        """The responding address per hop (None where every probe timed out)."""
        return [h.addr for h in self.hops]

    def __str__(self) -> str:
        head = f"traceroute to {self.dst} ({self.dst}), {self.max_hops} hops max, 60 byte packets"
        return "\n".join([head, *(str(h) for h in self.hops)])


def traceroute(host: IpServices, dst: str, max_hops: int = 30, probes: int = 1,
               timeout: float = 5.0) -> TracerouteResult:
    """Trace the path to ``dst`` with UDP probes of increasing TTL (must run in a task).

    Returns:
        A :class:`TracerouteResult`; ``reached`` tells whether the destination answered.
    """
    kernel = host.kernel
    ip_dst = host.resolve(dst)
    result = TracerouteResult(ip_dst, max_hops)
    sock = UdpSocket(host)
    answers: dict[int, tuple] = {}
    waiters = Waiters(kernel)

    def listener(ip, msg) -> None:
        if msg.type not in (wicmp.TIME_EXCEEDED, wicmp.DEST_UNREACHABLE):
            return
        try:
            q = msg.quoted()
        except DecodeError:
            return
        if q.proto != PROTO_UDP or q.dst != ip_dst or len(q.payload) < 4:
            return
        sport, dport = struct.unpack_from("!HH", q.payload)
        if sport == sock.local_port and dport not in answers:
            answers[dport] = (ip.src, int(msg.type), msg.code, kernel.now)
            waiters.notify_all(dport)

    remove = host.add_icmp_listener(listener)
    port = TRACEROUTE_BASE_PORT
    timeout_ns = parse_time(timeout)
    try:
        for ttl in range(1, max_hops + 1):
            hop = TracerouteHop(ttl)
            stop = False
            for _ in range(probes):
                dport, port = port, port + 1
                sock.setsockopt(_pysocket.IPPROTO_IP, _pysocket.IP_TTL, ttl)
                t0 = kernel.now
                sock.sendto(_TRACE_DATA, (ip_dst, dport))
                deadline = t0 + timeout_ns
                while dport not in answers and kernel.now < deadline:
                    try:
                        waiters.wait(f"traceroute probe ttl={ttl}", deadline - kernel.now)
                    except TimeoutError:
                        break
                if dport not in answers:
                    hop.probes.append(None)
                    continue
                src, typ, code, t1 = answers[dport]
                mark = ""
                if typ == wicmp.DEST_UNREACHABLE:
                    if code == wicmp.UNREACH_PORT:
                        result.reached = src == ip_dst or result.reached
                    else:
                        mark = _TRACE_MARKS.get(code, f"!<{code}>")
                    stop = True
                hop.probes.append(TracerouteProbe(src, _ms(t1 - t0), mark, host.name_of(src) or src))
            result.hops.append(hop)
            if stop:
                break
    finally:
        remove()
        sock.close()
    return result
