"""netsim's reference TFTP peers for grading, built on the sans-I/O sessions of
:mod:`netsim.apps.tftp` (so their retransmission timer, Sorcerer's Apprentice fix and TID
checks are the tested ones), with a :class:`Mischief` plan that makes the network or a third
party misbehave on cue:

* ``duplicate``: these DATA (server) or ACK (client) blocks go out twice, back to back, as a
  duplicating network would deliver them;
* ``stale``: ``{k: m}`` a copy of block k's packet arrives late, right after block m's
  (reordering: an old duplicate overtaking nothing, but arriving after newer packets);
* ``stranger``: just before block n's packet, a packet with the same opcode and block number
  but garbage in it arrives from the peer's address on another port: a wrong transfer ID
  (RFC 1350 section 4). What the stranger gets back is noted.

Block numbers in a plan count from 1 without wrapping (block 65536 travels as 0).
"""

from __future__ import annotations

import io
import struct
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ..apps.tftp import options as opt
from ..apps.tftp.blocking import TftpError, run_session
from ..apps.tftp.paths import Refused, parse_request
from ..apps.tftp.session import client_read, server_read
from ..wire import tftp

__all__ = ["Mischief", "RefServer", "RefClient", "unwrap"]

_HH = struct.Struct("!HH")
_DATA, _ACK = 3, 4


def unwrap(last: int, wire: int) -> int:
    """The block count nearest to ``last`` whose low 16 bits are ``wire`` (65535 -> 65536)."""
    delta = (wire - last) & 0xFFFF
    if delta > 0x8000:
        delta -= 0x10000
    return last + delta


@dataclass
class Mischief:
    """What goes wrong on purpose in one scenario (module doc)."""

    duplicate: set[int] = field(default_factory=set)
    stale: dict[int, int] = field(default_factory=dict)
    stranger: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.duplicate or self.stale or self.stranger)


class _Meddler:
    """A socket for ``run_session`` whose sends follow a :class:`Mischief` plan."""

    def __init__(self, host: Any, sock: Any, plan: Mischief, opcode: int, log: dict):
        self.host, self.sock, self.plan, self.opcode, self.log = host, sock, plan, opcode, log
        self.last = 0
        self.sent: set[int] = set()
        self.saved: dict[int, bytes] = {}
        self.stranger: Any = None

    def settimeout(self, value: float | None) -> None:
        self.sock.settimeout(value)

    def recvfrom(self, n: int) -> Any:
        return self.sock.recvfrom(n)

    def sendto(self, payload: bytes, dest: Any) -> int:
        plan = self.plan
        if not plan or len(payload) < 4 or _HH.unpack_from(payload)[0] != self.opcode:
            return self.sock.sendto(payload, dest)
        n = self.last = unwrap(self.last, _HH.unpack_from(payload)[1])
        first = n not in self.sent
        self.sent.add(n)
        if first and n in plan.stranger:
            self._stranger(payload, dest, n)
        sent = self.sock.sendto(payload, dest)
        if not first:
            return sent
        if n in plan.duplicate:
            self.sock.sendto(payload, dest)
            self.log.setdefault("duplicated", []).append(n)
        if n in plan.stale:
            self.saved[n] = payload
        for old, after in plan.stale.items():
            if after == n and old in self.saved:
                self.sock.sendto(self.saved.pop(old), dest)
                self.log.setdefault("stale", []).append((old, n))
        return sent

    def _stranger(self, payload: bytes, dest: Any, n: int) -> None:
        """A packet of the same kind and block from another port, garbage inside; then a
        millisecond's pause, so it arrives first."""
        if self.stranger is None:
            self.stranger = self.host.socket(2, 2)      # AF_INET, SOCK_DGRAM
            self.stranger.bind(("", 0))
            self.host.spawn(_listen, self.stranger, self.log)
        fake = payload[:4] + b"\xee" * (len(payload) - 4)
        self.stranger.sendto(fake, dest)
        self.log.setdefault("stranger_sent", []).append((n, self.stranger.getsockname()[1]))
        self.host.sleep(0.001)


def _listen(sock: Any, log: dict) -> None:
    """What the stranger receives (an ERROR 5, with luck)."""
    while True:
        data, addr = sock.recvfrom(2048)
        log.setdefault("stranger_got", []).append((data, addr))


