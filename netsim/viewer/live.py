"""Live mode: the page steps a simulation that runs in this process, through a local server.

``netsim view TARGET --live`` serves the viewer page on 127.0.0.1 and builds each scene's
network, but runs it only as far as the page has asked: when a step or play reaches the last
event recorded so far, the page asks for more (``GET /live/doc?scene=K&events=N``) and the
server runs that scene's kernel one event at a time until its recorder holds N events (or
the network goes idle, or ``until`` is reached), then answers with the whole timeline so far.
Everything else is the export's: the same recorder, scene builder and page, so a live page
shows exactly what an export of the same run shows, only made as it goes.

The server is the standard library's (``http.server``), bound to the loopback interface, and
answers one request at a time in the thread that runs it: the simulations' tasks are greenlets,
which belong to the thread that made them, so each network is built there, on its first
request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from ..sim.units import parse_time
from .export import document, scene_from_recorder
from .html import render_html
from .record import Recorder

__all__ = ["LiveScene", "LiveSession", "serve", "CHUNK"]

CHUNK = 200  # events the page asks for at a time


class LiveScene:
    """One scene's network, recorded as far as it has been run.

    Args:
        name: the scene's name.
        make: builds the network (not yet run).
        source: said in the page's header.
        until: virtual time after which the scene stops running.
    """

    def __init__(self, name: str, make: Callable[[], Any], source: str = "",
                 until: str | float | None = None):
        self.name = name
        self.source = source
        self.make = make
        self.net: Any = None
        self.recorder: Recorder | None = None
        self.until_ns = None if until is None else parse_time(until)
        self.done = False

    def advance(self, events: int) -> None:
        """Run until ``events`` events are recorded, the network is idle or ``until`` passed.

        Raises:
            Exception: what building the network or one of its tasks raised.
        """
        if self.net is None:
            self.net = self.make()
            self.recorder = Recorder(self.net)
        kernel = self.net.kernel
        while not self.done and len(self.recorder.events) < events:
            due = kernel.peek()
            if due is None or (self.until_ns is not None and due > self.until_ns):
                self.done = True
                break
            kernel.step()

    def scene(self) -> dict[str, Any]:
        scene = scene_from_recorder(self.net, self.recorder, self.name, source=self.source)
        scene["live"] = {"more": not self.done}
        return scene


class LiveSession:
    """The scenes of one ``netsim view --live`` and the timeline document they make."""

    def __init__(self, title: str, scenes: list[LiveScene], chunk: int = CHUNK):
        self.title = title
        self.scenes = scenes
        self.chunk = chunk
        self._docs: list[dict[str, Any] | None] = [None] * len(scenes)

    def doc(self, scene: int, events: int) -> dict[str, Any]:
        """The document with scene ``scene`` run to at least ``events`` events.

        Raises:
            IndexError: no such scene.
        """
        live = self.scenes[scene]
        live.advance(max(events, self.chunk))
        self._docs[scene] = live.scene()
        for k, other in enumerate(self.scenes):
            if self._docs[k] is None:
                other.advance(self.chunk)
                self._docs[k] = other.scene()
        return document(self.title, list(self._docs))


def _handler(session: LiveSession, page: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            url = urlparse(self.path)
            if url.path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", page.encode())
            elif url.path == "/live/doc":
                query = parse_qs(url.query)
                try:
                    scene = int(query.get("scene", ["0"])[0])
                    events = int(query.get("events", [str(session.chunk)])[0])
                    body = json.dumps(session.doc(scene, events), separators=(",", ":"))
                except (ValueError, IndexError) as exc:
                    self._send(400, "text/plain", f"bad request: {exc}".encode())
                    return
                except Exception as exc:  # a task of the simulation failed: tell the page
                    self._send(500, "text/plain", f"{type(exc).__name__}: {exc}".encode())
                    return
                self._send(200, "application/json", body.encode())
            else:
                self._send(404, "text/plain", b"not found")

        def _send(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass  # one line per request would drown the terminal

    return Handler


def serve(session: LiveSession, port: int = 0) -> HTTPServer:
    """A server for ``session`` on 127.0.0.1 (``port`` 0: any free one); call
    ``serve_forever()`` on it, in the thread that asked for the session's first document if
    any, and ``shutdown()`` to stop."""
    page = render_html(None, data_text="", live={"url": "/live/doc", "chunk": session.chunk})
    return HTTPServer(("127.0.0.1", port), _handler(session, page))
