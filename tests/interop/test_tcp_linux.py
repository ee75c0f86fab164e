"""netsim's TCP against the Linux kernel's, frame for frame, in namespaces the tests make.

Each test makes three namespaces: ``lnx`` holds Linux's end (vl, 10.0.1.2/24) and runs
``linux_tcp_peer.py`` on the kernel's TCP; ``sim`` holds the veth end (vs) that netsim
attaches to its virtual host h1 (10.0.1.10/24) through an AF_PACKET socket, in real time;
``mid`` bridges the two veths (br0). Offloads are off on every veth end, so each frame is one
a cable would carry. Loss is an nftables rule in the bridge (``numgen random mod 100 < 5
drop``, a counter each way; this kernel has no netem). It sits in the bridge, not in Linux's
own output hook: a packet dropped there fails its transmit call and Linux just sends it
again, so it never reaches Linux's loss recovery.

The errno scenarios run the same function on both sides (``linux_tcp_peer.SCENARIOS``), once
with netsim as the client and once with Linux as the client, and compare what each side's
calls returned: netsim must give what Linux and CPython give in the same place.

Skipped with the reason when not root or without ip/ethtool/nft/tshark; they fail instead
under NETSIM_REQUIRE_TOOLS=1 (CI runs as root). The file takes about 15 s.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from netsim import Network
from tests.interop import linux_tcp_peer as peer
from tests.kits.netns import inside, namespaces, require_netns, run_until, sh, veth
from tests.kits.tools import require_tool

pytestmark = pytest.mark.netns

PEER = str(Path(__file__).with_name("linux_tcp_peer.py"))
LINUX, SIM = "10.0.1.2", "10.0.1.10"
MB = 1 << 20
OPTION_SYSCTLS = ("net.ipv4.tcp_sack", "net.ipv4.tcp_timestamps", "net.ipv4.tcp_window_scaling")


@pytest.fixture
def path():
    """(lnx, sim, mid) namespaces: Linux's vl -- ml [br0 in mid] ms -- vs, netsim's end."""
    require_netns()
    require_tool("ethtool")
    with namespaces("lnx", "mid", "sim") as ns:
        bridged(ns["lnx"], ns["mid"], ns["sim"])
        yield ns["lnx"], ns["sim"], ns["mid"]


def bridged(lnx: str, mid: str, sim: str) -> None:
    """vl (``lnx``, 10.0.1.2/24) -- ml [br0] ms (``mid``) -- vs (``sim``), offloads off."""
    veth(lnx, "vl", mid, "ml")
    veth(mid, "ms", sim, "vs")
    sh("ip", "link", "add", "br0", "type", "bridge", ns=mid)
    for port in ("ml", "ms"):
        sh("ip", "link", "set", port, "master", "br0", ns=mid)
    sh("ip", "link", "set", "br0", "up", ns=mid)
    sh("ip", "addr", "add", f"{LINUX}/24", "dev", "vl", ns=lnx)


def virtual_host(sim_ns: str, seed: int, options: bool = True):
    """A network with h1 cabled to the veth end ``vs`` (1 Gb/s, 1 us)."""
    net = Network(seed=seed)
    h1 = net.add_host("h1")
    if not options:
        for name in OPTION_SYSCTLS:
            h1.tcp.config.sysctl(name, 0)
    with inside(sim_ns):
        net.attach(h1, "vs", ip=f"{SIM}/24", bandwidth="1Gbps")
    return net, h1


def set_linux_options(ns: str, on: bool) -> None:
    """SACK, timestamps and window scaling on or off in the namespace (per-netns sysctls)."""
    for name in OPTION_SYSCTLS:
        sh("sysctl", "-qw", f"{name}={int(on)}", ns=ns)


def add_loss(mid: str, percent: int) -> None:
    """The bridge drops ``percent`` % of the TCP frames each way (see loss_ruleset)."""
    require_tool("nft")
    sh("nft", "-f", "-", ns=mid, input=peer.loss_ruleset(percent, ("ml", "ms")))


def losses(mid: str) -> list[int]:
    """Frames the bridge dropped: [Linux -> netsim, netsim -> Linux]."""
    return peer.dropped(sh("nft", "list", "table", "bridge", peer.LOSS_TABLE, ns=mid).stdout)


def start_linux(ns: str, *args: str, port: int | None = None) -> subprocess.Popen:
    """``linux_tcp_peer.py ARGS`` in ``ns``; with ``port``, once it listens there."""
    proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, PEER, *args],
                            stdout=subprocess.PIPE, text=True)
    if port is not None:
        assert json.loads(proc.stdout.readline()) == {"listening": port}
    return proc


def linux_result(proc: subprocess.Popen) -> dict:
    proc.wait(timeout=30)
    out = proc.stdout.read()   # read(), not communicate(): start_linux's readline buffered
    assert proc.returncode == 0, out
    return json.loads(out.splitlines()[-1])


def exchange(path, sim_role: str, sim_bytes: int, linux_bytes: int, *, port: int = 9000,
             sim_options: bool = True, linux_options: bool = True, loss: int = 0,
             rcvbuf: int | None = None, capture: Path | None = None, timeout: float = 30):
    """netsim and Linux each send their bytes (then FIN) while reading the other's.

    Returns (netsim's bulk result, netsim's tcp_info, Linux's bulk result), where a bulk
    result has sizes, sha256s and CLOCK_MONOTONIC times, and Linux's also its tcp_info and
    the namespace's TCP counters.
    """
    lnx, sim, mid = path
    set_linux_options(lnx, linux_options)
    if loss:
        add_loss(mid, loss)
    net, h1 = virtual_host(sim, seed=port, options=sim_options)
    with contextlib.ExitStack() as stack:
        stack.callback(net.detach)
        if capture:
            stack.enter_context(net.capture(capture, interfaces=["vs"]))
        if sim_role == "client":
            proc = start_linux(lnx, "bulk", "server", LINUX, str(port), str(linux_bytes), "2",
                               port=port)
        task = h1.spawn_with_host(peer.sim_bulk, sim_role, LINUX, port, sim_bytes, 1, rcvbuf)
        if sim_role == "server":
            net.run(duration="20ms")           # listening before Linux connects
            proc = start_linux(lnx, "bulk", "client", SIM, str(port), str(linux_bytes), "2")
        stack.callback(proc.kill)              # a no-op once it has ended
        finished = run_until(net, lambda: task.done and proc.poll() is not None,
                             timeout=timeout)
    assert finished, f"no end within {timeout} s (netsim task done: {task.done})"
    assert task.exception is None, task.exception
    sim_out, sim_info = task.result
    return sim_out, sim_info, linux_result(proc)


def assert_intact(sim_out: dict, linux_out: dict) -> None:
    """Each side read exactly what the other sent (sizes and sha256)."""
    assert linux_out["received"] == sim_out["sent"]
    assert linux_out["received_sha256"] == sim_out["sent_sha256"]
    assert sim_out["received"] == linux_out["sent"]
    assert sim_out["received_sha256"] == linux_out["sent_sha256"]


# -- 1 MB each way ---------------------------------------------------------------------------

@pytest.mark.parametrize("sim_role", ["client", "server"])
def test_one_megabyte_each_way_arrives_intact(path, sim_role):
    sim_out, _, linux_out = exchange(path, sim_role, MB, MB)
    assert sim_out["sent"] == linux_out["sent"] == MB
    assert_intact(sim_out, linux_out)


# -- the handshake: every option, both ways -------------------------------------------------

FIELDS = ("ip.src", "tcp.flags.syn", "tcp.option_kind", "tcp.options.mss_val",
          "tcp.options.wscale.shift", "tcp.options.timestamp.tsval",
          "tcp.options.timestamp.tsecr", "tcp.window_size_value", "tcp.window_size",
          "tcp.analysis.retransmission")
NOP, MSS, SACK_PERM, TIMESTAMP, WSCALE = 1, 2, 4, 8, 3   # option kinds (RFC 9293, 2018, 7323)


def tshark_tcp(path: Path) -> list[dict[str, str]]:
    """One dict per TCP frame of the capture, as Wireshark decodes it."""
    cmd = [require_tool("tshark"), "-n", "-r", str(path), "-Y", "tcp", "-T", "fields",
           "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    return [dict(zip(FIELDS, line.split("\t"))) for line in out.splitlines()]


@pytest.mark.parametrize("sim_role", ["client", "server"])
@pytest.mark.parametrize("off", ["nobody", "netsim", "linux"])
def test_handshake_negotiates_every_option_both_ways(path, tmp_path, sim_role, off):
    """Both SYNs carry MSS, SACK_PERM, TS and WS, each end uses what the other offered
    (netsim's 1 MB window reaches Linux scaled, each echoes the other's TSval); an end with
    them off makes a SYN,ACK without them (RFC 7323 2.2, 3.2; RFC 2018 2)."""
    require_tool("tshark")            # skip before any traffic when it is missing
    cap = tmp_path / "handshake.pcapng"
    sim_out, sim_info, linux_out = exchange(path, sim_role, 300_000, 300_000,
                                               sim_options=off != "netsim",
                                               linux_options=off != "linux", rcvbuf=MB,
                                               capture=cap, port=9100)
    assert_intact(sim_out, linux_out)
    rows = tshark_tcp(cap)
    syns = [r for r in rows if r["tcp.flags.syn"] == "1"]
    assert [r["ip.src"] for r in syns] == ([SIM, LINUX] if sim_role == "client" else [LINUX, SIM])
    assert all(r["tcp.options.mss_val"] == "1460" for r in syns)
    assert not any(r["tcp.analysis.retransmission"] for r in rows)
    kinds = [[int(k) for k in r["tcp.option_kind"].split(",")] for r in syns]
    ours = [r for r in rows if r["ip.src"] == SIM and r["tcp.flags.syn"] == "0"]
    info = linux_out["tcp_info"]
    if off != "nobody":
        # The first SYN offers (or not) by its sysctls; the answer may not add an option.
        assert kinds[1] == [MSS] and sim_info["tcpi_options"] == info["tcpi_options"] == 0
        assert all(r["tcp.window_size"] == r["tcp.window_size_value"] for r in ours)
        assert not any(r["tcp.options.timestamp.tsval"] for r in rows if r is not syns[0])
        return
    assert kinds == [[MSS, SACK_PERM, TIMESTAMP, NOP, WSCALE]] * 2     # Linux's own layout
    sim_syn, linux_syn = syns if sim_role == "client" else syns[::-1]
    sim_shift = int(sim_syn["tcp.options.wscale.shift"])
    linux_shift = int(linux_syn["tcp.options.wscale.shift"])
    # SO_RCVBUF 1 MB is a 2 MB buffer (Linux doubles it): the smallest shift that covers it.
    assert 2 * MB >> sim_shift <= 0xFFFF < 2 * MB >> (sim_shift - 1)
    assert sim_info["tcpi_options"] == info["tcpi_options"] == 7          # TS | SACK | WS
    assert (sim_info["tcpi_snd_wscale"], sim_info["tcpi_rcv_wscale"]) == (linux_shift, sim_shift)
    assert (info["tcpi_snd_wscale"], info["tcpi_rcv_wscale"]) == (sim_shift, linux_shift)
    # netsim's window (1 MB, more than 16 bits hold) goes out shifted, and Linux scales it back.
    assert all(int(r["tcp.window_size_value"]) < 1 << 16 < int(r["tcp.window_size"])
               for r in ours)
    assert info["tcpi_snd_wnd"] > 1 << 16
    # Every segment but the first SYN echoes a TSval the other end sent before it
    # (RFC 7323 4.3), and the echo follows the peer's clock.
    for echoer in (SIM, LINUX):
        sent, echoed = set(), set()
        for r in rows:
            if r["ip.src"] != echoer:
                sent.add(r["tcp.options.timestamp.tsval"])
            elif r is not syns[0]:
                assert r["tcp.options.timestamp.tsecr"] in sent, (echoer, r)
                echoed.add(r["tcp.options.timestamp.tsecr"])
        assert len(echoed) > 1


# -- half-close and RST: the errno each call gives ------------------------------------------

def run_scenario(path, name: str, sim_role: str, port: int) -> tuple[list[str], list[str]]:
    """One side of scenario ``name`` on h1, the other on Linux: (netsim's lines, Linux's)."""
    lnx, sim, _ = path
    client, server = peer.SCENARIOS[name]
    net, h1 = virtual_host(sim, seed=port)
    with contextlib.ExitStack() as stack:
        stack.callback(net.detach)
        if sim_role == "client":
            proc = start_linux(lnx, "scenario", name, "server", LINUX, str(port), port=port)
            task = h1.spawn(client, peer.SimApi(h1), LINUX, port)
        else:
            task = h1.spawn(server, peer.SimApi(h1), SIM, port)
            net.run(duration="20ms")
            proc = start_linux(lnx, "scenario", name, "client", SIM, str(port))
        stack.callback(proc.kill)
        finished = run_until(net, lambda: task.done and proc.poll() is not None, timeout=15)
    assert finished, f"{name}: no end within 15 s (netsim task done: {task.done})"
    assert task.exception is None, task.exception
    return task.result, linux_result(proc)["seen"]


@pytest.mark.parametrize("name", list(peer.SCENARIOS))
def test_each_call_gives_what_linux_gives(path, name):
    """The same calls on each side, netsim as client then Linux as client: every line
    (data, EOF, ECONNRESET once, EPIPE after it, SO_ERROR) is the same both times."""
    sim_client, linux_server = run_scenario(path, name, "client", 9200)
    sim_server, linux_client = run_scenario(path, name, "server", 9201)
    assert sim_client == linux_client
    assert sim_server == linux_server
    assert sim_client, "the scenario's client recorded nothing"


# -- 5 % loss each way -----------------------------------------------------------------------

@pytest.mark.parametrize("sender,options", [("netsim", True), ("netsim", False),
                                            ("linux", True)],
                         ids=["netsim-sends", "netsim-sends-classic", "linux-sends"])
def test_five_percent_loss_each_way_leaves_the_data_intact_without_an_rto_storm(
        path, sender, options):
    """1 MB through a bridge dropping 5 % of the TCP frames each way. Every byte arrives,
    every dropped data frame is sent again (and little else is), and timeouts stay rare:
    with limited transmit, fast recovery (SACK or NewReno) and a 200 ms RTO floor, most
    losses are repaired within a round trip. The storm this guards against is netsim's old
    one: one RTO per loss, doubling 1 -> 2 -> 4 -> 8 s, 13-21 s for a megabyte."""
    *_, mid = path
    sim_bytes, linux_bytes = (MB, 0) if sender == "netsim" else (0, MB)
    sim_out, sim_info, linux_out = exchange(path, "client", sim_bytes, linux_bytes, loss=5,
                                               sim_options=options, linux_options=options,
                                               port=9300, timeout=40)
    assert_intact(sim_out, linux_out)
    from_linux, from_sim = losses(mid)
    assert from_linux > 0 and from_sim > 0                 # loss happened both ways
    if sender == "netsim":
        dropped, started, done = from_sim, sim_out["started"], linux_out["read_at"]
        rexmits, rtos = sim_info["tcpi_total_retrans"], sim_info["tcpi_total_rto"]
    else:
        counters = linux_out["counters"]
        dropped, started, done = from_linux, linux_out["started"], sim_out["read_at"]
        rexmits, rtos = counters["TcpRetransSegs"], counters["TcpExtTCPTimeouts"]
        # Linux's recoveries ran on netsim's SACK blocks (RFC 2018): they were right.
        assert counters["TcpExtTCPSackRecovery"] > 0, counters
    report = (f"{sender} sent 1 MB in {done - started:.2f} s: {dropped} of its frames dropped, "
              f"{rexmits} retransmissions, {rtos} timeouts")
    assert dropped - 3 <= rexmits <= 2 * dropped + 10, report   # a few drops were pure ACKs
    assert rtos <= 2 + dropped // 4, report
    assert done - started < 10, report
