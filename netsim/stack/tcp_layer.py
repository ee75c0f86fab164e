"""A host's TCP layer: the glue between the sans-I/O TCP core and the host stack.

:class:`TcpLayer` demultiplexes segments by 4-tuple to connections and by local address to
listening sockets, answers strays with RST (RFC 9293 3.10.7.1), runs each connection's timers
on the kernel, and reports every segment and state change to the network's
:class:`~netsim.trace.tcptrace.TcpTracer`. State changes also become capture comments: on the
received segment that caused them, or on the first segment a user call sent. The sockets
programs use are in :mod:`netsim.stack.tcp_socket`.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ..sim.kernel import Waiters
from ..sim.units import NS_PER_S
from ..trace.tcptrace import TcpTracer, state_name
from ..wire import icmp as wicmp
from ..wire import tcp as wtcp
from ..wire.errors import DecodeError
from ..wire.ipv4 import PROTO_TCP, IPv4
from .lazy import OnFirstUse
from .ports import ANY, pick_ephemeral, port_taken
from .tcp import (
    CongestionUpdate,
    Connected,
    Connection,
    DataAvailable,
    Error,
    State,
    StateChange,
    TcpConfig,
    Writable,
    rst_for,
)
from .tcp.seqnum import seq_gt

if TYPE_CHECKING:
    from ..net.interface import Interface
    from .icmp import IcmpError
    from .services import IpServices
    from .tcp_socket import TcpSocket

__all__ = ["TcpLayer", "Endpoint", "FIN_TIMEOUT_NS"]

FIN_TIMEOUT_NS = 60 * NS_PER_S  # Linux net.ipv4.tcp_fin_timeout
_FIN_WAIT = frozenset({State.FIN_WAIT_1, State.FIN_WAIT_2})


class Endpoint:
    """A connection registered in the demultiplexer, with its timer and its waiting tasks."""

    __slots__ = ("conn", "local", "remote", "sock", "listener_sock", "timer", "deadline",
                 "waiters", "label", "peer_label", "error", "reuse", "fin_timer", "ttl")

    def __init__(self, layer: TcpLayer, conn: Connection, local: tuple[str, int],
                 remote: tuple[str, int]):
        self.conn = conn
        self.local, self.remote = local, remote
        self.sock: TcpSocket | None = None
        self.listener_sock: TcpSocket | None = None
        self.timer = None
        self.deadline: int | None = None
        self.waiters = Waiters(layer.kernel)
        self.label = layer.label(*local)
        self.peer_label = layer.label(*remote)
        self.error = 0          # the pending socket error (Linux sk_err), cleared when reported
        self.reuse = False      # SO_REUSEADDR of its socket (kept once the socket is closed)
        self.fin_timer = None
        self.ttl: int | None = None  # IP_TTL of its socket (None: the host's default)

    @property
    def orphan(self) -> bool:
        """The application closed its socket (and no listener holds it for accept)."""
        return self.sock is None and self.listener_sock is None

    @property
    def reading_shut(self) -> bool:
        """Nothing will read what arrives: the socket was closed or shut for reading."""
        return self.orphan or (self.sock is not None and self.sock.shut_rd)


_COUNTERS = ("segments_in", "segments_out", "rst_sent", "bad_checksum", "malformed",
             "syn_dropped_backlog", "syn_cookies_sent", "syn_cookies_accepted",
             "syn_cookies_failed", "listen_overflows")


class TcpLayer:
    """One host's TCP: demultiplexing, timers, RSTs for strays, tracing.

    Args:
        host: the owner, through its :class:`~netsim.stack.services.IpServices`.
        tracer: the network's tracer (one per network, shared by all hosts).
        trace_segments: give the tracer a ladder row per segment and every congestion update;
            False keeps state changes only (``Network(trace=False)`` is for speed).
    """

    config: TcpConfig = OnFirstUse(lambda layer: TcpConfig())  # type: ignore[assignment]
    conns: dict[tuple[str, int, str, int], Endpoint] = OnFirstUse(lambda layer: {})  # type: ignore[assignment]
    listeners: dict[tuple[str, int], TcpSocket] = OnFirstUse(lambda layer: {})  # type: ignore[assignment]
    bound: set[TcpSocket] = OnFirstUse(lambda layer: set())  # type: ignore[assignment]
    by_conn: dict[int, Endpoint] = OnFirstUse(lambda layer: {})  # type: ignore[assignment]
    # local port -> its connections
    _by_port: dict[int, dict[int, Endpoint]] = OnFirstUse(lambda layer: {})  # type: ignore[assignment]
    counters: dict[str, int] = OnFirstUse(  # type: ignore[assignment]
        lambda layer: dict.fromkeys(_COUNTERS, 0))

    def __init__(self, host: IpServices, tracer: TcpTracer, trace_segments: bool = True):
        self.host = host
        self.kernel = host.kernel
        # config, conns, listeners, bound, by_conn, _by_port and counters are made on first use
        # (the class attributes above): most hosts of a large network never open a TCP socket,
        # and the lot costs about 1 KB (issue 16: per-host memory).
        self._peak = 0  # most connections registered at once since the tables were rebuilt
        self.tracer = tracer
        self.trace_segments = trace_segments
        # Called with (endpoint label, CongestionUpdate) on every change of a connection's
        # cwnd, ssthresh, RTT estimate or recovery state: for a tracer or a lab to record.
        self.on_congestion = None
        self.fin_timeout_ns = FIN_TIMEOUT_NS
        self._cookie_secret: bytes | None = None
        host.register_protocol(PROTO_TCP, self.on_ip)
        host.register_icmp_error_handler(PROTO_TCP, self.on_icmp_error)

    # -- names -----------------------------------------------------------------------------

    def label(self, ip: str, port: int) -> str:
        """``h1:49152``: the node owning ``ip`` (or the address itself) and the port."""
        owner = self.host.name if self.host.is_local(ip) else self.host.name_of(ip)
        return f"{owner or ip}:{port}"

    def isn(self, local: tuple | None = None, remote: tuple | None = None) -> int:
        """An initial sequence number from the network's seeded RNG (RFC 6528 in spirit)."""
        return self.kernel.rng.getrandbits(32)

    def cookie_secret(self) -> bytes:
        """The host's SYN cookie secret, drawn from the network's RNG the first time a SYN
        queue overflows (so that runs without a flood draw exactly what they drew before)."""
        if self._cookie_secret is None:
            self._cookie_secret = self.kernel.rng.getrandbits(128).to_bytes(16, "big")
        return self._cookie_secret

    # -- ports -----------------------------------------------------------------------------

    def _port_users(self, port: int) -> list[tuple[str, TcpSocket | Endpoint]]:
        users: list[tuple[str, TcpSocket | Endpoint]] = [(s.local[0], s) for s in self.bound if s.local[1] == port]
        users += [(ep.local[0], ep) for ep in self._by_port.get(port, {}).values()]
        return users

    def port_free(self, ip: str, port: int, reuseaddr: bool, me: TcpSocket | None = None) -> bool:
        """Linux's rule (inet_csk_bind_conflict, :mod:`netsim.stack.ports`): a port is taken
        by a bound socket or a connection on an overlapping address, unless both the new
        socket and that user set SO_REUSEADDR and the user is not listening. A connection
        keeps its socket's flag through TIME_WAIT (an accepted one has its listener's), so a
        restarted server that sets SO_REUSEADDR binds over its old connections."""
        users = [(addr, user) for addr, user in self._port_users(port)
                 if not (me is not None and (user is me or getattr(user, "sock", None) is me))]
        return not port_taken(users, ip, lambda user: reuseaddr and _shares(user))

    def ephemeral(self, ip: str) -> int:
        """A free ephemeral port for ``ip`` (OSError EADDRNOTAVAIL when none is left)."""
        return pick_ephemeral(self.kernel.rng, lambda port: self.port_free(ip, port, False),
                              errno.EADDRNOTAVAIL)

    # -- connections -----------------------------------------------------------------------

    def register(self, conn: Connection, local: tuple[str, int], remote: tuple[str, int]) -> Endpoint:
        ep = Endpoint(self, conn, local, remote)
        self.conns[(local[0], local[1], remote[0], remote[1])] = ep
        self.by_conn[id(conn)] = ep
        self._by_port.setdefault(local[1], {})[id(ep)] = ep
        self._peak = max(self._peak, len(self.conns))
        return ep

    def forget(self, ep: Endpoint) -> None:
        """Remove a connection from the demultiplexer and stop its timers."""
        key = (ep.local[0], ep.local[1], ep.remote[0], ep.remote[1])
        if self.conns.get(key) is ep:
            del self.conns[key]
        self.by_conn.pop(id(ep.conn), None)
        on_port = self._by_port.get(ep.local[1])
        if on_port is not None and on_port.pop(id(ep), None) is not None and not on_port:
            del self._by_port[ep.local[1]]
        if self._peak > 64 and len(self.conns) * 8 < self._peak:
            # A dict keeps the table of its largest size: after a burst of connections,
            # rebuild the tables so that nothing of the burst outlives it.
            self.conns, self.by_conn = dict(self.conns), dict(self.by_conn)
            self._by_port = {port: dict(eps) for port, eps in self._by_port.items()}
            self._peak = len(self.conns)
        self.kernel.cancel(ep.timer)
        self.kernel.cancel(ep.fin_timer)
        ep.timer = ep.deadline = ep.fin_timer = None

    def flush(self, ep: Endpoint, from_rx: bool = False) -> str | None:
        """Send what the connection produced, report its events, re-arm its timer.

        Returns the state-change note when called for a received segment (it becomes the
        capture comment of that segment).
        """
        conn = ep.conn
        # The hot path of a bulk transfer runs this once per segment: take the outputs
        # directly (what pending_segments() and pop_events() do) and skip the event loop when
        # there are none.
        segs = conn._out
        if segs:
            conn._out = []
        notes: list[str] = []
        wake = False
        events = conn._events
        if events:
            conn._events = []
            wake = self._report(ep, conn, events, notes)
        comment = "; ".join(notes) if notes and not from_rx else None
        if segs:
            labels = (ep.label, ep.peer_label)
            for seg in segs:
                self.send_segment(ep.local, ep.remote, seg, comment, labels, ep.ttl)
                comment = None
        if wake or notes:
            ep.waiters.notify_all()
            if ep.listener_sock is not None and conn.sm.state is State.CLOSED:
                ep.listener_sock.wake_all()
        st = conn.sm.state
        if st is State.CLOSED:
            self.forget(ep)
        else:
            self._arm(ep)
            if st is State.FIN_WAIT_2 and ep.fin_timer is None and ep.orphan:
                # An orphan in FIN_WAIT_2 waits for the peer's FIN at most tcp_fin_timeout.
                ep.fin_timer = self.kernel.call_later(self.fin_timeout_ns, self._fin_timeout, ep)
        return "; ".join(notes) if notes and from_rx else None

    def _report(self, ep: Endpoint, conn: Connection, events: list, notes: list[str]) -> bool:
        """Report a connection's events (tracer, log, notes); True when its waiters wake."""
        wake = False
        for ev in events:
            if ev.__class__ is DataAvailable:  # the usual: one per received segment
                wake = True
            elif isinstance(ev, StateChange):
                old, new = state_name(ev.old), state_name(ev.new)
                if ep.listener_sock is not None and old == "CLOSED" and new == "LISTEN":
                    continue  # a listener's child starts in LISTEN: the socket was already there
                self.tracer.state(ev.time, ep.label, ep.peer_label, old, new)
                text = f"{self.host.name}: {old} -> {new}"
                self.host.log("state", text)
                notes.append(text)
            elif isinstance(ev, CongestionUpdate):
                if self.trace_segments:
                    self.tracer.congestion(ep.label, ep.peer_label, ev)
                if self.on_congestion is not None:
                    self.on_congestion(ep.label, ev)
            elif isinstance(ev, Writable):
                # Like Linux (sk_stream_write_space), wake a blocked writer only once a third
                # of the send buffer is free: sendall then queues big chunks, not one
                # segment's worth per ACK.
                snd_buf = conn.cfg.snd_buf  # conn.send_space, inlined
                wake = wake or max(snd_buf - len(conn._sndbuf), 0) * 3 >= snd_buf
            else:
                wake = True
                if isinstance(ev, Connected) and ep.listener_sock is not None:
                    ep.listener_sock.wake_all()
                elif isinstance(ev, Error):
                    ep.error = _socket_errno(ev.errno, events)
        return wake

    def _fin_timeout(self, ep: Endpoint) -> None:
        ep.fin_timer = None
        ep.conn.fin_timeout(self.kernel.now)
        self.host.log("tcp", f"{ep.label}: orphan in FIN_WAIT_2 for "
                      f"{self.fin_timeout_ns // NS_PER_S} s: deleted (tcp_fin_timeout)")
        self.flush(ep)

    def _arm(self, ep: Endpoint) -> None:
        timers = ep.conn._timers  # Connection.next_deadline(), inlined (once per segment)
        deadline = min(timers.values()) if timers else None
        if deadline == ep.deadline:
            return
        self.kernel.cancel(ep.timer)
        ep.deadline = deadline
        ep.timer = None if deadline is None else self.kernel.call_at(
            max(deadline, self.kernel.now), self._on_timer, ep)

    def _on_timer(self, ep: Endpoint) -> None:
        ep.timer = ep.deadline = None
        ep.conn.on_timer(self.kernel.now)
        self.flush(ep)

    def send_segment(self, local: tuple[str, int], remote: tuple[str, int], seg: wtcp.TCP,
                     comment: str | None = None, labels: tuple[str, str] | None = None,
                     ttl: int | None = None) -> None:
        """Encode ``seg`` for ``local`` -> ``remote`` and hand it to IP (and to the tracer)."""
        self.counters["segments_out"] += 1
        if self.trace_segments:
            src, dst = labels or (self.label(*local), self.label(*remote))
            self.tracer.segment(self.kernel.now, src, dst, seg, "out")
        raw = seg.encode(local[0], remote[0])
        try:
            self.host.ip_send(remote[0], PROTO_TCP, raw, src=local[0], ttl=ttl, comment=comment)
        except OSError:
            # No route: the segment is lost like any other; TCP's timers will retry or give up.
            pass

    # -- input -----------------------------------------------------------------------------

    def on_ip(self, ip: IPv4, iface: Interface | None) -> str | None:
        """A datagram with protocol 6 arrived: find its connection or listener, or answer RST."""
        try:
            seg = wtcp.decode(ip.payload, ip.src, ip.dst)
        except DecodeError as exc:
            self.counters["malformed"] += 1
            return f"malformed TCP segment dropped: {exc}"
        if seg.checksum_ok is False:
            self.counters["bad_checksum"] += 1
            return "bad TCP checksum: dropped"
        self.counters["segments_in"] += 1
        now = self.kernel.now
        ep = self.conns.get((ip.dst, seg.dport, ip.src, seg.sport))
        if self.trace_segments:
            src, dst = ((ep.peer_label, ep.label) if ep is not None else
                        (self.label(ip.src, seg.sport), self.label(ip.dst, seg.dport)))
            self.tracer.segment(now, src, dst, seg, "in")
        if ep is not None and not seg.flags & wtcp.SYN:
            # Only a SYN can reopen from TIME_WAIT (accept_new_syn): no listener look-up.
            conn = ep.conn
            st = conn.sm.state
            if st is not State.SYN_RECEIVED and st not in _FIN_WAIT:
                # _to_connection() without its checks, which need one of those states.
                conn.receive(seg, now)
                return self.flush(ep, from_rx=True)
            return self._to_connection(ep, seg, now)
        lsock = self.listeners.get((ip.dst, seg.dport)) or self.listeners.get((ANY, seg.dport))
        isn = None
        if ep is not None:
            # RFC 6191 / RFC 1122 4.2.2.13: a listener may take a new SYN from TIME_WAIT.
            isn = ep.conn.accept_new_syn(seg, now) if lsock is not None else None
            if isn is None:
                return self._to_connection(ep, seg, now)
            self.flush(ep)
        if lsock is not None:
            return self._to_listener(lsock, ip, seg, now, isn)
        rst = rst_for(seg)
        if rst is None:
            return "no socket for this segment: dropped"
        self.counters["rst_sent"] += 1
        self.send_segment((ip.dst, seg.dport), (ip.src, seg.sport), rst)
        return f"port {seg.dport} closed: RST sent"

    def _to_connection(self, ep: Endpoint, seg: wtcp.TCP, now: int) -> str | None:
        """A segment for an existing connection (after the listener's accept-queue check)."""
        lsock = ep.listener_sock
        if (lsock is not None and lsock.listener is not None and seg.flags & wtcp.ACK
                and ep.conn.state is State.SYN_RECEIVED
                and not lsock.listener.admits(ep.conn)):
            self.counters["listen_overflows"] += 1
            return f"ACK dropped: accept queue of {lsock.listener.backlog} is full"
        if ep.conn.sm.state in _FIN_WAIT and ep.reading_shut and self._new_data(ep.conn, seg):
            return self._reset_on_data(ep, seg, now)
        ep.conn.receive(seg, now)
        return self.flush(ep, from_rx=True)

    @staticmethod
    def _new_data(conn: Connection, seg: wtcp.TCP) -> bool:
        """Data beyond RCV.NXT for a connection that has sent its FIN (FIN_WAIT_1/2)."""
        return (conn.state in _FIN_WAIT and bool(seg.payload) and not seg.flags & wtcp.RST
                and seq_gt((seg.seq + len(seg.payload)) & 0xFFFFFFFF, conn.rcv_nxt))

    def _reset_on_data(self, ep: Endpoint, seg: wtcp.TCP, now: int) -> str | None:
        """New data for a socket that will never read it: RST (RFC 9293 3.10.7.4, RFC 1122
        4.2.2.13, RFC 2525 2.17), as Linux's tcp_rcv_state_process() does in FIN_WAIT_1/2
        once the socket is closed or shut for reading. The sender learns its data was lost
        (EPIPE or ECONNRESET on its next call) instead of having it silently ACKed away."""
        conn = ep.conn
        conn.abort(now)
        # The abort's RST would carry SND.MAX; Linux answers the segment itself (SEQ=SEG.ACK),
        # which the peer accepts even if our FIN is still on its way.
        conn.pending_segments()
        rst = rst_for(seg)
        if rst is not None:
            self.counters["rst_sent"] += 1
            self.send_segment(ep.local, ep.remote, rst, labels=(ep.label, ep.peer_label))
        if ep.sock is not None:
            ep.error = errno.ECONNRESET
        note = self.flush(ep, from_rx=True)
        n = len(seg.payload)
        text = f"data after close: RST sent ({n} byte{'s' if n != 1 else ''} nobody will read)"
        return f"{text}; {note}" if note else text

    def _to_listener(self, lsock: TcpSocket, ip: IPv4, seg: wtcp.TCP, now: int,
                     isn: int | None = None) -> str | None:
        lst = lsock.listener
        before = (lst.dropped_syns, lst.cookies_sent, lst.cookies_accepted, lst.cookies_failed,
                  lst.overflows)
        child = lst.receive(seg, (ip.src, seg.sport), now, isn)
        for remote, reply in lst.pending_replies():
            self.counters["syn_cookies_sent" if reply.flags & wtcp.SYN else "rst_sent"] += 1
            self.send_segment((ip.dst, seg.dport), remote, reply)
        dropped, sent, accepted, failed, overflows = (
            now_ - then for now_, then in zip((lst.dropped_syns, lst.cookies_sent,
                                               lst.cookies_accepted, lst.cookies_failed,
                                               lst.overflows), before, strict=True))
        self.counters["syn_cookies_accepted"] += accepted
        self.counters["syn_cookies_failed"] += failed
        self.counters["listen_overflows"] += overflows
        if child is not None:
            ep = self.register(child, (ip.dst, seg.dport), (ip.src, seg.sport))
            ep.listener_sock = lsock
            ep.reuse, ep.ttl = lsock.reuseaddr, lsock.ttl
            note = self.flush(ep, from_rx=True)
            return f"SYN cookie valid; {note}" if accepted else note
        if dropped:
            self.counters["syn_dropped_backlog"] += 1
            return f"SYN dropped: accept queue of {lst.backlog} is full"
        if sent:
            return f"SYN queue of {lst.backlog} is full: SYN cookie sent"
        if overflows:
            return f"ACK dropped: accept queue of {lst.backlog} is full"
        return None

    def on_icmp_error(self, err: IcmpError) -> None:
        """ICMP destination unreachable for a connection still in SYN_SENT aborts it with the
        errno of :func:`netsim.stack.icmp.errno_for`, as Linux's tcp_v4_err does; later errors
        are soft (RFC 1122 4.2.3.9) and ignored.

        "Fragmentation needed" is path MTU discovery (RFC 1191), never an abort.
        """
        if (err.type != wicmp.DEST_UNREACHABLE or err.code == wicmp.UNREACH_FRAG_NEEDED
                or err.sport is None):
            return
        ep = self.conns.get((err.quoted.src, err.sport, err.quoted.dst, err.dport))
        if ep is None:
            return
        if ep.conn.state is State.SYN_SENT:
            ep.error = err.errno
            self.forget(ep)
            ep.waiters.notify_all()


def _shares(user: TcpSocket | Endpoint) -> bool:
    """Whether a port user lets a SO_REUSEADDR socket bind next to it: it set the flag too
    and is not listening."""
    if isinstance(user, Endpoint):
        return user.sock.reuseaddr if user.sock is not None else user.reuse
    return user.reuseaddr and user.listener is None


def _socket_errno(code: int, events: list) -> int:
    """Linux's tcp_reset(): a RST in CLOSE_WAIT (the peer had sent its FIN and we kept
    writing) reports EPIPE; elsewhere the core's errno (ECONNRESET) stands."""
    if code == errno.ECONNRESET and any(isinstance(ev, StateChange) and ev.new is State.CLOSED
                                        and ev.old is State.CLOSE_WAIT for ev in events):
        return errno.EPIPE
    return code
