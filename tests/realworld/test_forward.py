"""Port forwarding: real UDP/TCP sockets on loopback relayed through a virtual gateway host.

These need no privileges. The last test proves it: ``netsim run --forward`` runs as the user
nobody (``setpriv`` when the suite runs as root), and curl and tftp-hpa, also as nobody,
download from the virtual TFTP server two routers and a lossy link away.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from netsim import AF_INET, SOCK_DGRAM, SOCK_STREAM, Network
from netsim.capture import read_capture
from netsim.realworld.forward import GATEWAY_RANGE, parse_forward
from netsim.wire.frame import decode_frame
from tests.kits.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_routers(loss: float = 0.0) -> Network:
    """r1 - (lossy) - r2 - s2 - h2, routes by the planner; h2 at 10.0.2.20."""
    net = Network(seed=4)
    r1, r2, s2, h2 = (net.add_router("r1"), net.add_router("r2"), net.add_switch("s2"),
                      net.add_host("h2"))
    net.link(r1, r2, delay="2ms", loss=loss)
    net.link(r2, s2)
    net.link(h2, s2)
    r1.set_ip("10.0.12.1/24", iface="eth0")
    r2.set_ip("10.0.12.2/24", iface="eth0")
    r2.set_ip("10.0.2.1/24", iface="eth1")
    h2.set_ip("10.0.2.20/24", gateway="10.0.2.1")
    net.auto_routes()
    return net


def in_thread(fn, *args):
    result: dict = {}

    def run():
        try:
            result["value"] = fn(*args)
        except BaseException as exc:   # handed to the test
            result["error"] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def run_while(net: Network, thread: threading.Thread, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        net.run(duration="50ms")
    thread.join(1)
    assert not thread.is_alive(), "the real client did not finish"


def test_parse_forward_forms():
    assert parse_forward("udp:6969=h2:69") == ("udp", ("127.0.0.1", 6969), "h2", 69, None)
    assert parse_forward("tcp:0.0.0.0:8080=web:80@r1") == ("tcp", ("0.0.0.0", 8080), "web", 80,
                                                           "r1")
    assert parse_forward("7000=h1:7") == ("udp", ("127.0.0.1", 7000), "h1", 7, None)
    for bad in ("udp:6969", "udp:x=h2:69", "udp:6969=h2", "udp:70000=h2:69", "=h2:69"):
        with pytest.raises(ValueError, match="expected"):
            parse_forward(bad)


def test_gateway_next_to_a_router_gets_a_fresh_subnet_and_routes_back():
    net = two_routers()
    net.forward(("127.0.0.1", free_port()), "h2", 7, via="r1")
    gw = net.realworld.forwarder.gw
    subnet = GATEWAY_RANGE.subnets(new_prefix=24).__next__()
    assert gw.addresses() == [("eth0", f"{subnet[2]}/24")] and gw.gateway == str(subnet[1])
    back = [r for r in net["r2"].routes() if r.prefix == str(subnet)]
    assert back and back[0].via == "10.0.12.1"
    net.detach()


def test_gateway_on_a_switch_joins_the_lan_with_the_highest_free_address():
    net = two_routers()
    net.forward(free_port(), "h2", 7)              # default: next to the target, on s2
    gw = net.realworld.forwarder.gw
    assert gw.addresses() == [("eth0", "10.0.2.254/24")]
    assert gw.gateway == "10.0.2.1"       # the planner's default route: r2 is the LAN's router
    net.detach()


def test_a_host_called_gw_in_the_topology_is_used_as_it_is():
    net = Network.from_file(ROOT / "examples" / "topologies" / "tftp_behind_routers.yaml")
    before = len(net.nodes)
    net.forward(free_port(), "h2", 69)
    assert net.realworld.forwarder.gw is net["gw"] and len(net.nodes) == before
    net.detach()


def _udp_echo(host):
    s = host.socket(AF_INET, SOCK_DGRAM)
    s.bind(("", 7))
    while True:
        data, addr = s.recvfrom(2048)
        s.sendto(data.upper(), addr)


def _udp_client(port: int) -> list[bytes]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(10)
        got = []
        for i in range(3):
            s.sendto(b"hello %d" % i, ("127.0.0.1", port))
            got.append(s.recvfrom(2048)[0])
        return got


def test_udp_datagrams_cross_the_simulation_and_its_capture(tmp_path):
    net = two_routers()
    net["h2"].spawn_with_host(_udp_echo)
    port = free_port()
    net.forward(("127.0.0.1", port), "h2", 7, via="r1")
    with net.capture(tmp_path / "fwd.pcapng"):
        t, result = in_thread(_udp_client, port)
        run_while(net, t)
    net.detach()
    assert result.get("value") == [b"HELLO 0", b"HELLO 1", b"HELLO 2"], result
    udp = [(f.if_name, decode_frame(f.data)) for f in read_capture(tmp_path / "fwd.pcapng")]
    at_h2 = [fr.udp.payload for name, fr in udp if name == "h2-eth0" and fr.udp]
    assert b"hello 1" in at_h2 and b"HELLO 1" in at_h2
    hops = {name for name, fr in udp if fr.udp and fr.udp.payload == b"hello 2"}
    assert {"gw-eth0", "r1-eth0", "r1-eth1", "r2-eth0", "r2-eth1", "h2-eth0"} <= hops


def _tcp_echo(host):
    ls = host.socket(AF_INET, SOCK_STREAM)
    ls.bind(("", 7))
    ls.listen(4)
    while True:
        conn, _ = ls.accept()
        host.spawn(_serve, conn)


def _serve(conn):
    while data := conn.recv(65536):
        conn.sendall(data)
    conn.close()


def _tcp_client(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        got = bytearray()

        def reader():
            while chunk := s.recv(65536):
                got.extend(chunk)
        t = threading.Thread(target=reader)
        t.start()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        t.join(30)
        return bytes(got)


def test_tcp_bytes_and_half_close_cross_a_lossy_path(tmp_path):
    net = two_routers(loss=0.02)
    net["h2"].spawn_with_host(_tcp_echo)
    port = free_port(socket.SOCK_STREAM)
    net.forward(("127.0.0.1", port), "h2", 7, proto="tcp", via="r1")
    data = random.Random(1).randbytes(300_000)
    with net.capture(tmp_path / "tcp.pcapng"):
        t, result = in_thread(_tcp_client, port, data)
        run_while(net, t, timeout=60)
    net.detach()
    assert hashlib.sha256(result.get("value", b"")).digest() == hashlib.sha256(data).digest()
    lost = [f for f in read_capture(tmp_path / "tcp.pcapng") if "lost on link" in " ".join(f.comments)]
    assert lost            # the frames really crossed the lossy simulated link


def test_tcp_refused_in_the_simulation_resets_the_real_connection():
    net = two_routers()
    port = free_port(socket.SOCK_STREAM)
    net.forward(("127.0.0.1", port), "h2", 4444, proto="tcp")   # nothing listens on h2:4444

    def client():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                return s.recv(10)
        except ConnectionResetError:
            return "reset"
    t, result = in_thread(client)
    run_while(net, t)
    net.detach()
    assert result.get("value") == "reset"


def test_a_port_in_use_is_a_clear_error():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        net = two_routers()
        with pytest.raises(OSError, match=f"cannot listen on udp 127.0.0.1:{port}"):
            net.forward(("127.0.0.1", port), "h2", 69)
        net.detach()


def test_cli_bad_forward_is_a_usage_error():
    out = subprocess.run([sys.executable, "-m", "netsim.cli", "run",
                          str(ROOT / "examples/topologies/tftp_behind_routers.yaml"),
                          "--forward", "udp:6969"], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 2 and "expected [udp|tcp:]" in out.stderr
    assert "Traceback" not in out.stderr


def _as_unprivileged() -> list[str]:
    """A command prefix that runs as nobody (when root) or as ourselves (already unprivileged)."""
    if os.geteuid() != 0:
        return []
    setpriv = require_tool("setpriv")
    return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


@pytest.mark.tools
def test_forwarding_as_an_unprivileged_user_serves_curl_and_tftp_hpa():
    curl, tftp = require_tool("curl"), require_tool("tftp")
    who = _as_unprivileged()
    work = Path(tempfile.mkdtemp(prefix="netsim-fwd-"))
    os.chmod(work, 0o777)          # nobody writes the capture and the downloads here
    try:
        port = free_port()
        cmd = [*who, sys.executable, "-m", "netsim.cli", "run",
               "examples/topologies/tftp_behind_routers.yaml", "--duration", "120s",
               "--forward", f"udp:{port}=h2:69", "--out", str(work / "cap")]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            line = proc.stdout.readline()
            assert line.startswith(f"forwarding udp 127.0.0.1:{port} -> h2"), line + proc.stderr.read()
            want = (ROOT / "examples" / "files" / "hello.txt").read_bytes()
            got = subprocess.run([*who, curl, "-sS", "--max-time", "60", "-o",
                                  str(work / "curl.txt"), f"tftp://127.0.0.1:{port}/hello.txt"],
                                 capture_output=True, text=True, timeout=90)
            assert got.returncode == 0, got.stderr
            assert (work / "curl.txt").read_bytes() == want
            got = subprocess.run([*who, tftp, "127.0.0.1", str(port), "-m", "binary", "-c", "get",
                                  "hello.txt", str(work / "hpa.txt")],
                                 capture_output=True, text=True, timeout=90)
            assert got.returncode == 0 and (work / "hpa.txt").read_bytes() == want, got.stderr
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in err, err
        assert "stopped early: interrupted (Ctrl-C)" in out
        frames = [decode_frame(f.data) for f in read_capture(work / "cap" / "tftp_behind_routers.pcapng")
                  if f.if_name == "r2-eth0"]
        # the 3.8 KB file in 512-byte blocks, twice, crossed the lossy link and both routers
        assert sum(1 for fr in frames if fr.udp is not None and len(fr.udp.payload) == 516) >= 14
    finally:
        shutil.rmtree(work, ignore_errors=True)
