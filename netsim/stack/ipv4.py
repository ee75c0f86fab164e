"""IPv4 helpers of the host stack: TTL decrement, fragmentation and reassembly (RFC 791, 1624).

These work on raw datagram bytes or :class:`netsim.wire.ipv4.IPv4` values and know nothing of
interfaces; :mod:`netsim.stack.host` wires them together.
"""

from __future__ import annotations

from ..sim.units import NS_PER_S
from ..wire.ipv4 import IPv4

__all__ = ["decrement_ttl", "fragment", "Reassembler", "MAX_UDP_PAYLOAD"]

MAX_UDP_PAYLOAD = 65535 - 20 - 8  # 65507: the largest datagram sendto() accepts (EMSGSIZE beyond)


def decrement_ttl(datagram: bytes) -> bytes:
    """Return ``datagram`` with TTL lowered by one and the header checksum updated incrementally.

    RFC 1624 eqn. 3: ``HC' = ~(~HC + ~m + m')`` where ``m`` is the 16-bit word holding TTL and
    protocol. Only three bytes change, so options and the rest are kept exactly.

    Raises:
        ValueError: the TTL is already 0.
    """
    ttl = datagram[8]
    if ttl == 0:
        raise ValueError("IPv4: cannot decrement a TTL of 0")
    old_word = (ttl << 8) | datagram[9]
    new_word = old_word - 0x100
    hc = (datagram[10] << 8) | datagram[11]
    total = (~hc & 0xFFFF) + (~old_word & 0xFFFF) + new_word
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    hc_new = ~total & 0xFFFF
    return b"".join((datagram[:8], bytes((ttl - 1,)), datagram[9:10],
                     hc_new.to_bytes(2, "big"), datagram[12:]))


def fragment(ip: IPv4, mtu: int) -> list[IPv4]:
    """Split ``ip`` into fragments whose total length fits ``mtu`` (RFC 791 section 3.2).

    Each fragment's data is a multiple of 8 bytes except the last; the last keeps the original
    MF flag (so re-fragmenting a fragment works). Options are copied to every fragment only when
    their "copied" flag is set; we simply drop options from non-first fragments, which is
    correct for the options netsim ever sends (none).

    Returns:
        ``[ip]`` when it fits, else the fragments in order.

    Raises:
        ValueError: the MTU is too small to carry 8 data bytes per fragment.
    """
    hl = 20 + (len(ip.options) + 3) // 4 * 4
    if hl + len(ip.payload) <= mtu:
        return [ip]
    chunk = (mtu - hl) // 8 * 8
    if chunk < 8:
        raise ValueError(f"IPv4: MTU {mtu} is too small to fragment a {hl}-byte header")
    out = []
    data = ip.payload
    base = ip.frag_offset
    for start in range(0, len(data), chunk):
        piece = data[start:start + chunk]
        last = start + chunk >= len(data)
        out.append(IPv4(ip.src, ip.dst, ip.proto, piece, ttl=ip.ttl, ident=ip.ident, tos=ip.tos,
                        df=False, mf=ip.mf if last else True, frag_offset=base + start,
                        options=ip.options if start == 0 else b""))
    return out


class _Buffer:
    __slots__ = ("pieces", "total", "first", "timer", "bytes")

    def __init__(self) -> None:
        self.pieces: dict[int, bytes] = {}  # offset -> data
        self.total: int | None = None       # known once the last fragment (MF=0) arrives
        self.first: IPv4 | None = None      # the fragment with offset 0 (its header is reused)
        self.timer = None
        self.bytes = 0


class Reassembler:
    """Reassembles fragments keyed by (src, dst, proto, ident) (RFC 791 section 3.2).

    Args:
        kernel: for the reassembly timer.
        timeout_ns: how long an incomplete datagram is kept (Linux ``ipfrag_time``: 30 s).
        on_timeout: called with the first fragment (if it arrived) when a datagram expires, so
            the host can send ICMP "fragment reassembly time exceeded" (RFC 792).
    """

    __slots__ = ("kernel", "timeout_ns", "on_timeout", "buffers", "completed", "expired",
                 "oversize")

    def __init__(self, kernel, timeout_ns: int = 30 * NS_PER_S, on_timeout=None):
        self.kernel = kernel
        self.timeout_ns = timeout_ns
        self.on_timeout = on_timeout
        self.buffers: dict[tuple, _Buffer] = {}
        self.completed = 0
        self.expired = 0
        self.oversize = 0

    def add(self, ip: IPv4) -> IPv4 | None:
        """Add a fragment; return the whole datagram once every piece is in, else None.

        Overlapping fragments are resolved first-come (later copies of a byte are ignored),
        which is what RFC 5722 asks of IPv6 and most IPv4 stacks do in spirit.
        """
        key = (ip.src, ip.dst, int(ip.proto), ip.ident)
        if 20 + len(ip.options) + ip.frag_offset + len(ip.payload) > 65535:
            # A datagram no IPv4 header can describe (the "ping of death"): Linux's
            # ip_frag_reasm() drops it and the whole queue with it ("Oversized IP packet").
            self.oversize += 1
            old = self.buffers.pop(key, None)
            if old is not None:
                self.kernel.cancel(old.timer)
            return None
        buf = self.buffers.get(key)
        if buf is None:
            buf = self.buffers[key] = _Buffer()
            buf.timer = self.kernel.call_later(self.timeout_ns, self._expire, key)
        if ip.frag_offset == 0:
            buf.first = ip
        if not ip.mf:
            buf.total = ip.frag_offset + len(ip.payload)
        if ip.frag_offset not in buf.pieces:
            buf.pieces[ip.frag_offset] = ip.payload
        if buf.total is None or buf.first is None:
            return None
        data = self._join(buf)
        if data is None:
            return None
        self.kernel.cancel(buf.timer)
        del self.buffers[key]
        self.completed += 1
        f = buf.first
        return IPv4(f.src, f.dst, f.proto, data, ttl=f.ttl, ident=f.ident, tos=f.tos,
                    options=f.options)

    @staticmethod
    def _join(buf: _Buffer) -> bytes | None:
        out = bytearray()
        for off in sorted(buf.pieces):
            piece = buf.pieces[off]
            if off > len(out):
                return None  # a hole
            out += piece[len(out) - off:]
        if len(out) < buf.total:
            return None
        return bytes(out[:buf.total])

    def _expire(self, key: tuple) -> None:
        buf = self.buffers.pop(key, None)
        if buf is None:
            return
        self.expired += 1
        if self.on_timeout is not None and buf.first is not None:
            self.on_timeout(buf.first)
