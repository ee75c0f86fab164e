"""Real interfaces in the simulated network, with the Linux kernel as the peer.

Each test makes its own two namespaces: ``lnx`` holds the Linux end of a veth pair (an address,
a route, the real ping/curl/TCP), ``sim`` holds the end netsim attaches to (no address; IPv6
off, so nothing but the test's traffic crosses). Offloads are off on both ends unless a test
is about them, so the checksums netsim reads are the ones a cable would carry. Loss on the
Linux side comes from nftables (``numgen random mod 100 < N drop``: this kernel has no netem).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import pytest

from netsim import AF_INET, SOCK_STREAM, Network
from netsim.apps.tftp import sim_driver
from netsim.capture import read_capture
from netsim.realworld.port import RealWorldWarning
from netsim.topo.programs import PROGRAMS
from tests.kits.netns import inside, namespaces, require_netns, run_until, sh, veth
from tests.kits.tools import require_tool

pytestmark = pytest.mark.netns

PEER = str(Path(__file__).with_name("linux_peer.py"))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pair():
    """(lnx namespace, sim namespace) joined by veth vl (Linux, 10.0.1.2/24) -- vs (netsim)."""
    require_netns()
    require_tool("ethtool")
    with namespaces("lnx", "sim") as ns:
        veth(ns["lnx"], "vl", ns["sim"], "vs")
        sh("ip", "addr", "add", "10.0.1.2/24", "dev", "vl", ns=ns["lnx"])
        yield ns["lnx"], ns["sim"]


def _loss(ns: str, percent: int) -> None:
    """Drop ``percent``% of the Linux side's packets each way (nftables; no netem here)."""
    require_tool("nft")
    sh("nft", "-f", "-", ns=ns, input=textwrap.dedent(f"""\
        table inet netsim_loss {{
          chain in  {{ type filter hook input priority 0;  numgen random mod 100 < {percent} drop; }}
          chain out {{ type filter hook output priority 0; numgen random mod 100 < {percent} drop; }}
        }}"""))


def _routers(net: Network, hops: int):
    """r1 (eth0 faces Linux, 10.0.1.1) - r2 - ... - h1 10.0.9.10: ``hops`` routers in a line."""
    routers = [net.add_router(f"r{i + 1}") for i in range(hops)]
    h1 = net.add_host("h1")
    for i, (a, b) in enumerate(zip(routers, routers[1:])):
        net.link(a, b)
        a.set_ip(f"10.0.{100 + i}.1/24", iface=a.interfaces[-1].name)
        b.set_ip(f"10.0.{100 + i}.2/24", iface=b.interfaces[-1].name)
    net.link(routers[-1], h1)
    routers[-1].set_ip("10.0.9.1/24", iface=routers[-1].interfaces[-1].name)
    h1.set_ip("10.0.9.10/24", gateway="10.0.9.1")
    return routers, h1


@pytest.mark.parametrize("hops", [1, 2])
def test_linux_ping_reaches_a_virtual_host_and_the_ttl_counts_the_routers(pair, tmp_path, hops):
    lnx, sim = pair
    sh("ip", "route", "add", "default", "via", "10.0.1.1", ns=lnx)
    ping = require_tool("ping")
    net = Network(seed=1)
    routers, h1 = _routers(net, hops)
    with inside(sim):
        port = net.attach(routers[0], "vs", ip="10.0.1.1/24")
    net.auto_routes()
    with net.capture(tmp_path / "ping.pcapng"):
        proc = subprocess.Popen(["ip", "netns", "exec", lnx, ping, "-c", "3", "-i", "0.2", "-W", "2",
                                 "10.0.9.10"], stdout=subprocess.PIPE, text=True)
        assert run_until(net, lambda: proc.poll() is not None, timeout=15)
    net.detach()
    out = proc.stdout.read()
    assert proc.returncode == 0, out
    ttls = [int(t) for t in re.findall(r"ttl=(\d+)", out)]
    assert ttls == [64 - hops] * 3          # h1 sends with TTL 64; each router takes one
    names = {f.if_name for f in read_capture(tmp_path / "ping.pcapng")}
    assert "vs" in names and port.sim_iface.fullname in names   # the port is named "vs"
    assert port.frames_in >= 4 and port.frames_out >= 4


