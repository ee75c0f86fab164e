"""Sans-I/O TFTP transfer sessions (RFC 1350, 2347-2349, 7440; RFC 1123 4.2.3.1).

A session is fed datagrams and time and returns datagrams to send; it never touches a socket
or a clock::

    s = client_read("boot.img", sink, ("10.0.0.1", 69), options=(("blksize", "1468"),))
    out = s.start(now)                      # [(request bytes, ("10.0.0.1", 69))]
    out = s.receive(payload, peer, now)     # [(bytes, destination), ...]
    s.next_deadline()                       # int ns or None
    out = s.on_timer(now)                   # retransmissions, or the give-up ERROR
    s.state, s.finished, s.closed, s.error, s.stats

Time is an integer count of nanoseconds. Data comes from ``source.read(n)`` and goes to
``sink.write(b)`` (a file, a BytesIO...). A session is either a *sender* (DATA out, ACKs in)
or a *receiver* (DATA in, ACKs out); lock-step RFC 1350 is the windowsize 1 case of RFC 7440.

Rules kept here:

* Retransmit only on timeout, starting at the negotiated timeout (default 1 s), doubling, at
  most ``max_retries`` times; then send ERROR 0 and fail.
* Never resend DATA because of a duplicate ACK (RFC 1123 4.2.3.1, the Sorcerer's Apprentice).
* A receiver answers a repeated DATA it already has with its last ACK; the side that sends the
  final ACK dallies (state DALLYING) to re-ACK a repeated final DATA.
* Block numbers wrap 65535 -> 0; the session counts blocks without wrapping internally.
* A packet from an unknown transfer ID gets ERROR 5 and the session continues (RFC 1350 s4).
"""

from __future__ import annotations

import struct
from typing import Any, Protocol

from netsim.apps.tftp.options import (
    DEFAULT_BLKSIZE,
    Negotiated,
    OptionError,
    check_oack,
)
from netsim.sim.units import NS_PER_S, parse_time
from netsim.wire import tftp
from netsim.wire.errors import DecodeError
from netsim.wire.tftp import netascii_decode, netascii_encode

__all__ = [
    "State", "TRANSITIONS", "INITIAL", "Stats", "Session", "ProtocolError",
    "client_read", "client_write", "server_read", "server_write",
]

_HH = struct.Struct("!HH")
_ACK_PREFIX = b"\x00\x04"


class State:
    """Session states (strings, so logs and diagrams read well)."""

    REQUESTED = "REQUESTED"    # client: request sent, waiting for OACK / DATA 1 / ACK 0
    OACK_SENT = "OACK_SENT"    # server read: OACK sent, waiting for ACK 0
    SENDING = "SENDING"        # DATA out, ACKs in
    RECEIVING = "RECEIVING"    # DATA in, ACKs out
    DALLYING = "DALLYING"      # final ACK sent; re-ACK a repeated final DATA
    DONE = "DONE"
    FAILED = "FAILED"


_SENDING, _RECEIVING = State.SENDING, State.RECEIVING     # the hot path's two states

# Every legal state change; Session._to() refuses anything else (STYLE rule 5).
TRANSITIONS: dict[str, frozenset[str]] = {
    State.REQUESTED: frozenset({State.REQUESTED, State.SENDING, State.RECEIVING, State.DALLYING,
                                State.DONE, State.FAILED}),
    State.OACK_SENT: frozenset({State.SENDING, State.DONE, State.FAILED}),
    State.SENDING: frozenset({State.DONE, State.FAILED}),
    State.RECEIVING: frozenset({State.DALLYING, State.DONE, State.FAILED}),
    State.DALLYING: frozenset({State.DONE}),
    State.DONE: frozenset(),
    State.FAILED: frozenset(),
}

# Where a session may start, by (is_client, is_sender): a client has just sent its request; a
# server answers an RRQ with DATA 1 or an OACK, a WRQ with ACK 0 or an OACK (RFC 1350 4, RFC
# 2347). Session() refuses any other start, so no factory sets a state behind the table's back.
INITIAL: dict[tuple[bool, bool], frozenset[str]] = {
    (True, True): frozenset({State.REQUESTED}),
    (True, False): frozenset({State.REQUESTED}),
    (False, True): frozenset({State.SENDING, State.OACK_SENT}),
    (False, False): frozenset({State.RECEIVING}),
}


class ProtocolError(Exception):
    """An illegal use of a session by its driver (not peer misbehaviour)."""


