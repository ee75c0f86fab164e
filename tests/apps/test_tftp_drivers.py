"""TFTP drivers on real loopback sockets: server safety rules, client files, CLI, and the
simulator driver run over a real-socket shim of the host API."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from click.testing import CliRunner

from netsim.apps.tftp import sim_driver
from netsim.apps.tftp.blocking import TftpError
from netsim.apps.tftp.cli import tftp as tftp_cli
from netsim.apps.tftp.client import TransferResult
from netsim.apps.tftp.os_driver import TftpServer, get, put, split_hostport
from netsim.apps.tftp.paths import Refused, resolve
from netsim.wire import tftp
from netsim.wire.tftp import Error, Request, decode


@pytest.fixture
def root(tmp_path):
    d = tmp_path / "root"
    d.mkdir()
    (d / "hello.txt").write_bytes(b"hello\nworld\n")
    (d / "sub").mkdir()
    (d / "sub" / "x.bin").write_bytes(bytes(range(256)) * 5)
    (tmp_path / "secret").write_bytes(b"secret")
    os.symlink(tmp_path / "secret", d / "escape")
    return d


@pytest.fixture
def server(root):
    with TftpServer(root, port=0, allow_write=True, max_file_size=10_000) as srv:
        yield srv


def ask(server, payload, wait=2.0):
    """Send one raw datagram to the server's port and return the decoded reply."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(wait)
        s.sendto(payload, server.address)
        data, _ = s.recvfrom(70000)
        return decode(data)


# -- name policy -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../secret", "sub/../../secret", "a\x01b", "escape", "/etc/passwd",
                                  "", "sub/..", "..\\secret"])
def test_resolve_refuses_escapes_with_access_violation(root, name):
    with pytest.raises(Refused) as info:
        resolve(str(root), name)
    assert info.value.code == tftp.ERR_ACCESS


def test_resolve_accepts_absolute_path_inside_root(root):
    assert resolve(str(root), str(root / "sub" / "x.bin")) == os.path.realpath(root / "sub/x.bin")
    assert resolve(str(root), "./sub//x.bin") == os.path.realpath(root / "sub/x.bin")


def test_resolve_sibling_with_common_prefix_is_outside(tmp_path):
    (tmp_path / "root2").mkdir()
    (tmp_path / "root").mkdir(exist_ok=True)
    with pytest.raises(Refused):
        resolve(str(tmp_path / "root"), str(tmp_path / "root2" / "f"))


# -- server answers to bad requests ----------------------------------------------------------------


@pytest.mark.parametrize("payload, code", [
    (b"\x00\x01", tftp.ERR_ILLEGAL),                                   # too short
    (b"\x00\x01hello.txt", tftp.ERR_ILLEGAL),                          # no NUL
    (Request(1, "hello.txt", "mail").encode(), tftp.ERR_ILLEGAL),
    (Request(1, "hello.txt", "bogus").encode(), tftp.ERR_ILLEGAL),
    (Request(1, "x" * 600, "octet").encode(), tftp.ERR_ILLEGAL),       # > 512 bytes
    (Request(1, "hello.txt", "octet", (("blksize", "512"), ("blksize", "1024"))).encode(),
     tftp.ERR_ILLEGAL),                                                # duplicate option
    (b"\x00\x04\x00\x01", tftp.ERR_ILLEGAL),                           # ACK to port 69
    (Request(1, "missing", "octet").encode(), tftp.ERR_NOT_FOUND),
    (Request(1, "../secret", "octet").encode(), tftp.ERR_ACCESS),
    (Request(1, "escape", "octet").encode(), tftp.ERR_ACCESS),
    (Request(1, "sub", "octet").encode(), tftp.ERR_ACCESS),            # a directory
    (Request(2, "hello.txt", "octet").encode(), tftp.ERR_EXISTS),      # no overwrite
    (Request(2, "big", "octet", (("tsize", "20000"),)).encode(), tftp.ERR_DISK_FULL),
])
def test_server_refuses_bad_requests_and_keeps_running(server, payload, code):
    reply = ask(server, payload)
    assert isinstance(reply, Error) and reply.code == code
    assert get(server.address, "hello.txt", open(os.devnull, "wb"), dally=None).stats.bytes == 12


def test_read_only_server_refuses_writes(root):
    with TftpServer(root, port=0) as srv:
        reply = ask(srv, Request(2, "new.bin", "octet").encode())
    assert reply.code == tftp.ERR_ACCESS


def test_upload_over_size_limit_fails_and_leaves_nothing(server, root, tmp_path):
    src = tmp_path / "big.bin"
    src.write_bytes(bytes(20_000))
    with pytest.raises(TftpError) as info:
        put(server.address, src, "big.bin")
    assert info.value.code == tftp.ERR_DISK_FULL and not info.value.sent
    time.sleep(0.1)
    assert not (root / "big.bin").exists()
    assert not [n for n in os.listdir(root) if n.endswith(".part")]