def _peer(ns: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, PEER, *args],
                            stdout=subprocess.PIPE, text=True)


@pytest.mark.parametrize("loss", [0, 3])
def test_linux_tcp_client_talks_to_a_virtual_echo_server(pair, loss):
    lnx, sim = pair
    sh("ip", "route", "add", "default", "via", "10.0.1.1", ns=lnx)
    if loss:
        _loss(lnx, loss)
    net = Network(seed=2)
    (r1,), h1 = _routers(net, 1)
    with inside(sim):
        net.attach(r1, "vs", ip="10.0.1.1/24")
    h1.spawn_with_host(PROGRAMS["tcp_echo_server"].fn, lambda line: None, 7)
    proc = _peer(lnx, "client", "10.0.9.10", "7", str(1 << 20), "5")
    assert run_until(net, lambda: proc.poll() is not None, timeout=90)
    net.detach()
    result = json.loads(proc.stdout.read().splitlines()[-1])
    assert result["received"] == result["sent"] == 1 << 20
    assert result["received_sha256"] == result["sent_sha256"]


@pytest.mark.parametrize("loss", [0, 3])
def test_virtual_tcp_client_talks_to_a_linux_server(pair, loss):
    lnx, sim = pair
    sh("ip", "route", "add", "default", "via", "10.0.1.1", ns=lnx)
    if loss:
        _loss(lnx, loss)
    net = Network(seed=3)
    (r1,), h1 = _routers(net, 1)
    with inside(sim):
        net.attach(r1, "vs", ip="10.0.1.1/24")
    server = _peer(lnx, "server", "10.0.1.2", "9000")
    assert json.loads(server.stdout.readline()) == {"listening": 9000}
    data = random.Random(9).randbytes(1 << 20)
    got = bytearray()
    done = []

    def client(host):
        s = host.socket(AF_INET, SOCK_STREAM)
        s.connect(("10.0.1.2", 9000))

        def reader():
            while chunk := s.recv(65536):
                got.extend(chunk)
            done.append(True)
        host.spawn(reader)
        s.sendall(data)
        s.shutdown(1)
    h1.spawn_with_host(client)
    assert run_until(net, lambda: bool(done), timeout=90)
    net.detach()
    assert server.wait(10) == 0
    report = json.loads(server.stdout.read().splitlines()[-1])
    assert report["peer"] == "10.0.9.10" and report["received"] == len(data)
    assert report["received_sha256"] == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()


def test_curl_in_a_namespace_downloads_from_a_virtual_tftp_server_across_the_lan(pair, tmp_path):
    lnx, sim = pair
    curl = require_tool("curl")
    net = Network(seed=4)
    s1, h2, h3 = net.add_switch("s1"), net.add_host("h2"), net.add_host("h3")
    net.link(h2, s1)
    net.link(h3, s1)
    h2.set_ip("10.0.1.20/24")
    h3.set_ip("10.0.1.30/24")
    with inside(sim):
        net.attach(s1, "vs")             # a new switch port: Linux joins the simulated LAN
    data = random.Random(1).randbytes(150_000)
    h2.spawn_with_host(sim_driver.serve, {"boot.img": data})
    out = tmp_path / "got.img"
    with net.capture(tmp_path / "lan.pcapng"):
        proc = subprocess.Popen(["ip", "netns", "exec", lnx, curl, "-sS", "--max-time", "40",
                                 "-o", str(out), "tftp://10.0.1.20/boot.img"],
                                stderr=subprocess.PIPE, text=True)
        assert run_until(net, lambda: proc.poll() is not None, timeout=45)
    net.detach()
    assert proc.returncode == 0, proc.stderr.read()
    assert out.read_bytes() == data
    switch_ports = {f.if_name for f in read_capture(tmp_path / "lan.pcapng")
                    if f.if_name.startswith("s1-")}
    assert switch_ports == {"s1-eth0", "s1-eth1", "s1-eth2"}   # flooded once, then learned


