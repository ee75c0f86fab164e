"""Interface addresses and the routing table: connected, static and default routes, longest match.

A host or router keeps one :class:`IfAddr` per configured interface and one :class:`RouteTable`.
Lookups compare 32-bit integers; the table is short (a few routes), so a scan ordered by prefix
length is the whole algorithm (RFC 1812 5.2.4.3: the most specific route wins).
"""

from __future__ import annotations

import functools
import ipaddress
from typing import NamedTuple

from ..wire.addr import int_to_ip, ip_to_int

__all__ = ["IfAddr", "Route", "RouteTable", "parse_cidr", "parse_prefix"]


def parse_cidr(cidr: str) -> tuple[str, int]:
    """Split ``"10.0.0.1/24"`` into ``("10.0.0.1", 24)``.

    Raises:
        ValueError: not an address with a prefix length 0..32.
    """
    if not isinstance(cidr, str) or "/" not in cidr:
        raise ValueError(f"expected an address with a prefix length like '10.0.0.1/24', got {cidr!r}")
    iface = ipaddress.IPv4Interface(cidr)
    return str(iface.ip), iface.network.prefixlen


def parse_prefix(prefix: str) -> tuple[int, int]:
    """Return ``(network_int, prefix_len)`` for ``"10.0.2.0/24"`` (host bits must be zero).

    ``"default"`` means ``0.0.0.0/0``; a bare address means a /32 host route.

    Raises:
        ValueError: malformed, or host bits set.
    """
    if prefix == "default":
        prefix = "0.0.0.0/0"
    try:
        net = ipaddress.IPv4Network(prefix)
    except ValueError as exc:
        raise ValueError(f"bad route prefix {prefix!r}: {exc}") from None
    return int(net.network_address), net.prefixlen


def _make_mask(plen: int) -> int:
    return (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF


# One int per prefix length, shared by every address and route (issue 16: per-host memory).
_MASKS = tuple(_make_mask(plen) for plen in range(33))


def _mask(plen: int) -> int:
    return _MASKS[plen] if 0 <= plen <= 32 else _make_mask(plen)


@functools.lru_cache(maxsize=1024)
def _subnet(network: int, plen: int) -> tuple[int, int, str | None]:
    """``(network, broadcast as an int, broadcast as text)`` of a subnet, made once for every
    address in it: tens of thousands of hosts in one /16 hold the same three values (issue 16).
    """
    if plen >= 31:
        return network, -1, None  # /31 and /32 have no directed broadcast (RFC 3021)
    broadcast = network | (~_mask(plen) & 0xFFFFFFFF)
    return network, broadcast, int_to_ip(broadcast)


class IfAddr:
    """The IPv4 address configured on one interface, with its subnet precomputed."""

    __slots__ = ("iface", "ip", "ip_int", "plen", "mask", "network", "broadcast", "broadcast_int")

    def __init__(self, iface, ip: str, plen: int):
        self.iface = iface
        self.ip = ip
        self.ip_int = ip_to_int(ip)
        self.plen = plen
        self.mask = _mask(plen)
        self.network, self.broadcast_int, self.broadcast = _subnet(self.ip_int & self.mask, plen)

    @property
    def cidr(self) -> str:
        return f"{self.ip}/{self.plen}"

    def contains(self, addr_int: int) -> bool:
        return addr_int & self.mask == self.network

    def __repr__(self) -> str:
        return f"<IfAddr {self.iface.name} {self.cidr}>"


class Route(NamedTuple):
    """One routing table row, as ``router.routes()`` shows it.

    Attributes:
        prefix: destination network, ``"10.0.2.0/24"`` (``"0.0.0.0/0"`` for the default).
        via: next-hop gateway, or None for a directly connected network.
        iface: outgoing interface name.
        kind: ``"connected"``, ``"static"`` or ``"default"``.
    """

    prefix: str
    via: str | None
    iface: str
    kind: str

    def __str__(self) -> str:
        via = f" via {self.via}" if self.via else ""
        return f"{self.prefix}{via} dev {self.iface} ({self.kind})"


class _Entry:
    __slots__ = ("net", "mask", "plen", "route")

    def __init__(self, net: int, plen: int, route: Route):
        self.net = net
        self.plen = plen
        self.mask = _mask(plen)
        self.route = route


@functools.lru_cache(maxsize=1024)
def _shared_entry(net: int, plen: int, via: str | None, iface: str, kind: str) -> _Entry:
    """One row object for every table with this route: rows are never changed in place, and
    every host of a subnet has the same connected route (issue 16: per-host memory)."""
    return _Entry(net, plen, Route(f"{int_to_ip(net)}/{plen}", via, iface, kind))


class RouteTable:
    """Routes kept longest-prefix first; ties keep insertion order (connected before static)."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def add(self, prefix: str, via: str | None, iface: str, kind: str) -> Route:
        """Add (or replace, same prefix and kind) a route and return it.

        Raises:
            ValueError: a malformed prefix or gateway.
        """
        net, plen = parse_prefix(prefix)
        if via is not None:
            ip_to_int(via)
        entry = _shared_entry(net, plen, via, iface, kind)
        route = entry.route
        self._entries = [e for e in self._entries
                         if not (e.net == net and e.plen == plen and e.route.kind == kind)]
        self._entries.append(entry)
        self._entries.sort(key=lambda e: -e.plen)  # stable: ties keep insertion order
        return route

    def remove(self, predicate) -> None:
        """Remove every route for which ``predicate(route)`` is true."""
        self._entries = [e for e in self._entries if not predicate(e.route)]

    def lookup(self, addr_int: int) -> Route | None:
        """The most specific route covering ``addr_int``, or None."""
        for e in self._entries:
            if addr_int & e.mask == e.net:
                return e.route
        return None

    def routes(self) -> list[Route]:
        return [e.route for e in self._entries]

    def __len__(self) -> int:
        return len(self._entries)