class Source(Protocol):
    def read(self, n: int, /) -> bytes: ...


class Sink(Protocol):
    def write(self, data: bytes, /) -> Any: ...


class Stats:
    """Counters of one transfer: data bytes (as on the wire), blocks, retransmissions, times."""

    __slots__ = ("bytes", "blocks", "retransmissions", "started_ns", "ended_ns", "blksize",
                 "windowsize", "tsize")

    def __init__(self) -> None:
        self.bytes = 0
        self.blocks = 0
        self.retransmissions = 0
        self.started_ns: int | None = None
        self.ended_ns: int | None = None
        self.blksize = DEFAULT_BLKSIZE
        self.windowsize = 1
        self.tsize: int | None = None

    @property
    def seconds(self) -> float:
        """Duration of the transfer in seconds (0.0 until it ends)."""
        if self.started_ns is None or self.ended_ns is None:
            return 0.0
        return (self.ended_ns - self.started_ns) / NS_PER_S

    def __repr__(self) -> str:
        return (f"Stats(bytes={self.bytes}, blocks={self.blocks}, "
                f"retransmissions={self.retransmissions}, seconds={self.seconds:.3f}, "
                f"blksize={self.blksize}, windowsize={self.windowsize})")


class _NetasciiSource:
    """Wrap a local text source so that ``read(n)`` returns netascii, n bytes until the end."""

    __slots__ = ("_src", "_buf", "_eof")

    def __init__(self, src: Source):
        self._src, self._buf, self._eof = src, bytearray(), False

    def read(self, n: int) -> bytes:
        while len(self._buf) < n and not self._eof:
            chunk = self._src.read(max(n, 8192))
            if not chunk:
                self._eof = True
            self._buf += netascii_encode(chunk)
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


class _NetasciiSink:
    """Wrap a sink so that netascii written to it arrives as local text (CR held across blocks)."""

    __slots__ = ("_sink", "_pending")

    def __init__(self, sink: Sink):
        self._sink, self._pending = sink, False

    def write(self, data: bytes) -> None:
        out, self._pending = netascii_decode(data, self._pending)
        if out:
            self._sink.write(out)

    def finish(self) -> None:
        if self._pending:
            self._sink.write(b"\r")
            self._pending = False


