"""Server-side file name policy: map a requested TFTP file name into the served root safely.

Names are bytes. RFC 1350 says netascii, but real clients send the bytes of their locale (a
Linux client sends UTF-8), so the name is used exactly as it arrived, as tftpd-hpa does: no
re-encoding, no backslash rewriting (``a\\b.txt`` is one file name on Linux). The wire codec
decodes strings as latin-1, one character per byte, so ``filename.encode("latin-1")`` gives the
bytes back exactly; :func:`resolve` accepts either form.

Rules (each refusal is ERROR 2, access violation):

* no control characters (below 0x20, and DEL) and no NUL;
* no ``..`` component anywhere (split at ``/`` and, for clients that think in DOS paths, at
  ``\\`` too), and no empty name;
* an absolute name is accepted only when it already lies inside the root (``/srv/tftp/a`` with
  root ``/srv/tftp``); any other absolute name is refused rather than silently re-rooted;
* the name is resolved with ``os.path.realpath`` and must stay inside the real root, compared by
  path components (``os.path.commonpath``), so a symlink that points outside is refused too,
  and ``/srv/tftp2`` is not mistaken for a child of ``/srv/tftp``.

The resolved path is returned as ``os.fsdecode(bytes)``: a ``str`` that every ``os`` function
encodes back to exactly those bytes (undecodable bytes travel as surrogate escapes).
"""

from __future__ import annotations

import os

from netsim.wire import tftp
from netsim.wire.errors import DecodeError

__all__ = ["Refused", "resolve", "wire_name", "display_name", "parse_request", "MAX_REQUEST"]


class Refused(Exception):
    """A request the server will not serve; ``code`` is the TFTP error code to answer."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _inside(root: bytes, path: bytes) -> bool:
    try:
        return os.path.commonpath([root, path]) == root
    except ValueError:          # different drives, or a mix of absolute and relative
        return False


def wire_name(name: str | bytes) -> str:
    """Return the string the TFTP codec encodes to the bytes of the local name ``name``.

    The codec maps characters to bytes as latin-1, so a local ``str`` is first turned into the
    bytes the file system uses (``os.fsencode``: UTF-8 on Linux): ``wire_name("café")`` is
    ``"cafÃ©"``, which goes on the wire as ``b"caf\\xc3\\xa9"``.
    """
    return (name if isinstance(name, bytes) else os.fsencode(name)).decode("latin-1")


def display_name(name: str | bytes) -> str:
    """A printable form of a wire name (``str`` in its latin-1 wire form, or bytes), for logs."""
    raw = name.encode("latin-1") if isinstance(name, str) else name
    return raw.decode("utf-8", "backslashreplace")


def _name_bytes(filename: str | bytes) -> bytes:
    if isinstance(filename, bytes):
        return filename
    try:
        return filename.encode("latin-1")      # the wire form: one character per byte
    except UnicodeEncodeError:
        raise Refused(tftp.ERR_ACCESS, "illegal characters in file name") from None


def resolve(root: str | os.PathLike[str], filename: str | bytes) -> str:
    """Return the real path that ``filename`` names inside ``root``.

    Args:
        root: the served directory (any form; it is resolved with realpath).
        filename: the name from the RRQ/WRQ: bytes, or the codec's latin-1 ``str``.

    Returns:
        An absolute, symlink-free path inside the real root (``os.fsdecode`` of its bytes).

    Raises:
        Refused: ERROR 2 for any name the rules above reject.
    """
    real_root = os.fsencode(os.path.realpath(root))
    name = _name_bytes(filename)
    if not name or any(b < 0x20 or b == 0x7F for b in name):
        raise Refused(tftp.ERR_ACCESS, "illegal characters in file name")
    if b".." in name.replace(b"\\", b"/").split(b"/"):
        raise Refused(tftp.ERR_ACCESS, "'..' is not allowed in file names")
    if name.startswith(b"/"):
        candidate = os.path.normpath(name)
        if not _inside(real_root, os.path.realpath(candidate)):
            raise Refused(tftp.ERR_ACCESS, "absolute path outside the served directory")
    else:
        candidate = os.path.join(real_root, *[p for p in name.split(b"/") if p not in (b"", b".")])
    real = os.path.realpath(candidate)
    if not _inside(real_root, real) or real == real_root:
        raise Refused(tftp.ERR_ACCESS, "path escapes the served directory")
    return os.fsdecode(real)


MAX_REQUEST = 512          # RFC 2347: a request with its options must fit in 512 bytes


def parse_request(payload: bytes) -> tftp.Request | None:
    """Check a datagram that arrived on the server's well-known port.

    Args:
        payload: the UDP payload.

    Returns:
        The request, or None for a datagram to drop silently (an ERROR: never answered).

    Raises:
        Refused: ERROR 4 for anything malformed, too long, not a request, or in a mode other
            than octet and netascii (``mail`` included).
    """
    if payload[:2] == b"\x00\x05":
        return None
    if len(payload) > MAX_REQUEST:
        raise Refused(tftp.ERR_ILLEGAL, f"request of {len(payload)} bytes exceeds 512")
    try:
        req = tftp.decode(payload)
    except DecodeError as exc:
        raise Refused(tftp.ERR_ILLEGAL, f"malformed request: {exc}") from None
    if not isinstance(req, tftp.Request):
        raise Refused(tftp.ERR_ILLEGAL, "expected a read or write request")
    mode = req.mode.lower()
    if mode == "mail":
        raise Refused(tftp.ERR_ILLEGAL, "mail mode is not supported")
    if mode not in ("octet", "netascii"):
        raise Refused(tftp.ERR_ILLEGAL, f"unknown transfer mode {req.mode!r}")
    return req
