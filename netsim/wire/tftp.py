"""TFTP packets (RFC 1350) with options (RFC 2347 OACK, 2348 blksize, 2349 timeout/tsize,
7440 windowsize), and the netascii transfer encoding.

Field table (all integers big-endian)::

    opcode  0  H   1 RRQ, 2 WRQ, 3 DATA, 4 ACK, 5 ERROR, 6 OACK; anything else -> Unknown
    RRQ/WRQ 2  filename NUL mode NUL [name NUL value NUL]...
    DATA    2  H block, 4.. data (0..blksize bytes)
    ACK     2  H block
    ERROR   2  H code, 4.. message NUL
    OACK    2  [name NUL value NUL]...

Strings are decoded as latin-1: every byte maps to one character, so decoding never raises
``UnicodeDecodeError`` and ``encode()`` reproduces the received bytes exactly (a capture of a
client that sends UTF-8 file names still dissects). Deciding whether a name is acceptable
(control characters, ``..``) is the server's policy, not the codec's.

``decode(buf)`` raises :class:`~netsim.wire.errors.DecodeError` naming the field and offset
for anything it cannot parse, and nothing else.
"""

from __future__ import annotations

import struct

from ._base import WireValue, blank
from .errors import DecodeError

__all__ = [
    "RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK", "OPCODE_NAMES", "ERROR_NAMES",
    "ERR_UNDEFINED", "ERR_NOT_FOUND", "ERR_ACCESS", "ERR_DISK_FULL", "ERR_ILLEGAL",
    "ERR_UNKNOWN_TID", "ERR_EXISTS", "ERR_NO_USER", "ERR_OPTIONS",
    "Request", "Data", "Ack", "Error", "OAck", "Unknown", "decode", "data_from_fields",
    "ack_from_fields",
    "netascii_encode", "netascii_decode",
]

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6
OPCODE_NAMES = {RRQ: "RRQ", WRQ: "WRQ", DATA: "DATA", ACK: "ACK", ERROR: "ERROR", OACK: "OACK"}

# RFC 1350 appendix "Error Codes", plus 8 from RFC 2347.
ERR_UNDEFINED, ERR_NOT_FOUND, ERR_ACCESS, ERR_DISK_FULL, ERR_ILLEGAL = 0, 1, 2, 3, 4
ERR_UNKNOWN_TID, ERR_EXISTS, ERR_NO_USER, ERR_OPTIONS = 5, 6, 7, 8
ERROR_NAMES = {
    0: "Not defined",
    1: "File not found",
    2: "Access violation",
    3: "Disk full or allocation exceeded",
    4: "Illegal TFTP Operation",
    5: "Unknown transfer ID",
    6: "File already exists",
    7: "No such user",
    8: "Option negotiation failed",
}

_H = struct.Struct("!H")
_HH = struct.Struct("!HH")
_LAYER = "TFTP"


