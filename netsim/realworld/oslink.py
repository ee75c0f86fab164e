"""Linux link-layer I/O: an AF_PACKET socket on an existing interface, and TAP devices.

Both give whole Ethernet frames (no FCS) in and out, non-blocking, with a ``fileno()`` for the
real-time pacer to watch:

* :class:`PacketSocket` opens ``socket(AF_PACKET, SOCK_RAW)`` bound to one interface
  (packet(7)). It needs CAP_NET_RAW. The interface is put in promiscuous mode (frames for the
  virtual MACs are not addressed to the real NIC), frames the socket itself sent are skipped
  (PACKET_IGNORE_OUTGOING, and ``PACKET_OUTGOING`` in the address for older kernels), and
  ``PACKET_AUXDATA`` tells what the kernel did to a frame: a VLAN tag it stripped is put back,
  and a TCP/UDP checksum left to the NIC (``TP_STATUS_CSUMNOTREADY``: offload by a local
  sender) is completed here, as the NIC would have done before the frame reached a cable.
* :class:`TapDevice` creates a TAP interface through ``/dev/net/tun`` (TUNSETIFF with IFF_TAP
  and IFF_NO_PI; needs CAP_NET_ADMIN) and sets it up. A TAP without IFF_VNET_HDR advertises no
  offloads, so the kernel hands it finished frames.

:func:`offload_problems` asks ``ethtool -k`` which offloads are on where they would change what
netsim reads: receive merging (GRO/LRO) on the interface itself, and for a veth, checksum and
segmentation offload on its peer (a veth passes the peer's unfinished packets through unchanged).
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import socket
import struct
import subprocess

from ..wire.checksum import internet_checksum, pseudo_header_sum

__all__ = ["PacketSocket", "TapDevice", "MissingCapability", "offload_problems", "fix_checksum",
           "set_link_up", "hardware_address"]

# <linux/if_ether.h>, <linux/if_packet.h>
ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
TP_STATUS_CSUMNOTREADY = 1 << 3
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
_AUXDATA = struct.Struct("=IIIHHHH")   # tp_status, tp_len, tp_snaplen, tp_mac, tp_net, vlan tci, tpid
_MREQ = struct.Struct("=iHH8s")        # struct packet_mreq
# <linux/if_tun.h>, <linux/sockios.h>, <net/if.h>
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCGIFHWADDR = 0x8927
IFF_UP = 0x1
_IFREQ_FLAGS = struct.Struct("16sH14x")

MAX_FRAME = 65536 + 18        # a GSO super-frame can be this big; read it whole to see it
BURST = 64                    # frames read per wake-up before letting the simulation run
_FORWARD_HINT = ("port forwarding (net.forward(...), netsim run --forward udp:PORT=HOST:PORT) "
                 "needs no privileges")


class MissingCapability(PermissionError):
    """The process lacks the Linux capability an operation needs (one-line message)."""

    def __init__(self, capability: str, what: str):
        self.capability = capability
        super().__init__(f"{what} needs {capability}, which this process does not have (run it "
                         f"as root, or: sudo setcap {capability.lower()}+ep <python>); "
                         f"{_FORWARD_HINT}")


def _no_such_interface(name: str) -> OSError:
    return OSError(errno.ENODEV, f"there is no network interface {name!r} here "
                                 "(`ip link` lists them)")


class PacketSocket:
    """A raw AF_PACKET socket bound to one existing interface (promiscuous, non-blocking).

    Raises:
        MissingCapability: without CAP_NET_RAW.
        OSError: ENODEV when there is no such interface.
    """

    def __init__(self, ifname: str):
        self.name = ifname
        self.fixed_checksums = 0
        self.oversize = 0
        try:
            ifindex = socket.if_nametoindex(ifname)
        except OSError:
            raise _no_such_interface(ifname) from None
        try:
            # Protocol 0 receives nothing until bind() names the interface: no frame from
            # another interface slips in between socket() and bind() (packet(7)).
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError:
            raise MissingCapability("CAP_NET_RAW", f"attaching {ifname} (a raw packet socket)") from None
        try:
            sock.bind((ifname, ETH_P_ALL))
            try:
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)   # Linux 4.20
            except OSError:
                pass
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP,
                            _MREQ.pack(ifindex, PACKET_MR_PROMISC, 0, b""))
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self) -> list[bytes]:
        """Every frame waiting (up to :data:`BURST`), as they were on the wire."""
        frames = []
        space = socket.CMSG_SPACE(_AUXDATA.size)
        for _ in range(BURST):
            try:
                data, anc, _flags, addr = self.sock.recvmsg(MAX_FRAME, space)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if exc.errno == errno.ENETDOWN:
                    break
                raise
            if addr[2] == PACKET_OUTGOING:
                continue
            for level, kind, blob in anc:
                if level == SOL_PACKET and kind == PACKET_AUXDATA and len(blob) >= _AUXDATA.size:
                    data = _apply_auxdata(self, data, _AUXDATA.unpack_from(blob))
            frames.append(data)
        return frames

    def write(self, frame: bytes) -> bool:
        """Send one frame out of the interface; False if the kernel refused it."""
        try:
            self.sock.send(frame)
            return True
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            if exc.errno in (errno.ENOBUFS, errno.ENETDOWN, errno.EMSGSIZE, errno.ENXIO):
                return False
            raise

    def close(self) -> None:
        self.sock.close()


def _apply_auxdata(port: PacketSocket, data: bytes, aux: tuple[int, ...]) -> bytes:
    status, _len, _snap, _mac, _net, tci, tpid = aux
    if status & TP_STATUS_VLAN_VALID:
        # The kernel took the 802.1Q tag out of the frame (hardware or software VLAN
        # acceleration); the cable carried it, so the simulation sees it.
        if not status & TP_STATUS_VLAN_TPID_VALID:
            tpid = 0x8100
        data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
    if status & TP_STATUS_CSUMNOTREADY:
        fixed = fix_checksum(data)
        if fixed is not None:
            port.fixed_checksums += 1
            data = fixed
    return data


def fix_checksum(frame: bytes) -> bytes | None:
    """Complete the TCP or UDP checksum of an untagged IPv4 frame (what checksum offload does).

    Returns the corrected frame, or None when it is not IPv4 TCP/UDP (nothing to do).
    """
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[14] >> 4 != 4:
        return None
    ihl = (frame[14] & 0x0F) * 4
    total = int.from_bytes(frame[16:18], "big")
    proto = frame[23]
    start = 14 + ihl
    end = min(len(frame), 14 + total)
    if proto == 6:
        off = start + 16        # RFC 9293 3.1: checksum at octet 16 of the TCP header
    elif proto == 17:
        off = start + 6         # RFC 768: checksum at octet 6 of the UDP header
    else:
        return None
    if end < off + 2 or frame[20:22] not in (b"\x00\x00", b"\x40\x00"):
        return None             # a fragment: the checksum covers the whole datagram
    seg = bytearray(frame[start:end])
    seg[off - start:off - start + 2] = b"\0\0"
    csum = internet_checksum(bytes(seg), pseudo_header_sum(frame[26:30], frame[30:34], proto,
                                                            len(seg)))
    if proto == 17 and csum == 0:
        csum = 0xFFFF           # RFC 768: a computed zero is sent as all ones
    return frame[:off] + csum.to_bytes(2, "big") + frame[off + 2:]


class TapDevice:
    """A TAP interface created through ``/dev/net/tun``; gone when closed (not persistent).

    Raises:
        MissingCapability: without CAP_NET_ADMIN.
        OSError: no ``/dev/net/tun``, or the name is taken by a device that is not a TAP.
    """

    def __init__(self, name: str):
        if len(name.encode()) > 15:
            raise ValueError(f"interface name {name!r} is longer than 15 bytes (IFNAMSIZ)")
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise OSError(errno.ENOENT, "/dev/net/tun is missing (load the tun module: "
                                        "modprobe tun)") from None
        except PermissionError:
            raise MissingCapability("CAP_NET_ADMIN", f"creating TAP device {name}") from None
        try:
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TAP | IFF_NO_PI))
        except PermissionError:
            os.close(fd)
            raise MissingCapability("CAP_NET_ADMIN", f"creating TAP device {name}") from None
        except OSError as exc:
            os.close(fd)
            raise OSError(exc.errno, f"cannot create TAP device {name}: {os.strerror(exc.errno)}"
                          ) from None
        self.name = name
        self.fd = fd
        self.fixed_checksums = 0
        self.oversize = 0
        set_link_up(name)

    def fileno(self) -> int:
        return self.fd

    def read(self) -> list[bytes]:
        frames = []
        for _ in range(BURST):
            try:
                frames.append(os.read(self.fd, MAX_FRAME))
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EBADFD):   # the device went down
                    break
                raise
        return frames

    def write(self, frame: bytes) -> bool:
        try:
            os.write(self.fd, frame)
            return True
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EINVAL, errno.ENOBUFS):   # link down, bad frame
                return False
            raise

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def hardware_address(name: str) -> str | None:
    """The interface's MAC (SIOCGIFHWADDR; not sysfs, which may show another namespace)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            raw = fcntl.ioctl(s, SIOCGIFHWADDR, struct.pack("16s16x", name.encode()))
        except OSError:
            return None
    mac = raw[18:24]
    return ":".join(f"{b:02x}" for b in mac) if any(mac) else None


