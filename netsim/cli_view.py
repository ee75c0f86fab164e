"""``netsim view TARGET``, ``netsim lab NAME --view`` and ``netsim run FILE --view`` (the
page itself is :mod:`netsim.viewer`).

TARGET is a lab name, a Python script, a YAML topology file or a capture file. Labs and
scripts are loaded as ``netsim step`` loads them (:func:`netsim.cli_step.load_target`: a
script's own ``net.run()`` and captures are switched off, the viewer runs the network); a lab
that declares ``SCENES`` (a dict: scene name -> keyword arguments of its ``build()``), or has
``VARIANTS`` and a ``variant`` parameter, gives one scene each, so the hub and the switch of
hub-vs-switch sit side by side in one file. Every failure is one line: what, which value, what
is allowed.
"""

from __future__ import annotations

import inspect
import sys
import webbrowser
from pathlib import Path
from typing import Any

import click

from .viewer import export

__all__ = ["view_cli", "view_command", "view_lab", "view_live", "view_topology_run", "lab_scenes",
           "DEFAULT_OUT"]

DEFAULT_OUT = Path("captures") / "view"
_CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")


def _network_of(built: Any) -> Any:
    return built[0] if isinstance(built, tuple) else built


def lab_scenes(name: str, params: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """``[(scene name, build function, source text)]`` of a lab.

    Raises:
        click.ClickException: no such lab, or a lab with nothing to view.
    """
    import labs
    try:
        mod = labs.load(name)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from None
    build = getattr(mod, "build", None)
    if build is None:
        raise click.ClickException(f"lab {name!r} has no scene to view (it has no build())")
    sig = inspect.signature(build)
    defaults = {p: mod.PARAMS[p].default for p in getattr(mod, "PARAMS", {}) if p in sig.parameters}
    given = {k: v for k, v in params.items() if k in sig.parameters}
    scenes: dict[str, dict[str, Any]] | None = getattr(mod, "SCENES", None)
    if scenes is None and "variant" in sig.parameters and hasattr(mod, "VARIANTS"):
        chosen = given.pop("variant", None)
        if chosen not in (None, "all") and chosen not in mod.VARIANTS:
            raise click.ClickException(f"lab {name}: no variant {chosen!r}; choose one of "
                                       f"{', '.join(mod.VARIANTS)} or all")
        names = mod.VARIANTS if chosen in (None, "all") else (chosen,)
        scenes = {v: {"variant": v} for v in names}
        defaults.pop("variant", None)
    if scenes is None:
        from .cli_step import load_target
        return [("default", load_target(name), f"lab {name}")]
    out = []
    for scene, kwargs in scenes.items():
        kw = {**defaults, **given, **kwargs}
        text = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        out.append((scene, lambda kw=kw: _network_of(build(**kw)), f"lab {name}: build({text})"))
    return out


def _record(builders: list[tuple[str, Any, str]], until: str, max_events: int) -> list[dict]:
    scenes = []
    for scene, make, source in builders:
        # A script or a lab that fails (to import, to build, in one of its tasks) is the
        # user's to fix: one line saying what failed, not a traceback of the viewer.
        try:
            net = make()
        except SystemExit:
            raise
        except Exception as exc:
            raise click.ClickException(f"{source}: cannot build the scene: "
                                       f"{type(exc).__name__}: {exc}") from None
        try:
            scenes.append(export.record_scene(net, scene, until=until, max_events=max_events,
                                              source=source))
        except Exception as exc:
            raise click.ClickException(f"{source}: the run failed: {type(exc).__name__}: "
                                       f"{exc}") from None
    return scenes


def _capture_doc(path: Path, topology: Path | None) -> dict[str, Any]:
    from .network import Network
    from .topo.yamlfile import TopologyError
    from .viewer.capture import CaptureMismatch, scene_from_capture
    from .wire.errors import DecodeError
    net = None
    if topology is not None:
        try:
            net = Network.from_file(topology)
        except TopologyError as exc:
            raise click.ClickException(str(exc)) from None
    try:
        scene = scene_from_capture(path, net, topology_name=topology.name if topology else "")
    except DecodeError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    except CaptureMismatch as exc:
        raise click.ClickException(str(exc)) from None
    return export.document(path.name, [scene])


def _finish(doc: dict[str, Any], export_to: Path | None, open_browser: bool | None,
            stem: str) -> int:
    from .viewer.html import ViewerDocument
    if export_to is not None and export_to.suffix == ".json":
        import json
        export_to.parent.mkdir(parents=True, exist_ok=True)
        export_to.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
        path = export_to
    else:
        path = ViewerDocument(doc).save(export_to or DEFAULT_OUT / f"{stem}.html")
    events = sum(len(s["events"]) for s in doc["scenes"])
    click.echo(f"viewer: {path} ({len(doc['scenes'])} scene{'s' * (len(doc['scenes']) != 1)}, "
               f"{events} events, {path.stat().st_size / 1e6:.2f} MB)")
    if open_browser is None:
        open_browser = export_to is None and sys.stdout.isatty()
    if open_browser and not webbrowser.open(path.resolve().as_uri()):
        click.echo("no web browser found: open the file above in one")
    return 0


def view_lab(name: str, params: dict[str, Any], *, export_to: Path | None = None,
             until: str = export.DEFAULT_UNTIL, max_events: int = export.DEFAULT_MAX_EVENTS,
             open_browser: bool | None = None) -> int:
    """``netsim lab NAME --view``: the lab's scenes in one page."""
    scenes = _record(lab_scenes(name, params), until, max_events)
    return _finish(export.document(name, scenes), export_to, open_browser, name)


def view_topology_run(path: Path, out: Path, duration: str | None, *,
                      export_to: Path | None = None, max_events: int = export.DEFAULT_MAX_EVENTS,
                      open_browser: bool | None = None) -> int:
    """``netsim run FILE --view``: run the topology file as ``netsim run`` does (its capture
    included) with a recorder attached, then show the run."""
    from .network import Network
    from .topo.runner import run_topology_file
    from .topo.yamlfile import TopologyError
    from .viewer.record import Recorder
    made: list[tuple[Any, Recorder]] = []

    def prepare(net: Any) -> None:
        made.append((net, Recorder(net, max_events)))
    try:
        summary = run_topology_file(path, out, duration, factory=Network, prepare=prepare)
    except TopologyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(summary))
    net, rec = made[0]
    rec.close()
    scene = export.scene_from_recorder(net, rec, path.stem, source=f"netsim run {path}")
    return _finish(export.document(path.name, [scene]), export_to, open_browser, path.stem)