def _options_text(options: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{n}={v}" for n, v in options)


def _encode_options(options: tuple[tuple[str, str], ...]) -> bytes:
    return b"".join(n.encode("latin-1") + b"\0" + v.encode("latin-1") + b"\0" for n, v in options)


class Request(WireValue):
    """RRQ or WRQ: ``Request(RRQ, "boot.img", "octet", (("blksize", "1468"),))``.

    ``mode`` and option names keep the case they were sent in; compare with ``.lower()``.
    """

    __slots__ = ("opcode", "filename", "mode", "options")
    _fields = ("opcode", "filename", "mode", "options")
    layer_name = "TFTP"

    def __init__(self, opcode: int, filename: str, mode: str = "octet",
                 options: tuple[tuple[str, str], ...] = ()):
        self.opcode = opcode
        self.filename = filename
        self.mode = mode
        self.options = tuple((str(n), str(v)) for n, v in options)

    def encode(self) -> bytes:
        """Return the packet bytes.

        Raises:
            ValueError: a string is not latin-1 encodable or contains NUL.
        """
        for s in (self.filename, self.mode, *(x for o in self.options for x in o)):
            if "\0" in s:
                raise ValueError("TFTP: strings may not contain NUL")
        return (_H.pack(self.opcode) + self.filename.encode("latin-1") + b"\0"
                + self.mode.encode("latin-1") + b"\0" + _encode_options(self.options))

    def summary(self) -> str:
        kind = "Read Request" if self.opcode == RRQ else "Write Request"
        text = f"{kind}, File: {self.filename}, Transfer type: {self.mode}"
        if self.options:
            text += ", " + _options_text(self.options)
        return text


class Data(WireValue):
    """DATA: ``Data(block, data)``; a block shorter than the block size ends the transfer."""

    __slots__ = ("block", "data")
    _fields = ("block", "data")
    layer_name = "TFTP"

    def __init__(self, block: int, data: bytes = b""):
        self.block = block
        self.data = bytes(data)

    def encode(self) -> bytes:
        """Return the packet bytes."""
        return _HH.pack(DATA, self.block) + self.data

    def summary(self) -> str:
        return f"Data Packet, Block: {self.block}"


class Ack(WireValue):
    """ACK: ``Ack(block)``; block 0 answers a WRQ or an OACK."""

    __slots__ = ("block",)
    _fields = ("block",)
    layer_name = "TFTP"

    def __init__(self, block: int):
        self.block = block

    def encode(self) -> bytes:
        """Return the packet bytes."""
        return _HH.pack(ACK, self.block)

    def summary(self) -> str:
        return f"Acknowledgement, Block: {self.block}"


class Error(WireValue):
    """ERROR: ``Error(code, message)``; codes 0-8 are named in ``ERROR_NAMES``."""

    __slots__ = ("code", "message")
    _fields = ("code", "message")
    layer_name = "TFTP"

    def __init__(self, code: int, message: str = ""):
        self.code = code
        self.message = message

    def encode(self) -> bytes:
        """Return the packet bytes (message NUL-terminated, latin-1, non-encodable chars -> ?)."""
        msg = self.message.replace("\0", " ").encode("latin-1", "replace")
        return _HH.pack(ERROR, self.code) + msg + b"\0"

    @property
    def name(self) -> str:
        """The RFC name of the code, or ``"Unknown (N)"``."""
        return ERROR_NAMES.get(self.code, f"Unknown ({self.code})")

    def summary(self) -> str:
        return f"Error Code, Code: {self.name}, Message: {self.message}"


class OAck(WireValue):
    """OACK (RFC 2347): ``OAck((("blksize", "1468"),))``."""

    __slots__ = ("options",)
    _fields = ("options",)
    layer_name = "TFTP"

    def __init__(self, options: tuple[tuple[str, str], ...] = ()):
        self.options = tuple((str(n), str(v)) for n, v in options)

    def encode(self) -> bytes:
        """Return the packet bytes."""
        return _H.pack(OACK) + _encode_options(self.options)

    def summary(self) -> str:
        return "Option Acknowledgement" + (", " + _options_text(self.options) if self.options else "")


class Unknown(WireValue):
    """An opcode this module does not know (open enum): the number and the raw body."""

    __slots__ = ("opcode", "body")
    _fields = ("opcode", "body")
    layer_name = "TFTP"

    def __init__(self, opcode: int, body: bytes = b""):
        self.opcode = opcode
        self.body = bytes(body)

    def encode(self) -> bytes:
        """Return the packet bytes."""
        return _H.pack(self.opcode) + self.body

    def summary(self) -> str:
        return f"Unknown opcode {self.opcode}, {len(self.body)} bytes"


def _strings(buf: bytes, start: int, field: str) -> list[str]:
    """Split ``buf[start:]`` into NUL-terminated latin-1 strings; each must be terminated."""
    out = []
    pos, end = start, len(buf)
    while pos < end:
        nul = buf.find(b"\0", pos)
        if nul < 0:
            raise DecodeError(_LAYER, field, pos, "string is missing its NUL terminator")
        out.append(buf[pos:nul].decode("latin-1"))
        pos = nul + 1
    return out


def _option_pairs(words: list[str], offset: int) -> tuple[tuple[str, str], ...]:
    if len(words) % 2:
        raise DecodeError(_LAYER, "options", offset,
                          f"option list has an odd number of strings ({len(words)})")
    return tuple(zip(words[0::2], words[1::2]))


_blank_data = blank(Data)
_blank_ack = blank(Ack)


def data_from_fields(block: int, data: bytes) -> Data:
    """A received DATA from its fields (``data`` already bytes): the one place :func:`decode`
    and ``decode_frame``'s fast path build it, without the constructor's copy."""
    value = _blank_data()
    value.block = block
    value.data = data
    return value


def ack_from_fields(block: int) -> Ack:
    """A received ACK from its block number, as :func:`data_from_fields`."""
    value = _blank_ack()
    value.block = block
    return value


def decode(buf: bytes) -> Request | Data | Ack | Error | OAck | Unknown:
    """Decode one TFTP packet (a UDP payload).

    Args:
        buf: the UDP payload.

    Returns:
        A Request, Data, Ack, Error, OAck or Unknown value.

    Raises:
        DecodeError: too short, a missing NUL terminator, an odd option list.
    """
    buf = bytes(buf)
    n = len(buf)
    if n < 2:
        raise DecodeError(_LAYER, "opcode", 0, f"packet of {n} bytes is shorter than the opcode")
    op = (buf[0] << 8) | buf[1]
    if op == DATA or op == ACK:
        if n < 4:
            raise DecodeError(_LAYER, "block", 2, f"{OPCODE_NAMES[op]} of {n} bytes lacks a block number")
        block = (buf[2] << 8) | buf[3]
        return data_from_fields(block, buf[4:]) if op == DATA else ack_from_fields(block)
    if op == RRQ or op == WRQ:
        words = _strings(buf, 2, "filename")
        if len(words) < 2:
            field = "filename" if not words else "mode"
            raise DecodeError(_LAYER, field, n, f"request ends before its {field}")
        offset = 2 + len(words[0]) + len(words[1]) + 2
        return Request(op, words[0], words[1], _option_pairs(words[2:], offset))
    if op == ERROR:
        if n < 4:
            raise DecodeError(_LAYER, "code", 2, f"ERROR of {n} bytes lacks an error code")
        nul = buf.find(b"\0", 4)
        if nul < 0:
            raise DecodeError(_LAYER, "message", 4, "error message is missing its NUL terminator")
        # Bytes after the terminator are tolerated (some stacks pad); they are not part of it.
        return Error((buf[2] << 8) | buf[3], buf[4:nul].decode("latin-1"))
    if op == OACK:
        return OAck(_option_pairs(_strings(buf, 2, "options"), 2))
    return Unknown(op, buf[2:])


# ---------------------------------------------------------------------------------------------
# netascii (RFC 764 via RFC 1350): a line ends in CR LF on the wire; a bare CR is sent CR NUL.


def netascii_encode(data: bytes) -> bytes:
    """Translate local text (LF line ends) to netascii: LF -> CR LF, CR -> CR NUL.

    Each input byte translates on its own, so chunks can be encoded independently and
    concatenated; cutting the output into blocks is the sender's job.

    Args:
        data: local bytes.

    Returns:
        The netascii bytes.
    """
    return data.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")


def netascii_decode(data: bytes, pending_cr: bool = False) -> tuple[bytes, bool]:
    """Translate one chunk of netascii back to local text, carrying a split CR across chunks.

    A CR as the last byte of a block is held back (``pending_cr`` returned True) because its
    meaning depends on the next block's first byte. At the end of the transfer, a still
    pending CR is emitted as-is (``b"\\r"``). A CR followed by anything other than LF or NUL
    is kept unchanged (lenient, as tftp-hpa is).

    Args:
        data: the chunk received.
        pending_cr: the flag returned for the previous chunk.

    Returns:
        (local bytes, pending_cr for the next call).
    """
    prefix = b""
    if pending_cr:
        if not data:
            return b"", True
        first = data[0]
        if first == 10 or first == 0:  # CR LF -> LF, CR NUL -> CR
            prefix = b"\n" if first == 10 else b"\r"
            data = data[1:]
        else:  # a bare CR; the next byte starts afresh (it may itself be a CR)
            prefix = b"\r"
    pending = data.endswith(b"\r")
    if pending:
        data = data[:-1]
    # Patterns both start with CR and their second byte is never CR, so two passes are exact.
    return prefix + data.replace(b"\r\n", b"\n").replace(b"\r\0", b"\r"), pending