class Session:
    """One TFTP transfer, as seen from one end. Build it with the four factory functions."""

    __slots__ = (
        "state", "is_client", "is_sender", "filename", "mode", "peer", "_server", "_request",
        "_asked", "_fallback", "_src", "_sink", "blksize", "windowsize", "_rto0", "_rto",
        "_tries", "max_retries", "_deadline", "dally_ns", "error", "error_sent", "stats",
        "_window", "_base", "_final", "_expect", "_count", "_last", "_max_bytes", "_gap_acked",
    )

    def __init__(self, *, state: str, is_client: bool, is_sender: bool, filename: str,
                 mode: str, peer: Any, timeout_ns: int, max_retries: int, dally_ns: int | None):
        if state not in INITIAL[(is_client, is_sender)]:
            role = ("client " if is_client else "server ") + ("sender" if is_sender else "receiver")
            raise ProtocolError(f"a TFTP {role} cannot start in {state}")
        self.state = state
        self.is_client = is_client
        self.is_sender = is_sender
        self.filename = filename
        self.mode = mode.lower()
        self.peer = None if is_client else peer        # the locked remote transfer ID
        self._server = peer                             # where a client sends its request
        self._request = b""
        self._asked: tuple[tuple[str, str], ...] = ()
        self._fallback = False
        self._src: Any = None
        self._sink: Any = None
        self.blksize = DEFAULT_BLKSIZE
        self.windowsize = 1
        self._rto0 = self._rto = timeout_ns
        self._tries = 0
        self.max_retries = max_retries
        self._deadline: int | None = None
        self.dally_ns = dally_ns
        self.error: tftp.Error | None = None
        self.error_sent = False                          # True: we sent it; False: peer did
        self.stats = Stats()
        self._window: list[bytes] = []                   # sender: packets from block _base on
        self._base = 1                                   # sender: first unacknowledged block
        self._final: int | None = None                   # sender: number of the last block
        self._expect = 1                                 # receiver: next block wanted
        self._count = 0                                  # receiver: blocks since last ACK
        self._last = b""                                 # the packet a timeout resends
        self._max_bytes: int | None = None
        self._gap_acked = False                          # receiver: gap already reported

    # -- public surface ------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True once all the data has moved (DALLYING or DONE) without error."""
        return self.state is State.DONE or self.state is State.DALLYING

    @property
    def closed(self) -> bool:
        """True when the session needs no more packets or timers (DONE or FAILED)."""
        return self.state is State.DONE or self.state is State.FAILED

    @property
    def rto_ns(self) -> int:
        """The current retransmission timeout in ns (base timeout, doubled per retry)."""
        return self._rto

    def next_deadline(self) -> int | None:
        """Return when ``on_timer`` should next be called (ns), or None."""
        return self._deadline

    def start(self, now: int) -> list[tuple[bytes, Any]]:
        """Begin: a client sends its request; a server sends OACK, DATA 1 or ACK 0.

        Args:
            now: the current time in ns.

        Returns:
            Datagrams to send, as (payload, destination) pairs.
        """
        self.stats.started_ns = now
        self._deadline = now + self._rto
        if self.is_client:
            return [(self._request, self._server)]
        return self._server_first(now)

    def receive(self, payload: bytes, peer: Any, now: int) -> list[tuple[bytes, Any]]:
        """Feed one datagram from ``peer`` (an address tuple).

        Args:
            payload: the UDP payload.
            peer: the source address.
            now: the current time in ns.

        Returns:
            Datagrams to send, as (payload, destination) pairs.
        """
        if peer != self.peer:
            if self.peer is None and self.state is State.REQUESTED and peer[0] == self._server[0]:
                self.peer = peer      # RFC 1350 s4: the server's first reply picks its TID
            else:
                return self._wrong_tid(payload, peer)
        state = self.state
        if len(payload) >= 4:
            op, block = _HH.unpack_from(payload)
            if op == 4 and state is _SENDING:
                return self._on_ack(block, now)
            if op == 3 and state is _RECEIVING:
                return self._on_data(block, payload, now)
        return self._slow_path(payload, now)

    def on_timer(self, now: int) -> list[tuple[bytes, Any]]:
        """Handle the deadline: retransmit, finish dallying, or give up.

        Args:
            now: the current time in ns.

        Returns:
            Datagrams to send.
        """
        if self._deadline is None or now < self._deadline or self.closed:
            return []
        if self.state is State.DALLYING:
            return self._finish(State.DONE, now)
        if self._tries >= self.max_retries:
            return self._fail(tftp.ERR_UNDEFINED, f"timed out after {self._tries} retransmissions",
                              now)
        self._tries += 1
        self._rto *= 2
        self._deadline = now + self._rto
        self.stats.retransmissions += 1
        if self.is_sender and self.state is State.SENDING and self._window:
            return [(pkt, self.peer) for pkt in self._window]   # go back to the first unacked
        if self.state is State.RECEIVING and self._expect > 1:
            self._count = 0
            self._last = _HH.pack(4, (self._expect - 1) & 0xFFFF)
        dest = self._server if self.state is State.REQUESTED else self.peer
        return [(self._last, dest)]

    # -- state changes ---------------------------------------------------------------------

    def _to(self, new: str) -> None:
        if new not in TRANSITIONS[self.state]:
            raise ProtocolError(f"illegal TFTP transition {self.state} -> {new}")
        self.state = new

    def _finish(self, new: str, now: int) -> list[tuple[bytes, Any]]:
        self._to(new)
        if self.stats.ended_ns is None:
            self.stats.ended_ns = now
        self._deadline = None if new is State.DONE else self._deadline
        self._window = []
        return []

    def _fail(self, code: int, message: str, now: int, send: bool = True
              ) -> list[tuple[bytes, Any]]:
        self.error = tftp.Error(code, message)
        self.error_sent = send
        self._to(State.FAILED)
        self.stats.ended_ns = now
        self._deadline = None
        self._window = []
        dest = self.peer if self.peer is not None else self._server
        return [(self.error.encode(), dest)] if send else []

    def _wrong_tid(self, payload: bytes, peer: Any) -> list[tuple[bytes, Any]]:
        # RFC 1350 s4: answer with ERROR 5, do not disturb the transfer. Never answer an ERROR.
        if payload[:2] == b"\x00\x05":
            return []
        return [(tftp.Error(tftp.ERR_UNKNOWN_TID, "Unknown transfer ID").encode(), peer)]

    def _progress(self, now: int) -> None:
        self._tries = 0
        self._rto = self._rto0
        self._deadline = now + self._rto0

    # -- sender ----------------------------------------------------------------------------

    def _fill(self) -> list[tuple[bytes, Any]]:
        """Read blocks until the window is full or the last block has been read.

        Returns:
            The new DATA packets, as (payload, peer) pairs.
        """
        window = self._window
        room = self.windowsize - len(window)
        if room <= 0 or self._final is not None:
            return []
        first = self._base + len(window)
        blksize, read, pack, peer = self.blksize, self._src.read, _HH.pack, self.peer
        out = []
        nbytes = 0
        for number in range(first, first + room):
            data = read(blksize)
            pkt = pack(3, number & 0xFFFF) + data
            window.append(pkt)
            out.append((pkt, peer))
            nbytes += len(data)
            if len(data) < blksize:     # a short (maybe empty) block is the last one
                self._final = number
                break
        stats = self.stats
        stats.bytes += nbytes
        stats.blocks += len(out)
        return out

    def _on_ack(self, block: int, now: int) -> list[tuple[bytes, Any]]:
        window = self._window
        base = self._base
        fresh = (block - base + 1) & 0xFFFF     # blocks this ACK newly covers (unwrapped)
        if fresh == 0 or fresh > len(window):
            # A duplicate ACK (of block base - 1) or a stray one: never resend DATA for it
            # (RFC 1123 4.2.3.1, the Sorcerer's Apprentice); the timer handles real loss.
            return []
        acked = base - 1 + fresh
        self._base = acked + 1
        self._tries = 0                         # progress: reset the retransmission timer
        self._rto = rto = self._rto0
        self._deadline = now + rto
        final = self._final
        if final is not None and acked >= final:
            return self._finish(State.DONE, now)
        if fresh == len(window):                # the common case: everything sent is acked
            if self.windowsize == 1:
                # Lock-step (RFC 1350): the next block takes the acked one's place. This is
                # _fill() unrolled for one block, the per-packet path of most transfers.
                number = acked + 1
                blksize = self.blksize
                data = self._src.read(blksize)
                pkt = _HH.pack(3, number & 0xFFFF) + data
                window[0] = pkt
                n = len(data)
                if n < blksize:
                    self._final = number
                stats = self.stats
                stats.bytes += n
                stats.blocks += 1
                return [(pkt, self.peer)]
            window.clear()
            return self._fill()
        del window[:fresh]
        # RFC 7440 s4: an ACK inside the window means the blocks after it were lost: resend.
        peer = self.peer
        out = [(pkt, peer) for pkt in window]
        self.stats.retransmissions += 1
        out.extend(self._fill())
        return out

    # -- receiver --------------------------------------------------------------------------

    def _on_data(self, block: int, payload: bytes, now: int) -> list[tuple[bytes, Any]]:
        expect = self._expect
        if block != (expect & 0xFFFF):
            behind = (expect - block) & 0xFFFF
            if behind == 1:
                # The previous block again: our ACK was lost (RFC 1350), or a dally re-ACK.
                self._count = 0
                return [(_HH.pack(4, block), self.peer)]
            if behind > 0x8000 and not self._gap_acked:
                # A block from the future: a gap in the window (RFC 7440 s4): ACK what we have,
                # once, so the sender goes back to the first missing block.
                self._gap_acked = True
                self._count = 0
                self._last = _HH.pack(4, (expect - 1) & 0xFFFF)
                return [(self._last, self.peer)]
            return []
        n = len(payload) - 4
        blksize = self.blksize
        if n > blksize:
            return self._fail(tftp.ERR_ILLEGAL, f"DATA block of {n} bytes exceeds blksize "
                              f"{blksize}", now)
        stats = self.stats
        stats.bytes += n
        stats.blocks += 1
        if self._max_bytes is not None and stats.bytes > self._max_bytes:
            return self._fail(tftp.ERR_DISK_FULL, "file exceeds the size limit", now)
        if n:
            self._sink.write(payload[4:])
        self._expect = expect + 1
        self._gap_acked = False
        self._tries = 0                         # progress: reset the retransmission timer
        self._rto = rto = self._rto0
        self._deadline = now + rto
        if n < blksize:
            finish = getattr(self._sink, "finish", None)
            if finish is not None:
                finish()
            self._last = _HH.pack(4, block)
            if self.dally_ns:
                self._to(State.DALLYING)
                stats.ended_ns = now
                self._deadline = now + self.dally_ns
            else:
                self._finish(State.DONE, now)
            return [(self._last, self.peer)]
        count = self._count + 1
        if count >= self.windowsize:
            self._count = 0
            self._last = last = _HH.pack(4, block)
            return [(last, self.peer)]
        self._count = count
        return []

    # -- everything that is not the steady state -------------------------------------------

    def _slow_path(self, payload: bytes, now: int) -> list[tuple[bytes, Any]]:
        if self.closed:
            return []
        state = self.state
        try:
            packet = tftp.decode(payload)
        except DecodeError as exc:
            if state is State.DALLYING:
                return []  # the transfer is complete: garbage cannot fail it any more
            return self._fail(tftp.ERR_ILLEGAL, f"malformed packet: {exc}", now)
        if state is State.DALLYING:
            if isinstance(packet, tftp.Data) and packet.block == ((self._expect - 1) & 0xFFFF):
                return [(self._last, self.peer)]     # the final DATA again: re-ACK it
            return []                                # an ERROR too: it comes too late
        if isinstance(packet, tftp.Error):
            if (state is State.REQUESTED and packet.code == tftp.ERR_OPTIONS and self._asked
                    and self._fallback):
                return self._retry_without_options(now)
            self.error = packet
            self.error_sent = False
            self._to(State.FAILED)
            self.stats.ended_ns = now
            self._deadline = None
            return []
        if state is State.REQUESTED:
            return self._first_reply(packet, now)
        if state is State.OACK_SENT:
            if isinstance(packet, tftp.Ack) and packet.block == 0:
                self._to(State.SENDING)
                self._progress(now)
                return self._fill()
            return []
        if isinstance(packet, tftp.OAck):
            if state is State.RECEIVING and self._expect == 1 and self.is_client:
                return [(self._last, self.peer)]     # OACK repeated: our ACK 0 was lost
            return []
        if isinstance(packet, (tftp.Data, tftp.Ack)):
            return []                                # stray (DATA to a sender, ACK to a receiver)
        return self._fail(tftp.ERR_ILLEGAL, f"unexpected {type(packet).__name__} packet", now)

    def _first_reply(self, packet: Any, now: int) -> list[tuple[bytes, Any]]:
        params = None
        if isinstance(packet, tftp.OAck):
            try:
                params = check_oack(self._asked, packet)
            except OptionError as exc:
                return self._fail(exc.code, exc.message, now)
        elif self.is_sender and isinstance(packet, tftp.Ack) and packet.block == 0:
            params = Negotiated()
        elif not self.is_sender and isinstance(packet, tftp.Data) and packet.block == 1:
            params = Negotiated()
        else:
            return self._fail(tftp.ERR_ILLEGAL, f"unexpected reply {packet.summary()}", now)
        self._apply(params)
        self._progress(now)
        if self.is_sender:
            self._to(State.SENDING)
            return self._fill()
        self._to(State.RECEIVING)
        if isinstance(packet, tftp.OAck):
            self._last = _HH.pack(4, 0)
            return [(self._last, self.peer)]
        return self._on_data(1, _HH.pack(3, 1) + packet.data, now)

    def _retry_without_options(self, now: int) -> list[tuple[bytes, Any]]:
        # The server refused our options (ERROR 8): ask again plainly, to its original port.
        self._asked = ()
        self._fallback = False
        self.peer = None
        self._request = tftp.Request(tftp.RRQ if not self.is_sender else tftp.WRQ,
                                     self.filename, self.mode).encode()
        self._last = self._request
        self._to(State.REQUESTED)
        self._progress(now)
        return [(self._request, self._server)]

    def _apply(self, params: Negotiated) -> None:
        self.blksize = params.blksize
        self.windowsize = params.windowsize
        if params.timeout:
            self._rto0 = self._rto = params.timeout * NS_PER_S
        self.stats.blksize = params.blksize
        self.stats.windowsize = params.windowsize
        self.stats.tsize = params.tsize

    def _server_first(self, now: int) -> list[tuple[bytes, Any]]:
        if self.state is State.OACK_SENT or (self.state is State.RECEIVING and self._last):
            return [(self._last, self.peer)]
        return self._fill()


