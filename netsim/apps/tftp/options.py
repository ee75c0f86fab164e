"""TFTP option negotiation (RFC 2347, 2348, 2349, 7440), as pure functions.

Server policy, per option, when the request carries it:

=========== ================= =====================================================================
option      valid values      server answer
=========== ================= =====================================================================
blksize     8..65464          min(asked, server maximum): a server may lower it (RFC 2348)
timeout     1..255            the same value (RFC 2349: the server must not change it)
tsize       0.. (decimal)     RRQ octet: the file size, left out when the size is 0 (curl treats
                              ``tsize 0`` as an error); WRQ octet: the client's size, after the
                              size limit check; netascii: left out (the wire size differs)
windowsize  1..65535          min(asked, server maximum) (RFC 7440)
other       -                 dropped silently (RFC 2347: unknown options are ignored)
=========== ================= =====================================================================

A value that is not a plain ASCII decimal number, or is outside its valid range (``blksize 7``,
``blksize 65465``, ``timeout 0``, ``timeout 256``), makes the server *ignore that option*: it is
not acknowledged and the default applies. RFC 2347 lets a server decline any option by leaving
it out of the OACK, which keeps old or buggy clients working, whereas an ERROR 8 would end the
transfer. The same option named twice is an illegal request (ERROR 4) because no answer could be
right for both.

Client policy (``check_oack``): an OACK must only contain options the client asked for, with
values the client can live with (blksize and windowsize not above what was asked, timeout
equal); anything else is answered with ERROR 8 and the transfer fails.
"""

from __future__ import annotations

from netsim.wire import tftp

__all__ = [
    "DEFAULT_BLKSIZE", "MIN_BLKSIZE", "MAX_BLKSIZE", "MAX_WINDOWSIZE", "Negotiated",
    "OptionError", "parse_decimal", "negotiate", "check_oack", "build_request_options",
]

DEFAULT_BLKSIZE = 512
MIN_BLKSIZE, MAX_BLKSIZE = 8, 65464          # RFC 2348
MIN_TIMEOUT, MAX_TIMEOUT = 1, 255            # RFC 2349
MIN_WINDOWSIZE, MAX_WINDOWSIZE = 1, 65535    # RFC 7440


