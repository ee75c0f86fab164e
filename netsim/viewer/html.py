"""The viewer page: one self-contained HTML file (styles, scripts and data inline, no network).

``static/index.html`` works as it is for developing the page (its ``<link>`` and ``<script
src>`` tags load the files beside it, and "open…" reads a timeline); :func:`render_html`
replaces those tags with the files' text and puts the timeline into the page's data block, so
the result can be mailed, put on a course page, or opened from a USB stick.

:class:`ViewerDocument` is what ``net.view()`` returns: Jupyter shows it inline (its
``_repr_html_`` is an ``<iframe srcdoc=...>``, so the page's scripts run in their own frame),
``.save(path)`` writes the file. IPython is not needed for anything else.
"""

from __future__ import annotations

import html as _html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["render_html", "ViewerDocument", "SCRIPTS", "static_text"]

#: The page's scripts, in load order (one per panel, plus the core, state and player).
SCRIPTS = ("core.js", "state.js", "filter.js", "topology.js", "events.js", "inspector.js",
           "panels.js", "ladder.js", "controls.js", "main.js")

_DATA_OPEN = '<script id="netsim-data" type="application/json">'


def static_text(name: str) -> str:
    """The text of a file of ``netsim/viewer/static`` (``"js/core.js"``, ``"viewer.css"``)."""
    return resources.files(__package__).joinpath("static", *name.split("/")).read_text("utf-8")


def _json_for_script(doc: dict[str, Any]) -> str:
    # "<" as \u003c: the data can then never close its <script> block nor open a comment.
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")


def _inline(tag: str, text: str) -> str:
    if re.search(r"</(script|style)", text, re.I):
        raise ValueError(f"a viewer file contains a closing </{tag}>; it cannot be inlined")
    return f"<{tag}>\n{text}\n</{tag}>"


def render_html(doc: dict[str, Any] | None, *, data_text: str | None = None,
                live: dict[str, Any] | None = None) -> str:
    """The viewer page with ``doc`` (a timeline document) inside.

    Args:
        doc: the timeline (``netsim.viewer.export.document``).
        data_text: the data block's raw text instead of ``doc`` (tests make damaged pages).
        live: live mode (:mod:`.live`): ``{"url": ..., "chunk": n}``, where the page fetches
            its timeline from the server that sent it, and ``chunk`` more events at a time.
    """
    page = static_text("index.html")
    style = _inline("style", static_text("viewer.css"))
    scripts = _inline("script", "\n".join(static_text(f"js/{name}") for name in SCRIPTS))
    page = re.sub(r"<!--style-->.*?<!--/style-->", lambda _m: style, page, flags=re.S)
    page = re.sub(r"<!--scripts-->.*?<!--/scripts-->", lambda _m: scripts, page, flags=re.S)
    data = data_text if data_text is not None else _json_for_script(doc)
    title = _html.escape(f"{doc['title']} - netsim viewer" if doc else "netsim viewer")
    page = page.replace("<title>netsim viewer</title>", f"<title>{title}</title>", 1)
    if live is not None:
        text = json.dumps(live).replace("<", "\\u003c")
        page = page.replace("</head>", f'<script id="netsim-live">window.NV_LIVE = {text};</script>'
                            "\n</head>", 1)
    return page.replace(_DATA_OPEN + "</script>", _DATA_OPEN + data + "</script>", 1)


class ViewerDocument:
    """A rendered viewer page: shown inline by Jupyter, saved with :meth:`save`."""

    def __init__(self, doc: dict[str, Any]):
        self.doc = doc
        self._html: str | None = None

    @property
    def html(self) -> str:
        """The self-contained page."""
        if self._html is None:
            self._html = render_html(self.doc)
        return self._html

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (folders are made); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{_html.escape(self.html, quote=True)}" '
                'style="width:100%;height:860px;border:1px solid #ccc" '
                'sandbox="allow-scripts allow-downloads"></iframe>')

    def __repr__(self) -> str:
        scenes = ", ".join(s["name"] for s in self.doc["scenes"])
        return f"<netsim viewer: {self.doc['title']} ({scenes})>"
