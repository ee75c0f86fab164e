"""A capture file as a viewer scene: ours (pcapng with interface names, directions, comments)
or anyone's (tcpdump's classic pcap), on a topology or on a plain list of interfaces.

Interfaces are matched to the topology by name (netsim names a capture interface
``h1-eth0``). An interface without a name (classic pcap has none) is matched by MAC address:
the topology interface whose address the frames carry most often as source or destination.
An interface that matches nothing is an error naming it and the interfaces the topology has.
A frame without a recorded direction is ``tx`` when its source MAC is the interface's own,
``rx`` otherwise; without a topology it stays a plain ``frame`` event.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..capture.reader import CapturedFrame, read_capture
from ..trace.events import TraceEvent
from ..wire.addr import mac_str
from . import topology as topo_mod
from .dissect import decode
from .timeline import build_scene

__all__ = ["scene_from_capture", "CaptureMismatch"]

_ETHERNET = 1


class CaptureMismatch(ValueError):
    """The capture's interfaces do not fit the topology (the message names them)."""


def _split(name: str) -> tuple[str, str | None]:
    node, sep, iface = name.rpartition("-")
    return (node, iface) if sep and node else (name, None)


def _by_mac(frames: list[CapturedFrame], macs: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    votes: Counter = Counter()
    for cf in frames:
        if cf.linktype != _ETHERNET or len(cf.data) < 12:
            continue
        for raw in (cf.data[0:6], cf.data[6:12]):
            key = macs.get(mac_str(raw))
            if key is not None:
                votes[key] += 1
    return votes.most_common(1)[0][0] if votes else None


def _check_sender(frames: list[CapturedFrame], if_id: int, name: str, key: tuple[str, str],
                  topo: topo_mod.Topology, path: Path, topo_name: str) -> None:
    """A host or router sends from its own MAC, and a host from its own IPv4 address: a frame
    recorded going out of one of their interfaces with another source was captured on some
    other network (names alone do not tell: every netsim network has an h1-eth0)."""
    kind = topo.kind(key[0])
    if kind not in ("host", "router"):
        return
    iface = next(x for n in topo.nodes if n["name"] == key[0] for x in n["ifaces"]
                 if x["name"] == key[1])
    mine = {a.split("/")[0] for a in iface["addrs"]}
    for cf in frames:
        if cf.if_id != if_id or cf.direction != "out" or cf.linktype != _ETHERNET:
            continue
        src = mac_str(cf.data[6:12])
        if src != iface["mac"]:
            raise CaptureMismatch(
                f"{path}: frames sent on {name} come from {src}, but {name} of {topo_name} is "
                f"{iface['mac']}: the capture was not taken on this topology")
        f = decode(cf.data)
        ip = f.ip.src if f is not None and f.ip is not None else (
            f.arp.spa if f is not None and f.arp is not None else None)
        if kind == "host" and mine and ip is not None and ip not in mine:
            raise CaptureMismatch(
                f"{path}: frames sent on {name} come from {ip}, but {name} of {topo_name} has "
                f"{', '.join(sorted(iface['addrs']))}: the capture was not taken on this topology")


def _interface_keys(frames: list[CapturedFrame], topo: topo_mod.Topology | None, path: Path,
                    topo_name: str) -> dict[int, tuple[str, str | None]]:
    """Capture interface id -> (node, iface)."""
    names: dict[int, str | None] = {}
    for cf in frames:
        names.setdefault(cf.if_id, cf.if_name)
    if topo is None:
        return {i: _split(n) if n else (f"if{i}", None) for i, n in names.items()}
    known = topo.interfaces()
    macs = {x["mac"]: (n["name"], x["name"]) for n in topo.nodes for x in n["ifaces"] if x["mac"]}
    out: dict[int, tuple[str, str | None]] = {}
    for i, name in names.items():
        if name is not None:
            if name not in known:
                raise CaptureMismatch(
                    f"{path}: capture interface {name!r} is not in {topo_name} (its interfaces: "
                    f"{', '.join(known) or 'none'})")
            out[i] = known[name]
            _check_sender(frames, i, name, known[name], topo, path, topo_name)
            continue
        key = _by_mac([cf for cf in frames if cf.if_id == i], macs)
        if key is None:
            raise CaptureMismatch(
                f"{path}: capture interface #{i} has no name and none of its frames carries a "
                f"MAC address of {topo_name}; capture a netsim interface, or leave out "
                "--topology")
        out[i] = key
    return out


def _kind(cf: CapturedFrame, key: tuple[str, str | None], my_mac: str | None) -> str:
    if cf.direction == "out":
        return "drop" if any(c.startswith("dropped") for c in cf.comments) else "tx"
    if cf.direction == "in":
        return "rx"
    if my_mac and cf.linktype == _ETHERNET and len(cf.data) >= 12:
        return "tx" if mac_str(cf.data[6:12]) == my_mac else "rx"
    return "frame"


def scene_from_capture(path: str | Path, net: Any = None, *, topology_name: str = "the topology",
                       name: str | None = None) -> dict[str, Any]:
    """The scene of a capture file.

    Args:
        path: a pcap or pcapng file.
        net: a built network whose topology the capture was taken on (None: a plain list of
            the capture's interfaces).
        topology_name: how messages name the topology (its file name).
        name: the scene's name (default: the file name).

    Raises:
        netsim.wire.errors.DecodeError: not a capture, or a damaged one.
        CaptureMismatch: an interface the topology does not have.
    """
    path = Path(path)
    frames = list(read_capture(path))
    topo = topo_mod.from_network(net) if net is not None else None
    keys = _interface_keys(frames, topo, path, topology_name)
    if topo is None:
        topo = topo_mod.from_interfaces(list(dict.fromkeys(keys.values())))
    macs = {(n["name"], x["name"]): x["mac"] for n in topo.nodes for x in n["ifaces"]}
    events = []
    for cf in frames:
        key = keys[cf.if_id]
        kind = _kind(cf, key, macs.get(key))
        note = "; ".join(cf.comments) or None
        data = cf.data if cf.linktype == _ETHERNET else bytes(cf.data)
        events.append(TraceEvent(cf.time_ns, key[0], key[1], kind, data, note))
    notes = []
    others = sorted({cf.linktype for cf in frames if cf.linktype != _ETHERNET})
    if others:
        notes.append(f"frames of link type {', '.join(map(str, others))} are not Ethernet: "
                     "shown as raw bytes")
    if frames and all(cf.direction is None for cf in frames) and net is None:
        notes.append("the capture records no directions and no topology was given: frames are "
                     "shown on their interfaces, not moving along cables")
    try:
        from ..trace.ladder import ladders_from_capture
        ladders = ladders_from_capture(path)
    except ValueError:
        ladders = []
    return build_scene(name or path.name, events, topo, ladders=ladders,
                       source=f"capture {path}" + (f" on {topology_name}" if net is not None else ""),
                       state_note="A capture records frames, not device tables: no state to show.",
                       observed=set(keys.values()), notes=notes)
