"""Port numbers for UDP and TCP: the ephemeral range and Linux's bind rule, in one place.

Both transports keep their own port tables (a UDP socket and a TCP socket may use the same
number), but they pick ephemeral ports and decide conflicts the same way:

* an ephemeral port is drawn from 32768-60999 (Linux ``ip_local_port_range``), starting at a
  random offset from the network's seeded RNG and walking up (``inet_csk_get_port``);
* two users conflict on a port when their local addresses overlap (equal, or either is the
  wildcard 0.0.0.0), unless the transport's sharing rule lets them (UDP: both set
  ``SO_REUSEADDR``; TCP: the other is a connection in TIME_WAIT and the new socket set
  ``SO_REUSEADDR``).
"""

from __future__ import annotations

import errno
import random
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from .sockbase import oserror

if TYPE_CHECKING:
    from .services import IpServices

__all__ = ["ANY", "EPHEMERAL_LOW", "EPHEMERAL_HIGH", "overlaps", "port_taken", "pick_ephemeral",
           "check_local_address"]

ANY = "0.0.0.0"
EPHEMERAL_LOW, EPHEMERAL_HIGH = 32768, 60999  # Linux net.ipv4.ip_local_port_range

T = TypeVar("T")


def overlaps(a: str, b: str) -> bool:
    """True when a packet could match both local addresses ``a`` and ``b``."""
    return a == b or a == ANY or b == ANY


def port_taken(users: Iterable[tuple[str, T]], ip: str, may_share: Callable[[T], bool]) -> bool:
    """Linux's bind rule: is the port taken for ``ip`` by one of ``users``?

    Args:
        users: ``(local address, user)`` for everything else holding the port.
        ip: the local address asked for.
        may_share: the transport's rule: True when that user leaves the port usable.
    """
    return any(overlaps(addr, ip) and not may_share(user) for addr, user in users)


def pick_ephemeral(rng: random.Random, is_free: Callable[[int], bool], exhausted: int) -> int:
    """An ephemeral port for which ``is_free(port)`` holds.

    Raises:
        OSError: ``exhausted`` (the transport's errno) when every port of the range is taken.
    """
    span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
    start = rng.randrange(span)
    for i in range(span):
        port = EPHEMERAL_LOW + (start + i) % span
        if is_free(port):
            return port
    raise oserror(exhausted)


def check_local_address(node: IpServices, ip: str, broadcast_ok: bool) -> None:
    """A socket may bind to the wildcard, one of its node's addresses, or (UDP only) a
    broadcast address.

    Raises:
        OSError: EADDRNOTAVAIL for any other address.
    """
    if ip == ANY or node.is_local(ip) or (broadcast_ok and node.is_broadcast(ip)):
        return
    raise oserror(errno.EADDRNOTAVAIL)
