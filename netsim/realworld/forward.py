"""Port forwarding: a real socket on this machine relayed to a virtual host's port.

No privileges and no special OS support: an ordinary UDP or TCP socket listens on, say,
127.0.0.1:6969, and a virtual *gateway host* (``gw``) in the simulation speaks for the real
peers. What a real client sends, ``gw`` sends from its own virtual socket to the target; what
comes back to that socket goes back out of a real socket. The packets in between are ordinary
simulated packets: they cross the routers and lossy links, and the captures show them.

Where ``gw`` goes: cabled to ``via`` (a router: on a fresh /24 from 198.18.0.0/15, the range
RFC 2544 sets aside for benchmarking, so it collides with no lab addressing; a switch or hub:
on that LAN's subnet, with a free address), by default next to the target. Routes back to the
gateway's subnet are added where the topology planner (``netsim.topo.routes``) says.

UDP is relayed like a full-cone NAT (RFC 4787 "endpoint-independent mapping"): each real
client gets its own virtual socket on ``gw``; every virtual peer that answers that socket gets
a real socket of its own, so a reply from a new port (a TFTP server's transfer ID, RFC 1350
section 4) reaches the client from a new real port too, and the client's next datagrams to
that port go back to the same virtual peer. That is what lets ``curl tftp://127.0.0.1:6969/f``
and tftp-hpa talk to a simulated TFTP server.

TCP: each accepted real connection becomes a virtual connection from ``gw``; two tasks pump
bytes, half-closes (FIN) go through, a refused virtual connect resets the real one.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections import deque
from typing import Any

from ..sim.kernel import Waiters

__all__ = ["Forwarder", "Forward", "parse_forward", "GATEWAY_RANGE"]

GATEWAY_RANGE = ipaddress.ip_network("198.18.0.0/15")
_READ_CHUNK = 65536
_UPLINK_LIMIT = 256 * 1024     # bytes read from a real TCP peer ahead of the virtual side
_BURST = 64
_RETRY_NS = 1_000_000          # a real socket that would block is retried after 1 ms


class Forward:
    """One forwarded port: ``listen`` (real) -> ``target`` (virtual ip, port)."""

    def __init__(self, proto: str, listen: tuple[str, int], host: Any, port: int):
        self.proto = proto
        self.listen = listen
        self.host = host
        self.target = (host.ip, port)
        self.clients = 0
        self.sock: socket.socket | None = None

    def __str__(self) -> str:
        return (f"{self.proto} {self.listen[0]}:{self.listen[1]} -> {self.host.name} "
                f"{self.target[0]}:{self.target[1]}")


def parse_forward(spec: str) -> tuple[str, tuple[str, int], str, int, str | None]:
    """``"udp:6969=h2:69"``, ``"tcp:127.0.0.1:8080=h2:80@r1"`` -> (proto, listen, host, port, via).

    Raises:
        ValueError: with the expected form in the message.
    """
    form = "expected [udp|tcp:][ADDRESS:]PORT=HOST:PORT[@VIA], e.g. udp:6969=h2:69"
    left, sep, right = spec.partition("=")
    if not sep:
        raise ValueError(f"forward {spec!r}: {form}")
    proto = "udp"
    if left.split(":", 1)[0].lower() in ("udp", "tcp"):
        proto, _, left = left.partition(":")
        proto = proto.lower()
    addr, _, lport = left.rpartition(":")
    right, _, via = right.partition("@")
    host, _, hport = right.rpartition(":")
    try:
        ports = int(lport), int(hport)
    except ValueError:
        raise ValueError(f"forward {spec!r}: {form}") from None
    if not host or not all(0 < p < 65536 for p in ports):
        raise ValueError(f"forward {spec!r}: {form}")
    return proto, (addr or "127.0.0.1", ports[0]), host, ports[1], via or None


class Forwarder:
    """The gateway host and every port forwarded through it."""

    def __init__(self, world: Any, gateway: Any):
        self.world = world
        self.net = world.net
        self.gw = gateway
        self.forwards: list[Forward] = []
        self.via: Any = None          # as the first forward asked (None: next to the target)
        self._closers: list[Any] = []

    # -- placing the gateway ---------------------------------------------------------------

    @classmethod
    def create(cls, world: Any, target: Any, via: Any = None, name: str = "gw") -> Forwarder:
        """Place the gateway; a host called ``name`` that the topology already has (with an
        address and routes, like ``gw`` in examples/topologies/tftp_behind_routers.yaml) is
        used as it is, unless ``via`` asks for a new one."""
        net = world.net
        existing = net.nodes.get(name)
        if via is None and existing is not None and existing.kind == "host" and existing.ip:
            return cls(world, existing)
        via = _first_hop(net, target) if via is None else (net.node(via) if isinstance(via, str) else via)
        if via.kind not in ("router", "switch", "hub"):
            raise ValueError(f"the forwarding gateway can join a router, switch or hub, not "
                             f"{via.kind} {via.name}; pass via=")
        used = _used_addresses(net)
        from ..stack.host import Host
        gw = world.add_node(Host(net, name))
        segment = getattr(via, "segment", None)   # a hub: one bit rate per collision domain
        net.link(gw, via, **({"bandwidth": segment.bandwidth_bps} if segment else {}))
        if via.kind == "router":
            subnet = _free_subnet(used)
            hosts = subnet.hosts()
            router_ip, gw_ip = next(hosts), next(hosts)
            via.set_ip(f"{router_ip}/{subnet.prefixlen}", iface=via.interfaces[-1].name)
            gw.set_ip(f"{gw_ip}/{subnet.prefixlen}", gateway=str(router_ip))
        else:
            subnet, routers = _lan_of(net, via, gw)
            gw_ip = next((a for a in reversed(list(subnet.hosts())) if str(a) not in used), None)
            if gw_ip is None:
                raise ValueError(f"no free address left on {subnet} for the forwarding gateway")
            gateway = None
            if routers and ipaddress.ip_address(target.ip) not in subnet:
                gateway = routers[0]
            gw.set_ip(f"{gw_ip}/{subnet.prefixlen}", gateway=gateway)
        _routes_back(net, gw)
        return cls(world, gw)

    # -- forwarding ------------------------------------------------------------------------

    def add(self, proto: str, listen: tuple[str, int], host: Any, port: int) -> Forward:
        if proto not in ("udp", "tcp"):
            raise ValueError(f"proto must be 'udp' or 'tcp', not {proto!r}")
        if host.ip is None:
            raise ValueError(f"{host.name} has no address to forward to")
        fwd = Forward(proto, listen, host, port)
        kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
        sock = socket.socket(socket.AF_INET, kind)
        try:
            if proto == "tcp":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(listen)
            if proto == "tcp":
                sock.listen(16)
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"cannot listen on {proto} {listen[0]}:{listen[1]}: "
                                     f"{exc.strerror}") from None
        sock.setblocking(False)
        fwd.sock = sock
        fwd.listen = sock.getsockname()        # the real port when 0 asked for any
        relay = _UdpRelay(self, fwd) if proto == "udp" else _TcpRelay(self, fwd)
        self.world.pacer.watch(sock, relay.on_readable)
        self._closers.append(relay)
        self.forwards.append(fwd)
        self.world.set_realtime(True)
        return fwd

    def watch(self, sock: socket.socket, callback: Any) -> None:
        self.world.pacer.watch(sock, callback)

    def unwatch(self, sock: socket.socket) -> None:
        if sock.fileno() >= 0:
            self.world.pacer.unwatch(sock)

    def close(self) -> None:
        for relay in self._closers:
            relay.close()
        self._closers.clear()


# -- UDP ----------------------------------------------------------------------------------------


class _UdpRelay:
    """The listening socket of one UDP forward and a mapping per real client."""

    def __init__(self, owner: Forwarder, fwd: Forward):
        self.owner, self.fwd = owner, fwd
        self.kernel = owner.net.kernel
        self.clients: dict[tuple[str, int], _UdpClient] = {}

    def on_readable(self, arrival: int) -> int:
        n = 0
        for data, addr in _recv_all(self.fwd.sock):
            client = self.clients.get(addr)
            if client is None:
                client = self.clients[addr] = _UdpClient(self, addr)
                self.fwd.clients += 1
            self.kernel.call_at(arrival, client.up, data, self.fwd.target)
            n += 1
        return n

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.owner.unwatch(self.fwd.sock)
        self.fwd.sock.close()


class _UdpClient:
    """One real client: its virtual socket on ``gw`` and a real socket per virtual peer."""

    def __init__(self, relay: _UdpRelay, addr: tuple[str, int]):
        self.relay, self.addr = relay, addr
        gw = relay.owner.gw
        self.vsock = gw.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.vsock.bind(("", 0))
        # the first virtual peer answers through the listening socket itself
        self.real_for: dict[tuple[str, int], socket.socket] = {relay.fwd.target: relay.fwd.sock}
        self.own: list[socket.socket] = []
        gw.spawn_with_host(self._down, name=f"forward udp {addr[0]}:{addr[1]} via {relay.fwd.listen[1]}")

    def up(self, data: bytes, vpeer: tuple[str, int]) -> None:
        """A datagram from the real client, for virtual ``vpeer`` (an event at its arrival)."""
        try:
            self.vsock.sendto(data, vpeer)
        except OSError as exc:   # no route, a pending ICMP error: the datagram is lost, as on Linux
            self.relay.owner.net.log(self.relay.owner.gw.name, "app",
                                     f"forward: datagram to {vpeer[0]}:{vpeer[1]} not sent: {exc}")

    def _down(self, gw: Any) -> None:
        while True:
            try:
                data, vpeer = self.vsock.recvfrom(65536)
            except ConnectionError:
                continue          # an ICMP error for an earlier datagram; UDP goes on
            except OSError:
                return            # closed
            real = self.real_for.get(vpeer)
            if real is None:
                real = self._new_real(vpeer)
            try:
                real.sendto(data, self.addr)
            except OSError:
                pass              # the real client is gone (ICMP port unreachable): a lost datagram

    def _new_real(self, vpeer: tuple[str, int]) -> socket.socket:
        real = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        real.bind((self.relay.fwd.listen[0], 0))
        real.setblocking(False)
        self.real_for[vpeer] = real
        self.own.append(real)
        kernel = self.relay.kernel

        def readable(arrival: int) -> int:
            n = 0
            for data, addr in _recv_all(real):
                if addr == self.addr:     # only the client this port was opened for
                    kernel.call_at(arrival, self.up, data, vpeer)
                    n += 1
            return n
        self.relay.owner.watch(real, readable)
        return real

    def close(self) -> None:
        for real in self.own:
            self.relay.owner.unwatch(real)
            real.close()
        self.vsock.close()


def _recv_all(sock: socket.socket) -> list[tuple[bytes, Any]]:
    out = []
    for _ in range(_BURST):
        try:
            out.append(sock.recvfrom(65536))
        except (BlockingIOError, InterruptedError):
            break
        except ConnectionRefusedError:
            continue    # ICMP port unreachable from an earlier send to a vanished client
    return out


# -- TCP ----------------------------------------------------------------------------------------


class _TcpRelay:
    """The listening socket of one TCP forward."""

    def __init__(self, owner: Forwarder, fwd: Forward):
        self.owner, self.fwd = owner, fwd
        self.pipes: list[_TcpPipe] = []

    def on_readable(self, arrival: int) -> int:
        n = 0
        for _ in range(_BURST):
            try:
                conn, addr = self.fwd.sock.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                continue   # the client gave up before we accepted (ECONNABORTED)
            conn.setblocking(False)
            self.fwd.clients += 1
            pipe = _TcpPipe(self, conn, addr)
            self.pipes.append(pipe)
            self.owner.net.kernel.call_at(arrival, pipe.start)
            n += 1
        return n

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.close()
        self.owner.unwatch(self.fwd.sock)
        self.fwd.sock.close()


class _TcpPipe:
    """One real connection and the virtual one it stands for."""

    def __init__(self, relay: _TcpRelay, real: socket.socket, addr: tuple[str, int]):
        self.relay, self.real, self.addr = relay, real, addr
        self.owner = relay.owner
        self.kernel = self.owner.net.kernel
        self.up: deque[bytes] = deque()
        self.up_bytes = 0
        self.real_eof = False          # the EOF has reached the uplink task
        self.eof_read = False          # the EOF has been read from the real socket
        self.watching = False
        self.vsock: Any = None
        self.waiters = Waiters(self.kernel)
        self.closed = False
        self.done = 0      # directions finished (2: close both)

    def start(self) -> None:
        self.owner.gw.spawn_with_host(self._connect, name=f"forward tcp {self.addr[0]}:{self.addr[1]} -> "
                                               f"{self.relay.fwd.target[0]}:{self.relay.fwd.target[1]}")

    def _connect(self, gw: Any) -> None:
        vs = self.vsock = gw.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            vs.connect(self.relay.fwd.target)
        except OSError:
            self._reset_real()     # refused or timed out in the simulation: refuse the real one
            vs.close()
            return
        self._watch()
        gw.spawn(self._downlink, name=f"forward tcp {self.addr[1]} downlink")
        self._uplink()

    # real -> virtual ------------------------------------------------------------------------

    def _watch(self) -> None:
        if not self.watching and not self.eof_read and not self.closed:
            self.watching = True
            self.owner.watch(self.real, self._readable)

    def _readable(self, arrival: int) -> int:
        chunks, eof, got = [], False, 0
        for _ in range(_BURST):
            if self.up_bytes + got >= _UPLINK_LIMIT:
                # Enough is waiting for the virtual side: stop reading, so the real sender
                # feels the simulated path's speed through its own TCP window.
                self.watching = False
                self.owner.unwatch(self.real)
                break
            try:
                data = self.real.recv(_READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:       # reset by the real peer
                data = b""
            if not data:
                eof = self.eof_read = True     # never watched again (see _watch)
                self.watching = False
                self.owner.unwatch(self.real)
                break
            chunks.append(data)
            got += len(data)
        if chunks or eof:
            self.up_bytes += got
            self.kernel.call_at(arrival, self._arrived, chunks, eof)
            return 1
        return 0

    def _arrived(self, chunks: list[bytes], eof: bool) -> None:
        self.up.extend(chunks)
        self.real_eof = self.real_eof or eof
        self.waiters.notify()

    def _uplink(self) -> None:
        vs = self.vsock
        while True:
            while not self.up and not self.real_eof and not self.closed:
                self.waiters.wait("data from the real peer")
            if self.closed:
                return
            if self.up:
                chunk = self.up.popleft()
                try:
                    vs.sendall(chunk)
                except OSError:
                    break
                self.up_bytes -= len(chunk)
                if self.up_bytes < _UPLINK_LIMIT // 2:
                    self._watch()
                continue
            try:
                vs.shutdown(socket.SHUT_WR)   # the real peer's FIN, passed on
            except OSError:
                pass
            break
        self._finished()

    # virtual -> real ------------------------------------------------------------------------

    def _downlink(self) -> None:
        vs = self.vsock
        while True:
            try:
                data = vs.recv(_READ_CHUNK)
            except OSError:
                self._reset_real()
                break
            if not data:
                try:
                    self.real.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                break
            if not self._send_real(data):
                self.close()      # the real peer is gone: drop the virtual side too
                return
        self._finished()

    def _send_real(self, data: bytes) -> bool:
        view = memoryview(data)
        while view:
            try:
                view = view[self.real.send(view):]
            except (BlockingIOError, InterruptedError):
                # The real reader is slower than the simulation: wait a little virtual time
                # (in real time, wall time) and try again.
                self.kernel.sleep(_RETRY_NS)
            except OSError:
                return False
        return True

    def _reset_real(self) -> None:
        """Close the real socket with RST (SO_LINGER 0), as a refused or reset peer does."""
        if not self.closed:
            try:
                self.real.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.close()

    def _finished(self) -> None:
        self.done += 1
        if self.done >= 2:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.watching:
            self.owner.unwatch(self.real)
            self.watching = False
        self.real.close()
        if self.vsock is not None:
            self.vsock.close()
        self.waiters.notify_all()


# -- placement helpers ----------------------------------------------------------------------------


def _used_addresses(net: Any) -> set[str]:
    used = set()
    for node in net.nodes.values():
        addresses = getattr(node, "addresses", None)
        if callable(addresses):
            used.update(c.split("/")[0] for _, c in addresses())
    return used


def _free_subnet(used: set[str]) -> ipaddress.IPv4Network:
    taken = [ipaddress.ip_address(a) for a in used]
    for subnet in GATEWAY_RANGE.subnets(new_prefix=24):
        if not any(a in subnet for a in taken):
            return subnet
    raise ValueError("no free /24 left in 198.18.0.0/15 for the forwarding gateway")


def _first_hop(net: Any, target: Any) -> Any:
    """The device on the other end of the target's first cable (a switch, hub or router)."""
    g = net.graph
    if not target.interfaces:
        raise ValueError(f"{target.name} has no cable; cannot place the forwarding gateway")
    first = target.interfaces[0].name
    for other in g.neighbors(target.name):
        data = g.edges[target.name, other]
        cables = data.get("cables") or [{"interfaces": data["interfaces"]}]
        if any(c["interfaces"].get(target.name) == first for c in cables):
            return net.nodes[other]
    raise ValueError(f"cannot find what {target.name} eth0 is cabled to; pass via=")


