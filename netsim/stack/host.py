"""Host and Router: IPv4 nodes with ARP, ICMP, UDP sockets and (for routers) forwarding.

A router is a host with forwarding switched on, as in Linux (``net.ipv4.ip_forward = 1``).
Frames come in through :meth:`Host.receive`, which decodes, validates and dispatches them and
returns a note for the capture. Anything sent *because of* a received frame (an ARP reply, an
echo reply, a forwarded packet) leaves after the node's processing latency, so captures show
the cause before the effect.

``Host`` implements :class:`~netsim.stack.services.IpServices`, the only thing its protocol
layers (arp, icmp, udp, tcp_layer, the sockets, echo) know of it.
"""

from __future__ import annotations

import errno
import functools
import socket as _pysocket
from collections.abc import Callable
from typing import Any

from ..devices.node import Node
from ..net.bulk import note_interest
from ..net.interface import Interface
from ..sim.units import parse_time
from ..wire import ethernet as weth
from ..wire import icmp as wicmp
from ..wire import ipv4 as wip
from ..wire.addr import BROADCAST_IP, BROADCAST_MAC, _ip_int_get, int_to_ip, ip_to_int
from ..wire.arp import decode as arp_decode
from ..wire.errors import DecodeError
from ..wire.ipv4 import PROTO_ICMP, PROTO_UDP, IPv4
from .arp import ArpEntry, ArpLayer, _flood_memo, broadcast_arp_addresses
from .counters import Counters
from .host_programs import HostPrograms
from .icmp import IcmpError, IcmpLayer
from .ipv4 import Reassembler, decrement_ttl, fragment
from .lazy import OnFirstUse
from .routing import IfAddr, Route, RouteTable, parse_cidr
from .sockbase import oserror
from .tcp_layer import TcpLayer
from .udp import UdpLayer

__all__ = ["Host", "Router"]

_COUNTERS = ("frames_rx", "not_for_me", "malformed", "unknown_ethertype", "arp_rx",
             "arp_requests_sent", "arp_replies_sent", "arp_failures", "arp_queue_drops",
             "ip_rx", "ip_tx", "bad_ip_checksum", "ip_not_for_me", "unknown_protocol",
             "fragments_rx", "fragments_tx", "reassembled", "icmp_rx", "icmp_echo_replies",
             "icmp_errors_sent", "icmp_errors_unroutable", "icmp_replies_unroutable",
             "bad_icmp_checksum", "udp_rx", "udp_tx", "udp_no_port", "bad_udp_checksum",
             "udp_rcvbuf_drops", "forwarded", "ttl_exceeded", "no_route",
             "broadcast_not_forwarded", "frag_needed", "martian_sources")


class HostCounters(Counters, names=_COUNTERS):
    """``host.counters``: every name above, 0 until it moves, stored once it does."""

    __slots__ = ()


@functools.lru_cache(maxsize=64)
def _parsed_time(value: str) -> int:
    return parse_time(value)


def _time_ns(value: str | float) -> int:
    """``parse_time``, giving every host built with the same "1us" one int (issue 16)."""
    return _parsed_time(value) if type(value) is str else parse_time(value)


def _is_loopback(ip: str) -> bool:
    return ip.startswith("127.")


_TUPLE_MAX = 4  # addresses kept in a tuple rather than a set (Host._rebuild_address_sets)


