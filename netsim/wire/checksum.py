"""The Internet checksum (RFC 1071) and the TCP/UDP pseudo-header sum (RFC 768, RFC 9293 3.1).

Speed trick: the 16-bit ones'-complement sum of a byte string equals the big-endian integer of
that string modulo 0xFFFF, because 2**16 == 1 (mod 0xFFFF) (RFC 1071 section 2, "deferred carries"
taken to the limit). ``int.from_bytes`` and one ``%`` run in C, so a 1500-byte sum costs about
as much as a few Python bytecodes.
"""

from __future__ import annotations

from .addr import _ip_int_get, ip_to_bytes, ip_to_int

__all__ = ["ones_sum", "internet_checksum", "verify", "pseudo_header_sum", "pseudo_sum",
           "segment_ok"]

_from_bytes = int.from_bytes


def ones_sum(data: bytes, start: int = 0) -> int:
    """Return the 16-bit ones'-complement sum of ``data`` plus ``start`` (not inverted).

    Args:
        data: bytes; an odd length is padded with one zero byte (RFC 1071 section 4.1).
        start: an already accumulated sum to add (e.g. from :func:`pseudo_header_sum`); any
            non-negative integer, it is folded too.

    Returns:
        0..0xFFFF. 0 only when everything summed is zero; otherwise a ones'-complement "zero"
        is 0xFFFF, as an end-around-carry adder produces.
    """
    if len(data) & 1:
        data = bytes(data) + b"\0"
    total = _from_bytes(data, "big") + start
    if not total:
        return 0
    folded = total % 0xFFFF
    return folded if folded else 0xFFFF


def internet_checksum(data: bytes, start: int = 0) -> int:
    """Return the checksum to place in a header: the complement of :func:`ones_sum`.

    Args:
        data: the header (and for TCP/UDP the segment) with its checksum field zeroed.
        start: pseudo-header sum for TCP/UDP.
    """
    return ~ones_sum(data, start) & 0xFFFF


def verify(data: bytes, start: int = 0) -> bool:
    """True when ``data`` (its checksum field included) plus ``start`` sums to ones'-complement
    zero: the receiver's check of RFC 1071 section 1 (the IPv4 header's and ICMP's lazy
    ``checksum_ok``). Same arithmetic as :func:`ones_sum`, one call less on that path."""
    if len(data) & 1:
        data = bytes(data) + b"\0"
    total = _from_bytes(data, "big") + start
    return total % 0xFFFF == 0 and total != 0


def pseudo_header_sum(src_ip: str | bytes, dst_ip: str | bytes, proto: int, length: int) -> int:
    """Return an (unfolded) sum of the IPv4 pseudo-header for TCP/UDP checksums.

    Args:
        src_ip, dst_ip: dotted-quad strings or 4 raw bytes.
        proto: IP protocol number (6 TCP, 17 UDP).
        length: the TCP/UDP length (header plus data).

    Returns:
        An integer congruent to the pseudo-header's ones'-complement sum; pass it as ``start``.
    """
    if isinstance(src_ip, str):
        src_ip = ip_to_bytes(src_ip)
    if isinstance(dst_ip, str):
        dst_ip = ip_to_bytes(dst_ip)
    return _from_bytes(src_ip, "big") + _from_bytes(dst_ip, "big") + proto + length


def pseudo_sum(src_ip: str, dst_ip: str, proto: int, length: int) -> int:
    """:func:`pseudo_header_sum` for dotted-quad strings, through the address cache (hot path)."""
    return ((_ip_int_get(src_ip) or ip_to_int(src_ip)) + (_ip_int_get(dst_ip) or ip_to_int(dst_ip))
            + proto + length)


def segment_ok(buf: bytes, start: int, end: int, src_ip: str | None, dst_ip: str | None,
               proto: int) -> bool:
    """Check the TCP/UDP checksum of ``buf[start:end]`` (decoders keep offsets into the received
    bytes and slice only here, when ``checksum_ok`` is first read).

    With ``src_ip`` None, ``buf[start:start + 8]`` are the IPv4 source and destination
    addresses just before the segment (decode_frame's layout): summed as they stand, they are
    the addresses' part of the pseudo-header (RFC 768, RFC 9293 3.1).
    """
    if start or end != len(buf):
        buf = buf[start:end]
    n = end - start
    if src_ip is None:
        n -= 8
        pseudo = proto + n
    else:
        # pseudo_sum(), inlined: this runs once per received segment.
        pseudo = ((_ip_int_get(src_ip) or ip_to_int(src_ip))  # type: ignore[arg-type]
                  + (_ip_int_get(dst_ip) or ip_to_int(dst_ip)) + proto + n)  # type: ignore[arg-type]
    total = _from_bytes(buf if not n & 1 else buf + b"\0", "big") + pseudo
    return total % 0xFFFF == 0  # never 0: the protocol number is in the pseudo-header
