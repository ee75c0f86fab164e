"""SYN cookies: a stateless SYN,ACK for when the SYN queue is full (RFC 4987 3.6).

A listener whose queue of half-open connections is full does not drop a SYN: it answers with
a SYN,ACK whose initial sequence number *is* the state it would have kept, and forgets the
SYN. A real client's ACK returns that number plus one; if it checks out, the connection is
made as if the SYN had been queued. Spoofed SYNs then cost the listener nothing, and a flood
cannot lock the port (with Linux's ``tcp_syncookies = 1`` this is the default).

The cookie is Linux's (``net/ipv4/syncookies.c``, ``secure_tcp_syn_cookie``)::

    cookie = H(addrs, ports, 0) + client ISN + (count << 24)
             + ((H(addrs, ports, count, 1) + mss_index) mod 2**24)

``count`` counts minutes of virtual time; a cookie is valid while ``count`` is at most
:data:`MAX_AGE` minutes old. Only the MSS survives (as an index into :data:`MSS_TABLE`):
without TCP timestamps to carry them, window scaling and SACK are not negotiated on a
connection made from a cookie, as on Linux.
"""

from __future__ import annotations

import hashlib

from ...sim.units import NS_PER_S

__all__ = ["MSS_TABLE", "MAX_AGE", "PERIOD_NS", "VALID_NS", "make_cookie", "check_cookie",
           "mss_index"]

#: The MSS values a cookie can carry (Linux msstab): the largest not above the client's.
MSS_TABLE = (536, 1300, 1440, 1460)
PERIOD_NS = 60 * NS_PER_S       # the counter ticks once a minute (tcp_cookie_time)
MAX_AGE = 2                     # minutes a cookie stays valid (MAX_SYNCOOKIE_AGE)
VALID_NS = MAX_AGE * PERIOD_NS  # how long after the last cookie ACKs are checked for one
_BITS = 24
_MASK = (1 << _BITS) - 1


def _hash(secret: bytes, local: tuple, remote: tuple, count: int, which: int) -> int:
    text = f"{local[0]}|{local[1]}|{remote[0]}|{remote[1]}|{count}|{which}".encode()
    return int.from_bytes(hashlib.blake2b(text, key=secret, digest_size=4).digest(), "big")


def mss_index(mss: int | None) -> int:
    """The :data:`MSS_TABLE` entry for a client's MSS option (536 when it sent none)."""
    best = 0
    for i, value in enumerate(MSS_TABLE):
        if mss is not None and value <= mss:
            best = i
    return best


def make_cookie(secret: bytes, local: tuple, remote: tuple, client_isn: int, mss: int | None,
                now: int) -> int:
    """The initial sequence number of a SYN cookie's SYN,ACK.

    Args:
        secret: the host's cookie secret.
        local, remote: ``(ip, port)`` of the listener and of the SYN's sender.
        client_isn: the SYN's sequence number.
        mss: the SYN's MSS option (None when absent).
        now: virtual time (ns).
    """
    count = now // PERIOD_NS
    return (_hash(secret, local, remote, 0, 0) + client_isn + (count << _BITS)
            + ((_hash(secret, local, remote, count, 1) + mss_index(mss)) & _MASK)) & 0xFFFFFFFF


def check_cookie(secret: bytes, local: tuple, remote: tuple, client_isn: int, cookie: int,
                 now: int) -> int | None:
    """The MSS a returning cookie carries, or None when it is forged or too old.

    Args:
        client_isn: the ACK's sequence number minus one.
        cookie: the ACK's acknowledgment number minus one.
    """
    count = now // PERIOD_NS
    value = (cookie - _hash(secret, local, remote, 0, 0) - client_isn) & 0xFFFFFFFF
    age = (count - (value >> _BITS)) & (0xFFFFFFFF >> _BITS)
    if age >= MAX_AGE:
        return None
    index = (value - _hash(secret, local, remote, count - age, 1)) & _MASK
    return MSS_TABLE[index] if index < len(MSS_TABLE) else None