def test_a_tap_device_joins_the_network(tmp_path):
    require_netns()
    ping = require_tool("ping")
    with namespaces("tap") as ns:
        net = Network(seed=5)
        s1, h1 = net.add_switch("s1"), net.add_host("h1")
        net.link(h1, s1)
        h1.set_ip("10.0.7.10/24")
        with inside(ns["tap"]):
            port = net.add_tap("nstap0", s1, linux_ip="10.0.7.254/24")
            assert "nstap0" in sh("ip", "-br", "addr").stdout
        with net.capture(tmp_path / "tap.pcapng"):
            proc = subprocess.Popen(["ip", "netns", "exec", ns["tap"], ping, "-c", "2", "-i",
                                     "0.2", "-W", "2", "10.0.7.10"], stdout=subprocess.PIPE,
                                    text=True)
            assert run_until(net, lambda: proc.poll() is not None, timeout=15)
        net.detach()
        assert proc.returncode == 0 and "ttl=64" in proc.stdout.read()
        assert "nstap0" not in sh("ip", "-br", "link", ns=ns["tap"]).stdout   # gone with netsim
        assert port.frames_in >= 3
        assert "nstap0" in {f.if_name for f in read_capture(tmp_path / "tap.pcapng")}


def test_offloads_on_a_veth_whose_peer_is_here_give_one_clear_warning():
    require_netns()
    require_tool("ethtool")
    with namespaces("one") as ns:
        sh("ip", "link", "add", "va", "type", "veth", "peer", "name", "vb", ns=ns["one"])
        sh("ip", "link", "set", "va", "up", ns=ns["one"])
        sh("ip", "link", "set", "vb", "up", ns=ns["one"])
        net = Network()
        h1 = net.add_host("h1")
        with inside(ns["one"]), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            net.attach(h1, "va")
        net.detach()
    msgs = [str(w.message) for w in caught if issubclass(w.category, RealWorldWarning)]
    assert len(msgs) == 1 and "\n" not in msgs[0]
    assert "tx-checksumming (vb)" in msgs[0] and "tcp-segmentation-offload (vb)" in msgs[0]
    assert "ethtool -K vb tx off tso off gso off" in msgs[0]


def test_checksums_left_to_offload_are_completed_and_reported_once(pair):
    """With checksum offload on at the Linux sender (segmentation off), frames arrive with
    TP_STATUS_CSUMNOTREADY: netsim completes their checksums as the NIC would."""
    lnx, sim = pair
    sh("ethtool", "-K", "vl", "tx", "on", ns=lnx)
    net = Network(seed=6)
    h1 = net.add_host("h1")
    with inside(sim):
        port = net.attach(h1, "vs", ip="10.0.1.10/24")
    h1.spawn_with_host(PROGRAMS["tcp_echo_server"].fn, lambda line: None, 7)
    proc = _peer(lnx, "client", "10.0.1.10", "7", "100000", "3")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run_until(net, lambda: proc.poll() is not None, timeout=30)
    net.detach()
    result = json.loads(proc.stdout.read().splitlines()[-1])
    assert result["received_sha256"] == result["sent_sha256"]
    assert port.io.fixed_checksums > 10 and h1.stats().get("bad_tcp_checksum", 0) == 0
    msgs = [str(w.message) for w in caught if issubclass(w.category, RealWorldWarning)]
    assert len(msgs) == 1 and "TP_STATUS_CSUMNOTREADY" in msgs[0]