class RefServer:
    """A TFTP server on ``host``: files from memory, one task and one new port (its TID) per
    request, the :class:`Mischief` plan applied to each transfer's DATA.

    ``log`` gathers what happened: ``transfers`` (name, error or None, retransmissions),
    ``refused`` (name, code), and the plan's own notes (``duplicated``, ``stale``,
    ``stranger_sent``, ``stranger_got``).
    """

    def __init__(self, host: Any, files: MutableMapping[str, bytes], plan: Mischief | None = None,
                 timeout: float = 1.0, max_retries: int = 5):
        self.host, self.files = host, files
        self.plan = plan or Mischief()
        self.timeout, self.max_retries = timeout, max_retries
        self.log: dict[str, Any] = {"transfers": [], "refused": [], "requests": []}
        self.active: set[Any] = set()

    def start(self) -> RefServer:
        self.host.spawn(self._serve)
        return self

    def _serve(self) -> None:
        sock = self.host.socket(2, 2)
        sock.bind(("", 69))
        while True:
            payload, addr = sock.recvfrom(65536)
            req = None
            try:
                req = parse_request(payload)
                if req is None or addr in self.active:
                    continue
                self.log["requests"].append((req.filename, req.mode, req.options))
                if req.opcode != tftp.RRQ:
                    raise Refused(tftp.ERR_ACCESS, "this server only sends files")
                if req.filename not in self.files:
                    raise Refused(tftp.ERR_NOT_FOUND, "File not found")
                data = self.files[req.filename]
                params = opt.negotiate(req, file_size=len(data))
            except (Refused, opt.OptionError) as exc:
                self.log["refused"].append((req.filename if req else "?", exc.code))
                # From a new port, as tftpd-hpa does (it forks before it looks at the file).
                err = self.host.socket(2, 2)
                err.bind(("", 0))
                err.sendto(tftp.Error(exc.code, exc.message).encode(), addr)
                err.close()
                continue
            session = server_read(req, io.BytesIO(data), addr, params, timeout=self.timeout,
                                  max_retries=self.max_retries)
            self.active.add(addr)
            self.host.spawn(self._transfer, session, addr)

    def _transfer(self, session: Any, addr: Any) -> None:
        sock = self.host.socket(2, 2)
        sock.bind(("", 0))
        self.log["tid"] = sock.getsockname()[1]
        meddler = _Meddler(self.host, sock, self.plan, _DATA, self.log)
        error = None
        try:
            run_session(session, meddler, lambda: self.host.kernel.now)
        except TftpError as exc:
            error = exc
        finally:
            sock.close()
            self.active.discard(addr)
        self.log["transfers"].append((session.filename, error, session.stats.retransmissions))


class RefClient:
    """A TFTP client on ``host`` downloading one file, shaped like a real tool: ``options``
    as curl sends them (``tsize 0``, ``blksize``, ``timeout``), none as tftp-hpa, or a
    ``windowsize`` as an RFC 7440 client; ACKs follow the :class:`Mischief` plan.

    After the run: ``data`` (bytes received, None if it failed), ``error`` (a TftpError or
    None), ``stats``, ``session`` (its negotiated ``blksize``/``windowsize``).
    """

    def __init__(self, host: Any, server: str, filename: str,
                 options: tuple[tuple[str, str], ...] = (), plan: Mischief | None = None,
                 timeout: float = 1.0, max_retries: int = 5, port: int = 69):
        self.host, self.server, self.filename = host, (server, port), filename
        self.options, self.plan = options, plan or Mischief()
        self.timeout, self.max_retries = timeout, max_retries
        self.data: bytes | None = None
        self.error: TftpError | None = None
        self.stats: Any = None
        self.session: Any = None
        self.done = False
        self.log: dict[str, Any] = {}

    def start(self, at: float = 0.01) -> RefClient:
        self.host.spawn(self._run, at=at)
        return self

    def _run(self) -> None:
        sink = io.BytesIO()
        self.session = client_read(self.filename, sink, self.server, options=self.options,
                                   timeout=self.timeout, max_retries=self.max_retries,
                                   dally=1.0)
        sock = self.host.socket(2, 2)
        sock.bind(("", 0))
        try:
            self.stats = run_session(self.session, _Meddler(self.host, sock, self.plan, _ACK,
                                                            self.log),
                                     lambda: self.host.kernel.now)
            self.data = sink.getvalue()
        except TftpError as exc:
            self.error = exc
            self.stats = self.session.stats
        finally:
            sock.close()
            self.done = True
