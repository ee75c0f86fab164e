"""TCP keepalive (RFC 9293 3.8.4, RFC 1122 4.2.3.6), with Linux's knobs and probe format.

Off unless the application asks (``SO_KEEPALIVE``; RFC 1122: "MUST default to off"). After
``keepidle`` with nothing received, an established connection with nothing outstanding
sends a probe ``<SEQ=SND.NXT-1><ACK=RCV.NXT>`` with no data: a sequence number the peer has
already acknowledged, so a live peer must answer with an ACK (RFC 9293 3.10.7.4, first
check). Probes repeat every ``keepintvl``; after ``keepcnt`` unanswered ones the connection
is reset with ETIMEDOUT, as Linux's ``tcp_keepalive_timer`` does.

:class:`Keepalive` is a mixin of :class:`~netsim.stack.tcp.connection.Connection`.
"""

from __future__ import annotations

import errno as _errno

from .segment import ACK, RST
from .seqnum import seq_add
from .states import Ev, State

__all__ = ["Keepalive"]

_KEEPALIVE_STATES = frozenset({State.ESTABLISHED, State.CLOSE_WAIT})


class Keepalive:
    """Mixin: the keepalive timer."""

    __slots__ = ()

    def set_keepalive(self, on: bool, now: int, idle_ns: int | None = None,
                      interval_ns: int | None = None, count: int | None = None) -> None:
        """Turn keepalive on or off and set its knobs (``SO_KEEPALIVE``, ``TCP_KEEPIDLE``,
        ``TCP_KEEPINTVL``, ``TCP_KEEPCNT``); None keeps a knob as it is."""
        cfg = self.cfg
        cfg.keepalive = on
        if idle_ns is not None:
            cfg.keepidle_ns = idle_ns
        if interval_ns is not None:
            cfg.keepintvl_ns = interval_ns
        if count is not None:
            cfg.keepcnt = count
        self._timers.pop("keepalive", None)
        if on:
            self._arm_keepalive(now)

    def _arm_keepalive(self, now: int) -> None:
        if self.cfg.keepalive and self.state in _KEEPALIVE_STATES:
            self._ka_probes = 0
            self._arm("keepalive", now + self.cfg.keepidle_ns)

    def _timeout_keepalive(self, now: int) -> None:
        cfg = self.cfg
        if not cfg.keepalive or self.state not in _KEEPALIVE_STATES:
            return
        if self.snd_una != self.snd_max or self._sndbuf:
            # Data is outstanding: the retransmission timer watches the peer (Linux).
            self._arm("keepalive", now + cfg.keepidle_ns)
            return
        idle = now - self._last_rcv
        if self._ka_probes == 0 and idle < cfg.keepidle_ns:
            self._arm("keepalive", self._last_rcv + cfg.keepidle_ns)  # heard from it lately
            return
        if self._ka_probes and idle < cfg.keepintvl_ns:
            self._ka_probes = 0  # the peer answered the last probe
            self._arm("keepalive", self._last_rcv + cfg.keepidle_ns)
            return
        if self._ka_probes >= cfg.keepcnt:
            self._out.append(self._segment(RST | ACK, self.snd_max))
            self._fail(_errno.ETIMEDOUT, Ev.GIVE_UP, now)
            return
        self._out.append(self._segment(ACK, seq_add(self.snd_una, -1)))
        self._ka_probes += 1
        self.stats["keepalive_probes"] += 1
        self._arm("keepalive", now + cfg.keepintvl_ns)