def test_yaml_attach_section_builds_real_ports(tmp_path):
    require_netns()
    ping = require_tool("ping")
    topo = tmp_path / "attach.yaml"
    topo.write_text(textwrap.dedent("""\
        nodes:
          r1: {kind: router}
          s1: {kind: switch}
          h1: {kind: host, ip: 10.0.9.10/24, gateway: 10.0.9.1}
        links:
          - {a: h1, b: s1}
          - {a: r1, b: s1, a_ip: 10.0.9.1/24}
        attach:
          - {node: r1, interface: vs, ip: 10.0.1.1/24, delay: 100us}
          - {node: s1, tap: nstap1}
        """))
    with namespaces("lnx", "sim") as ns:
        veth(ns["lnx"], "vl", ns["sim"], "vs")
        sh("ip", "addr", "add", "10.0.1.2/24", "dev", "vl", ns=ns["lnx"])
        sh("ip", "route", "add", "default", "via", "10.0.1.1", ns=ns["lnx"])
        with inside(ns["sim"]):
            net = Network.from_file(topo)
        assert [i.name for i in net["r1"].interfaces] == ["eth0", "eth1"]
        assert net["r1"].addresses()[1] == ("eth1", "10.0.1.1/24")
        assert {"vs", "nstap1"} <= set(net.nodes)
        proc = subprocess.Popen(["ip", "netns", "exec", ns["lnx"], ping, "-c", "2", "-i", "0.2",
                                 "-W", "2", "10.0.9.10"], stdout=subprocess.PIPE, text=True)
        assert run_until(net, lambda: proc.poll() is not None, timeout=15)
        net.detach()
        assert proc.returncode == 0 and "ttl=63" in proc.stdout.read()


def _unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    return [require_tool("setpriv"), "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


@pytest.mark.parametrize("call,capability", [
    ("net.attach(h, 'lo')", "CAP_NET_RAW"),
    ("net.add_tap('nstap9', h)", "CAP_NET_ADMIN"),
])
def test_without_the_capability_one_line_names_it_and_points_to_forwarding(call, capability):
    code = ("from netsim import Network\n"
            "from netsim.realworld import MissingCapability\n"
            "net = Network(); h = net.add_host('h')\n"
            f"try:\n    {call}\nexcept MissingCapability as exc:\n    print(exc)\n")
    out = subprocess.run([*_unprivileged(), sys.executable, "-c", code], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip()
    assert "\n" not in line and f"needs {capability}" in line
    assert "port forwarding" in line and "needs no privileges" in line


def test_cli_with_an_attach_section_and_no_capability_is_one_line():
    work = Path(tempfile.mkdtemp(prefix="netsim-attach-"))
    os.chmod(work, 0o777)     # nobody reads the topology and creates the --out folder here
    topo = work / "attach.yaml"
    topo.write_text("nodes:\n  s1: {kind: switch}\nattach:\n  - {node: s1, interface: lo}\n")
    os.chmod(topo, 0o644)
    try:
        out = subprocess.run([*_unprivileged(), sys.executable, "-m", "netsim.cli", "run",
                              str(topo), "--out", str(work / "cap")], capture_output=True,
                             text=True, cwd=ROOT, timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "CAP_NET_RAW" in lines[0] and "--forward" in lines[0]


def test_segmentation_offload_at_the_sender_is_reported_and_its_frames_dropped(pair, tmp_path):
    """TSO at the Linux end hands the veth 64 KB super-frames that no cable carries: netsim
    says so once, and the cable drops them visibly ("exceed the link MTU")."""
    lnx, sim = pair
    sh("ethtool", "-K", "vl", "tx", "on", "tso", "on", "gso", "on", ns=lnx)
    net = Network(seed=7)
    h1 = net.add_host("h1")
    with inside(sim):
        net.attach(h1, "vs", ip="10.0.1.10/24")
    h1.spawn_with_host(PROGRAMS["tcp_echo_server"].fn, lambda line: None, 7)
    proc = _peer(lnx, "client", "10.0.1.10", "7", "500000", "3")
    with warnings.catch_warnings(record=True) as caught, net.capture(tmp_path / "tso.pcapng"):
        warnings.simplefilter("always")
        run_until(net, lambda: any("more than the cable's MTU" in str(w.message) for w in caught),
                  timeout=15)
        # the warning comes with the first super-frame; the cable drops it, and those behind
        # it, in the events that follow: let them reach the capture
        run_until(net, lambda: False, timeout=0.5)
    proc.kill()
    proc.wait()
    net.detach()
    big = [str(w.message) for w in caught if "more than the cable's MTU" in str(w.message)]
    assert len(big) == 1 and "gro off" in big[0]
    drops = [f for f in read_capture(tmp_path / "tso.pcapng")
             if any("exceed the link MTU" in c for c in f.comments)]
    assert drops and all(len(f.data) > 1514 for f in drops)