def view_live(target: str, params: dict[str, Any], *, port: int = 0, until: str | None = None,
              open_browser: bool | None = None) -> int:
    """``netsim view TARGET --live``: serve the page; the scenes run as the page steps them."""
    from .viewer.live import LiveScene, LiveSession, serve
    path = Path(target)
    if path.is_file() and path.suffix == ".py":
        from .cli_step import load_target
        builders = [(path.stem, load_target(str(path)), f"script {path}")]
    elif path.exists() or path.suffix:
        raise click.ClickException(f"--live steps a lab or a Python script, not {target}")
    else:
        builders = lab_scenes(target, params)
    scenes = [LiveScene(name, make, source, until or export.DEFAULT_UNTIL)
              for name, make, source in builders]
    session = LiveSession(path.stem if path.suffix else target, scenes)
    try:
        session.doc(0, session.chunk)  # builds every scene here, in the serving thread
    except (TypeError, ValueError) as exc:
        raise click.ClickException(f"{target}: cannot build the scene: {exc}") from None
    try:
        server = serve(session, port)
    except OSError as exc:
        raise click.ClickException(f"--port {port}: {exc.strerror or exc}") from None
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    click.echo(f"viewer: {url} (live: the simulation runs as the page steps it; Ctrl-C stops)")
    if open_browser is None:
        open_browser = sys.stdout.isatty()
    if open_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("viewer: stopped")
    finally:
        server.server_close()
    return 0


