"""The simulation viewer: any netsim run, or any capture, played in a web page.

Python exports one *timeline* (``docs/viewer.md``): the topology, the events in virtual time,
the frames' bytes with their layered trees, the device-state deltas and what each device did;
the page (``static/``: plain HTML, CSS and JavaScript, one script per panel) only renders it.

    >>> from netsim import Network
    >>> net = Network(seed=1)            # ... build it, start programs ...
    >>> view = net.view()                # records a run; Jupyter shows it inline
    >>> view.save("run.html")            # one self-contained, offline file

``netsim view TARGET`` (a lab, a script, a topology file or a capture) writes and opens the
page; ``--export FILE`` only writes it; ``--live`` serves it and runs the simulation as the
page steps it.
"""

from __future__ import annotations

from .._lazy import lazy_exports

__all__ = ["Recorder", "record_scene", "scene_from_trace", "scene_from_capture", "document",
           "render_html", "ViewerDocument", "view_network", "LiveSession", "LiveScene"]

__getattr__, __dir__ = lazy_exports(__name__, {
    ".record": ("Recorder",),
    ".export": ("record_scene", "scene_from_trace", "document", "view_network"),
    ".capture": ("scene_from_capture",),
    ".html": ("render_html", "ViewerDocument"),
    ".live": ("LiveSession", "LiveScene"),
})
