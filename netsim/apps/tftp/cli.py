"""The ``tftp`` command group (real UDP sockets): ``serve``, ``get``, ``put``.

Attached to ``netsim`` as ``netsim tftp ...``; also runs alone: ``python -m netsim.apps.tftp.cli``.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from netsim.apps.tftp.blocking import TftpError
from netsim.apps.tftp.os_driver import TftpServer, get, put
from netsim.apps.tftp.os_server import drop_privileges, user_description
from netsim.sim.units import parse_time

__all__ = ["tftp"]

_BLK = click.option("--blksize", type=click.IntRange(8, 65464), default=None,
                    help="Ask for this block size (RFC 2348), 8-65464.")
_WIN = click.option("--windowsize", type=click.IntRange(1, 65535), default=None,
                    help="Ask for this many blocks per ACK (RFC 7440).")
_MODE = click.option("--mode", type=click.Choice(["octet", "netascii"]), default="octet",
                     show_default=True, help="Transfer mode.")
def _time(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


_TIMEOUT = click.option("--timeout", default="1s", show_default=True, callback=_time,
                        help='First retransmission timeout: "500ms", "2s" (a number is seconds).')


def _server_address(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, int]:
    """SERVER as (host, port): ``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT``; port 69 by default.

    Checked before any packet is sent, so a typo is one line and exit status 2.
    """
    import socket
    text = value.strip()
    port_text = None
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            host = ""
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host = text  # a name, an IPv4 address, or a bare IPv6 address
    if port_text is not None and not (port_text.isdigit() and 1 <= int(port_text) <= 65535):
        host = ""
    if not host or any(c.isspace() for c in host):
        raise click.BadParameter(f"must be HOST or HOST:PORT with a port from 1 to 65535, like "
                                 f"127.0.0.1:6969 (got {value!r})", ctx, param)
    port = 69 if port_text is None else int(port_text)  # RFC 1350: the server listens on 69
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError) as exc:
        raise click.BadParameter(f"cannot find the host {host!r} ({exc})", ctx, param) from None
    return host, port


def _report(verb: str, name: str, stats) -> None:
    rate = stats.bytes / stats.seconds / 1e6 if stats.seconds else 0.0
    click.echo(f"{verb} {name}: {stats.bytes} bytes in {stats.seconds:.3f} s ({rate:.1f} MB/s), "
               f"{stats.blocks} blocks of {stats.blksize}, window {stats.windowsize}, "
               f"{stats.retransmissions} retransmissions")


@click.group(name="tftp")
def tftp() -> None:
    """TFTP over real UDP sockets (RFC 1350 with options 2347-2349 and windowsize 7440)."""


@tftp.command()
@click.option("--root", required=True, type=click.Path(exists=True, file_okay=False),
              help="Directory to serve.")
@click.option("--bind", "bind", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=6969, show_default=True, type=click.IntRange(0, 65535),
              help="UDP port (69 needs privileges).")
@click.option("--allow-write", is_flag=True, help="Accept uploads (WRQ).")
@click.option("--allow-overwrite", is_flag=True,
              help="Let uploads rewrite existing files, in place (mode, owner and hard links "
                   "stay), if the serving user may write them.")
@click.option("--max-file-size", type=int, default=None, help="Largest upload, bytes.")
@click.option("--max-sessions", type=click.IntRange(1), default=64, show_default=True,
              help="Concurrent transfers in total.")
@click.option("--max-per-client", type=click.IntRange(1), default=8, show_default=True,
              help="Concurrent transfers per client address (an upload lingering after its "
                   "final ACK does not count).")
@click.option("--user", default=None, metavar="NAME",
              help="Drop root privileges to this user once the port is bound (like in.tftpd "
                   "-u); files are then read and written as that user.")
@click.option("--fsync/--no-fsync", default=True, show_default=True,
              help="fsync an upload before acknowledging its last block.")
@click.option("--quiet", is_flag=True, help="Do not log one line per transfer.")
def serve(root: str, bind: str, port: int, allow_write: bool, allow_overwrite: bool,
          max_file_size: int | None, max_sessions: int, max_per_client: int, user: str | None,
          fsync: bool, quiet: bool) -> None:
    """Serve files from ROOT (read-only unless --allow-write).

    File permissions are checked as for an ordinary user, even as root: a file is served
    only if the serving user's mode bits allow reading it, and overwritten only if they
    allow writing. Run as root only to bind port 69, with --user to drop privileges.

    \b
    Example:
      netsim tftp serve --root ./images --port 6969
      curl -o boot.img tftp://127.0.0.1:6969/boot.img
      sudo netsim tftp serve --root /srv/tftp --bind 0.0.0.0 --port 69 --user nobody
    """
    if not quiet:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    server = TftpServer(root, bind, port, allow_write=allow_write,
                        allow_overwrite=allow_overwrite, max_file_size=max_file_size,
                        max_sessions=max_sessions, max_per_client=max_per_client,
                        fsync=fsync).bind()
    try:
        if user is not None:
            drop_privileges(user)
            if not os.access(server.root, os.R_OK | os.X_OK):
                raise PermissionError(f"{user} cannot read {server.root}")
    except (KeyError, PermissionError) as exc:
        server.stop()
        raise click.ClickException(f"--user {user}: {exc}") from None
    host, bound = server.address
    who = user_description(os.geteuid(), os.getegid())
    click.echo(f"serving {server.root} on {host}:{bound} "
               f"({'read-write' if allow_write else 'read-only'}) as {who}; Ctrl-C stops",
               err=True)
    if os.geteuid() == 0:
        click.echo("warning: running as root; consider --user NAME (see --help)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@tftp.command(name="get")
@click.argument("server", callback=_server_address)
@click.argument("remote")
@click.argument("local", required=False)
@_BLK
@_WIN
@_MODE
@_TIMEOUT
def get_cmd(server: tuple[str, int], remote: str, local: str | None, blksize: int | None,
            windowsize: int | None, mode: str, timeout: str) -> None:
    """Download REMOTE from SERVER (HOST or HOST:PORT, default port 69) to LOCAL.

    LOCAL defaults to the last part of REMOTE; "-" writes to standard output. A failed
    download leaves no partial file.

    \b
    Example:
      netsim tftp get 127.0.0.1:6969 boot.img --blksize 1468 --windowsize 16
    """
    if local is None:
        local = os.path.basename(remote.replace("\\", "/")) or "download"
    target = sys.stdout.buffer if local == "-" else local
    try:
        # get() sends the name as the bytes the local system spells it with (UTF-8 on Linux).
        stats = get(server, remote, target, blksize=blksize,
                    windowsize=windowsize, mode=mode, timeout=timeout).stats
    except TftpError as exc:
        raise click.ClickException(str(exc)) from None
    if local != "-":
        _report("got", remote, stats)


@tftp.command(name="put")
@click.argument("server", callback=_server_address)
@click.argument("local", type=click.Path(exists=True, dir_okay=False))
@click.argument("remote", required=False)
@_BLK
@_WIN
@_MODE
@_TIMEOUT
def put_cmd(server: tuple[str, int], local: str, remote: str | None, blksize: int | None,
            windowsize: int | None, mode: str, timeout: str) -> None:
    """Upload LOCAL to SERVER (HOST or HOST:PORT) as REMOTE (default: LOCAL's name).

    \b
    Example:
      netsim tftp put 127.0.0.1:6969 config.txt --mode netascii
    """
    try:
        stats = put(server, local, remote or os.path.basename(local),
                    blksize=blksize, windowsize=windowsize, mode=mode, timeout=timeout).stats
    except TftpError as exc:
        raise click.ClickException(str(exc)) from None
    _report("put", remote or local, stats)


if __name__ == "__main__":
    tftp()