def view_command(target: str, params: dict[str, Any], *, export_to: Path | None = None,
                 topology: Path | None = None, until: str | None = None,
                 max_events: int = export.DEFAULT_MAX_EVENTS,
                 open_browser: bool | None = None) -> int:
    """``netsim view TARGET``: a lab, a script, a topology file or a capture.

    ``until`` defaults to the topology file's own duration for a YAML file, to
    :data:`~netsim.viewer.export.DEFAULT_UNTIL` for a lab or a script.
    """
    path = Path(target)
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        return view_topology_run(path, Path("captures") / path.stem, until, export_to=export_to,
                                 max_events=max_events, open_browser=open_browser)
    until = until or export.DEFAULT_UNTIL
    if export_to is not None and export_to.suffix not in (".html", ".htm", ".json"):
        raise click.ClickException(f"--export {export_to}: the file must end in .html (the page) "
                                   "or .json (the timeline data only)")
    if topology is not None and not (path.is_file() and path.suffix not in (".py", ".yaml", ".yml")):
        raise click.ClickException("--topology goes with a capture file: netsim view "
                                   "capture.pcapng --topology topo.yaml")
    if path.is_file() and path.suffix == ".py":
        from .cli_step import load_target
        scenes = _record([(path.stem, load_target(str(path)), f"script {path}")], until, max_events)
        return _finish(export.document(path.name, scenes), export_to, open_browser, path.stem)
    if path.is_file():
        return _finish(_capture_doc(path, topology), export_to, open_browser, path.stem)
    if path.suffix in (".py", ".yaml", ".yml", *_CAPTURE_SUFFIXES) or "/" in target:
        raise click.ClickException(f"{target}: no such file")
    return view_lab(target, params, export_to=export_to, until=until, max_events=max_events,
                    open_browser=open_browser)


def view_cli(context: dict[str, Any], parse_lab_args: Any) -> click.Command:
    """The ``netsim view`` command; ``parse_lab_args(module, args)`` reads a lab's parameters
    as ``netsim lab`` does (passed in by :mod:`netsim.cli`, which owns it)."""

    @click.command("view", context_settings={**context, "ignore_unknown_options": True,
                                             "allow_extra_args": True})
    @click.argument("target")
    @click.option("--export", "export_to", type=click.Path(dir_okay=False, path_type=Path),
                  default=None, help="Write the page (.html) or the timeline (.json) here; "
                  "no browser.")
    @click.option("--topology", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  default=None, help="With a capture: the YAML topology it was taken on.")
    @click.option("--until", default=None, help="Virtual time to record (default 60s; a "
                  "topology file: its duration).")
    @click.option("--max-events", type=click.IntRange(min=1), default=export.DEFAULT_MAX_EVENTS,
                  show_default=True, help="Stop recording after this many events.")
    @click.option("--no-open", is_flag=True, help="Write the page but do not open a browser.")
    @click.option("--live", is_flag=True, help="Serve the page on 127.0.0.1 and run the "
                  "simulation as the page steps it (a lab or a script).")
    @click.option("--port", type=click.IntRange(0, 65535), default=0,
                  help="With --live: the port (default: any free one).")
    @click.pass_context
    def view(ctx: click.Context, target: str, export_to: Path | None, topology: Path | None,
             until: str | None, max_events: int, no_open: bool, live: bool, port: int) -> None:
        """Watch a run in the browser: frames moving, events, the PDU inspector, tables.

        TARGET is a lab name (its parameters may follow), a Python script, a YAML topology
        file or a capture (pcap or pcapng, ours or tcpdump's). The page is one offline file.

        \b
        Examples:
          netsim view hub-vs-switch
          netsim view tcp-handshake --variant lost-syn --export lost-syn.html
          netsim view my_script.py
          netsim view captures/hub-vs-switch/hub.pcapng
          netsim view capture.pcapng --topology topo.yaml
          netsim view tcp-handshake --live       step a running simulation from the page
        """
        params: dict[str, Any] = {}
        if ctx.args:
            import labs
            try:
                mod = labs.load(target)
            except KeyError:
                raise click.ClickException(f"unexpected arguments {' '.join(ctx.args)!r}: only "
                                           "a lab takes parameters") from None
            params = parse_lab_args(mod, ctx.args)
        if live:
            if export_to is not None or topology is not None:
                raise click.ClickException("--live serves the page: leave out --export and "
                                           "--topology")
            sys.exit(view_live(target, params, port=port, until=until,
                               open_browser=False if no_open else None))
        sys.exit(view_command(target, params, export_to=export_to, topology=topology,
                              until=until, max_events=max_events,
                              open_browser=False if no_open else None))

    return view
