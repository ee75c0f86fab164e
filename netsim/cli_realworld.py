"""The real-world options of ``netsim run`` and ``netsim lab``: --realtime, --max-lag, --forward,
--live and --on-broken-pipe, and the one-line reports of everything that can go wrong there.

Messages that belong to the user (a missing capability, a port in use, a lag past the hard
limit, a live reader gone) are one line on stderr, never a traceback. With ``--live -`` stdout
carries the pcapng stream, so every text message goes to stderr instead.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from .network import Network
from .realworld.forward import parse_forward
from .realworld.live import LiveCapture, LiveReaderGone, LiveStream, open_fifo
from .realworld.oslink import MissingCapability
from .realworld.port import RealWorldWarning
from .realworld.realtime import LagReport, RealtimeLagError

__all__ = ["run_command", "run_lab", "LabSession"]

EXIT_LAG = 3      # the hard real-time limit was passed


def _err(line: str) -> None:
    click.echo(line, err=True)


def _one_line_warnings() -> None:
    """RealWorldWarning as ``netsim: warning: ...`` (warnings' default adds a source line)."""
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, RealWorldWarning):
            _err(f"netsim: warning: {message}")
        else:
            default(message, category, filename, lineno, file, line)
    warnings.showwarning = show


def open_live(target: str | None, on_broken_pipe: str) -> LiveStream | None:
    """``-`` is stdout (refused on a terminal), anything else a FIFO (made if missing)."""
    if target is None:
        return None
    if target == "-":
        if sys.stdout.isatty():
            raise click.UsageError("--live - writes a binary pcapng stream: pipe it into a "
                                   "reader, e.g. | wireshark -k -i -  or  | tshark -i -")
        return LiveStream(sys.stdout.buffer, on_broken_pipe, report=_err)
    try:
        stream, cleanup = open_fifo(target, announce=_err)
    except (FileExistsError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    return LiveStream(stream, on_broken_pipe, report=_err, owns=True, cleanup=cleanup)


def _say_for(live: str | None):
    return _err if live == "-" else click.echo


# -- netsim run ---------------------------------------------------------------------------------


def run_command(topology: Path, out: Path, duration: str | None, *, realtime: bool = False,
                max_lag: str | None = None, forwards: tuple[str, ...] = (),
                live: str | None = None, on_broken_pipe: str = "stop",
                capture_on: list[str] | None = None, picture: bool = False) -> int:
    """``netsim run``: build, set up the real-world options, run, report. Returns the exit code.

    ``capture_on`` and ``picture`` are :func:`netsim.topo.runner.run_topology_file`'s."""
    from .topo.runner import run_topology_file
    from .topo.yamlfile import TopologyError
    _one_line_warnings()
    say = _say_for(live)
    try:
        specs = [parse_forward(f) for f in forwards]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--forward") from None
    nets: list[Network] = []
    stream: LiveStream | None = None

    def prepare(net: Network) -> None:
        nets.append(net)
        if realtime or max_lag is not None:
            net.realtime(True, max_lag)
        for proto, listen, host, port, via in specs:
            if host not in net.nodes:
                raise click.BadParameter(f"no node {host!r} in {topology} (nodes: "
                                         f"{', '.join(net.nodes)})", param_hint="--forward")
            fwd = net.forward(listen, host, port, proto=proto, via=via)
            gw = net.realworld.forwarder.gw
            say(f"forwarding {fwd} through {gw.name} {gw.ip}")
        if stream is not None:
            LiveCapture(net, stream)

    try:
        stream = open_live(live, on_broken_pipe)
        summary = run_topology_file(topology, out, duration, factory=Network, prepare=prepare,
                                    stop_on=(KeyboardInterrupt, LiveReaderGone),
                                    capture_on=capture_on, picture=picture)
    except TopologyError as exc:
        raise click.UsageError(str(exc)) from None
    except (MissingCapability, RealtimeLagError) as exc:
        _err(f"netsim: {exc}")
        return EXIT_LAG if isinstance(exc, RealtimeLagError) else 1
    except OSError as exc:        # no such interface, port in use, /dev/net/tun missing
        _err(f"netsim: {exc.strerror or exc}")
        return 1
    finally:
        for net in nets:
            net.detach()
        if stream is not None:
            stream.close()
    if summary.stopped == "KeyboardInterrupt":
        summary.stopped = "interrupted (Ctrl-C)"
    elif "broken pipe" in summary.stopped:      # its one line was printed when it happened
        summary.stopped = "the live capture's reader went away"
    say(str(summary))
    if nets and nets[0].realworld is not None and nets[0].realworld.lag.samples:
        say(str(nets[0].realworld.lag))
    return 0


# -- netsim lab ---------------------------------------------------------------------------------


class LabSession:
    """Told about every network a lab builds (``Network.observe``): paces each one and
    mirrors each file capture it opens into the one live stream, in the order frames happen."""

    def __init__(self, realtime: bool, max_lag: str | None, live: LiveStream | None):
        self.realtime = realtime or max_lag is not None
        self.max_lag = max_lag
        self.live = live
        self.networks: list[Network] = []

    def network_created(self, net: Network) -> None:
        self.networks.append(net)
        if self.realtime:
            net.realtime(True, self.max_lag)

    def capture_opened(self, net: Network, cap: Any) -> None:
        if self.live is not None:
            # Same interfaces as the file: all (and later ones) or the ones it named.
            wanted = None if cap._wanted is None else list(cap._ids)
            LiveCapture(net, self.live, wanted, follow=cap)

    def lag(self) -> LagReport | None:
        total, any_paced = LagReport(), False
        for net in self.networks:
            if net.realworld is not None and net.realworld.lag.samples:
                any_paced = True
                total.limit_ns = net.realworld.lag.limit_ns
                total.merge(net.realworld.lag)
        return total if any_paced else None

    def __enter__(self) -> LabSession:
        self._observing = Network.observe(self)
        self._observing.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._observing.__exit__(None, None, None)
        for net in self.networks:
            net.detach()


def run_lab(mod: Any, params: dict[str, Any], *, realtime: bool, max_lag: str | None,
            live: str | None, on_broken_pipe: str):
    """Run a lab under a :class:`LabSession`. Returns (result or None, console, exit code)."""
    from rich.console import Console
    _one_line_warnings()
    console = Console(stderr=live == "-")
    if "jobs" in inspect.signature(mod.run).parameters:
        params["jobs"] = 1   # sweep points in this process, so the session sees their networks
    stream = open_live(live, on_broken_pipe)
    session = LabSession(realtime, max_lag, stream)
    result, code = None, 0
    try:
        with session:
            result = mod.run(**params)
    except RealtimeLagError as exc:
        _err(f"netsim: {exc}")
        code = EXIT_LAG
    except LiveReaderGone:
        code = 0          # the one line was printed when the pipe broke
    except KeyboardInterrupt:
        _err("netsim: interrupted (Ctrl-C)")
        code = 130
    finally:
        if stream is not None:
            stream.close()
    lag = session.lag()
    if lag is not None:
        _err(f"{lag} ({len(session.networks)} network{'s' if len(session.networks) != 1 else ''})")
    return result, console, code
