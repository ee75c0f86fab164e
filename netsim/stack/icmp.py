"""ICMP in the host stack (RFC 792, RFC 1122 3.2.2, RFC 1812 4.3): echo, errors sent and received.

Incoming errors are decoded once into an :class:`IcmpError` and handed to whoever asked:
listeners (ping, traceroute: they see every ICMP message) and the per-protocol error handlers
(UDP and TCP register theirs with ``host.register_icmp_error_handler``).
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..wire import icmp as wicmp
from ..wire.errors import DecodeError
from ..wire.ipv4 import PROTO_ICMP, IPv4

if TYPE_CHECKING:
    from .services import IpServices

__all__ = ["IcmpLayer", "IcmpError", "errno_for", "error_text"]

# RFC 1122 3.2.2.1 / Linux icmp_err_convert: (errno, fatal). Only fatal ("hard") errors are
# reported to a connected UDP socket; soft ones (time exceeded, frag needed) are not.
_UNREACH_ERRNO = {
    wicmp.UNREACH_NET: (errno.ENETUNREACH, True),
    wicmp.UNREACH_HOST: (errno.EHOSTUNREACH, True),
    wicmp.UNREACH_PROTOCOL: (errno.ENOPROTOOPT, True),
    wicmp.UNREACH_PORT: (errno.ECONNREFUSED, True),
    wicmp.UNREACH_FRAG_NEEDED: (errno.EMSGSIZE, False),
    wicmp.UNREACH_SOURCE_ROUTE: (errno.EOPNOTSUPP, False),
    6: (errno.ENETUNREACH, True), 7: (errno.EHOSTDOWN, True), 8: (errno.ENONET, True),
    9: (errno.ENETUNREACH, True), 10: (errno.EHOSTUNREACH, True), 11: (errno.ENETUNREACH, False),
    12: (errno.EHOSTUNREACH, False), 13: (errno.EHOSTUNREACH, True),
}


def errno_for(icmp_type: int, code: int) -> tuple[int, bool]:
    """The errno a socket reports for an ICMP error, and whether it is a hard error.

    Returns:
        ``(errno, fatal)``; e.g. port unreachable -> ``(ECONNREFUSED, True)``.
    """
    if icmp_type == wicmp.DEST_UNREACHABLE:
        return _UNREACH_ERRNO.get(code, (errno.EHOSTUNREACH, False))
    if icmp_type == wicmp.PARAMETER_PROBLEM:
        return errno.EPROTO, True
    return errno.EHOSTUNREACH, False  # time exceeded, source quench, redirect


_SHORT = {(3, 0): "net unreachable", (3, 1): "host unreachable",
          (3, 2): "protocol unreachable", (3, 3): "port unreachable",
          (3, 4): "fragmentation needed", (11, 0): "TTL exceeded",
          (11, 1): "fragment reassembly time exceeded"}


def error_text(icmp_type: int, code: int) -> str:
    """Short text for a capture note: ``"port unreachable"``, ``"TTL exceeded"``..."""
    return _SHORT.get((icmp_type, code), f"ICMP type {icmp_type} code {code}")


class IcmpError:
    """An ICMP error as received: who reported it and what it quotes.

    Attributes:
        type, code: the ICMP type and code.
        reporter: IPv4 source of the ICMP message (the router or host that complained).
        quoted: the quoted datagram's IPv4 value (payload cut short: the transport header).
        sport, dport: ports from the quoted UDP/TCP header (None for other protocols).
        mtu: next-hop MTU for "fragmentation needed".
        ip, icmp: the received IPv4 and ICMP values.
    """

    __slots__ = ("type", "code", "reporter", "quoted", "sport", "dport", "mtu", "ip", "icmp")

    def __init__(self, ip: IPv4, msg: wicmp.ICMP, quoted: IPv4):
        self.ip = ip
        self.icmp = msg
        self.type = int(msg.type)
        self.code = msg.code
        self.reporter = ip.src
        self.quoted = quoted
        self.mtu = msg.mtu
        if len(quoted.payload) >= 4 and quoted.proto in (6, 17):
            self.sport, self.dport = struct.unpack_from("!HH", quoted.payload)
        else:
            self.sport = self.dport = None

    @property
    def errno(self) -> int:
        return errno_for(self.type, self.code)[0]

    @property
    def fatal(self) -> bool:
        return errno_for(self.type, self.code)[1]

    def __repr__(self) -> str:
        return (f"<IcmpError {error_text(self.type, self.code)} from {self.reporter} about "
                f"{self.quoted.src}:{self.sport} -> {self.quoted.dst}:{self.dport}>")


class IcmpLayer:
    """ICMP of one node: answers echo requests, sends and dispatches errors."""

    __slots__ = ("host", "listeners", "error_handlers")

    def __init__(self, host: IpServices):
        self.host = host
        self.listeners: list[Callable[[IPv4, wicmp.ICMP], None]] = []
        self.error_handlers: dict[int, Callable[[IcmpError], None]] = {}

    def add_listener(self, fn: Callable[[IPv4, wicmp.ICMP], None]) -> Callable[[], None]:
        """Show every received ICMP message to ``fn(ip, icmp)``; returns a remover."""
        self.listeners.append(fn)
        return lambda: self.listeners.remove(fn) if fn in self.listeners else None

    def receive(self, ip: IPv4, broadcast: bool) -> str | None:
        """Handle an ICMP message addressed to this node; returns a capture note."""
        host = self.host
        try:
            msg = wicmp.decode(ip.payload)
        except DecodeError as exc:
            host.counters["malformed"] += 1
            return f"malformed ICMP: {exc.message}"
        if msg.checksum_ok is False:
            host.counters["bad_icmp_checksum"] += 1
            return "bad ICMP checksum: dropped"
        host.counters["icmp_rx"] += 1
        for fn in list(self.listeners):
            fn(ip, msg)
        if msg.type == wicmp.ECHO_REQUEST:
            # Linux ignores broadcast pings by default (icmp_echo_ignore_broadcasts = 1).
            if broadcast:
                return "broadcast echo request ignored"
            reply = wicmp.ICMP(wicmp.ECHO_REPLY, 0, msg.rest, msg.data)
            try:
                host.ip_send(ip.src, PROTO_ICMP, reply.encode(), src=ip.dst)
            except OSError as exc:
                # No route back to the pinger (a forgotten gateway): Linux's icmp_reply()
                # finds no route and drops the reply silently; the pinger sees a timeout.
                # The simulation goes on, and the capture and the trace say why.
                host.counters["icmp_replies_unroutable"] += 1
                note = f"echo reply to {ip.src} dropped: {exc.strerror} (no route back)"
                host.log("drop", note)
                return note
            host.counters["icmp_echo_replies"] += 1
            return "echo reply sent"
        if msg.type in wicmp.ERROR_TYPES:
            return self._dispatch_error(ip, msg)
        return None

    def _dispatch_error(self, ip: IPv4, msg: wicmp.ICMP) -> str | None:
        try:
            quoted = msg.quoted()
        except DecodeError as exc:
            self.host.counters["malformed"] += 1
            return f"malformed ICMP error: {exc.message}"
        err = IcmpError(ip, msg, quoted)
        handler = self.error_handlers.get(int(quoted.proto))
        if handler is not None:
            handler(err)
        return None

    # -- sending errors --------------------------------------------------------------------

    def may_send_error(self, ip: IPv4, link_broadcast: bool) -> bool:
        """RFC 1122 3.2.2 / RFC 1812 4.3.2.7: the datagrams that must never cause an ICMP error."""
        if link_broadcast or ip.frag_offset != 0:
            return False
        host = self.host
        if host.is_broadcast(ip.dst) or host.is_broadcast(ip.src) or ip.src == "0.0.0.0":
            return False
        first = int(ip.src.split(".", 1)[0])
        if first >= 224 or int(ip.dst.split(".", 1)[0]) >= 224:
            return False
        # RFC 1122 3.2.2: none about a loopback source from the network (those are dropped as
        # martians before they get here); over the host's own loopback Linux does answer, so
        # that a connected UDP socket on 127.0.0.1 sees ECONNREFUSED.
        if first == 127 and not host.is_local(ip.src):
            return False
        if ip.proto == PROTO_ICMP and len(ip.payload) >= 1:
            # never an error about an error (only about queries: echo, timestamp, ...)
            return ip.payload[0] not in wicmp.ERROR_TYPES
        return True

    def send_error(self, raw: bytes, ip: IPv4, icmp_type: int, code: int,
                   link_broadcast: bool = False, mtu: int = 0) -> bool:
        """Send an ICMP error about datagram ``raw`` (decoded as ``ip``) back to its source.

        The source address is the one this node uses towards the offender (RFC 1812
        4.3.2.4: an address of the interface the error leaves from), or the offending
        datagram's destination when that is one of ours (port unreachable on a host).

        Returns:
            True when an error was sent.
        """
        if not self.may_send_error(ip, link_broadcast):
            return False
        host = self.host
        if icmp_type == wicmp.TIME_EXCEEDED:
            msg = wicmp.ICMP.time_exceeded(code, raw)
        else:
            msg = wicmp.ICMP.unreachable(code, raw, mtu)
        src = ip.dst if host.is_local(ip.dst) else None
        try:
            host.ip_send(ip.src, PROTO_ICMP, msg.encode(), src=src)
        except OSError:
            host.counters["icmp_errors_unroutable"] += 1
            return False
        host.counters["icmp_errors_sent"] += 1
        host.log("icmp", f"sent {error_text(icmp_type, code)} to {ip.src}")
        return True
