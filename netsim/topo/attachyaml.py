"""The ``attach:`` section of a topology file: real interfaces and TAP devices in the network.

    attach:
      - {node: s1, interface: veth0}                      # a real interface on a new switch port
      - {node: r1, tap: tap0, ip: 10.0.9.1/24, linux_ip: 10.0.9.254/24}
      - {node: h1, interface: veth1, ip: 10.0.5.10/24, delay: 50us, loss: 0.01}

Each entry is one simulated cable from ``node`` to a real interface (``interface:``, an
existing one, through an AF_PACKET socket: CAP_NET_RAW) or to a TAP device netsim creates
(``tap:``: CAP_NET_ADMIN). The cable takes the usual link parameters. On a host or router the
cable makes a new interface, numbered after the ``links:`` ones (a host with only an attach
cable has it as eth0, so ``ip:`` on the node works too); ``ip:`` here addresses it.
``linux_ip:`` gives the TAP its address on the Linux side.

Parsing checks everything without touching the OS, so a file with a mistake is reported with
its line whatever the privileges; building does the attaching (and then a missing capability
is one line naming it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._yaml import Where, YList
from .yamlfile import AddressSpec, TopologySpec, _at, _link_params

__all__ = ["AttachSpec", "parse_attach", "build_attach"]

ATTACH_KEYS = ("node", "interface", "tap", "ip", "linux_ip", "bandwidth", "delay", "loss", "mtu",
               "queue")


@dataclass
class AttachSpec:
    index: int
    node: str
    line: int
    interface: str | None = None
    tap: str | None = None
    linux_ip: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    iface: str = ""


def parse_attach(spec: TopologySpec, items: YList, top: Where) -> list[AttachSpec]:
    """Check the ``attach:`` entries; their addresses join the file's addresses."""
    out = []
    for index, (body, line) in enumerate(zip(items, items.item_lines), start=1):
        where = top.sub(f"attach {index}")
        body = where.mapping(body, line, f"attach {index}")
        where.keys(body, ATTACH_KEYS, required=("node",))
        name = body["node"]
        if not isinstance(name, str) or name not in spec.nodes:
            raise where.error(f"unknown node {name!r} (nodes are {', '.join(spec.nodes)})",
                              body.lines["node"])
        kinds = [k for k in ("interface", "tap") if k in body]
        if len(kinds) != 1:
            raise where.error("give exactly one of 'interface' (an existing Linux interface) "
                              "or 'tap' (a TAP device to create)", line)
        real = where.text(body, kinds[0])
        if not real or len(real.encode()) > 15 or "/" in real or " " in real:
            raise where.error(f"{kinds[0]}: {real!r} is not a Linux interface name (1-15 "
                              "characters, no '/' or spaces)", body.lines[kinds[0]])
        item = AttachSpec(index, name, line, **{kinds[0]: real})
        _link_params(item, body, where)
        node = spec.nodes[name]
        item.iface = f"eth{node.n_ifaces}"
        node.n_ifaces += 1
        if "ip" in body:
            if node.kind not in ("host", "router"):
                raise where.error(f"ip: {name} is a {node.kind}; only hosts and routers have IP "
                                  "addresses", body.lines["ip"])
            spec.addresses.append(AddressSpec(name, item.iface, where.cidr(body, "ip"),
                                              body.lines["ip"]))
        if "linux_ip" in body:
            if item.tap is None:
                raise where.error("linux_ip is for a tap (an existing interface is addressed "
                                  "in Linux: ip addr add ...)", body.lines["linux_ip"])
            item.linux_ip = str(where.cidr(body, "linux_ip"))
        out.append(item)
    return out


def build_attach(net: Any, spec: TopologySpec, top: Where) -> None:
    """Plug every entry in (after the links, before the addresses: see the module)."""
    for item in spec.attach:
        where = top.sub(f"attach {item.index}")
        with _at(where, item.line):
            try:
                if item.tap is not None:
                    net.add_tap(item.tap, item.node, linux_ip=item.linux_ip, **item.params)
                else:
                    net.attach(item.node, item.interface, **item.params)
            except PermissionError:
                raise                       # the capability message is already one line
            except OSError as exc:          # no such interface, no /dev/net/tun
                raise where.error(exc.strerror or str(exc), item.line) from None