def _lan_of(net: Any, box: Any, gw: Any) -> tuple[ipaddress.IPv4Network, list[str]]:
    """The subnet of the LAN behind switch/hub ``box`` and the routers' addresses on it."""
    g = net.graph
    seen, stack, members = {box.name}, [box.name], []
    while stack:
        name = stack.pop()
        for other in g.neighbors(name):
            data = g.edges[name, other]
            cables = data.get("cables") or [{"interfaces": data["interfaces"]}]
            if g.nodes[other]["kind"] in ("host", "router"):
                members += [(other, c["interfaces"][other]) for c in cables]
            elif other not in seen:
                seen.add(other)
                stack.append(other)
    subnet, routers = None, []
    for name, iface in members:
        if name == gw.name:
            continue
        for ifname, cidr in g.nodes[name].get("addresses", ()):
            if ifname == iface:
                here = ipaddress.ip_interface(cidr)
                subnet = subnet or here.network
                if g.nodes[name]["kind"] == "router" and here.ip in subnet:
                    routers.append(str(here.ip))
    if subnet is None:
        raise ValueError(f"no addressed host or router on {box.name}'s LAN: cannot pick an "
                         "address for the forwarding gateway")
    return subnet, routers


def _routes_back(net: Any, gw: Any) -> None:
    """Routes to the gateway's subnet, where the topology planner would put them."""
    from ..topo.routes import plan_routes
    subnet = str(ipaddress.ip_interface(gw.addresses()[0][1]).network)
    for route in plan_routes(net.graph):
        node = net.nodes[route.node]
        mine = route.node == gw.name and node.gateway is None
        if route.prefix == subnet or mine:
            if route.prefix not in {str(r.prefix) for r in node.routes()}:
                node.add_route(route.prefix, via=route.via)


def forward(net: Any, listen: tuple[str, int] | int, host: Any, port: int, proto: str = "udp",
            via: Any = None, gateway: str = "gw") -> Forward:
    """Relay real ``listen`` to virtual ``host``:``port`` through the gateway (see the module).

    Raises:
        ValueError: a bad protocol, a host without address, nowhere to put the gateway.
        OSError: the real address cannot be bound (EADDRINUSE...).
    """
    from .world import realworld_of
    world = realworld_of(net)
    host = net.node(host) if isinstance(host, str) else host
    if isinstance(listen, int):
        listen = ("127.0.0.1", listen)
    if world.forwarder is None:
        world.forwarder = Forwarder.create(world, host, via, gateway)
        world.forwarder.via = via
    elif via is not None and str(getattr(via, "name", via)) != str(
            getattr(world.forwarder.via, "name", world.forwarder.via)):
        raise ValueError(f"the forwarding gateway {world.forwarder.gw.name} is already placed "
                         f"(via={world.forwarder.via!r}); every forward of a network shares it")
    return world.forwarder.add(proto, tuple(listen), host, port)