class Host(HostPrograms, Node):
    """An IPv4 host: interfaces with addresses, routes, ARP, ICMP, UDP (and TCP) sockets, tasks.

    Args:
        net: the owning :class:`netsim.Network`.
        name: node name.
        forwarding: forward IPv4 between interfaces (a router); False for a host.
        latency: processing delay before a reply or a forwarded packet leaves ("1us").
        arp_timeout: life of an ARP cache entry ("60s").
        ttl: TTL of datagrams this node originates (64, Linux's default).
    """

    kind = "host"
    # Made when a first fragment arrives (or stats() asks): most hosts never see one.
    reassembler: Reassembler = OnFirstUse(  # type: ignore[assignment]
        lambda host: Reassembler(host.kernel, on_timeout=host._reassembly_timeout))

    def __init__(self, net: Any, name: str, *, forwarding: bool = False,
                 latency: str | float = "1us", arp_timeout: str | float = "60s",
                 ttl: int = 64):
        super().__init__(net, name)
        self.forwarding = forwarding
        self.latency_ns = _time_ns(latency)
        self.default_ttl = ttl
        # A dict of the _COUNTERS, all 0, that stores only those that moved (issue 16).
        # ``counters`` (the property below) is what readers get; the stack adds to
        # _counters directly.
        self._counters: dict[str, int] = HostCounters()
        self._addrs: dict[str, IfAddr] = {}        # iface name -> address
        # Own unicast addresses and directed broadcasts, only ever asked "x in ...": see
        # _rebuild_address_sets.
        self._local: tuple[str, ...] | set[str] = ()
        self._bcast: tuple[str, ...] | set[str] = ()
        self.table = RouteTable()
        self.arp = ArpLayer(self, timeout_ns=_time_ns(arp_timeout))
        self._deferred_until: dict[Interface, int] = {}
        self.icmp = IcmpLayer(self)
        self.udp = UdpLayer(self)
        self._protocols: dict[int, Callable[[IPv4, Interface | None], str | None]] = {}
        self.icmp.error_handlers[PROTO_UDP] = self.udp.icmp_error
        self._ident = 0
        self._next_fd = 3
        self._in_receive = False
        # Every host answers TCP, even with no socket open: a SYN to a closed port gets RST.
        self.tcp = TcpLayer(self, net.tcp_tracer, trace_segments=net.tracing)

    # -- addresses and routes ---------------------------------------------------------------

    def set_ip(self, cidr: str, gateway: str | None = None, iface: str | int | None = None) -> None:
        """Give an interface an address (replacing its old one) and its connected route.

        Args:
            cidr: ``"10.0.0.1/24"``.
            gateway: default gateway (must lie in a connected subnet).
            iface: interface name or index; eth0 by default.

        Raises:
            ValueError: a malformed address, no such interface, or an unreachable gateway.
        """
        if not self.interfaces:
            raise ValueError(f"{self.name} has no interface yet: link it first "
                             f"(net.link({self.name!r}, ...)), then set its address")
        ifc = self.iface(iface if iface is not None else 0)
        ip, plen = parse_cidr(cidr)
        old = self._addrs.get(ifc.name)
        if old is not None:
            self.table.remove(lambda r: r.iface == ifc.name)
            self.arp.flush(ifc.name)
        addr = IfAddr(ifc, ip, plen)
        self._addrs[ifc.name] = addr
        self._rebuild_address_sets()
        self.table.add(f"{int_to_ip(addr.network)}/{plen}", None, ifc.name, "connected")
        if gateway is not None:
            self.set_gateway(gateway)

    def _rebuild_address_sets(self) -> None:
        # A tuple of a host's one or two addresses answers "in" as fast as a set and is a
        # fifth of its size (48 bytes, not 216: issue 16); a router with many keeps sets.
        local = tuple(a.ip for a in self._addrs.values())
        bcast = tuple(a.broadcast for a in self._addrs.values() if a.broadcast)
        self._local = local if len(local) <= _TUPLE_MAX else set(local)
        self._bcast = bcast if len(bcast) <= _TUPLE_MAX else set(bcast)
        for ifc in self.interfaces:
            if ifc.bulk is not None:
                for ip in local:    # a request for any of our addresses concerns us
                    note_interest(ifc, ("ip", ip))

    # -- counters, and the receptions a flood counts in bulk (netsim.net.bulk) --------------

    @property
    def counters(self) -> dict[str, int]:
        """The stack's counters: frames, ARP, IP, ICMP, UDP (a dict; 0 until they move)."""
        for ifc in self.interfaces:
            if ifc.bulk is not None:
                ifc.bulk.settle()
        return self._counters

    @counters.setter
    def counters(self, value: dict[str, int]) -> None:
        for ifc in self.interfaces:
            if ifc.bulk is not None:
                ifc.bulk.settle()
                ifc.bulk.counters = value   # what is owed from now on goes to the new dict
        self._counters = value

    def quiet_counters(self, iface: Interface) -> tuple[dict[str, int], tuple[str, ...]] | None:
        """What a quiet frame (:meth:`quiet_frame`) moves when it reaches ``iface``: the
        counters receive()'s shortcut for a broadcast ARP request for someone else adds 1
        to. None when this class receives frames some other way."""
        if type(self).receive is not Host.receive:
            return None
        return self._counters, ("frames_rx", "arp_rx")

    def quiet_keys(self, iface: Interface) -> list[tuple[str, str]]:
        """What makes a broadcast ARP request concern us on ``iface``: being its target
        (any of our addresses, as receive() tests) or holding an ARP cache or pending entry
        for its sender on that interface (ArpLayer.holds). ArpLayer and
        _rebuild_address_sets add keys as they appear (net.bulk.note_interest)."""
        keys = [("ip", ip) for ip in self._local]
        arp = self.arp
        for table in (arp.cache, arp.pending):
            keys += [("arp", ip) for name, ip in table if name == iface.name]
        return keys

    @staticmethod
    def quiet_frame(frame: bytes) -> tuple[tuple[str, str], tuple[str, str]] | None:
        """The keys of a frame that receive() may settle without decoding (a broadcast ARP
        request, read once per flood: broadcast_arp_addresses), else None."""
        if len(frame) < 42 or frame[13] != 6:   # not ARP: no call (the rest checks the type)
            return None
        spa, tpa = broadcast_arp_addresses(frame)
        if spa is None:
            return None
        return ("ip", tpa), ("arp", spa)

    def set_gateway(self, gateway: str) -> Route:
        """Set the default route via ``gateway``.

        Raises:
            ValueError: the gateway is not in a connected subnet.
        """
        return self.add_route("0.0.0.0/0", via=gateway, kind="default")

    def add_route(self, prefix: str, via: str | None = None, iface: str | None = None,
                  kind: str = "static") -> Route:
        """Add a static route; the interface is found from ``via`` when not given.

        Args:
            prefix: ``"10.0.2.0/24"`` (or ``"default"``).
            via: next-hop router, in a connected subnet.
            iface: outgoing interface (required when ``via`` is None).

        Raises:
            ValueError: neither ``via`` nor ``iface``, or ``via`` not on a connected subnet
                (Linux says "Nexthop has invalid gateway").
        """
        if prefix in ("default", "0.0.0.0/0") and kind == "static":
            kind = "default"
        if via is None and iface is None:
            raise ValueError("add_route needs a next hop (via=...) or an interface (iface=...)")
        if via is not None:
            gw = ip_to_int(via)
            addr = next((a for a in self._addrs.values() if a.contains(gw)
                         and (iface is None or a.iface.name == iface)), None)
            if addr is None:
                raise ValueError(f"{self.name}: gateway {via} is not on a connected subnet "
                                 f"({', '.join(a.cidr for a in self._addrs.values()) or 'no addresses'})")
            iface = addr.iface.name
        else:
            iface = self.iface(iface).name
        return self.table.add(prefix, via, iface, kind)

    def routes(self) -> list[Route]:
        """The routing table, most specific first."""
        return self.table.routes()

    @property
    def gateway(self) -> str | None:
        r = self.table.lookup(0)
        return r.via if r is not None and r.prefix == "0.0.0.0/0" else None

    @property
    def ip(self) -> str | None:
        """The first configured address (of the lowest-numbered interface), or None."""
        for ifc in self.interfaces:
            a = self._addrs.get(ifc.name)
            if a is not None:
                return a.ip
        return None

    def addresses(self) -> list[tuple[str, str]]:
        """``[("eth0", "10.0.0.1/24"), ...]`` in interface order."""
        return [(i.name, self._addrs[i.name].cidr) for i in self.interfaces if i.name in self._addrs]

    def arp_table(self) -> list[ArpEntry]:
        """The ARP cache (and neighbours being resolved)."""
        return self.arp.table()

    def interface_address(self, iface: Interface) -> IfAddr | None:
        """The address configured on ``iface``, or None."""
        return self._addrs.get(iface.name)

    def name_of(self, ip: str) -> str | None:
        """The name of the node owning ``ip`` (our stand-in for reverse DNS), or None."""
        return self.net.owner_of(ip)

    def is_local(self, ip: str) -> bool:
        """True for one of this node's addresses or a loopback address."""
        return ip in self._local or _is_loopback(ip)

    def is_broadcast(self, ip: str) -> bool:
        """True for 255.255.255.255 and the directed broadcast of an attached subnet."""
        return ip == BROADCAST_IP or ip in self._bcast

    def resolve(self, name: str) -> str:
        """Resolve a socket address: dotted quad, "" (any), "<broadcast>", "localhost" or a node name.

        Raises:
            socket.gaierror: unknown name.
        """
        if name == "":
            return "0.0.0.0"
        if name == "<broadcast>":
            return BROADCAST_IP
        if name == "localhost":
            return "127.0.0.1"
        try:
            ip_to_int(name)
            return name
        except ValueError:
            pass
        node = getattr(self.net, "nodes", {}).get(name)
        if node is not None and getattr(node, "ip", None):
            return node.ip
        raise _pysocket.gaierror(_pysocket.EAI_NONAME, "Name or service not known")

    def source_for(self, dst: str) -> str:
        """The source address this node uses towards ``dst`` (for transport checksums).

        Raises:
            OSError: ENETUNREACH when there is no route.
        """
        if self.is_local(dst):
            return dst if dst in self._local else "127.0.0.1"
        if dst == BROADCAST_IP:
            addr = self._first_addr()
            if addr is None:
                raise oserror(errno.ENETUNREACH)
            return addr.ip
        route = self.table.lookup(ip_to_int(dst))
        if route is None:
            raise oserror(errno.ENETUNREACH)
        return self._addrs[route.iface].ip

    def _first_addr(self) -> IfAddr | None:
        for ifc in self.interfaces:
            if ifc.name in self._addrs:
                return self._addrs[ifc.name]
        return None

    # -- sending IP -------------------------------------------------------------------------

    def register_protocol(self, proto: int, handler: Callable[[IPv4, Interface | None], str | None]) -> None:
        """Deliver datagrams of IP protocol ``proto`` to ``handler(ip, iface)``.

        ``iface`` is None for datagrams this node sent to itself. The handler may return a
        note for the capture.
        """
        self._protocols[int(proto)] = handler

    def register_icmp_error_handler(self, proto: int, handler: Callable[[IcmpError], None]) -> None:
        """Hand ICMP errors quoting a datagram of protocol ``proto`` to ``handler(IcmpError)``."""
        self.icmp.error_handlers[int(proto)] = handler

    def add_icmp_listener(self, fn: Callable[[IPv4, wicmp.ICMP], None]) -> Callable[[], None]:
        """Show every ICMP message this node receives to ``fn(ip, icmp)``; returns a remover."""
        return self.icmp.add_listener(fn)

    def ip_send(self, dst: str, proto: int, payload: bytes, src: str | None = None,
                ttl: int | None = None, tos: int = 0, df: bool = False,
                comment: str | None = None) -> None:
        """Send an IPv4 datagram: route, fragment if needed, resolve the next hop, transmit.

        Args:
            dst: destination address (unicast, directed or limited broadcast, or local).
            proto: IP protocol number.
            payload: the transport segment, checksummed already.
            src: source address; the outgoing interface's address when None.
            ttl: TTL; this node's default (64) when None.
            tos: type of service byte.
            df: set Don't Fragment (then a datagram larger than the MTU raises EMSGSIZE).
            comment: a capture comment for the frame (e.g. the TCP state change it caused).

        Raises:
            OSError: ENETUNREACH when there is no route, EMSGSIZE as above.
        """
        ident = self._ident = (self._ident + 1) & 0xFFFF
        if dst in self._local or dst.startswith("127."):  # is_local(dst)
            ip = IPv4(src or self.source_for(dst), dst, proto, payload,
                      ttl=ttl or self.default_ttl, ident=ident, tos=tos, df=df)
            self.kernel.call_later(0, self._deliver_local, ip)
            return
        if dst == BROADCAST_IP:
            addr = self._addr_for_src(src) or self._first_addr()
            if addr is None:
                raise oserror(errno.ENETUNREACH)
            next_hop = None
        else:
            route = self.table.lookup(_ip_int_get(dst) or ip_to_int(dst))
            if route is None:
                raise oserror(errno.ENETUNREACH)
            addr = self._addrs[route.iface]
            next_hop = None if addr.broadcast == dst else (route.via or dst)
            iface = addr.iface
            if 20 + len(payload) <= (getattr(iface.medium, "mtu", 1500) or 1500) \
                    and next_hop is not None:
                # What _output does with a unicast datagram that needs no fragmenting, without
                # building the IPv4 value: encode_plain gives IPv4.encode()'s bytes.
                raw = wip.encode_plain(src or addr.ip, dst, proto, payload,
                                       ttl or self.default_ttl, ident, tos, df)
                self._counters["ip_tx"] += 1
                self.arp.send_ip(iface, next_hop, raw, comment)
                return
        ip = IPv4(src or addr.ip, dst, proto, payload, ttl=ttl or self.default_ttl,
                  ident=ident, tos=tos, df=df)
        self._output(addr.iface, ip, next_hop, comment)
        if next_hop is None:
            # Linux loops a copy of every broadcast it sends back to its own sockets.
            self.kernel.call_later(0, self._deliver_local, ip)

    def _addr_for_src(self, src: str | None) -> IfAddr | None:
        if src is None:
            return None
        return next((a for a in self._addrs.values() if a.ip == src), None)

    def _output(self, iface: Interface, ip: IPv4, next_hop: str | None,
                comment: str | None = None) -> None:
        """Fragment to the interface MTU and send each piece (broadcast when ``next_hop`` is None)."""
        mtu = getattr(iface.medium, "mtu", 1500) or 1500
        if 20 + len(ip.options) + len(ip.payload) > mtu:
            if ip.df:
                raise oserror(errno.EMSGSIZE)
            pieces = fragment(ip, mtu)
            self._counters["fragments_tx"] += len(pieces)
        else:
            pieces = [ip]
        for piece in pieces:
            raw = piece.encode()
            self._counters["ip_tx"] += 1
            if next_hop is None:
                self.transmit(iface, weth.Ethernet(BROADCAST_MAC, iface.mac, weth.ETH_IPV4,
                                                   raw).encode(), comment)
            else:
                self.arp.send_ip(iface, next_hop, raw, comment)
            comment = None

    def transmit(self, iface: Interface, frame: bytes, comment: str | None = None) -> None:
        """Put a frame on an interface; deferred by ``latency`` when caused by a received frame.

        Frames leave in the order the stack produced them: one a task sends right after a
        deferred reply waits behind it (a TCP ACK must not be overtaken by the data the
        woken program sends next).
        """
        now = self.kernel.now
        at = now + self.latency_ns if self._in_receive else now
        pending = self._deferred_until.get(iface, -1)
        if pending >= now and pending > at:
            at = pending
        if at == now and pending < now:
            medium = iface.medium
            if medium is not None and iface.up:
                medium.transmit(iface, frame, comment)  # Interface.send's common case
            else:
                iface.send(frame, comment)
            return
        self._deferred_until[iface] = at
        self.kernel.call_at(at, iface.send, frame, comment)

    def next_hop_unreachable(self, datagram: bytes, iface: Interface) -> None:
        """ARP gave up on a queued datagram: ICMP host unreachable to its sender (RFC 1812 4.3.3.1)."""
        try:
            ip = wip.decode(datagram)
        except DecodeError:
            return
        self.icmp.send_error(datagram, ip, wicmp.DEST_UNREACHABLE, wicmp.UNREACH_HOST)

    # -- receiving --------------------------------------------------------------------------

    def receive(self, iface: Interface, frame: bytes) -> str | None:
        """Decode a frame from ``iface``, act on it, and return a note for the capture."""
        # Most frames of a flat network are broadcast ARP requests for someone else
        # (RFC 826: not the target, no entry for the sender: nothing to do). Their two
        # addresses are read once per flooded frame, not decoded at every port. The target
        # test is against all our addresses, a superset of the one on ``iface`` that
        # ArpLayer.unconcerned compares: a request for our other interface's address goes
        # the full way, which reaches the same verdict. Nothing is sent on this path, so
        # _in_receive (the reply latency) does not matter. The first test (EtherType
        # 0x0806's low byte) keeps IPv4 frames (0x0800) off this path at the cost of two
        # comparisons.
        memo = _flood_memo   # the last frame broadcast_arp_addresses read, and its answer
        if frame is memo[0] or (len(frame) >= 42 and frame[13] == 6
                                and broadcast_arp_addresses(frame)[0] is not None):
            spa = memo[1]
            if (spa is not None and memo[2] not in self._local
                    and not self.arp.holds(iface, spa)):
                counters = self._counters   # what a flood ledger counts in bulk: quiet_counters
                counters["arp_rx"] += 1
                counters["frames_rx"] += 1
                return None
        self._in_receive = True
        try:
            return self._receive(iface, frame)
        finally:
            self._in_receive = False

    def _receive(self, iface: Interface, frame: bytes) -> str | None:
        self._counters["frames_rx"] += 1
        try:
            eth = weth.decode(frame)
        except DecodeError as exc:
            self._counters["malformed"] += 1
            return f"malformed: {exc}"
        link_bcast = False
        if eth.dst != iface.mac:
            if eth.dst == BROADCAST_MAC:
                link_bcast = True
            elif not iface.promiscuous:
                # the NIC filters unicast for other MACs and multicast groups we never joined
                self._counters["not_for_me"] += 1
                return "not for me: dropped by the NIC"
        if eth.ethertype == weth.ETH_IPV4:
            return self._receive_ip(iface, eth.payload, link_bcast)
        if eth.ethertype == weth.ETH_ARP:
            if self.arp.unconcerned(iface, eth.payload):
                return None
            try:
                arp = arp_decode(eth.payload)
            except DecodeError as exc:
                self._counters["malformed"] += 1
                return f"malformed ARP: {exc.message}"
            return self.arp.receive(iface, arp)
        self._counters["unknown_ethertype"] += 1
        return None

    def _receive_ip(self, iface: Interface, data: bytes, link_bcast: bool) -> str | None:
        try:
            ip = wip.decode_verified(data)
        except DecodeError as exc:
            self._counters["malformed"] += 1
            return f"malformed IPv4: {exc.message}"
        if not ip.checksum_ok:
            self._counters["bad_ip_checksum"] += 1
            self.log("drop", f"bad IPv4 checksum from {ip.src}: dropped")
            return "bad IPv4 checksum: dropped"
        self._counters["ip_rx"] += 1
        raw = data[:ip.total_length] if len(data) != ip.total_length else data
        dst = ip.dst
        first = data[12]
        if 0 < first < 224 and first != 127 and ip.src not in self._local \
                and ip.src not in self._bcast:
            why = None  # a source _martian_source passes without a second look
        else:
            why = self._martian_source(ip.src, dst, first)
        if why is not None:
            self._counters["martian_sources"] += 1
            note = f"martian source {ip.src} ({why}): dropped"
            self.log("drop", note)
            return note
        if dst in self._local:
            if ip.proto == PROTO_UDP and not (ip.mf or ip.frag_offset):
                return self.udp.receive(ip, raw, False, link_bcast)  # what _deliver does
            return self._deliver(ip, iface, raw, False, link_bcast)
        if dst == BROADCAST_IP or dst in self._bcast:
            note = self._deliver(ip, iface, raw, True, link_bcast)
            if self.forwarding:
                # RFC 1812 5.3.5.1 and 5.3.5.2: limited broadcasts are never forwarded, and
                # directed broadcasts to attached subnets are not by default (RFC 2644).
                self._counters["broadcast_not_forwarded"] += 1
                return "broadcast not forwarded" + (f"; {note}" if note else "")
            return note
        if self.forwarding and not link_bcast and not _is_loopback(dst):
            return self._forward(iface, ip, raw)
        self._counters["ip_not_for_me"] += 1
        return None

    def _martian_source(self, src: str, dst: str, first_octet: int) -> str | None:
        """Why a datagram from the wire may not carry source ``src``, or None when it may.

        RFC 1812 5.3.7 and RFC 1122 3.2.1.3, as Linux's ip_route_input_slow() applies them
        (its "martian source" drops): one of our own addresses (a spoofed datagram that
        would make a server answer itself forever), a broadcast, a multicast or class E
        address, loopback, or 0.0.0.0 (allowed only towards the limited broadcast, where
        a booting host that has no address yet sends from it).
        """
        if src in self._local:
            return "one of our own addresses"
        if src == BROADCAST_IP or src in self._bcast:
            return "a broadcast address"
        if first_octet >= 224:
            return "a multicast or reserved address"
        if first_octet == 127:
            return "a loopback address from the wire"
        if first_octet == 0 and not (src == "0.0.0.0" and dst == BROADCAST_IP):
            return "this-network address" if src != "0.0.0.0" else "0.0.0.0 to a unicast"
        return None

    def _deliver(self, ip: IPv4, iface: Interface | None, raw: bytes, broadcast: bool,
                 link_bcast: bool) -> str | None:
        """Hand a datagram addressed to this node to its protocol (reassembling first)."""
        if ip.mf or ip.frag_offset:  # ip.is_fragment
            self._counters["fragments_rx"] += 1
            whole = self.reassembler.add(ip)
            if whole is None:
                return "fragment queued for reassembly"
            self._counters["reassembled"] += 1
            ip, raw = whole, whole.encode()
        proto = ip.proto
        if proto == PROTO_UDP:
            return self.udp.receive(ip, raw, broadcast, link_bcast)
        if proto == PROTO_ICMP:
            return self.icmp.receive(ip, broadcast or link_bcast)
        handler = self._protocols.get(int(proto))
        if handler is not None:
            return handler(ip, iface)
        self._counters["unknown_protocol"] += 1
        if not broadcast and self.icmp.send_error(raw, ip, wicmp.DEST_UNREACHABLE,
                                                  wicmp.UNREACH_PROTOCOL, link_bcast):
            return "protocol unreachable"
        return None

    def _deliver_local(self, ip: IPv4) -> None:
        self._deliver(ip, None, ip.encode(), self.is_broadcast(ip.dst), False)

    def _reassembly_timeout(self, first: IPv4) -> None:
        if self.is_local(first.dst):
            self.icmp.send_error(first.encode(), first, wicmp.TIME_EXCEEDED,
                                 wicmp.FRAG_REASSEMBLY_EXCEEDED)

    # -- forwarding (routers) ---------------------------------------------------------------

    def _forward(self, iface: Interface, ip: IPv4, raw: bytes) -> str:
        """Route a transit datagram (RFC 1812 5.2); the send itself happens after ``latency``."""
        if ip.ttl <= 1:
            # RFC 1812 5.3.1: a TTL that would reach 0 is not forwarded; the quoted header
            # keeps the TTL it arrived with, as Linux's ip_forward does.
            self._counters["ttl_exceeded"] += 1
            self.icmp.send_error(raw, ip, wicmp.TIME_EXCEEDED, wicmp.TTL_EXCEEDED_IN_TRANSIT)
            return "TTL exceeded"
        route = self.table.lookup(ip_to_int(ip.dst))
        if route is None:
            self._counters["no_route"] += 1
            self.icmp.send_error(raw, ip, wicmp.DEST_UNREACHABLE, wicmp.UNREACH_NET)
            return f"no route to {ip.dst}"
        next_hop = route.via or ip.dst
        self.kernel.call_later(self.latency_ns, self._forward_out, raw, ip, route, next_hop)
        via = f" via {route.via}" if route.via else " (directly connected)"
        return f"forwarded to {route.iface}{via}, TTL {ip.ttl} -> {ip.ttl - 1}"

    def _forward_out(self, raw: bytes, ip: IPv4, route: Route, next_hop: str) -> None:
        out = self.iface(route.iface)
        new = decrement_ttl(raw)
        mtu = getattr(out.medium, "mtu", 1500) or 1500
        if len(new) > mtu:
            if ip.df:
                # RFC 1191: tell the sender the next-hop MTU
                self._counters["frag_needed"] += 1
                self.icmp.send_error(raw, ip, wicmp.DEST_UNREACHABLE, wicmp.UNREACH_FRAG_NEEDED,
                                     mtu=mtu)
                return
            pieces = [p.encode() for p in fragment(wip.decode(new), mtu)]
            self._counters["fragments_tx"] += len(pieces)
        else:
            pieces = [new]
        self._counters["forwarded"] += 1
        for piece in pieces:
            self.arp.send_ip(out, next_hop, piece)

    def stats(self) -> dict[str, Any]:
        """Stack counters (frames not for this NIC, bad checksums, ARP, ICMP, UDP, forwarding)."""
        out: dict[str, Any] = dict(self.counters)
        out["reassembly_timeouts"] = self.reassembler.expired
        out["reassembly_oversize"] = self.reassembler.oversize
        out["arp_entries"] = len(self.arp.cache)
        return out


class Router(Host):
    """A host that forwards: several interfaces, static routes, TTL, ICMP errors (RFC 1812).

    Args:
        latency: forwarding delay per packet ("10us").
        other options: as :class:`Host`.
    """

    kind = "router"

    def __init__(self, net: Any, name: str, *, latency: str | float = "10us", **options: Any):
        options.setdefault("forwarding", True)
        super().__init__(net, name, latency=latency, **options)