# -- factories -------------------------------------------------------------------------------


def _wrap_source(source: Source, mode: str) -> Source:
    return _NetasciiSource(source) if mode.lower() == "netascii" else source


def _wrap_sink(sink: Sink, mode: str) -> Sink:
    return _NetasciiSink(sink) if mode.lower() == "netascii" else sink


def _client(opcode: int, filename: str, server: Any, mode: str, options: tuple, fallback: bool,
            timeout: float | str, max_retries: int, dally: float | str | None) -> Session:
    s = Session(state=State.REQUESTED, is_client=True, is_sender=opcode == tftp.WRQ, filename=filename, mode=mode,
                peer=server, timeout_ns=parse_time(timeout), max_retries=max_retries,
                dally_ns=None if dally is None else parse_time(dally))
    s._asked = tuple(options)
    s._fallback = fallback
    s._request = s._last = tftp.Request(opcode, filename, mode, s._asked).encode()
    return s


def client_read(filename: str, sink: Sink, server: Any, *, mode: str = "octet",
                options: tuple[tuple[str, str], ...] = (), fallback: bool = True,
                timeout: float | str = 1.0, max_retries: int = 5,
                dally: float | str | None = 1.0) -> Session:
    """A client download (RRQ) writing to ``sink``.

    Args:
        filename: the remote name.
        sink: where the data goes (``write(bytes)``).
        server: the server address (host, port) the request goes to.
        mode: "octet" or "netascii".
        options: option pairs to ask for (see ``options.build_request_options``).
        fallback: on ERROR 8 to the options, ask again without options.
        timeout: first retransmission timeout (unless negotiated): seconds, or a string
            such as "500ms" (:func:`netsim.sim.units.parse_time`).
        max_retries: retransmissions before giving up.
        dally: how long to linger after the final ACK to re-ACK a repeated last DATA, as
            ``timeout`` (None or 0: finish at once).

    Raises:
        ValueError: a time parse_time refuses.

    Returns:
        The session (call ``start``).
    """
    s = _client(tftp.RRQ, filename, server, mode, options, fallback, timeout, max_retries, dally)
    s._sink = _wrap_sink(sink, mode)
    return s


