"""ARP (RFC 826) for one host or router: the cache, resolution with retries, and queued packets.

The cache is keyed by (interface, IPv4 address), so a router keeps one ARP table per
interface. Packets for a next hop that is not resolved yet wait in a per-neighbour queue while
requests go out (3 tries, 1 s apart, as Linux's ``mcast_solicit`` and ``retrans_time``); when
the last try goes unanswered the queue is dropped and the owner is told, so it can send ICMP
host unreachable back to each packet's sender (RFC 1812 4.3.3.1 for routers; Linux does the
same for local senders, who see ``EHOSTUNREACH``).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, NamedTuple

from ..net.bulk import note_interest
from ..sim.units import NS_PER_S
from ..wire.addr import BROADCAST_MAC, ZERO_MAC, ip_str
from ..wire.arp import ARP, ARP_REPLY, ARP_REQUEST
from ..wire.ethernet import ETH_ARP, ETH_IPV4, Ethernet, ipv4_frame

if TYPE_CHECKING:
    from ..net.interface import Interface
    from .services import NodeServices

__all__ = ["ArpEntry", "ArpLayer", "broadcast_arp_addresses"]


_ETH_ARP_BYTES = ETH_ARP.to_bytes(2, "big")
_BROADCAST_BYTES = b"\xff" * 6

# The last frame read by broadcast_arp_addresses: [frame, sender IP, target IP], the
# addresses None when the frame is not one ArpLayer.unconcerned could settle. It holds the
# frame itself, so the ``is`` test can never match another object that took its id; only
# immutable ``bytes`` are remembered. A flood hands one bytes object to every port, so the
# addresses are read once per flood instead of once per receiver.
_flood_memo: list = [None, None, None]


def broadcast_arp_addresses(frame: bytes) -> tuple[str | None, str | None]:
    """(sender IP, target IP) of a broadcast ARP frame that :meth:`ArpLayer.unconcerned`
    could settle, else (None, None).

    The checks of that shortcut which depend on the frame alone: EtherType ARP, broadcast
    destination, 28 bytes of ARP with 6-byte hardware and 4-byte protocol addresses
    (RFC 826 ar$hln, ar$pln), immutable ``bytes``.
    """
    memo = _flood_memo
    if frame is not memo[0]:
        if type(frame) is not bytes:
            return None, None       # a bytearray may change: never remembered
        memo[0] = frame
        if (len(frame) >= 42 and frame[12:14] == _ETH_ARP_BYTES
                and frame[:6] == _BROADCAST_BYTES and frame[18] == 6 and frame[19] == 4):
            memo[1] = ip_str(frame[28:32])   # sender protocol address (ARP bytes 14-17)
            memo[2] = ip_str(frame[38:42])   # target protocol address (ARP bytes 24-27)
        else:
            memo[1] = memo[2] = None
    return memo[1], memo[2]


class ArpEntry(NamedTuple):
    """One row of ``host.arp_table()``.

    Attributes:
        ip: the neighbour's IPv4 address.
        mac: its MAC, or None while the entry is incomplete.
        iface: interface name.
        state: ``"reachable"`` or ``"incomplete"`` (resolving).
        expires_in: seconds of life left (0.0 for incomplete entries).
    """

    ip: str
    mac: str | None
    iface: str
    state: str
    expires_in: float

    def __str__(self) -> str:
        mac = self.mac or "(incomplete)"
        return f"{self.ip} dev {self.iface} lladdr {mac} {self.state.upper()}"


class _Pending:
    """A neighbour being resolved: the packets waiting for it and the retry timer."""

    __slots__ = ("iface", "ip", "queue", "tries", "timer")

    def __init__(self, iface: Interface, ip: str):
        self.iface = iface
        self.ip = ip
        self.queue: deque[tuple[bytes, str | None]] = deque()  # (datagram, capture comment)
        self.tries = 0
        self.timer = None


class ArpLayer:
    """ARP cache and resolver of one node.

    Args:
        host: the owner, through its :class:`~netsim.stack.services.NodeServices`.
        timeout_ns: life of a cache entry (Linux keeps reachable entries for tens of seconds).
        retries: requests sent before giving up.
        retry_ns: time between requests.
        queue_limit: packets kept per unresolved neighbour; older ones are dropped first.
    """

    __slots__ = ("host", "timeout_ns", "retries", "retry_ns", "queue_limit", "cache", "pending")

    def __init__(self, host: NodeServices, timeout_ns: int = 60 * NS_PER_S, retries: int = 3,
                 retry_ns: int = NS_PER_S, queue_limit: int = 100):
        self.host = host
        self.timeout_ns = timeout_ns
        self.retries = retries
        self.retry_ns = retry_ns
        self.queue_limit = queue_limit
        self.cache: dict[tuple[str, str], tuple[str, int]] = {}  # (iface, ip) -> (mac, expiry)
        self.pending: dict[tuple[str, str], _Pending] = {}

    # -- sending IP ------------------------------------------------------------------------

    def lookup(self, iface: Interface, ip: str) -> str | None:
        """The cached MAC of ``ip`` on ``iface``, or None (expired entries are forgotten)."""
        key = (iface.name, ip)
        hit = self.cache.get(key)
        if hit is None:
            return None
        if hit[1] <= self.host.kernel.now:
            del self.cache[key]
            return None
        return hit[0]

    def send_ip(self, iface: Interface, next_hop: str, datagram: bytes,
                comment: str | None = None) -> str | None:
        """Send ``datagram`` to ``next_hop`` on ``iface``, resolving its MAC first if needed.

        ``comment`` goes into captures with the frame (also after waiting for ARP).

        Returns:
            A note when the packet had to wait for ARP, else None.
        """
        # ArpLayer.lookup inlined: one frame per datagram sent comes through here
        key = (iface.name, next_hop)
        hit = self.cache.get(key)
        if hit is not None:
            if hit[1] > self.host.kernel.now:
                self.host.transmit(iface, ipv4_frame(hit[0], iface.mac_bytes, datagram), comment)
                return None
            del self.cache[key]  # expired: forgotten, as lookup() does
        pend = self.pending.get(key)
        fresh = pend is None
        if fresh:
            pend = self.pending[key] = _Pending(iface, next_hop)
            if getattr(iface, "bulk", None) is not None:
                note_interest(iface, ("arp", next_hop))   # a request from it concerns us
        if len(pend.queue) >= self.queue_limit:
            pend.queue.popleft()
            self.host.counters["arp_queue_drops"] += 1
        pend.queue.append((datagram, comment))
        n = len(pend.queue)
        note = f"ARP request queued {n} packet{'s' if n != 1 else ''} for {next_hop}"
        self.host.log("arp", note)
        if fresh:
            self._request(pend)
        return note

    def _request(self, pend: _Pending) -> None:
        if self.pending.get((pend.iface.name, pend.ip)) is not pend:
            return
        if pend.tries >= self.retries:
            self._fail(pend)
            return
        pend.tries += 1
        addr = self.host.interface_address(pend.iface)
        if addr is None:  # the address went away while resolving
            self._fail(pend)
            return
        arp = ARP(ARP_REQUEST, pend.iface.mac, addr.ip, ZERO_MAC, pend.ip)
        self.host.counters["arp_requests_sent"] += 1
        n = len(pend.queue)
        comment = f"ARP request {pend.tries}/{self.retries}: queued {n} packet{'s' if n != 1 else ''}"
        self.host.transmit(pend.iface, Ethernet(BROADCAST_MAC, pend.iface.mac, ETH_ARP,
                                             arp.encode()).encode(), comment)
        pend.timer = self.host.kernel.call_later(self.retry_ns, self._request, pend)

    def _fail(self, pend: _Pending) -> None:
        del self.pending[(pend.iface.name, pend.ip)]
        self.host.counters["arp_failures"] += 1
        n = len(pend.queue)
        self.host.log("arp", f"ARP for {pend.ip} failed after {pend.tries} "
                      f"requests: {n} packet{'s' if n != 1 else ''} dropped")
        for datagram, _comment in pend.queue:
            self.host.next_hop_unreachable(datagram, pend.iface)

    # -- receiving ARP ---------------------------------------------------------------------

    def unconcerned(self, iface: Interface, payload: bytes) -> bool:
        """True for a well-formed ARP packet that :meth:`receive` would drop without a trace.

        RFC 826 "Packet Reception": a host that is not the target and holds no entry for the
        sender does nothing with the packet. In a flat network almost every broadcast is
        such a packet, so this looks at the two protocol addresses (bytes 14-17 and 24-27)
        and the cache before anything decodes the whole packet. It counts the packet as
        received (``arp_rx``) exactly as :meth:`receive` would; anything else (too short,
        other address lengths, for us, from a known sender) returns False and takes the
        full path, so notes, counters and captures stay the same.
        """
        if len(payload) < 28 or payload[4] != 6 or payload[5] != 4:
            return False
        host = self.host
        addr = host.interface_address(iface)
        if addr is not None and ip_str(payload[24:28]) == addr.ip:
            return False
        key = (iface.name, ip_str(payload[14:18]))
        if key in self.cache or key in self.pending:
            return False
        host.counters["arp_rx"] += 1
        return True

    def holds(self, iface: Interface, spa: str) -> bool:
        """The rest of :meth:`unconcerned` once the target is known not to be us: True when
        we hold a cache or pending entry for the sender ``spa`` (then the packet updates it).

        For the receive path of a flood (Host.receive, which counts ``arp_rx`` when this is
        False): the frame's two addresses are read once per flooded frame
        (:func:`broadcast_arp_addresses`), the node checks the target against its own
        addresses, and this looks the two keys up.
        """
        key = (iface.name, spa)
        # (an empty table needs no lookup: most hosts of a flat network resolve nobody)
        return bool((self.cache and key in self.cache) or (self.pending and key in self.pending))

    def receive(self, iface: Interface, arp: ARP) -> str | None:
        """Handle an ARP packet (RFC 826 "Packet Reception"); returns a capture note or None."""
        host = self.host
        host.counters["arp_rx"] += 1
        if arp.sha == iface.mac:  # our own request echoed back by a hub
            return None
        addr = host.interface_address(iface)
        key = (iface.name, arp.spa)
        for_me = addr is not None and arp.tpa == addr.ip
        # RFC 826 merge: refresh an existing entry from any ARP packet (this is also how a
        # gratuitous ARP moves an address); create one only when the packet is for us.
        merged = False
        if arp.spa != "0.0.0.0" and (key in self.cache or key in self.pending or for_me):
            self._learn(iface, arp.spa, arp.sha)
            merged = True
        if not for_me:
            return None
        if arp.op == ARP_REQUEST:
            reply = ARP(ARP_REPLY, iface.mac, addr.ip, arp.sha, arp.spa)
            host.counters["arp_replies_sent"] += 1
            host.transmit(iface, Ethernet(arp.sha, iface.mac, ETH_ARP, reply.encode()).encode())
            return f"ARP reply sent to {arp.spa}"
        return "ARP cache updated" if merged else None

    def _learn(self, iface: Interface, ip: str, mac: str) -> None:
        # the cache's only insert: tell a flood ledger that requests from ip concern us
        self.cache[(iface.name, ip)] = (mac, self.host.kernel.now + self.timeout_ns)
        if getattr(iface, "bulk", None) is not None:
            note_interest(iface, ("arp", ip))
        pend = self.pending.pop((iface.name, ip), None)
        if pend is None:
            return
        self.host.kernel.cancel(pend.timer)
        for datagram, comment in pend.queue:
            self.host.transmit(iface, Ethernet(mac, iface.mac, ETH_IPV4, datagram).encode(), comment)
        if pend.queue:
            n = len(pend.queue)
            self.host.log("arp", f"{ip} is at {mac}: sent {n} queued "
                          f"packet{'s' if n != 1 else ''}")

    def flush(self, iface_name: str | None = None) -> None:
        """Forget cached entries (of one interface, or all)."""
        self.cache = {k: v for k, v in self.cache.items()
                      if iface_name is not None and k[0] != iface_name}

    def table(self) -> list[ArpEntry]:
        """Live and incomplete entries, sorted by interface then address."""
        now = self.host.kernel.now
        rows = [ArpEntry(ip, mac, ifn, "reachable", (exp - now) / NS_PER_S)
                for (ifn, ip), (mac, exp) in self.cache.items() if exp > now]
        rows += [ArpEntry(p.ip, None, ifn, "incomplete", 0.0)
                 for (ifn, _), p in self.pending.items()]
        return sorted(rows, key=lambda r: (r.iface, tuple(int(x) for x in r.ip.split("."))))
