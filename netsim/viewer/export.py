"""Scenes from networks, and the timeline document that holds them.

:func:`record_scene` runs a network that has not run yet with a :class:`~.record.Recorder`
attached, so every state change is kept; :func:`scene_from_trace` makes a scene of a network
that already ran (its trace log is all there is: the state panels then show the tables at the
end only). :func:`document` wraps scenes into the file format of ``docs/viewer.md``.
"""

from __future__ import annotations

from typing import Any

from ..sim.units import parse_time
from .record import Recorder, snapshot
from .timeline import FORMAT, VERSION, build_scene
from .topology import from_network

__all__ = ["record_scene", "scene_from_recorder", "scene_from_trace", "document", "view_network",
           "DEFAULT_UNTIL", "DEFAULT_MAX_EVENTS"]

DEFAULT_UNTIL = "60s"          # virtual time: a lab or script scene is short
DEFAULT_MAX_EVENTS = 100_000   # a page stays responsive (see docs/viewer.md, performance)


def _ladders(net: Any) -> list[Any]:
    tracer = getattr(net, "tcp_tracer", None)
    return [c.ladder(final=True) for c in tracer.connections if c.items] if tracer else []


def record_scene(net: Any, name: str, *, until: str | float | None = DEFAULT_UNTIL,
                 max_events: int | None = DEFAULT_MAX_EVENTS, source: str = "",
                 positions: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    """Run ``net`` from now (until idle, ``until`` or ``max_events``) and return its scene.

    The kernel is run directly, so a network a tool marked ``driven`` (a script loaded by
    ``netsim step``/``netsim view``) runs too.

    Raises:
        Exception: whatever a task of the network raised (named by the kernel).
    """
    kernel = net.kernel
    until_ns = None if until is None else kernel.now + parse_time(until)
    with Recorder(net, max_events) as rec:
        kernel.run(until_ns=until_ns)
    return scene_from_recorder(net, rec, name, source=source, positions=positions,
                               until=until if kernel.peek() is not None else None)


def scene_from_recorder(net: Any, rec: Recorder, name: str, *, source: str = "",
                        positions: dict[str, tuple[float, float]] | None = None,
                        until: str | float | None = None) -> dict[str, Any]:
    """The scene of what ``rec`` recorded of ``net`` (``until``: the run was cut there)."""
    kernel = net.kernel
    notes = []
    end_ns = kernel.now
    if rec.stopped:
        notes.append(f"stopped after {rec.max_events} events (netsim view --max-events raises "
                     "the limit)")
    elif until is not None:
        notes.append(f"stopped at {until} of virtual time (netsim view --until runs longer)")
    elif rec.events and kernel.peek() is None:
        end_ns = rec.events[-1].time_ns  # went idle: the clock ran on to ``until`` for nothing
    return build_scene(name, rec.events, from_network(net, positions), deltas=rec.deltas,
                       ladders=_ladders(net), source=source, end_ns=end_ns, notes=notes)


def scene_from_trace(net: Any, name: str = "run", source: str = "") -> dict[str, Any]:
    """The scene of a network that already ran: its trace log, and its tables at the end."""
    events = list(net.trace)
    last = len(events) - 1
    deltas = [(last, table, key, row) for table, rows in snapshot(net).items()
              for key, row in rows.items()]
    note = ("This network ran before the viewer was attached, so the tables are known only at "
            "the end: call net.view() before net.run() to see them change.")
    return build_scene(name, events, from_network(net), deltas=deltas, ladders=_ladders(net),
                       source=source, end_ns=net.kernel.now, state_note=note)


def document(title: str, scenes: list[dict[str, Any]]) -> dict[str, Any]:
    """The timeline document: a format tag, a version, a title and the scenes."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        made_by = f"netsim {version('netsim')}"
    except PackageNotFoundError:  # run from a source tree that was never installed
        made_by = "netsim"
    return {"format": FORMAT, "version": VERSION, "generator": made_by,
            "title": title, "scenes": scenes}


def view_network(net: Any, *, title: str = "network", until: str | float | None = DEFAULT_UNTIL,
                 max_events: int | None = DEFAULT_MAX_EVENTS):
    """What ``net.view()`` returns: a :class:`~.html.ViewerDocument` of ``net``.

    A network that has not run yet is run here (until idle, ``until`` or ``max_events``) with
    its state recorded; one that already ran is shown from its trace log.
    """
    from .html import ViewerDocument
    fresh = net.kernel.now == 0 and net.trace.total == 0
    scene = (record_scene(net, title, until=until, max_events=max_events, source="net.view()")
             if fresh else scene_from_trace(net, title, source="net.view() after the run"))
    return ViewerDocument(document(title, [scene]))
