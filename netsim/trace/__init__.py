"""Observation: the event log, TCP ladder diagrams, capture viewers, display filters."""

from __future__ import annotations

from .._lazy import lazy_exports

__all__ = ["TraceEvent", "TraceLog", "FilterError", "compile_filter", "TRANSITIONS", "Ladder",
           "LadderRow", "StateChange", "ladders_from_capture", "render_svg", "render_text",
           "show_capture"]

# Lazy: every interface's trace tap needs only ``events``, not the ladder renderers.
__getattr__, __dir__ = lazy_exports(__name__, {
    ".events": ("TraceEvent", "TraceLog"),
    ".filters": ("FilterError", "compile_filter"),
    ".ladder": ("TRANSITIONS", "Ladder", "LadderRow", "StateChange", "ladders_from_capture",
                "render_svg", "render_text"),
    ".show": ("show_capture",),
})
