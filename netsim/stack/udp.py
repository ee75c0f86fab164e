"""UDP demultiplexing (RFC 768): the port table, delivery to sockets, port unreachable.

Binding follows Linux (:mod:`netsim.stack.ports`): two sockets may share a port only when
their addresses cannot both match a packet (a specific address versus another specific one),
unless both set ``SO_REUSEADDR``. A unicast datagram goes to the single best match (connected beats bound
beats wildcard; among equals, the socket bound last); a broadcast goes to every match.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..wire import icmp as wicmp
from ..wire import udp as wudp
from ..wire.errors import DecodeError
from ..wire.ipv4 import IPv4
from .ports import ANY, pick_ephemeral, port_taken
from .sockbase import oserror

if TYPE_CHECKING:
    from .icmp import IcmpError
    from .services import IpServices
    from .socket import UdpSocket

__all__ = ["UdpLayer"]

_NO_PORTS: Mapping[int, list] = MappingProxyType({})


class UdpLayer:
    """UDP of one node."""

    __slots__ = ("host", "ports")

    def __init__(self, host: IpServices):
        self.host = host
        # A shared read-only empty table until the first bind: most hosts of a large network
        # never open a UDP socket (issue 16: per-host memory).
        self.ports: dict[int, list[UdpSocket]] = _NO_PORTS  # type: ignore[assignment]

    # -- binding ---------------------------------------------------------------------------

    def _conflicts(self, sock: UdpSocket, ip: str, port: int) -> bool:
        users = [(other.local_ip, other) for other in self.ports.get(port, ()) if other is not sock]
        return port_taken(users, ip, lambda other: other.reuseaddr and sock.reuseaddr)

    def bind(self, sock: UdpSocket, ip: str, port: int) -> int:
        """Register ``sock`` on (ip, port); port 0 picks a free ephemeral port at random.

        Returns:
            The port bound.

        Raises:
            OSError: EADDRINUSE when taken; EAGAIN when no ephemeral port is left.
        """
        if port == 0:
            port = pick_ephemeral(self.host.kernel.rng,
                                  lambda p: not self._conflicts(sock, ip, p), errno.EAGAIN)
        elif self._conflicts(sock, ip, port):
            raise oserror(errno.EADDRINUSE)
        if self.ports is _NO_PORTS:
            self.ports = {}
        self.ports.setdefault(port, []).append(sock)
        return port

    def unbind(self, sock: UdpSocket) -> None:
        socks = self.ports.get(sock.local_port)
        if socks and sock in socks:
            socks.remove(sock)
            if not socks:
                del self.ports[sock.local_port]

    # -- receiving -------------------------------------------------------------------------

    def receive(self, ip: IPv4, raw: bytes, broadcast: bool, link_broadcast: bool) -> str | None:
        """Deliver a UDP datagram addressed to this node; returns a capture note."""
        host = self.host
        try:
            dgram = wudp.decode_verified(ip.payload, ip.src, ip.dst)
        except DecodeError as exc:
            host.counters["malformed"] += 1
            return f"malformed UDP: {exc.message}"
        if dgram.checksum_ok is False:
            host.counters["bad_udp_checksum"] += 1
            return "bad UDP checksum: dropped"
        host.counters["udp_rx"] += 1
        matches = self._match(ip, dgram, broadcast)
        if not matches:
            host.counters["udp_no_port"] += 1
            if broadcast or link_broadcast:
                # RFC 1122 3.2.2: no ICMP error about a broadcast
                return f"no socket on port {dgram.dport} (broadcast: no ICMP error)"
            if host.icmp.send_error(raw, ip, wicmp.DEST_UNREACHABLE, wicmp.UNREACH_PORT):
                return "port unreachable"
            return f"no socket on port {dgram.dport}"
        if len(matches) == 1:  # unicast: the one best match
            return matches[0].deliver(dgram.payload, (ip.src, dgram.sport))
        notes = [s.deliver(dgram.payload, (ip.src, dgram.sport)) for s in matches]
        dropped = [n for n in notes if n]
        return dropped[0] if dropped else None

    def _match(self, ip: IPv4, dgram: wudp.UDP, broadcast: bool) -> list[UdpSocket]:
        socks = self.ports.get(dgram.dport)
        if not socks:
            return []
        best: list[UdpSocket] = []
        best_score = -1
        for s in socks:
            if s.local_ip != ANY and s.local_ip != ip.dst:
                continue
            score = 0 if s.local_ip == ANY else 2
            if s.peer is not None:
                if s.peer != (ip.src, dgram.sport):
                    continue
                score += 4
            if broadcast:
                best.append(s)
            elif score >= best_score:  # >=: among equals the socket bound last wins
                best, best_score = [s], score
        return best

    # -- ICMP errors -----------------------------------------------------------------------

    def icmp_error(self, err: IcmpError) -> None:
        """Report a hard ICMP error to the connected socket that caused it.

        Linux (without IP_RECVERR) tells only connected UDP sockets, and only of hard errors
        (RFC 1122 4.1.3.3 leaves it to the implementation); the error surfaces on the
        socket's next call, as ``ConnectionRefusedError`` for a port unreachable.
        """
        if err.sport is None or not err.fatal:
            return
        for s in self.ports.get(err.sport, ()):
            if s.peer == (err.quoted.dst, err.dport) and s.local_ip in (ANY, err.quoted.src):
                s.set_error(err.errno)
                return
