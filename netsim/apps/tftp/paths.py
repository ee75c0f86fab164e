"""Server-side file name policy: map a requested TFTP file name into the served root safely.

Rules (each refusal is ERROR 2, access violation):

* no control characters (below 0x20, and DEL) and no NUL;
* no ``..`` component anywhere, and no empty name;
* an absolute name is accepted only when it already lies inside the root (``/srv/tftp/a`` with
  root ``/srv/tftp``); any other absolute name is refused rather than silently re-rooted;
* the name is resolved with ``os.path.realpath`` and must stay inside the real root, compared by
  path components (``os.path.commonpath``), so a symlink that points outside is refused too,
  and ``/srv/tftp2`` is not mistaken for a child of ``/srv/tftp``.
"""

from __future__ import annotations

import os

from netsim.wire import tftp
from netsim.wire.errors import DecodeError

__all__ = ["Refused", "resolve", "parse_request", "MAX_REQUEST"]


class Refused(Exception):
    """A request the server will not serve; ``code`` is the TFTP error code to answer."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _inside(root: str, path: str) -> bool:
    try:
        return os.path.commonpath([root, path]) == root
    except ValueError:          # different drives, or a mix of absolute and relative
        return False


def resolve(root: str, filename: str) -> str:
    """Return the real path that ``filename`` names inside ``root``.

    Args:
        root: the served directory (any form; it is resolved with realpath).
        filename: the name from the RRQ/WRQ.

    Returns:
        An absolute, symlink-free path inside the real root.

    Raises:
        Refused: ERROR 2 for any name the rules above reject.
    """
    real_root = os.path.realpath(root)
    if not filename or any(ord(c) < 0x20 or ord(c) == 0x7F for c in filename):
        raise Refused(tftp.ERR_ACCESS, "illegal characters in file name")
    parts = filename.replace("\\", "/").split("/")
    if ".." in parts:
        raise Refused(tftp.ERR_ACCESS, "'..' is not allowed in file names")
    if filename.startswith("/"):
        candidate = os.path.normpath(filename)
        if not _inside(real_root, os.path.realpath(candidate)):
            raise Refused(tftp.ERR_ACCESS, "absolute path outside the served directory")
    else:
        candidate = os.path.join(real_root, *[p for p in parts if p not in ("", ".")])
    real = os.path.realpath(candidate)
    if not _inside(real_root, real) or real == real_root:
        raise Refused(tftp.ERR_ACCESS, "path escapes the served directory")
    return real


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
