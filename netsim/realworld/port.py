"""A real interface as a device of the simulated network: the far end of one simulated cable.

``net.attach(s1, "veth0")`` makes a :class:`RealPort` node called after the real interface,
with one interface whose capture name is the real name (``veth0``), and cables it to ``s1``
like any other device (a hub port, a switch port, a host's or router's NIC). The port is a
bridge, so the simulation sees the real network as if a cable ran to it:

* a frame read from the real interface is sent by the port onto its cable at the virtual time
  it arrived (the cable then adds its serialisation and propagation delay, and its loss);
* a frame the simulation delivers to the port is written to the real interface.

The captures show both: ``veth0`` (out) then ``s1-eth3`` (in) for a frame from outside, and the
reverse for one going out.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..devices.node import Node
from ..net.interface import Interface
from .oslink import PacketSocket, TapDevice, hardware_address, offload_problems

__all__ = ["RealPort", "RealWorldWarning", "attach", "add_tap"]


class RealWorldWarning(UserWarning):
    """Something outside netsim may change what the simulation sees (offloads, big frames)."""


def _node_name(real: str) -> str:
    """A node name from an interface name ("eth0.100" -> "eth0_100"): node names are
    letters, digits, '-' and '_'."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in real) or "real"


class RealPort(Node):
    """A real interface (AF_PACKET on an existing one, or a TAP) on the end of a simulated cable.

    Attributes:
        real_name: the interface name in Linux.
        io: the :class:`~netsim.realworld.oslink.PacketSocket` or ``TapDevice``.
        sim_iface: the interface of the simulated device this port is cabled to.
        frames_in, frames_out: frames read from / written to the real interface.
        write_failures: frames the kernel refused (link down, full queue).
    """

    kind = "external"

    def __init__(self, net: Any, name: str, real_name: str, io: PacketSocket | TapDevice):
        super().__init__(net, name)
        self.real_name = real_name
        self.io = io
        self.sim_iface: Interface | None = None
        self.frames_in = self.frames_out = self.write_failures = 0
        self._mtu_warned = False

    def add_interface(self, mac: str | None = None) -> Interface:
        if self.interfaces:
            raise ValueError(f"{self.real_name} is already cabled to "
                             f"{self.interfaces[0].peer.fullname if self.interfaces[0].peer else 'a hub'}"
                             "; attach the real interface once")
        iface = Interface(self, self.real_name, mac or hardware_address(self.real_name) or
                          self.net.allocate_mac(), 0)
        iface.fullname = self.real_name   # captures name the port after the real interface
        iface.promiscuous = True          # a bridge takes every frame
        self.interfaces.append(iface)
        return iface

    def receive(self, iface: Interface, frame: bytes) -> str | None:
        """A frame the simulation sent towards the real world: write it out there."""
        if self.io.write(frame):
            self.frames_out += 1
            return None
        self.write_failures += 1
        return f"not written to {self.real_name}: the kernel refused it (link down or queue full)"

    def on_readable(self, arrival_ns: int) -> int:
        """The pacer saw frames waiting: send each onto the cable at ``arrival_ns``."""
        fixed = self.io.fixed_checksums
        frames = self.io.read()
        if fixed == 0 and self.io.fixed_checksums:
            warnings.warn(f"{self.real_name}: frames arrive with TCP/UDP checksums left to "
                          "offload (TP_STATUS_CSUMNOTREADY); netsim completes them as the NIC "
                          "would. To see them finished, turn checksum offload off at the "
                          "sender: ethtool -K <sender> tx off", RealWorldWarning, stacklevel=2)
        iface = self.interfaces[0]
        limit = 14 + 4 + self._cable_mtu()
        for frame in frames:
            if len(frame) < 14:
                continue
            if len(frame) > limit and not self._mtu_warned:
                # A GSO/GRO super-frame: no cable carries it; the link will drop it and say so.
                self._mtu_warned = True
                self.io.oversize += 1
                warnings.warn(f"{self.real_name}: a {len(frame)}-byte frame arrived, more than "
                              "the cable's MTU: segmentation or receive offload is on "
                              f"(ethtool -K {self.real_name} gro off; and tso/gso off at the "
                              "sender)", RealWorldWarning, stacklevel=2)
            self.frames_in += 1
            self.kernel.call_at(arrival_ns, iface.send, frame)
        return len(frames)

    def _cable_mtu(self) -> int:
        medium = self.interfaces[0].medium if self.interfaces else None
        return getattr(medium, "mtu", 1500)

    def close(self) -> None:
        self.io.close()

    def stats(self) -> dict[str, Any]:
        return {"frames_in": self.frames_in, "frames_out": self.frames_out,
                "write_failures": self.write_failures,
                "checksums_completed": self.io.fixed_checksums}

    def __repr__(self) -> str:
        return f"<RealPort {self.real_name} -> {self.sim_iface.fullname if self.sim_iface else '?'}>"


