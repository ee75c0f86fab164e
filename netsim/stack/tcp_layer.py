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
from ..trace.tcptrace import TcpTracer, state_name
from ..wire import icmp as wicmp
from ..wire import tcp as wtcp
from ..wire.errors import DecodeError
from ..wire.ipv4 import PROTO_TCP, IPv4
from .ports import ANY, pick_ephemeral, port_taken
from .tcp import (
    CongestionUpdate,
    Connected,
    Connection,
    Error,
    State,
    StateChange,
    TcpConfig,
    Writable,
    rst_for,
)

if TYPE_CHECKING:
    from ..net.interface import Interface
    from .icmp import IcmpError
    from .services import IpServices
    from .tcp_socket import TcpSocket

__all__ = ["TcpLayer", "Endpoint"]


class Endpoint:
    """A connection registered in the demultiplexer, with its timer and its waiting tasks."""

    __slots__ = ("conn", "local", "remote", "sock", "listener_sock", "timer", "deadline",
                 "waiters", "label", "peer_label", "error")

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
        self.error = 0


class TcpLayer:
    """One host's TCP: demultiplexing, timers, RSTs for strays, tracing.

    Args:
        host: the owner, through its :class:`~netsim.stack.services.IpServices`.
        tracer: the network's tracer (one per network, shared by all hosts).
        trace_segments: give the tracer a ladder row per segment and every congestion update;
            False keeps state changes only (``Network(trace=False)`` is for speed).
    """

    def __init__(self, host: IpServices, tracer: TcpTracer, trace_segments: bool = True):
        self.host = host
        self.kernel = host.kernel
        self.config = TcpConfig()
        self.conns: dict[tuple[str, int, str, int], Endpoint] = {}
        self.listeners: dict[tuple[str, int], TcpSocket] = {}
        self.bound: set[TcpSocket] = set()
        self.by_conn: dict[int, Endpoint] = {}
        self.counters = {"segments_in": 0, "segments_out": 0, "rst_sent": 0, "bad_checksum": 0,
                         "malformed": 0, "syn_dropped_backlog": 0}
        self.tracer = tracer
        self.trace_segments = trace_segments
        # Called with (endpoint label, CongestionUpdate) on every change of a connection's
        # cwnd, ssthresh, RTT estimate or recovery state: for a tracer or a lab to record.
        self.on_congestion = None
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

    # -- ports -----------------------------------------------------------------------------

    def _port_users(self, port: int) -> list[tuple[str, TcpSocket | Endpoint]]:
        users: list[tuple[str, TcpSocket | Endpoint]] = [(s.local[0], s) for s in self.bound if s.local[1] == port]
        users += [(ep.local[0], ep) for ep in self.conns.values() if ep.local[1] == port]
        return users

    def port_free(self, ip: str, port: int, reuseaddr: bool, me: TcpSocket | None = None) -> bool:
        """Linux's rule (:mod:`netsim.stack.ports`): a port is taken by a bound socket or a
        live connection on an overlapping address; a connection in TIME_WAIT only blocks a
        socket without SO_REUSEADDR."""
        users = [(addr, user) for addr, user in self._port_users(port)
                 if not (me is not None and (user is me or getattr(user, "sock", None) is me))]
        return not port_taken(users, ip, lambda user: reuseaddr and isinstance(user, Endpoint)
                              and user.conn.state is State.TIME_WAIT)

    def ephemeral(self, ip: str) -> int:
        """A free ephemeral port for ``ip`` (OSError EADDRNOTAVAIL when none is left)."""
        return pick_ephemeral(self.kernel.rng, lambda port: self.port_free(ip, port, False),
                              errno.EADDRNOTAVAIL)

    # -- connections -----------------------------------------------------------------------

    def register(self, conn: Connection, local: tuple[str, int], remote: tuple[str, int]) -> Endpoint:
        ep = Endpoint(self, conn, local, remote)
        self.conns[(local[0], local[1], remote[0], remote[1])] = ep
        self.by_conn[id(conn)] = ep
        return ep

    def forget(self, ep: Endpoint) -> None:
        """Remove a connection from the demultiplexer and stop its timer."""
        key = (ep.local[0], ep.local[1], ep.remote[0], ep.remote[1])
        if self.conns.get(key) is ep:
            del self.conns[key]
        self.by_conn.pop(id(ep.conn), None)
        self.kernel.cancel(ep.timer)
        ep.timer = ep.deadline = None

    def flush(self, ep: Endpoint, from_rx: bool = False) -> str | None:
        """Send what the connection produced, report its events, re-arm its timer.

        Returns the state-change note when called for a received segment (it becomes the
        capture comment of that segment).
        """
        conn = ep.conn
        segs = conn.pending_segments()
        notes: list[str] = []
        wake = False
        for ev in conn.pop_events():
            if isinstance(ev, StateChange):
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
                wake = wake or conn.send_space * 3 >= conn.cfg.snd_buf
            else:
                wake = True
                if isinstance(ev, Connected) and ep.listener_sock is not None:
                    ep.listener_sock.wake_all()
                elif isinstance(ev, Error):
                    ep.error = ev.errno
        comment = "; ".join(notes) if notes and not from_rx else None
        for seg in segs:
            self.send_segment(ep.local, ep.remote, seg, comment, (ep.label, ep.peer_label))
            comment = None
        if wake or notes:
            ep.waiters.notify_all()
            if ep.listener_sock is not None and conn.state is State.CLOSED:
                ep.listener_sock.wake_all()
        if conn.state is State.CLOSED:
            self.forget(ep)
        else:
            self._arm(ep)
        return "; ".join(notes) if notes and from_rx else None

    def _arm(self, ep: Endpoint) -> None:
        deadline = ep.conn.next_deadline()
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
                     comment: str | None = None, labels: tuple[str, str] | None = None) -> None:
        """Encode ``seg`` for ``local`` -> ``remote`` and hand it to IP (and to the tracer)."""
        self.counters["segments_out"] += 1
        if self.trace_segments:
            src, dst = labels or (self.label(*local), self.label(*remote))
            self.tracer.segment(self.kernel.now, src, dst, seg, "out")
        raw = seg.encode(local[0], remote[0])
        try:
            self.host.ip_send(remote[0], PROTO_TCP, raw, src=local[0], comment=comment)
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
        lsock = self.listeners.get((ip.dst, seg.dport)) or self.listeners.get((ANY, seg.dport))
        isn = None
        if ep is not None:
            # RFC 6191 / RFC 1122 4.2.2.13: a listener may take a new SYN from TIME_WAIT.
            isn = ep.conn.accept_new_syn(seg, now) if lsock is not None else None
            if isn is None:
                ep.conn.receive(seg, now)
                return self.flush(ep, from_rx=True)
            self.flush(ep)
        if lsock is not None:
            return self._to_listener(lsock, ip, seg, now, isn)
        rst = rst_for(seg)
        if rst is None:
            return "no socket for this segment: dropped"
        self.counters["rst_sent"] += 1
        self.send_segment((ip.dst, seg.dport), (ip.src, seg.sport), rst)
        return f"port {seg.dport} closed: RST sent"

    def _to_listener(self, lsock: TcpSocket, ip: IPv4, seg: wtcp.TCP, now: int,
                     isn: int | None = None) -> str | None:
        lst = lsock.listener
        dropped = lst.dropped_syns
        child = lst.receive(seg, (ip.src, seg.sport), now, isn)
        for remote, reply in lst.pending_replies():
            self.counters["rst_sent"] += 1
            self.send_segment((ip.dst, seg.dport), remote, reply)
        if child is not None:
            ep = self.register(child, (ip.dst, seg.dport), (ip.src, seg.sport))
            ep.listener_sock = lsock
            return self.flush(ep, from_rx=True)
        if lst.dropped_syns > dropped:
            self.counters["syn_dropped_backlog"] += 1
            return f"SYN dropped: listen backlog of {lst.backlog} is full"
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
