"""The real-socket TFTP server against a real full disk, a real EPERM and a real privilege drop
(issue 10). Each test mounts its own small tmpfs (root only); where mounting is not permitted
the test skips with the reason, or fails under NETSIM_REQUIRE_TOOLS=1 as a missing tool does.

* A small upload fits the server's write buffer, so the full disk shows only at the commit:
  the client gets ERROR 3 instead of its final ACK.
* A large one fails at a block write: ERROR 3 at once (the old server ignored the error and
  the client timed out after 63 s), and the log counts each block once.
* ``chattr +i`` on the directory during an upload makes the commit fail with EPERM: ERROR 2.
* ``netsim tftp serve --user nobody`` drops root after binding and then reads, creates and
  overwrites files as nobody.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import pwd
import re
import subprocess
import sys
import tempfile
import time

import pytest

from netsim.apps.tftp.blocking import TftpError
from netsim.apps.tftp.os_driver import TftpServer, put
from netsim.wire import tftp
from netsim.wire.tftp import Ack, Data, Error
from tests.kits.tftp import HELLO, Raw, healthy, request, wait_until
from tests.kits.tools import require_tool

pytestmark = pytest.mark.tools


def unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail when CI demands every tool (see tests/tools.py)."""
    if os.environ.get("NETSIM_REQUIRE_TOOLS") == "1":
        pytest.fail(reason + " and NETSIM_REQUIRE_TOOLS=1", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def tmpfs(path, size: str):
    mount, umount = require_tool("mount"), require_tool("umount")
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        unavailable("mounting a tmpfs needs root")
    proc = subprocess.run([mount, "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                           str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        unavailable(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run([umount, "-l", str(path)], check=False)


def fill(path) -> None:
    """Write until the file system is full."""
    with open(path / "filler", "wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * 4096)
    with contextlib.suppress(OSError), open(path / "filler2", "wb", buffering=0) as f:
        while True:
            f.write(b"\0")


@contextlib.contextmanager
def public_tmpfs(size: str):
    """A tmpfs outside pytest's tmp_path, whose parents only root may enter."""
    where = pathlib.Path(tempfile.mkdtemp(prefix="netsim-tftp-", dir="/tmp"))
    os.chmod(where, 0o755)
    try:
        with tmpfs(where, size) as root:
            yield root
    finally:
        os.rmdir(where)


@pytest.fixture
def small_disk(tmp_path):
    with tmpfs(tmp_path / "mnt", "256k") as mnt:
        (mnt / "hello.txt").write_bytes(HELLO)
        yield mnt


def leftovers(root) -> list[str]:
    return [n for n in os.listdir(root) if n.endswith(".part")]


def test_full_disk_at_commit_answers_error_3_instead_of_the_final_ack(small_disk):
    fill(small_disk)
    with TftpServer(small_disk, port=0, allow_write=True) as srv:
        with Raw(srv.address) as raw:
            reply = raw.upload(b"small.bin", b"x" * 3000)      # fits the write buffer
        assert isinstance(reply, Error) and reply.code == tftp.ERR_DISK_FULL, reply
        assert wait_until(lambda: not srv._transfers)
        healthy(srv)
    assert not (small_disk / "small.bin").exists() and leftovers(small_disk) == []


def test_full_disk_mid_transfer_answers_error_3_at_once(small_disk, tmp_path, caplog):
    caplog.set_level(logging.INFO, "netsim.tftp")
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(1_000_000))
    with TftpServer(small_disk, port=0, allow_write=True) as srv:
        started = time.monotonic()
        with pytest.raises(TftpError) as info:
            put(srv.address, src, "big.bin")
        assert time.monotonic() - started < 5              # not a 63 s client timeout
        assert info.value.code == tftp.ERR_DISK_FULL and not info.value.sent
        assert wait_until(lambda: srv.completed)
        _kind, _name, stats, status = srv.completed[-1]
        assert status.startswith("failed (error 3")
        # each block counted once: no more than the blocks that arrived, and 512 per block
        assert stats.bytes == stats.blocks * 512 and stats.bytes < 300_000
        healthy(srv)
    assert not (small_disk / "big.bin").exists() and leftovers(small_disk) == []
    assert re.search(r"WRQ big\.bin failed \(error 3: No space left on device\) \d+ bytes",
                     caplog.text)


def test_full_disk_overwrite_in_place_reports_error_3(small_disk):
    (small_disk / "old.bin").write_bytes(b"o" * 10_000)
    fill(small_disk)
    with TftpServer(small_disk, port=0, allow_write=True, allow_overwrite=True) as srv:
        with Raw(srv.address) as raw:
            reply = raw.upload(b"old.bin", b"n" * 50_000)
        assert isinstance(reply, Error) and reply.code == tftp.ERR_DISK_FULL
        healthy(srv)
    assert (small_disk / "old.bin").read_bytes() == b"o" * 10_000     # staged, never copied
    assert leftovers(small_disk) == []


def test_eperm_at_commit_answers_error_2(small_disk):
    chattr = require_tool("chattr")
    (small_disk / "d").mkdir()
    frozen = []

    def freeze():
        subprocess.run([chattr, "+i", str(small_disk / "d")], check=True)
        frozen.append(True)
    try:
        with TftpServer(small_disk, port=0, allow_write=True) as srv:
            with Raw(srv.address) as raw:
                reply = raw.upload(b"d/new.bin", b"x" * 1000, before_last=freeze)
            assert isinstance(reply, Error) and reply.code == tftp.ERR_ACCESS, reply
            assert reply.message == os.strerror(1)            # EPERM
            healthy(srv)
    finally:
        if frozen:
            subprocess.run([chattr, "-i", str(small_disk / "d")], check=True)
    assert "new.bin" not in os.listdir(small_disk / "d")


# -- netsim tftp serve --user ----------------------------------------------------------------------


@contextlib.contextmanager
def netsim_serve(root, *args):
    proc = subprocess.Popen([sys.executable, "-m", "netsim.apps.tftp.cli", "serve", "--root",
                             str(root), "--port", "0", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        match = re.search(r"on ([\d.]+):(\d+) .* as (\S+)", line)
        assert match, f"no start-up line: {line!r} {proc.stderr.read() if proc.poll() else ''}"
        yield proc, (match[1], int(match[2])), match[3]
    finally:
        proc.terminate()
        proc.wait(5)


def status_ids(pid: int) -> dict[str, list[int]]:
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return {k: [int(x) for x in fields[k].split()] for k in ("Uid", "Gid")}


def test_serve_as_user_drops_root_and_acts_as_that_user(tmp_path):
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        unavailable("no user 'nobody' on this machine")
    with public_tmpfs("1m") as root:
        (root / "public.txt").write_bytes(b"public")
        (root / "private.txt").write_bytes(b"private")
        os.chmod(root / "private.txt", 0o600)
        (root / "rootfile.txt").write_bytes(b"root's")
        (root / "shared.txt").write_bytes(b"shared, old")
        os.chmod(root / "shared.txt", 0o666)
        os.link(root / "shared.txt", root / "shared-link.txt")
        os.chmod(root, 0o777)
        with netsim_serve(root, "--user", "nobody", "--allow-write", "--allow-overwrite") as (
                proc, address, who):
            assert who == "nobody"
            ids = status_ids(proc.pid)
            assert ids["Uid"] == [nobody.pw_uid] * 4 and ids["Gid"] == [nobody.pw_gid] * 4
            with Raw(address) as raw:
                assert raw.download(b"public.txt")[0] == b"public"
            with Raw(address) as raw:
                denied = raw.ask(request(tftp.RRQ, b"private.txt"))
            with Raw(address) as raw:
                assert isinstance(raw.upload(b"new.txt", b"by nobody"), Ack)
            with Raw(address) as raw:
                not_theirs = raw.ask(request(tftp.WRQ, b"rootfile.txt"))
            with Raw(address) as raw:
                assert isinstance(raw.upload(b"shared.txt", b"shared, new"), Ack)
        assert isinstance(denied, Error) and denied.code == tftp.ERR_ACCESS
        assert isinstance(not_theirs, Error) and not_theirs.code == tftp.ERR_ACCESS
        assert (root / "rootfile.txt").read_bytes() == b"root's"
        st = os.stat(root / "new.txt")
        assert (st.st_uid, (root / "new.txt").read_bytes()) == (nobody.pw_uid, b"by nobody")
        st = os.stat(root / "shared.txt")
        assert (st.st_uid, st.st_mode & 0o777, st.st_nlink) == (0, 0o666, 2)
        assert (root / "shared-link.txt").read_bytes() == b"shared, new"


def test_serve_as_user_who_cannot_enter_the_root_refuses_to_start(tmp_path):
    if os.geteuid() != 0:
        unavailable("dropping privileges needs root")
    proc = subprocess.run([sys.executable, "-m", "netsim.apps.tftp.cli", "serve", "--root",
                           str(tmp_path), "--port", "0", "--user", "nobody"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0 and "cannot read" in proc.stderr


def test_serve_with_unknown_user_refuses_to_start(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "netsim.apps.tftp.cli", "serve", "--root",
                           str(tmp_path), "--port", "0", "--user", "no-such-user-x"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0 and "--user no-such-user-x" in proc.stderr


def test_serve_limits_on_the_command_line(tmp_path):
    (tmp_path / "hello.txt").write_bytes(HELLO)
    with netsim_serve(tmp_path, "--max-per-client", "1", "--max-sessions", "2") as (_, addr, _w):
        with Raw(addr) as a, Raw(addr) as b:
            assert isinstance(a.ask(request(tftp.RRQ, b"hello.txt")), Data)
            second = b.ask(request(tftp.RRQ, b"hello.txt"))
    assert isinstance(second, Error) and "too many" in second.message