class OptionError(Exception):
    """A request or OACK that cannot be accepted; ``code`` is the TFTP error code to send."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Negotiated:
    """The transfer parameters after negotiation, and the options to put in an OACK."""

    __slots__ = ("blksize", "windowsize", "timeout", "tsize", "oack")

    def __init__(self, blksize: int = DEFAULT_BLKSIZE, windowsize: int = 1,
                 timeout: int | None = None, tsize: int | None = None,
                 oack: tuple[tuple[str, str], ...] = ()):
        self.blksize = blksize
        self.windowsize = windowsize
        self.timeout = timeout
        self.tsize = tsize
        self.oack = oack

    def __repr__(self) -> str:
        return (f"Negotiated(blksize={self.blksize}, windowsize={self.windowsize}, "
                f"timeout={self.timeout}, tsize={self.tsize}, oack={self.oack})")


def parse_decimal(value: str, low: int, high: int | None) -> int | None:
    """Return ``value`` as an int if it is ASCII decimal digits within [low, high], else None.

    Args:
        value: the option value string.
        low: the smallest valid value.
        high: the largest valid value, or None for no upper bound.

    Returns:
        The number, or None when malformed or out of range.
    """
    if not (0 < len(value) <= 20 and value.isascii() and value.isdigit()):
        return None
    n = int(value)
    if n < low or (high is not None and n > high):
        return None
    return n


def negotiate(request: tftp.Request, *, file_size: int | None = None,
              max_blksize: int = MAX_BLKSIZE, max_windowsize: int = 64,
              max_file_size: int | None = None) -> Negotiated:
    """Decide the server's answer to the options of ``request`` (see the module table).

    Args:
        request: the RRQ or WRQ.
        file_size: for an RRQ, the size of the file to send (None if unknown).
        max_blksize: the largest block size this server accepts.
        max_windowsize: the largest window this server accepts.
        max_file_size: for a WRQ, the largest upload accepted (checked against tsize).

    Returns:
        The parameters; ``oack`` is empty when no option was accepted (then no OACK is sent).

    Raises:
        OptionError: a duplicated option (ERROR 4) or a tsize above the limit (ERROR 3).
    """
    seen: set[str] = set()
    result = Negotiated()
    oack: list[tuple[str, str]] = []
    octet = request.mode.lower() == "octet"
    for name, value in request.options:
        key = name.lower()
        if key in seen:
            raise OptionError(tftp.ERR_ILLEGAL, f"option {key} given twice")
        seen.add(key)
        if key == "blksize":
            n = parse_decimal(value, MIN_BLKSIZE, MAX_BLKSIZE)
            if n is not None:
                result.blksize = min(n, max_blksize)
                oack.append((name, str(result.blksize)))
        elif key == "timeout":
            n = parse_decimal(value, MIN_TIMEOUT, MAX_TIMEOUT)
            if n is not None:
                result.timeout = n
                oack.append((name, str(n)))
        elif key == "windowsize":
            n = parse_decimal(value, MIN_WINDOWSIZE, MAX_WINDOWSIZE)
            if n is not None:
                result.windowsize = min(n, max_windowsize)
                oack.append((name, str(result.windowsize)))
        elif key == "tsize" and octet:
            n = parse_decimal(value, 0, None)
            if n is None:
                continue
            if request.opcode == tftp.RRQ:
                # RFC 2349: the client sends 0, the server answers the size. Never answer 0.
                if file_size:
                    result.tsize = file_size
                    oack.append((name, str(file_size)))
            else:
                if max_file_size is not None and n > max_file_size:
                    raise OptionError(tftp.ERR_DISK_FULL,
                                      f"file of {n} bytes exceeds the limit of {max_file_size}")
                result.tsize = n
                oack.append((name, str(n)))
        # anything else: dropped silently (RFC 2347)
    result.oack = tuple(oack)
    return result


def build_request_options(*, blksize: int | None = None, windowsize: int | None = None,
                          timeout: int | None = None, tsize: int | None = None
                          ) -> tuple[tuple[str, str], ...]:
    """Return the option pairs a client puts in its request (None leaves an option out)."""
    out = []
    if blksize is not None:
        out.append(("blksize", str(blksize)))
    if windowsize is not None:
        out.append(("windowsize", str(windowsize)))
    if timeout is not None:
        out.append(("timeout", str(timeout)))
    if tsize is not None:
        out.append(("tsize", str(tsize)))
    return tuple(out)


def check_oack(asked: tuple[tuple[str, str], ...], oack: tftp.OAck) -> Negotiated:
    """Validate a server's OACK against what the client asked for.

    Args:
        asked: the options the client sent.
        oack: the server's answer.

    Returns:
        The negotiated parameters (defaults for options the server left out).

    Raises:
        OptionError: (ERROR 8) an option not asked for, or an unacceptable value.
    """
    wanted = {n.lower(): v for n, v in asked}
    result = Negotiated(oack=oack.options)
    seen: set[str] = set()
    for name, value in oack.options:
        key = name.lower()
        if key not in wanted or key in seen:
            raise OptionError(tftp.ERR_OPTIONS, f"unrequested option {name} in OACK")
        seen.add(key)
        if key == "blksize":
            n = parse_decimal(value, MIN_BLKSIZE, int(wanted[key]))
            if n is None:
                raise OptionError(tftp.ERR_OPTIONS, f"bad blksize {value!r} in OACK")
            result.blksize = n
        elif key == "windowsize":
            n = parse_decimal(value, MIN_WINDOWSIZE, int(wanted[key]))
            if n is None:
                raise OptionError(tftp.ERR_OPTIONS, f"bad windowsize {value!r} in OACK")
            result.windowsize = n
        elif key == "timeout":
            n = parse_decimal(value, MIN_TIMEOUT, MAX_TIMEOUT)
            if n is None:
                raise OptionError(tftp.ERR_OPTIONS, f"bad timeout {value!r} in OACK")
            result.timeout = n
        elif key == "tsize":
            n = parse_decimal(value, 0, None)
            if n is None:
                raise OptionError(tftp.ERR_OPTIONS, f"bad tsize {value!r} in OACK")
            result.tsize = n
    return result
