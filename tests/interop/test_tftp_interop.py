"""TFTP interop on loopback: our server against curl, tftp-hpa and atftp; our client against
tftpd-hpa (in.tftpd) and atftpd. Every transfer is checked byte for byte (sha256). Each test
starts and stops its own servers."""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import random
import socket
import subprocess
import time

import pytest

from netsim.apps.tftp.os_driver import TftpServer, get, put
from tests.kits.tools import require_tool

pytestmark = pytest.mark.tools

SIZES = [0, 511, 512, 513, 1_000_000]
BIG = 33 * 1024 * 1024 + 100          # > 32 MB: block numbers wrap at 512-byte blocks
RUN_TIMEOUT = 60


def sha(path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def free_port() -> int:
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(6900, 30000)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free UDP port")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("tftp-files")
    os.chmod(root, 0o755)
    rng = random.Random(1350)
    for size in SIZES:
        (root / f"f{size}.bin").write_bytes(rng.randbytes(size))
    (root / "big.bin").write_bytes(os.urandom(BIG))
    return root


@pytest.fixture
def ours(files):
    server = TftpServer(files, port=free_port(), allow_write=True)
    with server:
        yield server


def run(cmd, cwd=None):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, f"{cmd} failed: {proc.stderr.decode(errors='replace')}"
    return proc


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def daemon(make_cmd, attempts: int = 3):
    """Start a server on a free port (``make_cmd(port)``) and yield the port; a daemon that
    dies at start-up (a port taken between our probe and its bind) is retried on another."""
    error = None
    for _ in range(attempts):
        port = free_port()
        proc = subprocess.Popen(make_cmd(port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_listening(port, proc)
        except RuntimeError as exc:
            error = exc
            _stop(proc)
            continue
        try:
            yield port
        finally:
            _stop(proc)
        return
    raise error


def _wait_listening(port, proc):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode(errors='replace')}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return                        # the daemon holds the port
        time.sleep(0.02)
    raise RuntimeError("server did not start listening")


@contextlib.contextmanager
def tftpd_hpa(root, create=False):
    exe = require_tool("in.tftpd")

    def cmd(port):
        return [exe, "-L", "-a", f"127.0.0.1:{port}", "-u", getpass.getuser(), "-s", str(root),
                *(["-c"] if create else [])]
    with daemon(cmd) as port:
        yield port


@contextlib.contextmanager
def atftpd(root):
    exe = require_tool("atftpd")
    user = getpass.getuser()

    def cmd(port):
        return [exe, "--daemon", "--no-fork", "--port", str(port), "--bind-address", "127.0.0.1",
                "--user", user, "--group", user, "--logfile", "/dev/null", str(root)]
    with daemon(cmd) as port:
        yield port


# -- our server, their clients -------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("flags", [[], ["--tftp-blksize", "1468"], ["--tftp-no-options"]],
                         ids=["default", "blksize1468", "no-options"])
def test_curl_downloads_from_our_server(ours, files, tmp_path, size, flags):
    curl = require_tool("curl")
    out = tmp_path / "out.bin"
    run([curl, "-sS", *flags, "-o", str(out), f"tftp://127.0.0.1:{ours.address[1]}/f{size}.bin"])
    assert sha(out) == sha(files / f"f{size}.bin")


def test_curl_missing_file_gets_error_not_hang(ours, tmp_path):
    curl = require_tool("curl")
    proc = subprocess.run([curl, "-sS", "-o", str(tmp_path / "x"),
                           f"tftp://127.0.0.1:{ours.address[1]}/missing.bin"],
                          capture_output=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == 68      # CURLE_TFTP_NOTFOUND: our ERROR 1 reached curl


@pytest.mark.parametrize("size", SIZES)
def test_tftp_hpa_gets_and_puts_with_our_server(ours, files, tmp_path, size):
    tftp = require_tool("tftp")
    port = str(ours.address[1])
    run([tftp, "127.0.0.1", port, "-m", "binary", "-c", "get", f"f{size}.bin", "got.bin"],
        cwd=tmp_path)
    assert sha(tmp_path / "got.bin") == sha(files / f"f{size}.bin")
    run([tftp, "127.0.0.1", port, "-m", "binary", "-c", "put", "got.bin", f"up-hpa-{size}.bin"],
        cwd=tmp_path)
    _wait_file(files / f"up-hpa-{size}.bin", size)
    assert sha(files / f"up-hpa-{size}.bin") == sha(files / f"f{size}.bin")


def _wait_file(path, size):
    deadline = time.monotonic() + 5
    while not (path.exists() and path.stat().st_size == size) and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("option", [None, "blksize 1468", "windowsize 4"])
def test_atftp_gets_from_our_server(ours, files, tmp_path, size, option):
    atftp = require_tool("atftp")
    extra = ["--option", option] if option else []
    run([atftp, *extra, "-g", "-r", f"f{size}.bin", "-l", str(tmp_path / "a.bin"),
         "127.0.0.1", str(ours.address[1])])
    assert sha(tmp_path / "a.bin") == sha(files / f"f{size}.bin")
    deadline = time.monotonic() + 5
    while not ours.completed and time.monotonic() < deadline:
        time.sleep(0.01)
    kind, name, stats, status = ours.completed[-1]
    assert status == "ok"
    assert stats.windowsize == (4 if option == "windowsize 4" else 1)
    assert stats.blksize == (1468 if option == "blksize 1468" else 512)


def test_atftp_puts_to_our_server(ours, files, tmp_path):
    atftp = require_tool("atftp")
    run([atftp, "--option", "blksize 1024", "-p", "-r", "up-atftp.bin", "-l",
         str(files / "f1000000.bin"), "127.0.0.1", str(ours.address[1])])
    _wait_file(files / "up-atftp.bin", 1_000_000)
    assert sha(files / "up-atftp.bin") == sha(files / "f1000000.bin")


@pytest.mark.slow
def test_curl_big_file_with_block_rollover_from_our_server(ours, files, tmp_path):
    curl = require_tool("curl")
    out = tmp_path / "big.bin"
    run([curl, "-sS", "--tftp-blksize", "512", "-o", str(out),
         f"tftp://127.0.0.1:{ours.address[1]}/big.bin"])
    assert sha(out) == sha(files / "big.bin")


# -- our client, their servers ---------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("blksize", [None, 1468])
def test_our_client_gets_from_tftpd_hpa(files, tmp_path, size, blksize):
    with tftpd_hpa(files) as port:
        stats = get(("127.0.0.1", port), f"f{size}.bin", tmp_path / "o.bin", blksize=blksize,
                    dally=None).stats
    assert sha(tmp_path / "o.bin") == sha(files / f"f{size}.bin")
    assert stats.bytes == size


def test_our_client_windowed_get_from_tftpd_hpa_falls_back_to_lockstep(files, tmp_path):
    # tftpd-hpa 5.2 does not know windowsize: it leaves it out of its OACK, and we go lock-step.
    with tftpd_hpa(files) as port:
        stats = get(("127.0.0.1", port), "f1000000.bin", tmp_path / "o.bin", blksize=1468,
                    windowsize=8, dally=None).stats
    assert sha(tmp_path / "o.bin") == sha(files / "f1000000.bin")
    assert stats.windowsize == 1 and stats.blksize == 1468


@pytest.mark.parametrize("size", SIZES)
def test_our_client_puts_to_tftpd_hpa(files, tmp_path, size):
    updir = tmp_path / "up"
    updir.mkdir()
    os.chmod(updir, 0o777)
    with tftpd_hpa(updir, create=True) as port:
        put(("127.0.0.1", port), files / f"f{size}.bin", "sent.bin", blksize=1024)
        _wait_file(updir / "sent.bin", size)
    assert sha(updir / "sent.bin") == sha(files / f"f{size}.bin")


def test_our_client_missing_file_on_tftpd_hpa_leaves_no_partial_file(files, tmp_path):
    from netsim.apps.tftp.blocking import TftpError

    with tftpd_hpa(files) as port, pytest.raises(TftpError) as info:
        get(("127.0.0.1", port), "nope.bin", tmp_path / "nope.bin", dally=None)
    assert info.value.code == 1
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("opts", [{}, {"blksize": 1468}, {"blksize": 1468, "windowsize": 8}],
                         ids=["plain", "blksize", "window"])
def test_our_client_gets_from_atftpd(files, tmp_path, size, opts):
    with atftpd(files) as port:
        stats = get(("127.0.0.1", port), f"f{size}.bin", tmp_path / "o.bin", dally=None,
                    **opts).stats
    assert sha(tmp_path / "o.bin") == sha(files / f"f{size}.bin")
    if "windowsize" in opts:
        assert stats.windowsize == 8


def test_our_client_puts_to_atftpd(files, tmp_path):
    updir = tmp_path / "up"
    updir.mkdir()
    os.chmod(updir, 0o777)
    with atftpd(updir) as port:
        put(("127.0.0.1", port), files / "f1000000.bin", "sent.bin", blksize=1468)
        _wait_file(updir / "sent.bin", 1_000_000)
    assert sha(updir / "sent.bin") == sha(files / "f1000000.bin")


@pytest.mark.slow
def test_our_client_big_file_with_block_rollover_from_tftpd_hpa(files, tmp_path):
    with tftpd_hpa(files) as port:
        stats = get(("127.0.0.1", port), "big.bin", tmp_path / "big.bin", dally=None).stats
    assert stats.blocks > 65536
    assert sha(tmp_path / "big.bin") == sha(files / "big.bin")
