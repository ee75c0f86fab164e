"""Linux network namespaces for the real-world tests: made, used and deleted by each test.

Every test makes its own namespaces with names unique to the test process, so the host's own
interfaces never carry a test frame; ``ip netns del`` removes them (and their veths) at the end.
The test process itself enters a namespace only to open its packet socket there (``setns``
on the calling thread, then back), so the simulation's side of a veth lives in a namespace of
its own and the Linux side in another.

Tests that need this are skipped with the reason when not root (or without iproute2), and
fail instead under NETSIM_REQUIRE_TOOLS=1, as the tool tests do (CI runs as root).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from tests.kits.tools import require_tool

CLONE_NEWNET = 0x40000000
_counter = itertools.count()
_libc = ctypes.CDLL(None, use_errno=True)


def require_netns() -> str:
    """Skip (or fail under NETSIM_REQUIRE_TOOLS=1) unless we can make namespaces; returns ``ip``."""
    ip = require_tool("ip")
    if os.geteuid() != 0:
        reason = "needs root to create network namespaces and veth pairs"
        if os.environ.get("NETSIM_REQUIRE_TOOLS") == "1":
            pytest.fail(reason + " and NETSIM_REQUIRE_TOOLS=1", pytrace=False)
        pytest.skip(reason)
    return ip


def sh(*args: str, ns: str | None = None, check: bool = True, timeout: float = 20,
       **kw) -> subprocess.CompletedProcess:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout, **kw)


def unique(prefix: str) -> str:
    return f"{prefix}{os.getpid() % 100000}x{next(_counter)}"


@contextlib.contextmanager
def namespaces(*roles: str) -> Iterator[dict[str, str]]:
    """Fresh namespaces (one per role), loopback up and IPv6 off (no stray RS/MLD frames)."""
    names = {role: unique(f"nsim{role[:3]}") for role in roles}
    try:
        for ns in names.values():
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
            sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", ns=ns)
            sh("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1", ns=ns)
        yield names
    finally:
        for ns in names.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def veth(ns_a: str, a: str, ns_b: str, b: str, offloads_off: bool = True) -> None:
    """A veth pair with end ``a`` in ``ns_a`` and ``b`` in ``ns_b``, both up.

    With ``offloads_off`` both ends finish their own checksums and segments (ethtool -K ...
    tx off tso off gso off gro off), so every frame netsim reads is what a cable would carry.
    """
    sh("ip", "link", "add", a, "netns", ns_a, "type", "veth", "peer", "name", b, "netns", ns_b)
    for ns, dev in ((ns_a, a), (ns_b, b)):
        if offloads_off:
            sh("ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off", "gro", "off", ns=ns)
        sh("ip", "link", "set", dev, "up", ns=ns)


@contextlib.contextmanager
def inside(ns: str) -> Iterator[None]:
    """Run this thread in namespace ``ns`` (setns(2)); sockets opened here stay in it."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {ns}")
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(own)
        os.close(target)


def run_until(net, done: Callable[[], bool], timeout: float = 20.0, step: str = "50ms") -> bool:
    """Run ``net`` (in real time) in slices until ``done()`` or ``timeout`` wall seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        net.run(duration=step)
        if done():
            return True
    return False