def _plug(net: Any, node: Any, io: PacketSocket | TapDevice, real_name: str, name: str | None,
          ip: str | None, link: dict[str, Any]) -> RealPort:
    """Make the port node, cable it to ``node``, address the new NIC, start watching."""
    from .world import realworld_of
    node = net.node(node) if isinstance(node, str) else node
    world = realworld_of(net)
    port = RealPort(net, name or _node_name(real_name), real_name, io)
    try:
        world.add_node(port)
        if node.kind == "hub" and "bandwidth" not in link and getattr(node, "segment", None):
            link["bandwidth"] = node.segment.bandwidth_bps   # one bit rate per collision domain
        net.link(node, port, **link)
        port.sim_iface = node.interfaces[-1]
        if ip is not None:
            if not hasattr(node, "set_ip"):
                raise ValueError(f"ip={ip!r}: {node.name} is a {node.kind}; only hosts and routers "
                                 "have addresses")
            node.set_ip(ip, iface=port.sim_iface.name)
    except BaseException:
        io.close()
        raise
    world.add_port(port)
    return port


def attach(net: Any, node: Any, ifname: str, *, name: str | None = None, ip: str | None = None,
           check_offloads: bool = True, **link: Any) -> RealPort:
    """Plug the existing Linux interface ``ifname`` into ``node`` by a simulated cable.

    Args:
        net: the network.
        node: a switch or hub (a new port), or a host or router (a new NIC), object or name.
        ifname: the real interface ("veth0", "eth1").
        name: the port's node name (default: the interface name).
        ip: for a host or router, the address of its new NIC ("10.0.9.1/24").
        check_offloads: ask ``ethtool -k`` and warn (RealWorldWarning) about offloads that
            would hand netsim unfinished or merged frames.
        link: cable parameters as for ``net.link`` (bandwidth, delay, loss, mtu, queue...).

    Returns:
        The :class:`RealPort`; ``port.sim_iface`` is the simulated side of the cable.

    Raises:
        MissingCapability: without CAP_NET_RAW (one line; port forwarding needs no privileges).
        OSError: ENODEV when there is no such interface.
    """
    io = PacketSocket(ifname)
    if check_offloads:
        problem = offload_problems(ifname)
        if problem:
            warnings.warn(problem, RealWorldWarning, stacklevel=3)
    return _plug(net, node, io, ifname, name, ip, dict(link))


def add_tap(net: Any, tapname: str, node: Any, *, name: str | None = None, ip: str | None = None,
            linux_ip: str | None = None, **link: Any) -> RealPort:
    """Create TAP device ``tapname`` and cable it to ``node`` as :func:`attach` does.

    Args:
        linux_ip: an address for the TAP on the Linux side ("10.0.9.254/24"); the rest of
            the Linux set-up (routes) is the user's.
        other arguments: as :func:`attach`.

    Raises:
        MissingCapability: without CAP_NET_ADMIN (one line; port forwarding needs no privileges).
    """
    tap = TapDevice(tapname)
    if linux_ip is not None:
        try:
            _set_address(tapname, linux_ip)
        except BaseException:
            tap.close()
            raise
    return _plug(net, node, tap, tapname, name, ip, dict(link))


def _set_address(ifname: str, cidr: str) -> None:
    """``ip addr add CIDR dev IFNAME`` through SIOCSIFADDR and SIOCSIFNETMASK (netdevice(7))."""
    import fcntl
    import ipaddress
    import socket
    import struct

    from .oslink import MissingCapability
    addr = ipaddress.IPv4Interface(cidr)
    req = struct.Struct("16sHH4s8x")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            for code, value in ((0x8916, addr.ip), (0x891C, addr.netmask)):   # SIOCSIF(ADDR|NETMASK)
                fcntl.ioctl(s, code, req.pack(ifname.encode(), socket.AF_INET, 0, value.packed))
        except PermissionError:
            raise MissingCapability("CAP_NET_ADMIN", f"addressing {ifname}") from None
