"""Observation: the event log, TCP ladder diagrams, capture viewers, display filters."""

from .events import TraceEvent, TraceLog
from .filters import FilterError, compile_filter
from .ladder import (
    TRANSITIONS,
    Ladder,
    LadderRow,
    StateChange,
    ladders_from_capture,
    render_svg,
    render_text,
)
from .show import show_capture

__all__ = ["TraceEvent", "TraceLog", "FilterError", "compile_filter", "TRANSITIONS", "Ladder",
           "LadderRow", "StateChange", "ladders_from_capture", "render_svg", "render_text",
           "show_capture"]
