"""A :class:`Ladder`: one TCP connection's segments and state changes, ready to draw."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import LadderRow, StateChange
from .svg import render_svg
from .text import render_text

__all__ = ["Ladder"]


@dataclass
class Ladder:
    """One TCP connection: (initiator, responder) endpoint labels, rows and state changes, and
    each end's state before the first item."""

    endpoints: tuple[str, str]
    items: list = field(default_factory=list)
    initial: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> list[LadderRow]:
        """The segments only."""
        return [i for i in self.items if isinstance(i, LadderRow)]

    @property
    def final_states(self) -> dict[str, str]:
        """Each end's last state."""
        final = dict(self.initial)
        for item in self.items:
            if isinstance(item, StateChange):
                final[item.endpoint] = item.new
        return final

    def text(self, **options) -> str:
        """:func:`~.text.render_text` of this ladder (same keyword options)."""
        options.setdefault("states", self.initial)
        return render_text(self.items, self.endpoints, **options)

    def svg(self, **options) -> str:
        """:func:`~.svg.render_svg` of this ladder (same keyword options)."""
        options.setdefault("states", self.initial)
        return render_svg(self.items, self.endpoints, **options)
