"""The TFTP client behind both front doors: ``os_driver.get/put`` (real sockets) and
``sim_driver.get/put`` (a simulated host) only supply a socket and a clock, then call
:func:`download` or :func:`upload` here, so they take the same arguments and return the same
:class:`TransferResult`.

Where the data goes or comes from (``local``):

* a path: a download is written to a temporary name in the same directory and renamed into
  place only when complete (a failed download leaves nothing); an upload reads the file;
* a binary file object: written to or read from as it is;
* None (download) or bytes (upload): kept in memory, the downloaded bytes in
  ``TransferResult.data``.

Times (``timeout``, ``dally``, ``timeout_option``) go through
:func:`netsim.sim.units.parse_time`: a number of seconds or a string such as ``"500ms"``.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from typing import Any, BinaryIO, NamedTuple

from netsim.apps.tftp import options as opt
from netsim.apps.tftp.blocking import run_session
from netsim.apps.tftp.paths import wire_name
from netsim.apps.tftp.session import Session, Stats, client_read, client_write
from netsim.sim.units import NS_PER_S, parse_time

__all__ = ["TransferResult", "download", "upload", "Local", "Time"]

#: a time parameter: seconds as a number, or a string with a unit ("2s", "500ms")
Time = float | str
#: where a transfer's data is: a path, a binary file object, or (upload) bytes in memory
Local = str | os.PathLike[str] | BinaryIO | bytes | None


class TransferResult(NamedTuple):
    """What ``get`` and ``put`` return, on real sockets and in the simulator alike."""

    #: the downloaded bytes when ``get`` was given no local file; None otherwise
    data: bytes | None
    #: the transfer's statistics
    stats: Stats


def timeout_option_seconds(value: Time | None) -> int | None:
    """The RFC 2349 timeout option's value: whole seconds, 1..255 (None: not asked).

    Raises:
        ValueError: not a whole number of seconds in 1..255.
    """
    if value is None:
        return None
    ns = parse_time(value)
    if ns % NS_PER_S or not 1 <= ns // NS_PER_S <= 255:
        raise ValueError(f"the TFTP timeout option is whole seconds 1..255 (RFC 2349), "
                         f"got {value!r}")
    return ns // NS_PER_S


def _asked(mode: str, blksize: int | None, windowsize: int | None, timeout_option: Time | None,
           tsize: int | None) -> tuple[tuple[str, str], ...]:
    seconds = timeout_option_seconds(timeout_option)
    # RFC 2349 tsize: only worth an OACK round trip when some other option is asked anyway,
    # and only meaningful in octet mode (netascii changes the size on the wire).
    if not (mode.lower() == "octet" and (blksize or windowsize or seconds)):
        tsize = None
    return opt.build_request_options(blksize=blksize, windowsize=windowsize, timeout=seconds,
                                     tsize=tsize)


def download(sock: Any, clock: Callable[[], int], server: Any, remote: str, local: Local, *,
             mode: str, blksize: int | None, windowsize: int | None, timeout: Time,
             max_retries: int, timeout_option: Time | None, tsize: bool, fallback: bool,
             dally: Time | None) -> TransferResult:
    """Fetch ``remote`` from ``server`` (an address ``sock`` can send to) into ``local``.

    A file name is bytes on the wire (RFC 1350 says netascii; real clients send the bytes of
    their locale): a ``str`` goes out as the file system spells it (UTF-8 on Linux), bytes as
    they are.

    Arguments as for ``os_driver.get``; ``sock`` is a bound datagram socket and ``clock``
    returns int ns.

    Raises:
        TftpError: the server refused or the transfer failed.
        OSError: a local file problem.
    """
    asked = _asked(mode, blksize, windowsize, timeout_option, 0 if tsize else None)

    def session(sink: Any) -> Session:
        return client_read(wire_name(remote), sink, server, mode=mode, options=asked, fallback=fallback,
                           timeout=timeout, max_retries=max_retries, dally=dally)

    if local is None:
        sink = io.BytesIO()
        stats = run_session(session(sink), sock, clock)
        return TransferResult(sink.getvalue(), stats)
    if hasattr(local, "write"):
        return TransferResult(None, run_session(session(local), sock, clock))
    path = os.fspath(local)  # type: ignore[arg-type]
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".part")
    f = io.BufferedWriter(io.FileIO(fd, "wb"), buffer_size=1 << 16)

    def commit(_: Session) -> None:
        f.close()
        os.replace(tmp, path)

    try:
        return TransferResult(None, run_session(session(f), sock, clock, on_finished=commit))
    finally:
        if not f.closed:
            f.close()
        if os.path.exists(tmp):
            os.unlink(tmp)


def upload(sock: Any, clock: Callable[[], int], server: Any, local: Local, remote: str | None,
           *, mode: str, blksize: int | None, windowsize: int | None, timeout: Time,
           max_retries: int, timeout_option: Time | None, tsize: bool,
           fallback: bool) -> TransferResult:
    """Send ``local`` to ``server`` as ``remote``; arguments as for ``os_driver.put``.

    Raises:
        ValueError: no remote name for bytes or a file object.
        TftpError: the server refused or the transfer failed.
        OSError: a local file problem.
    """
    opened = None
    if isinstance(local, (bytes, bytearray, memoryview)):
        source: Any = io.BytesIO(bytes(local))
        size: int | None = len(local)
    elif hasattr(local, "read"):
        source, size = local, None
    elif local is None:
        raise ValueError("put() needs something to send: a path, a file object or bytes")
    else:
        path = os.fspath(local)  # type: ignore[arg-type]
        source = opened = open(path, "rb")  # noqa: SIM115 - closed below
        size = os.fstat(source.fileno()).st_size
        remote = remote or os.path.basename(path)
    if not remote:
        if opened is not None:
            opened.close()
        raise ValueError("put() of bytes or a file object needs a remote name")
    try:
        asked = _asked(mode, blksize, windowsize, timeout_option, size if tsize else None)
        session = client_write(wire_name(remote), source, server, mode=mode, options=asked,
                               fallback=fallback, timeout=timeout, max_retries=max_retries)
        return TransferResult(None, run_session(session, sock, clock))
    finally:
        if opened is not None:
            opened.close()