def set_link_up(name: str) -> None:
    """``ip link set NAME up`` through SIOCSIFFLAGS (netdevice(7))."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = _IFREQ_FLAGS.pack(name.encode(), 0)
        flags = _IFREQ_FLAGS.unpack(fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        if not flags & IFF_UP:
            try:
                fcntl.ioctl(s, SIOCSIFFLAGS, _IFREQ_FLAGS.pack(name.encode(), flags | IFF_UP))
            except PermissionError:
                raise MissingCapability("CAP_NET_ADMIN", f"setting {name} up") from None


# -- offloads ----------------------------------------------------------------------------------

# Feature names as ethtool -k prints them.
_RX_MERGING = ("generic-receive-offload", "large-receive-offload")
_TX_UNFINISHED = ("tx-checksumming", "tcp-segmentation-offload", "generic-segmentation-offload")
_FIX = {"generic-receive-offload": "gro", "large-receive-offload": "lro",
        "tx-checksumming": "tx", "tcp-segmentation-offload": "tso",
        "generic-segmentation-offload": "gso"}


def _features(ifname: str, ethtool: str) -> dict[str, bool] | None:
    try:
        out = subprocess.run([ethtool, "-k", ifname], capture_output=True, text=True,
                             timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    features = {}
    for line in out.splitlines():
        name, sep, value = line.strip().partition(":")
        if sep:
            features[name] = value.split()[0] == "on" if value.split() else False
    return features or None


def _peer_index(ifname: str, ethtool: str) -> int | None:
    """A veth's peer ifindex from ``ethtool -S`` (veth(4) reports ``peer_ifindex``), else None.

    Asked through ethtool (netlink/ioctl), not /sys/class/net: sysfs shows the namespace it
    was mounted in, not the one this thread is in.
    """
    try:
        out = subprocess.run([ethtool, "-S", ifname], capture_output=True, text=True,
                             timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "peer_ifindex" and value.strip().isdigit():
            return int(value)
    return None


def veth_peer(ifname: str, ethtool: str) -> tuple[bool, str | None]:
    """(is a veth, the peer's name if the peer lives in this network namespace)."""
    peer_index = _peer_index(ifname, ethtool)
    if peer_index is None:
        return False, None
    # An ifindex is per namespace: when the peer lives in another one, the same number may
    # name an unrelated interface here, so the candidate must point back at us.
    try:
        candidate = socket.if_indextoname(peer_index)
        if candidate != ifname and _peer_index(candidate, ethtool) == socket.if_nametoindex(ifname):
            return True, candidate
    except OSError:
        pass
    return True, None   # the peer is in another namespace


def offload_problems(ifname: str) -> str | None:
    """A one-line warning naming the offloads that would change frames netsim reads, or None.

    ``ethtool -k`` is asked about the interface (receive merging makes frames bigger than the
    MTU) and, for a veth whose peer is in this namespace, about the peer (its checksum and
    segmentation offloads reach us unfinished).
    """
    ethtool = shutil.which("ethtool") or shutil.which("ethtool", path="/usr/sbin:/sbin")
    if ethtool is None:
        return (f"{ifname}: cannot check offloads (ethtool is not installed); if checksum or "
                "segmentation offload is on, frames may reach netsim unfinished or merged")
    mine = _features(ifname, ethtool) or {}
    on = [(ifname, f) for f in _RX_MERGING if mine.get(f)]
    is_veth, peer = veth_peer(ifname, ethtool)
    if is_veth and peer:
        theirs = _features(peer, ethtool) or {}
        on += [(peer, f) for f in _TX_UNFINISHED if theirs.get(f)]
    if not on:
        # A peer in another namespace cannot be asked; what it does shows at run time
        # (RealPort warns on the first unfinished checksum or oversized frame).
        return None
    fixes: dict[str, list[str]] = {}
    for dev, f in on:
        fixes.setdefault(dev, []).append(f"{_FIX[f]} off")
    return (f"{ifname}: offloads on: " + ", ".join(f"{f} ({dev})" for dev, f in on) +
            ": frames may reach netsim with unfinished checksums (netsim completes them) or "
            "merged beyond the MTU (the cable drops them); turn them off: " +
            "; ".join(f"ethtool -K {dev} {' '.join(v)}" for dev, v in fixes.items()))