def client_write(filename: str, source: Source, server: Any, *, mode: str = "octet",
                 options: tuple[tuple[str, str], ...] = (), fallback: bool = True,
                 timeout: float | str = 1.0, max_retries: int = 5) -> Session:
    """A client upload (WRQ) reading from ``source``; arguments as for ``client_read``."""
    s = _client(tftp.WRQ, filename, server, mode, options, fallback, timeout, max_retries, None)
    s._src = _wrap_source(source, mode)
    return s


def server_read(request: tftp.Request, source: Source, peer: Any, params: Negotiated, *,
                timeout: float | str = 1.0, max_retries: int = 5) -> Session:
    """The server side of an RRQ: sends ``source`` to ``peer``.

    Args:
        request: the client's RRQ.
        source: the file (``read(n)``).
        peer: the client's address (its transfer ID).
        params: the result of ``options.negotiate``; an OACK is sent when ``params.oack``.
        timeout: retransmission timeout unless the client negotiated one, as for
            ``client_read``.
        max_retries: retransmissions before giving up.

    Returns:
        The session (call ``start``).
    """
    s = Session(state=State.OACK_SENT if params.oack else State.SENDING, is_client=False, is_sender=True, filename=request.filename, mode=request.mode,
                peer=peer, timeout_ns=parse_time(timeout), max_retries=max_retries,
                dally_ns=None)
    s._src = _wrap_source(source, request.mode)
    s._apply(params)
    if params.oack:
        s._last = tftp.OAck(params.oack).encode()
    return s


def server_write(request: tftp.Request, sink: Sink, peer: Any, params: Negotiated, *,
                 timeout: float | str = 1.0, max_retries: int = 5,
                 dally: float | str | None = 1.0, max_bytes: int | None = None) -> Session:
    """The server side of a WRQ: receives into ``sink`` from ``peer``.

    Args:
        request: the client's WRQ.
        sink: where the data goes.
        peer: the client's address.
        params: the result of ``options.negotiate``.
        timeout: retransmission timeout unless negotiated, as for ``client_read``.
        max_retries: retransmissions before giving up.
        dally: how long to linger after the final ACK, as ``timeout``.
        max_bytes: fail with ERROR 3 beyond this many bytes.

    Returns:
        The session (call ``start``).
    """
    s = Session(state=State.RECEIVING, is_client=False, is_sender=False, filename=request.filename, mode=request.mode,
                peer=peer, timeout_ns=parse_time(timeout), max_retries=max_retries,
                dally_ns=None if dally is None else parse_time(dally))
    s._sink = _wrap_sink(sink, request.mode)
    s._apply(params)
    s._max_bytes = max_bytes
    s._last = tftp.OAck(params.oack).encode() if params.oack else _HH.pack(4, 0)
    return s
