"""A capture read as TFTP: every packet to or from the student's host, with block numbers
unwrapped (65536 travels as 0) and helpers that write the evidence lines."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..wire import tftp
from ..wire.errors import DecodeError
from .battery import Run
from .packets import Pkt
from .tftp_peers import unwrap

__all__ = ["Tftp", "View", "compare", "OPS"]

OPS = {1: "RRQ", 2: "WRQ", 3: "DATA", 4: "ACK", 5: "ERROR", 6: "OACK"}


class Tftp:
    """One TFTP packet of the capture: ``p`` (the frame), ``op``, ``block`` (unwrapped, for
    DATA and ACK), ``wire`` (the 16-bit number on the wire), ``n`` (DATA bytes)."""

    __slots__ = ("p", "op", "block", "wire", "n", "i")

    def __init__(self, p: Pkt, op: int, wire: int, block: int, n: int, i: int):
        self.p, self.op, self.wire, self.block, self.n, self.i = p, op, wire, block, n, i

    @property
    def name(self) -> str:
        if self.op in (3, 4):
            return f"{OPS[self.op]} {self.wire}"
        return OPS.get(self.op, f"opcode {self.op}")

    def decoded(self) -> Any:
        """The full packet (RRQ fields, ERROR code and message); None if it does not decode."""
        try:
            return tftp.decode(self.p.data)
        except (DecodeError, ValueError):
            return None


class View:
    """The TFTP packets of a run's capture, split by direction.

    Args:
        run: the scenario's run (its packets are the student host's NIC).
        me: the student host's address.
    """

    def __init__(self, run: Run, me: str):
        self.run = run
        self.me = me
        self.out: list[Tftp] = []
        self.inn: list[Tftp] = []
        last = {("out", 3): 0, ("out", 4): 0, ("in", 3): 0, ("in", 4): 0}
        for i, p in enumerate(run.pkts):
            if p.proto != "udp" or len(p.data) < 2 or p.dir not in ("in", "out"):
                continue
            op = (p.data[0] << 8) | p.data[1]
            wire = block = 0
            if op in (3, 4) and len(p.data) >= 4:
                wire = (p.data[2] << 8) | p.data[3]
                key = (p.dir, op)
                block = last[key] = unwrap(last[key], wire)
            t = Tftp(p, op, wire, block, p.size - 4 if op == 3 else 0, i)
            (self.out if p.dir == "out" else self.inn).append(t)

    def sent(self, op: int) -> list[Tftp]:
        return [t for t in self.out if t.op == op]

    def received(self, op: int) -> list[Tftp]:
        return [t for t in self.inn if t.op == op]

    def by_block(self, packets: list[Tftp]) -> dict[int, list[Tftp]]:
        out: dict[int, list[Tftp]] = {}
        for t in packets:
            out.setdefault(t.block, []).append(t)
        return out

    def at(self, t: Tftp) -> str:
        return self.run.at(t.p)

    def frames(self, ts: list[Tftp], most: int = 6) -> str:
        return self.run.frames([t.p for t in ts], most)

    def after(self, t: Tftp, packets: list[Tftp]) -> list[Tftp]:
        """The packets of ``packets`` captured after ``t``."""
        return [x for x in packets if x.i > t.i]


def compare(path: Path, want: bytes) -> tuple[bool, str]:
    """Is the file at ``path`` exactly ``want``? With a short reason when not."""
    if not path.exists():
        return False, f"no file {path.name} was written"
    got = path.read_bytes()
    if got == want:
        return True, f"{len(got):,} bytes identical (SHA-256 {hashlib.sha256(got).hexdigest()[:12]})"
    first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    return False, (f"the file on disk has {len(got):,} bytes, the server's {len(want):,}; "
                   f"they differ from byte {first:,} (block {first // 512 + 1})")
