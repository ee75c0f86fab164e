"""TCP ladder diagrams: the two ends of a connection side by side, segments as arrows between
them, each end's RFC 9293 state printed as it changes.

* :mod:`.model`: the items (:class:`LadderRow`, one segment; :class:`StateChange`, one end
  changes state) and :func:`row_label`, the one label every renderer prints for a segment.
* :mod:`.text` (:func:`render_text`, a terminal) and :mod:`.svg` (:func:`render_svg`, a page);
  ``netsim.trace.ladder_plot.render_png`` draws a PNG with matplotlib.
* :mod:`.diagram`: :class:`Ladder`, one connection's items with those renderers as methods.
* :mod:`.capture`: :func:`ladders_from_capture`, ladders from any capture file, the states
  inferred by :func:`netsim.stack.tcp.infer.infer_states` from the core's own table
  (:data:`TRANSITIONS`, re-exported here: there is no other).

The TCP tracer (``netsim.trace.tcptrace``) builds the same items live from the simulator, with
both ends' real states.
"""

from __future__ import annotations

from ...stack.tcp.infer import infer_states
from ...stack.tcp.states import TRANSITIONS
from .capture import ladders_from_capture
from .diagram import Ladder
from .model import LadderRow, StateChange, option_text, row_label
from .svg import render_svg
from .text import render_text

__all__ = ["LadderRow", "StateChange", "Ladder", "TRANSITIONS", "render_text", "render_svg",
           "ladders_from_capture", "infer_states", "option_text", "row_label"]