def test_upload_then_download_round_trip_netascii(server, root, tmp_path):
    src = tmp_path / "t.txt"
    src.write_bytes(b"a\nb\rc\n" * 300)
    put(server.address, src, "t.txt", mode="netascii")
    deadline = time.monotonic() + 3
    while not (root / "t.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (root / "t.txt").read_bytes() == src.read_bytes()
    out = tmp_path / "back.txt"
    get(server.address, "t.txt", out, mode="netascii", dally=None)
    assert out.read_bytes() == src.read_bytes()


def test_repeated_rrq_from_same_port_starts_one_session(server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        req = Request(1, "sub/x.bin", "octet").encode()
        s.sendto(req, server.address)
        s.sendto(req, server.address)
        first, tid = s.recvfrom(2000)
        assert decode(first) == tftp.Data(1, (bytes(range(256)) * 2))
        s.settimeout(0.3)
        with pytest.raises(TimeoutError):
            s.recvfrom(2000)          # no second DATA 1 from a parallel session
        s.sendto(tftp.Error(0, "bye").encode(), tid)


def test_per_client_limit(root):
    with TftpServer(root, port=0, max_per_client=1) as srv:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a:
            a.sendto(Request(1, "sub/x.bin", "octet").encode(), srv.address)
            a.settimeout(2)
            a.recvfrom(2000)
            reply = ask(srv, Request(1, "hello.txt", "octet").encode())
    assert reply.code == tftp.ERR_UNDEFINED and "too many" in reply.message


def test_failed_download_leaves_no_partial_file(server, tmp_path):
    (tmp_path / "dl").mkdir()
    out = tmp_path / "dl" / "nope.bin"
    with pytest.raises(TftpError):
        get(server.address, "missing", out, dally=None)
    assert os.listdir(tmp_path / "dl") == []


def test_get_to_existing_path_replaces_only_on_success(server, tmp_path):
    out = tmp_path / "hello.txt"
    out.write_bytes(b"old")
    with pytest.raises(TftpError):
        get(server.address, "missing", out, dally=None)
    assert out.read_bytes() == b"old"
    get(server.address, "hello.txt", out, blksize=8, windowsize=2, dally=None)
    assert out.read_bytes() == b"hello\nworld\n"


def test_split_hostport():
    assert split_hostport("h") == ("h", 69)
    assert split_hostport("h:6969") == ("h", 6969)
    assert split_hostport("[::1]:70") == ("::1", 70)


# -- CLI -------------------------------------------------------------------------------------------


def test_cli_help_texts_have_examples():
    runner = CliRunner()
    for cmd in ("serve", "get", "put"):
        result = runner.invoke(tftp_cli, [cmd, "--help"])
        assert result.exit_code == 0 and "Example" in result.output


def test_cli_get_and_put(server, root, tmp_path):
    runner = CliRunner()
    host, port = server.address
    out = tmp_path / "h.txt"
    result = runner.invoke(tftp_cli, ["get", f"{host}:{port}", "hello.txt", str(out),
                                      "--blksize", "1468"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b"hello\nworld\n" and "12 bytes" in result.output
    result = runner.invoke(tftp_cli, ["put", f"{host}:{port}", str(out), "cli.txt"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(tftp_cli, ["get", f"{host}:{port}", "missing", str(tmp_path / "m")])
    assert result.exit_code != 0 and "File not found" in result.output


# -- simulator driver over a real-socket shim ------------------------------------------------------


class _Kernel:
    @property
    def now(self):
        return time.monotonic_ns()


class ShimHost:
    """The host API the sim driver uses, backed by real loopback sockets and threads."""

    def __init__(self):
        self.kernel = _Kernel()

    def socket(self, family, kind):
        return _LoopSocket(family, kind)

    def spawn(self, fn, *args):
        threading.Thread(target=fn, args=args, daemon=True).start()


class _LoopSocket(socket.socket):
    def bind(self, addr):
        super().bind(("127.0.0.1" if addr[0] == "" else addr[0], addr[1]))


def test_sim_driver_serves_and_fetches_from_memory_over_shim():
    host = ShimHost()
    files = {"boot.img": os.urandom(70_000)}
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    completed = []
    t = threading.Thread(target=sim_driver.serve, args=(host, files),
                         kwargs=dict(port=port, allow_write=True, max_requests=3,
                                     completed=completed, dally=None), daemon=True)
    t.start()
    time.sleep(0.1)
    data, stats = sim_driver.get(host, ("127.0.0.1", port), "boot.img", dally=None)
    assert data == files["boot.img"] and stats.blocks == 137
    data, stats = sim_driver.get(host, ("127.0.0.1", port), "boot.img", blksize=1468,
                                 windowsize=4, dally=None)
    assert data == files["boot.img"] and stats.windowsize == 4
    sim_driver.put(host, ("127.0.0.1", port), b"x" * 1000, "up.bin")
    t.join(5)
    deadline = time.monotonic() + 3
    while "up.bin" not in files and time.monotonic() < deadline:
        time.sleep(0.01)
    assert files["up.bin"] == b"x" * 1000
    with pytest.raises(TftpError):
        sim_driver.get(host, ("127.0.0.1", port), "boot.img", timeout="50ms", max_retries=1,
                       dally=None)


def test_packet_from_an_unknown_tid_gets_error_5_and_the_transfer_goes_on(server):
    """RFC 1350 section 4: a datagram from the wrong port is answered with ERROR 5 (unknown
    transfer ID) and the transfer with the real peer is not disturbed."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        s.settimeout(2)
        stranger.settimeout(2)
        s.sendto(Request(1, "sub/x.bin", "octet").encode(), server.address)
        first, tid = s.recvfrom(2000)
        assert decode(first) == tftp.Data(1, bytes(range(256)) * 2)
        stranger.sendto(tftp.Ack(1).encode(), tid)
        reply, src = stranger.recvfrom(2000)
        assert src == tid and isinstance(decode(reply), Error) and decode(reply).code == 5
        got = decode(first).data
        block = 1
        while True:
            s.sendto(tftp.Ack(block).encode(), tid)
            pkt = decode(s.recvfrom(2000)[0])
            assert pkt.block == block + 1
            got += pkt.data
            block += 1
            if len(pkt.data) < 512:
                s.sendto(tftp.Ack(block).encode(), tid)
                break
        assert got == bytes(range(256)) * 5


def test_server_works_on_the_portable_selectors_path_too(root, monkeypatch):
    import netsim.apps.tftp.os_server as od
    if not hasattr(od, "_Poller"):
        pytest.skip("the server has no epoll fast path to switch off")
    monkeypatch.delattr(od.select, "epoll", raising=False)  # as on macOS or BSD
    with TftpServer(root, port=0) as srv:
        out = root.parent / "x.out"
        get(srv.address, "sub/x.bin", str(out), dally=None)
        assert out.read_bytes() == bytes(range(256)) * 5


# -- one front door: the OS and simulator clients take the same arguments -------------------------


@pytest.mark.parametrize("name", ["get", "put"])
def test_os_and_sim_front_doors_have_the_same_signature(name):
    import inspect

    from netsim.apps.tftp import os_driver

    os_sig = inspect.signature(getattr(os_driver, name))
    sim_sig = inspect.signature(getattr(sim_driver, name))
    host, *rest = sim_sig.parameters.values()
    assert host.name == "host"                   # the simulated node the task runs on
    assert rest == list(os_sig.parameters.values())
    assert sim_sig.return_annotation == os_sig.return_annotation == "TransferResult"


def test_get_keeps_data_in_memory_and_put_sends_bytes(server, root):
    result = get(server.address, "hello.txt", dally=None)
    assert isinstance(result, TransferResult)
    assert result.data == b"hello\nworld\n" and result.stats.bytes == 12
    up = put(server.address, b"from memory", "mem.txt", blksize=1024)
    assert up.data is None and up.stats.bytes == 11
    deadline = time.monotonic() + 3
    while not (root / "mem.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (root / "mem.txt").read_bytes() == b"from memory"
    with pytest.raises(ValueError, match="remote name"):
        put(server.address, b"no name")


def test_client_times_are_parsed_like_every_other_time(server):
    got = get(server.address, "hello.txt", timeout="2s", dally="10ms", timeout_option="3s")
    assert got.data == b"hello\nworld\n"
    for bad in ("1500ms", 0, 256):
        with pytest.raises(ValueError, match="whole seconds"):
            get(server.address, "hello.txt", timeout_option=bad)
    with pytest.raises(ValueError, match="unknown time unit"):
        get(server.address, "hello.txt", timeout="2 fortnights")


def test_server_refuses_a_bad_time_when_built_not_on_the_first_request(root):
    with pytest.raises(ValueError, match="unknown time unit"):
        TftpServer(root, port=0, timeout="1 jiffy")
    with pytest.raises(ValueError, match="cannot parse time"):
        sim_driver.serve(ShimHost(), {}, dally="soon")


def test_cli_timeout_takes_units_and_rejects_nonsense(server, tmp_path):
    runner = CliRunner()
    host, port = server.address
    out = tmp_path / "h.txt"
    ok = runner.invoke(tftp_cli, ["get", f"{host}:{port}", "hello.txt", str(out),
                                  "--timeout", "500ms"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(tftp_cli, ["get", f"{host}:{port}", "hello.txt", str(out),
                                   "--timeout", "soon"])
    assert bad.exit_code != 0 and "cannot parse time" in bad.output
