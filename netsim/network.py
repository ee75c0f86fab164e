"""The public facade: a :class:`Network` of hosts, hubs, switches and routers in virtual time.

``Network`` owns the kernel (clock, events, tasks, the one seeded RNG), the nodes and links,
the trace log and the captures. Everything else in netsim is reachable from here, which is
why this module sits above the layers it composes.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from .devices.node import Node
from .net.interface import Interface
from .net.link import Link
from .sim.kernel import Kernel, Task
from .sim.units import NS_PER_S, parse_rate, parse_time
from .trace.events import TraceEvent, TraceLog
from .trace.tcptrace import TcpTracer

__all__ = ["Network", "NetworkCapture"]

_DIRECTION_KIND = {"out": "tx", "in": "rx", "drop": "drop", "collision": "collision"}


@functools.lru_cache(maxsize=64)
def _parsed(parse: Callable[[str], int], value: str) -> int:
    return parse(value)


def _cable_value(parse: Callable[[str | float], int], value: str | float) -> int:
    """``parse(value)``, giving every cable made with the same "1Gbps" one int (issue 16)."""
    return _parsed(parse, value) if type(value) is str else parse(value)


class Network:
    """A simulated network.

    Args:
        seed: seeds the one RNG behind every random choice (loss, backoff, ISNs, ports).
        trace: keep an event log of every frame and protocol event (``net.trace``); pass an int
            to bound it (and the TCP tracer's congestion updates) to that many events, False
            to switch it off (fastest).
    """

    # Told about every Network made and every capture opened while a ``with
    # Network.observe(...)`` block is open: the stepper, ``netsim lab --realtime/--live``.
    _observers: ClassVar[list[Any]] = []

    def __init__(self, seed: int = 0, trace: bool | int = True):
        self.seed = seed
        self.kernel = Kernel(seed)
        self.nodes: dict[str, Node] = {}
        self.links: list[Any] = []
        bound = trace if not isinstance(trace, bool) and isinstance(trace, int) else 200_000
        self.trace = TraceLog(maxlen=bound)
        # Every host's TCP reports its segments, state changes and congestion updates here
        # (ladders, labs); bounded like the trace, and keeping nothing when tracing is off.
        self.tcp_tracer = TcpTracer(limit=bound, enabled=bool(trace), max_updates=bound)
        # The checked YAML description, when the network was built from a topology file.
        self.topology: Any = None
        # True while a tool (``netsim step``) drives time with step(): see :meth:`observe`.
        self.driven = False
        self._tracing = bool(trace)
        self._mac_counter = 0
        self._captures: list[NetworkCapture] = []
        self._l2: dict[str, set[str]] = {}  # switch/hub adjacency, to refuse loops
        self._owners: dict[str, str] = {}   # ip -> node name, checked on use (owner_of)
        self.realworld: Any = None  # netsim.realworld.world.RealWorld, made on first use
        for observer in list(Network._observers):
            observer.network_created(self)

    # -- time ------------------------------------------------------------------------------

    @property
    def now(self) -> int:
        """Virtual time in integer nanoseconds."""
        return self.kernel.now

    @property
    def time(self) -> float:
        """Virtual time in seconds."""
        return self.kernel.now / NS_PER_S

    @property
    def rng(self):
        return self.kernel.rng

    # -- building --------------------------------------------------------------------------

    def add_node(self, node: Node) -> Node:
        """Add a node built elsewhere (a device class of your own, or a test station).

        ``add_host`` and the other ``add_*`` methods build their node and call this.

        Raises:
            ValueError: the name is taken, or is not letters, digits, '-' and '_'.
        """
        if node.name in self.nodes:
            raise ValueError(f"a node named {node.name!r} already exists")
        if not node.name or not node.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"node name {node.name!r} must be letters, digits, '-' or '_'")
        self.nodes[node.name] = node
        return node

    def add_host(self, name: str, **options: Any):
        """Add a host with an IPv4 stack; ``options`` go to :class:`netsim.stack.Host`."""
        from .stack.host import Host
        return self.add_node(Host(self, name, **options))

    def add_router(self, name: str, **options: Any):
        """Add a router: a host that forwards IPv4 between its interfaces."""
        from .stack.host import Router
        return self.add_node(Router(self, name, **options))

    def add_switch(self, name: str, **options: Any):
        """Add a learning switch (``aging="300s"`` by default)."""
        from .devices.switch import Switch
        return self.add_node(Switch(self, name, **options))

    def add_hub(self, name: str, **options: Any):
        """Add a hub: a repeater making one half-duplex collision domain."""
        from .devices.hub import Hub
        return self.add_node(Hub(self, name, **options))

    def node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise KeyError(f"no node named {name!r}; nodes are {', '.join(self.nodes)}") from None

    def __getitem__(self, name: str) -> Node:
        return self.node(name)

    def allocate_mac(self) -> str:
        """The next deterministic, locally administered unicast MAC (02:00:00:00:00:01, ...)."""
        self._mac_counter += 1
        n = self._mac_counter
        return "02:00:" + ":".join(f"{(n >> s) & 0xFF:02x}" for s in (24, 16, 8, 0))

    def link(self, a: Node | str, b: Node | str, *, bandwidth: str | int = "100Mbps",
             delay: str | float = "1us", loss: float = 0.0, mtu: int = 1500, queue: int = 100,
             duplicate: float = 0.0, reorder: float = 0.0, allow_loop: bool = False) -> Any:
        """Connect two nodes with a cable; each gets a new interface (eth0, eth1, ...).

        A cable to a hub joins the hub's collision domain (half duplex, CSMA/CD); any other
        cable is a full-duplex :class:`netsim.net.Link`.

        Raises:
            ValueError: a cable that closes a loop of switches and hubs (a broadcast storm:
                there is no spanning tree here) unless ``allow_loop``; bad parameters.
        """
        a = self.node(a) if isinstance(a, str) else a
        b = self.node(b) if isinstance(b, str) else b
        if a is b:
            raise ValueError(f"cannot link {a.name} to itself")
        if a.kind in ("switch", "hub") and b.kind in ("switch", "hub"):
            path = self._l2_path(a.name, b.name)
            if path and not allow_loop:
                loop = " - ".join([*path, path[0]])
                raise ValueError(f"{loop}: a loop of switches and hubs makes a broadcast storm "
                                 "(netsim has no spanning tree); pass allow_loop=True to build it")
            self._l2.setdefault(a.name, set()).add(b.name)
            self._l2.setdefault(b.name, set()).add(a.name)
        params = dict(bandwidth_bps=_cable_value(parse_rate, bandwidth),
                      delay_ns=_cable_value(parse_time, delay), loss=loss,
                      mtu=mtu, queue_len=queue, duplicate=duplicate, reorder=reorder)
        ia, ib = a.add_interface(), b.add_interface()
        from .devices.hub import Hub
        if isinstance(a, Hub) or isinstance(b, Hub):
            hub, port, other = (a, ia, ib) if isinstance(a, Hub) else (b, ib, ia)
            medium = hub.connect(port, other, **params)
        else:
            medium = Link(self.kernel, ia, ib, **params)
        self.links.append(medium)
        for iface in (ia, ib):
            self._watch(iface)
        return medium

    def _l2_path(self, src: str, dst: str) -> list[str] | None:
        """A path of switch/hub names from ``src`` to ``dst`` over existing cables, if any."""
        prev: dict[str, str | None] = {src: None}
        frontier = [src]
        while frontier:
            nxt = []
            for name in frontier:
                for other in sorted(self._l2.get(name, ())):
                    if other not in prev:
                        prev[other] = name
                        nxt.append(other)
            frontier = nxt
        if dst not in prev:
            return None
        path, node = [], dst
        while node is not None:
            path.append(node)
            node = prev[node]
        return path[::-1]

    def _watch(self, iface: Interface) -> None:
        if self._tracing:
            iface.taps.append(self._trace_tap)
        for cap in self._captures:
            cap._maybe_add(iface)

    def _trace_tap(self, iface: Interface, time_ns: int, frame: bytes, direction: str,
                   comment: str | None) -> None:
        self.trace.append(TraceEvent(time_ns, iface.node.name, iface.name,
                                     _DIRECTION_KIND[direction], frame, comment))

    def log(self, node: str, kind: str, note: str) -> None:
        """Record a protocol or application event (e.g. a TCP state change) in the trace."""
        if self._tracing:
            self.trace.append(TraceEvent(self.kernel.now, node, None, kind, None, note))

    @property
    def tracing(self) -> bool:
        """Whether frames and protocol events go to ``net.trace`` (``Network(trace=False)``
        switches it off, and TCP then records state changes only, not every segment)."""
        return self._tracing

    def owner_of(self, ip: str) -> str | None:
        """The name of the node that has address ``ip`` now, or None.

        Addresses move (``set_ip`` replaces an interface's address), so a remembered owner is
        checked against that node's addresses on every use and looked up afresh when it no
        longer has it; an address nobody has is not remembered.
        """
        name = self._owners.get(ip)
        if name is not None and _has_address(self.nodes.get(name), ip):
            return name
        for node in self.nodes.values():
            if _has_address(node, ip):
                self._owners[ip] = node.name
                return node.name
        self._owners.pop(ip, None)
        return None

    @property
    def hosts(self) -> list:
        from .stack.host import Host, Router
        return [n for n in self.nodes.values() if isinstance(n, Host) and not isinstance(n, Router)]

    @property
    def routers(self) -> list:
        from .stack.host import Router
        return [n for n in self.nodes.values() if isinstance(n, Router)]

    def interfaces(self) -> list[Interface]:
        return [i for n in self.nodes.values() for i in n.interfaces]

    def auto_ip(self, prefix: str, nodes: Iterable[Node | str] | None = None,
                gateway: str | None = None) -> None:
        """Number hosts .1, .2, ... from ``prefix`` in the order they were added."""
        net = ipaddress.ip_network(prefix, strict=False)
        targets = [self.node(n) if isinstance(n, str) else n for n in nodes] if nodes else self.hosts
        addrs = net.hosts()
        for node in targets:
            node.set_ip(f"{next(addrs)}/{net.prefixlen}", gateway=gateway)

    # -- running ---------------------------------------------------------------------------

    def run(self, until: str | float | Callable[[TraceEvent], bool] | None = None,
            duration: str | float | None = None, *, realtime: bool | None = None,
            max_lag: Any = None) -> None:
        """Run the simulation.

        Args:
            until: an absolute virtual time ("5s", 0.2) or a predicate on each new trace event
                (``lambda ev: ev.kind == "rx" and ev.node == "h2"``); None runs until idle.
            duration: alternatively, how long to run from now.
            realtime: pace this run to the wall clock (see :meth:`realtime`); None keeps the
                network's setting (on once anything real is attached).
            max_lag: with real time, abort when virtual time falls this far behind ("10ms");
                None is best effort.

        Does nothing while the network is ``driven`` by a tool (see :meth:`observe`).

        Raises:
            Exception: whatever a task raised, with a note naming the task and the time.
            netsim.realworld.RealtimeLagError: the hard real-time limit was passed.
        """
        if self.driven:
            return
        if realtime is not None or max_lag is not None:
            from .realworld.world import UNSET, paced_run
            paced = True if realtime is None else realtime   # a limit asks for real time
            with paced_run(self, paced, UNSET if max_lag is None else max_lag):
                return self.run(until, duration)
        kernel = self.kernel
        if duration is not None:
            kernel.run(until_ns=kernel.now + parse_time(duration))
        elif until is None:
            kernel.run()
        elif callable(until):
            hit = []

            def watch(ev: TraceEvent) -> None:
                if not hit and until(ev):
                    hit.append(ev)
                    kernel.stop()
            unsubscribe = self.trace.subscribe(watch)
            try:
                kernel.run()
            finally:
                unsubscribe()
        else:
            kernel.run(until_ns=parse_time(until))
        for cap in self._captures:
            cap.flush()

    def step(self) -> list[TraceEvent] | None:
        """Run exactly one kernel event; returns the trace events it produced (None if idle)."""
        new: list[TraceEvent] = []
        unsubscribe = self.trace.subscribe(new.append)
        try:
            ran = self.kernel.step()
        finally:
            unsubscribe()
        return new if ran else None

    def blocked_tasks(self) -> list[Task]:
        """Tasks still waiting (``task.waiting_on`` says on what) after the network went idle."""
        return self.kernel.blocked_tasks()

    @classmethod
    @contextmanager
    def observe(cls, observer: Any) -> Iterator[None]:
        """Tell ``observer`` about every Network created inside the ``with`` block.

        ``observer`` is a callable, called as ``observer(net)``, or an object with
        ``network_created(net)`` and optionally ``capture_opened(net, capture)``.

        This is the hook for tools that run someone else's script: ``netsim step`` loads a
        script inside ``observe`` and sets ``net.driven = True`` on each network it creates, so
        the script's own ``net.run()`` returns at once and its ``net.capture(...)`` records
        nothing while the stepper advances time with :meth:`step` (and re-runs the script to
        step back).
        """
        if not hasattr(observer, "network_created"):
            observer = _CallbackObserver(observer)
        cls._observers.append(observer)
        try:
            yield
        finally:
            cls._observers.remove(observer)

    # -- observing -------------------------------------------------------------------------

    def capture(self, path: Any, interfaces: Iterable[Interface | str] | None = None,
                format: str | None = None, *, on_broken_pipe: str = "stop") -> NetworkCapture:
        """Record frames to a pcapng (default) or pcap file; use as a context manager.

        Args:
            path: output file; parent folders are created. ``.pcap`` selects classic pcap.
                A binary stream (a pipe, FIFO, ``sys.stdout.buffer``) gets a live pcapng
                capture instead: every block written whole and flushed as its frame happens.
            interfaces: interfaces or nodes (objects, or names like "h1-eth0" / "h1"); all
                interfaces, including ones created later, when None.
            on_broken_pipe: for a stream whose reader goes away: "stop" raises
                ``netsim.realworld.LiveReaderGone``, "continue" goes on without it (both say
                so in one line on stderr).

        While the network is ``driven`` (see :meth:`observe`) nothing is recorded and no file
        is written.
        """
        if self.driven:
            return _IdleCapture(Path(path))
        if hasattr(path, "write"):
            if format not in (None, "pcapng"):
                raise ValueError("a live capture is pcapng (interface names and comments)")
            from .realworld.live import LiveCapture
            return LiveCapture(self, path, interfaces, on_broken_pipe=on_broken_pipe)
        cap = NetworkCapture(self, Path(path), interfaces, format)
        self._captures.append(cap)
        for observer in Network._observers:
            opened = getattr(observer, "capture_opened", None)
            if opened is not None:
                opened(self, cap)
        return cap

    def view(self, until: str | float | None = "60s", max_events: int | None = 100_000,
             title: str = "network"):
        """The simulation viewer of this network: a page Jupyter shows inline.

        A network that has not run yet runs here (until idle, ``until`` or ``max_events``)
        with its device tables recorded as they change; one that already ran is shown from
        its trace log. ``.save("run.html")`` writes one self-contained offline file.

        Returns:
            A ``netsim.viewer.ViewerDocument`` (``_repr_html_`` for Jupyter, ``.html``).
        """
        from .viewer.export import view_network
        return view_network(self, title=title, until=until, max_events=max_events)

    def capture_targets(self, interfaces: Iterable[Interface | Node | str] | None
                        ) -> tuple[list[Interface], set[str] | None]:
        """The interfaces a capture records: from objects, nodes or names ("h1", "h1-eth0").

        Returns ``(interfaces, wanted)``: ``wanted`` is None for "every interface, including
        ones created later", else the full names chosen (file and live captures share this).
        """
        if interfaces is None:
            return self.interfaces(), None
        targets: list[Interface] = []
        for item in interfaces:
            if isinstance(item, Interface):
                targets.append(item)
            elif isinstance(item, Node):
                targets.extend(item.interfaces)
            elif item in self.nodes:
                targets.extend(self.nodes[item].interfaces)
            else:
                node, _, ifname = item.rpartition("-")
                targets.append(self.node(node).iface(ifname))
        return targets, {t.fullname for t in targets}

    def stats(self):
        """Per-interface and per-device counters (printable as a table)."""
        from .trace.stats import NetworkStats
        return NetworkStats.collect(self)

    # -- topology (netsim.topo) ------------------------------------------------------------

    @property
    def graph(self):
        """The topology as a networkx graph (nodes with kind and addresses, edges with link parameters)."""
        from .topo.graph import to_graph
        return to_graph(self)

    def auto_routes(self) -> None:
        """Give every router and host static routes computed from the topology graph."""
        from .topo.routes import auto_routes
        auto_routes(self)

    def draw(self, path: str | Path) -> Path:
        """Write a PNG or SVG picture of the topology with addresses."""
        from .topo.drawing import draw
        return draw(self, Path(path))

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> Network:
        """Build a network from a YAML topology file (errors name the line)."""
        from .topo.yamlfile import load_topology
        return load_topology(path, cls, **kwargs)

    # -- the real world (netsim.realworld) -------------------------------------------------

    def realtime(self, enabled: bool = True, max_lag: Any = None) -> None:
        """Pace every later run to the wall clock, as ns-3's real-time scheduler does.

        Virtual time then passes no faster than wall time; a run that cannot keep up reports
        its lag (``net.lag``). Nothing else changes: with nothing external attached, a
        real-time run gives the same results and captures as a normal one.

        Args:
            enabled: False goes back to as-fast-as-possible runs (refused while something
                real is attached).
            max_lag: a hard limit ("10ms"): the run aborts with
                ``netsim.realworld.RealtimeLagError`` past it; None is best effort.
        """
        from .realworld.world import realworld_of
        realworld_of(self).set_realtime(enabled, max_lag)

    @property
    def lag(self):
        """The real-time lag so far (``netsim.realworld.LagReport``: max, mean), or None."""
        return self.realworld.lag if self.realworld is not None else None

    def attach(self, node: Node | str, ifname: str, **options: Any):
        """Plug the existing Linux interface ``ifname`` into ``node`` (a switch or hub port,
        or a new NIC of a host or router) by a simulated cable. Needs CAP_NET_RAW.

        Frames read there enter the simulation as from a cable; frames sent to it are written
        out there. Runs become real time. Options: ``ip`` (the new NIC's address), ``name``,
        ``check_offloads``, and cable parameters as for :meth:`link`.

        Returns:
            The ``netsim.realworld.RealPort`` (``.sim_iface`` is the simulated end).

        Raises:
            netsim.realworld.MissingCapability: one line naming the capability.
        """
        from .realworld.port import attach
        return attach(self, node, ifname, **options)

    def add_tap(self, tapname: str, node: Node | str, **options: Any):
        """Create TAP device ``tapname`` (``/dev/net/tun``, needs CAP_NET_ADMIN) and plug it
        into ``node`` as :meth:`attach` does; ``linux_ip`` addresses the Linux side."""
        from .realworld.port import add_tap
        return add_tap(self, tapname, node, **options)

    def forward(self, listen: tuple[str, int] | int, host: Node | str, port: int,
                proto: str = "udp", via: Node | str | None = None):
        """Relay a real UDP/TCP socket on this machine (``("127.0.0.1", 6969)``) to ``host``'s
        ``port`` through a virtual gateway host (``gw``, cabled to ``via``, by default next to
        the target). No privileges needed; the relayed packets are real in the simulation and
        its captures. Runs become real time.

        Returns:
            A ``netsim.realworld.forward.Forward``.
        """
        from .realworld.forward import forward
        return forward(self, listen, host, port, proto=proto, via=via)

    def detach(self) -> None:
        """Close every real interface, TAP and forwarded port; runs are ordinary again."""
        if self.realworld is not None:
            self.realworld.close()


def _has_address(node: Node | None, ip: str) -> bool:
    addresses = getattr(node, "addresses", None)  # layer-2 devices have none
    return addresses is not None and any(cidr.split("/")[0] == ip for _, cidr in addresses())


class NetworkCapture:
    """A capture in progress: one interface block per captured interface, streamed to disk."""

    def __init__(self, net: Network, path: Path, interfaces, format: str | None):
        from .capture import PcapngWriter, PcapWriter
        self.net = net
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fmt = format or ("pcap" if path.suffix == ".pcap" else "pcapng")
        if fmt not in ("pcap", "pcapng"):
            raise ValueError(f"capture format must be 'pcap' or 'pcapng', not {fmt!r}")
        self.format = fmt
        self._writer = PcapngWriter(str(path)) if fmt == "pcapng" else PcapWriter(str(path))
        self._ids: dict[Interface, int] = {}
        self.frames = 0
        self.closed = False
        targets, self._wanted = net.capture_targets(interfaces)
        for iface in targets:
            self._add(iface)

    def _maybe_add(self, iface: Interface) -> None:
        if not self.closed and self._wanted is None:
            self._add(iface)

    def _add(self, iface: Interface) -> None:
        if iface in self._ids:
            return
        if self.format == "pcapng":
            desc = f"{iface.node.kind} {iface.node.name} port {iface.name} ({iface.mac})"
            self._ids[iface] = self._writer.add_interface(iface.fullname, description=desc)
        else:
            self._ids[iface] = 0
        iface.taps.append(self._tap)

    def _tap(self, iface: Interface, time_ns: int, frame: bytes, direction: str,
             comment: str | None) -> None:
        if (direction == "drop" and not comment) or direction == "collision":
            return  # a collided attempt never reached anyone (the trace keeps it)
        self.frames += 1
        if self.format == "pcapng":
            self._writer.write(self._ids[iface], time_ns, frame, comment=comment,
                               direction=direction if direction != "drop" else "out")
        else:
            self._writer.write(time_ns, frame)

    # It only writes the frame: it reads no counter and cannot stop a run, so a flood may
    # count the quiet receptions of other hosts in bulk around it (netsim.net.bulk).
    _tap.quiet_safe = True  # type: ignore[attr-defined]

    def flush(self) -> None:
        if not self.closed:
            self._writer.flush()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for iface in self._ids:
            if self._tap in iface.taps:
                iface.taps.remove(self._tap)
        self._writer.close()
        if self in self.net._captures:
            self.net._captures.remove(self)

    def __enter__(self) -> NetworkCapture:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _CallbackObserver:
    """A plain callable used as a :meth:`Network.observe` observer."""

    __slots__ = ("network_created",)

    def __init__(self, callback: Callable[[Network], None]) -> None:
        self.network_created = callback


class _IdleCapture:
    """What ``capture()`` returns while a tool drives the network: it records nothing (the
    stepper re-runs a script for every step back, and must not rewrite its files)."""

    frames = 0

    def __init__(self, path: Path):
        self.path = path
        self.closed = False

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> _IdleCapture:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
