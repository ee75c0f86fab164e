"""One line per frame of a capture, like ``tshark -r file``: number, time since the first frame,
interface, a Wireshark-style summary, and the packet comments (TCP state changes in netsim
captures).

Example line::

    3   0.000150 h1-eth0  10.0.0.2 -> 10.0.0.1 TCP 9999 -> 49152 [SYN, ACK] ... # h1: SYN_SENT -> ESTABLISHED
"""

from __future__ import annotations

from collections.abc import Iterator

from ..capture.reader import CapturedFrame, read_capture
from ..sim.units import NS_PER_S
from ..wire.errors import DecodeError
from ..wire.frame import decode_frame

__all__ = ["show_capture", "frame_line"]

_LINKTYPE_NAMES = {0: "BSD loopback", 101: "raw IP", 113: "Linux cooked", 228: "raw IPv4",
                   276: "Linux cooked v2"}


def frame_line(number: int, frame: CapturedFrame, start_ns: int,
               tftp_ports: tuple[int, ...] = (69,)) -> str:
    """Format one frame.

    Args:
        number: the frame number (1 for the first).
        frame: the frame as :func:`netsim.capture.read_capture` gives it.
        start_ns: the first frame's time; the time column is relative to it, in seconds.
        tftp_ports: UDP ports decoded as TFTP.

    Returns:
        The line, without a newline. Frames cut by the snap length say so; a bad Ethernet header
        shows as ``[Malformed ...]``, like a failure in a deeper layer.
    """
    if frame.linktype == 1:
        try:
            summary = decode_frame(frame.data, tftp_ports=tftp_ports).summary()
        except DecodeError as err:
            summary = f"[Malformed {err}]"
    else:
        name = _LINKTYPE_NAMES.get(frame.linktype, f"linktype {frame.linktype}")
        summary = f"[{name} frame, {len(frame.data)} bytes: not decoded]"
    if frame.orig_len > len(frame.data):
        summary += f" [cut to {len(frame.data)} of {frame.orig_len} bytes]"
    seconds = (frame.time_ns - start_ns) / NS_PER_S
    iface = frame.if_name if frame.if_name is not None else f"if{frame.if_id}"
    line = f"{number:>5} {seconds:>10.6f} {iface:<9} {summary}"
    for comment in frame.comments:
        line += f"  # {comment}"
    return line


def show_capture(path, tftp_ports: tuple[int, ...] = (69,)) -> Iterator[str]:
    """Yield one summary line per frame of a pcap or pcapng capture.

    Args:
        path: the capture file (or a binary file object).
        tftp_ports: UDP ports decoded as TFTP.

    Returns:
        An iterator of lines (no newlines), streaming: large captures are not held in memory.

    Raises:
        DecodeError: the capture file itself is corrupt or truncated (after the lines of every
            complete frame before the damage).
    """
    start = None
    for number, frame in enumerate(read_capture(path), 1):
        if start is None:
            start = frame.time_ns
        yield frame_line(number, frame, start, tftp_ports)
