"""The real-socket TFTP server's files (issue 10): an upload is acknowledged only once it is in
place, a commit that fails is answered with ERROR instead, two uploads of one file cannot both
be acknowledged, permissions are checked like a careful daemon's (even as root), overwrites
happen in place, and an upload lingering after its final ACK frees its client's slot."""

from __future__ import annotations

import errno
import logging
import os
import stat

import pytest
from click.testing import CliRunner

from netsim.apps.tftp import os_server, server_files
from netsim.apps.tftp.cli import tftp as tftp_cli
from netsim.apps.tftp.os_driver import TftpServer, put
from netsim.wire import tftp
from netsim.wire.tftp import Ack, Data, Error
from tests.kits.tftp import HELLO, Raw, healthy, request, wait_until

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown to another user)")
NOBODY = 65534


@pytest.fixture
def root(tmp_path):
    d = tmp_path / "root"
    d.mkdir()
    (d / "hello.txt").write_bytes(HELLO)
    return d


def serve(root, **kw):
    kw.setdefault("allow_write", True)
    kw.setdefault("timeout", 0.1)
    kw.setdefault("max_retries", 2)
    return TftpServer(root, port=0, **kw)


def leftovers(root) -> list[str]:
    return [n for n in os.listdir(root) if n.endswith(server_files.TMP_SUFFIX)]


# -- commit, then ACK ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 100, 512, 5000])
def test_upload_is_in_place_when_its_final_ack_arrives(root, size):
    data = os.urandom(size)
    with serve(root) as srv:
        for i in range(10):
            with Raw(srv.address) as raw:
                assert isinstance(raw.upload(b"up%d.bin" % i, data), Ack)
                # no waiting: the ACK means committed (issue 10: it used to precede the rename)
                assert (root / f"up{i}.bin").read_bytes() == data
        healthy(srv)
    assert leftovers(root) == []


def test_new_upload_gets_mode_from_umask_and_is_fsynced(root, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    old = os.umask(0o027)
    try:
        srv = serve(root)
    finally:
        os.umask(old)
    with srv, Raw(srv.address) as raw:
        assert isinstance(raw.upload(b"m.bin", b"abc"), Ack)
    assert stat.S_IMODE(os.stat(root / "m.bin").st_mode) == 0o640
    assert len(synced) == 2                     # the file, then its directory


def test_failed_commit_answers_error_instead_of_the_final_ack(root, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted")
    caplog.set_level(logging.INFO, "netsim.tftp")
    with serve(root) as srv:
        monkeypatch.setattr(os, "link", refuse)
        monkeypatch.setattr(os, "rename", refuse)
        with Raw(srv.address) as raw:
            reply = raw.upload(b"denied.bin", b"x" * 700)
        monkeypatch.undo()
        assert isinstance(reply, Error) and reply.code == tftp.ERR_ACCESS
        assert "Operation not permitted" in reply.message
        assert wait_until(lambda: not srv._transfers)
        healthy(srv)
    assert not (root / "denied.bin").exists() and leftovers(root) == []
    assert "WRQ denied.bin failed (error 2: Operation not permitted)" in caplog.text


def test_unexpected_exception_in_a_transfer_is_contained(root, monkeypatch, caplog):
    caplog.set_level(logging.INFO, "netsim.tftp")
    with serve(root) as srv:
        def boom(self):
            raise RuntimeError("a bug")
        monkeypatch.setattr(server_files.Upload, "commit", boom)
        with Raw(srv.address) as raw:
            reply = raw.upload(b"bug.bin", b"x")
        monkeypatch.undo()
        assert isinstance(reply, Error) and reply.code == tftp.ERR_UNDEFINED
        healthy(srv)
    assert "internal error" in caplog.text and "RuntimeError: a bug" in caplog.text


def test_read_error_mid_download_answers_error_and_frees_the_transfer(root, monkeypatch):
    (root / "big.bin").write_bytes(b"b" * 5000)
    real_open = server_files.open_for_read

    class Failing:
        def __init__(self, f):
            self.f, self.reads = f, 0

        def read(self, n):
            self.reads += 1
            if self.reads > 2:
                raise OSError(errno.EIO, "Input/output error")
            return self.f.read(n)

        def close(self):
            self.f.close()

    def failing_open(path, who):
        f, size = real_open(path, who)
        return (Failing(f), size) if path.endswith("big.bin") else (f, size)
    monkeypatch.setattr(os_server, "open_for_read", failing_open)
    with serve(root) as srv:
        with Raw(srv.address) as raw:
            pkt = raw.ask(request(tftp.RRQ, b"big.bin"))
            while isinstance(pkt, Data):
                raw.send(Ack(pkt.block).encode(), raw.tid)
                pkt = raw.reply()
        assert isinstance(pkt, Error) and (pkt.code, pkt.message) == (0, "Input/output error")
        assert wait_until(lambda: not srv._transfers)
        healthy(srv)


def test_name_too_long_is_refused_before_any_data(root):
    with serve(root) as srv, Raw(srv.address) as raw:
        put_reply = raw.ask(request(tftp.WRQ, b"n" * 300))
        get_reply = raw.ask(request(tftp.RRQ, b"n" * 300))
        healthy(srv)
    for reply in (put_reply, get_reply):
        assert isinstance(reply, Error) and reply.code == tftp.ERR_UNDEFINED
        assert reply.message == os.strerror(errno.ENAMETOOLONG)
    assert leftovers(root) == []


def test_missing_directory_is_file_not_found(root):
    with serve(root) as srv, Raw(srv.address) as raw:
        reply = raw.ask(request(tftp.WRQ, b"nodir/x.bin"))
    assert isinstance(reply, Error) and reply.code == tftp.ERR_NOT_FOUND


def test_temporary_upload_names_cannot_be_fetched(root):
    with serve(root) as srv, Raw(srv.address) as raw, Raw(srv.address) as other:
        assert isinstance(raw.ask(request(tftp.WRQ, b"slow.bin")), Ack)
        tmp = leftovers(root)[0]
        reply = other.ask(request(tftp.RRQ, tmp.encode()))
        assert isinstance(reply, Error) and reply.code == tftp.ERR_ACCESS


# -- one upload per file ----------------------------------------------------------------------


@pytest.mark.parametrize("overwrite", [False, True])
def test_second_upload_of_a_name_gets_error_6_while_the_first_runs(root, overwrite):
    if overwrite:
        (root / "same.bin").write_bytes(b"old")
    with serve(root, allow_overwrite=overwrite) as srv:
        with Raw(srv.address) as a, Raw(srv.address) as b:
            assert isinstance(a.ask(request(tftp.WRQ, b"same.bin")), Ack)
            second = b.ask(request(tftp.WRQ, b"same.bin"))
            assert isinstance(second, Error) and second.code == tftp.ERR_EXISTS
            a.send(Data(1, b"from a").encode(), a.tid)
            assert a.reply() == Ack(1)
        assert (root / "same.bin").read_bytes() == b"from a"
        healthy(srv)


def test_upload_through_a_hard_link_of_a_file_being_uploaded_gets_error_6(root):
    (root / "f.bin").write_bytes(b"old")
    os.link(root / "f.bin", root / "g.bin")
    with serve(root, allow_overwrite=True) as srv, Raw(srv.address) as a, Raw(srv.address) as b:
        assert isinstance(a.ask(request(tftp.WRQ, b"f.bin")), Ack)
        second = b.ask(request(tftp.WRQ, b"g.bin"))
    assert isinstance(second, Error) and second.code == tftp.ERR_EXISTS


def test_file_created_meanwhile_is_not_clobbered(root):
    with serve(root) as srv, Raw(srv.address) as raw:
        reply = raw.upload(b"race.bin", b"upload",
                           before_last=lambda: (root / "race.bin").write_bytes(b"theirs"))
    assert isinstance(reply, Error) and reply.code == tftp.ERR_EXISTS
    assert (root / "race.bin").read_bytes() == b"theirs" and leftovers(root) == []


# -- permissions like a careful daemon ---------------------------------------------------------


def test_overwrite_is_in_place_keeping_mode_and_hard_links(root):
    target = root / "conf.txt"
    target.write_bytes(b"old content, longer than the new one")
    os.chmod(target, 0o664)
    os.link(target, root / "alias.txt")
    inode = os.stat(target).st_ino
    with serve(root, allow_overwrite=True) as srv, Raw(srv.address) as raw:
        assert isinstance(raw.upload(b"conf.txt", b"new"), Ack)
    st = os.stat(target)
    assert (st.st_ino, stat.S_IMODE(st.st_mode), st.st_nlink) == (inode, 0o664, 2)
    assert (root / "alias.txt").read_bytes() == b"new" == target.read_bytes()


def test_failed_overwrite_leaves_the_old_content(root):
    (root / "keep.txt").write_bytes(b"precious")
    with serve(root, allow_overwrite=True) as srv:
        with Raw(srv.address) as raw:
            assert isinstance(raw.ask(request(tftp.WRQ, b"keep.txt")), Ack)
            raw.send(Data(1, b"y" * 512).encode(), raw.tid)
            assert raw.reply() == Ack(1)
        assert wait_until(lambda: not srv._transfers, 3)      # the client vanished
    assert (root / "keep.txt").read_bytes() == b"precious" and leftovers(root) == []


def test_read_only_file_is_not_overwritten_even_by_root(root):
    (root / "ro.txt").write_bytes(b"read only")
    os.chmod(root / "ro.txt", 0o444)
    with serve(root, allow_overwrite=True) as srv, Raw(srv.address) as raw:
        reply = raw.ask(request(tftp.WRQ, b"ro.txt"))
    assert isinstance(reply, Error) and reply.code == tftp.ERR_ACCESS
    assert (root / "ro.txt").read_bytes() == b"read only"


def test_file_without_read_permission_is_not_served_even_by_root(root):
    (root / "closed.txt").write_bytes(b"closed")
    os.chmod(root / "closed.txt", 0o000)
    with serve(root) as srv, Raw(srv.address) as raw:
        reply = raw.ask(request(tftp.RRQ, b"closed.txt"))
    assert isinstance(reply, Error) and reply.code == tftp.ERR_ACCESS


@ROOT_ONLY
def test_other_users_private_file_is_not_served_but_their_shared_one_is(root):
    (root / "private.txt").write_bytes(b"mine")
    os.chown(root / "private.txt", NOBODY, NOBODY)
    os.chmod(root / "private.txt", 0o640)
    (root / "shared.txt").write_bytes(b"ours")
    os.chown(root / "shared.txt", NOBODY, NOBODY)
    os.chmod(root / "shared.txt", 0o644)
    with serve(root) as srv, Raw(srv.address) as raw:
        private = raw.ask(request(tftp.RRQ, b"private.txt"))
        assert isinstance(private, Error) and private.code == tftp.ERR_ACCESS
        healthy(srv, "shared.txt", b"ours")


@ROOT_ONLY
def test_overwrite_keeps_another_owner(root):
    (root / "theirs.txt").write_bytes(b"old")
    os.chown(root / "theirs.txt", NOBODY, NOBODY)
    os.chmod(root / "theirs.txt", 0o666)
    with serve(root, allow_overwrite=True) as srv, Raw(srv.address) as raw:
        assert isinstance(raw.upload(b"theirs.txt", b"replaced"), Ack)
    st = os.stat(root / "theirs.txt")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, NOBODY, 0o666)
    assert (root / "theirs.txt").read_bytes() == b"replaced"


def test_directory_the_user_could_not_write_is_refused(root):
    (root / "locked").mkdir()
    os.chmod(root / "locked", 0o555)
    with serve(root) as srv, Raw(srv.address) as raw:
        reply = raw.ask(request(tftp.WRQ, b"locked/new.bin"))
    assert isinstance(reply, Error) and reply.code == tftp.ERR_ACCESS
    assert os.listdir(root / "locked") == []


def test_permission_check_reads_owner_then_group_then_other():
    who = server_files.Identity(1000, frozenset({100}))

    def st(uid, gid, mode):
        return os.stat_result((stat.S_IFREG | mode, 0, 0, 1, uid, gid, 0, 0, 0, 0))
    assert server_files.permitted(st(1000, 0, 0o400), who, server_files.READ)
    assert not server_files.permitted(st(1000, 0, 0o044), who, server_files.READ)  # owner first
    assert server_files.permitted(st(0, 100, 0o040), who, server_files.READ)
    assert not server_files.permitted(st(0, 100, 0o404), who, server_files.READ)   # then group
    assert server_files.permitted(st(0, 0, 0o002), who, server_files.WRITE)
    assert not server_files.permitted(st(0, 0, 0o770), who, server_files.WRITE)


# -- limits -----------------------------------------------------------------------------------


def test_uploads_lingering_after_their_final_ack_free_the_clients_slot(root, tmp_path):
    src = tmp_path / "small.bin"
    src.write_bytes(b"z" * 100)
    with serve(root, max_per_client=2, dally=2.0) as srv:
        for i in range(6):          # within one dally: the old server refused the third
            put(srv.address, src, f"u{i}.bin")
        assert len(srv._transfers) == 6           # all six still linger
        healthy(srv)


def test_per_client_limit_still_counts_running_transfers(root):
    with serve(root, max_per_client=1) as srv, Raw(srv.address) as a, Raw(srv.address) as b:
        assert isinstance(a.ask(request(tftp.WRQ, b"a.bin")), Ack)
        reply = b.ask(request(tftp.RRQ, b"hello.txt"))
    assert isinstance(reply, Error) and "too many" in reply.message


def test_cli_serve_exposes_the_limits_and_privilege_options():
    text = CliRunner().invoke(tftp_cli, ["serve", "--help"]).output
    for flag in ("--max-sessions", "--max-per-client", "--user", "--fsync", "--allow-overwrite"):
        assert flag in text
    assert "root" in text


# -- names in the log and on the command line -----------------------------------------------------


def test_log_shows_utf8_names_readably(root, caplog):
    (root / "café.txt").write_bytes(b"coffee")
    caplog.set_level(logging.INFO, "netsim.tftp")
    with serve(root) as srv:
        with Raw(srv.address) as raw:
            assert raw.download("café.txt".encode())[0] == b"coffee"
        assert wait_until(lambda: srv.completed)
    assert "RRQ café.txt ok 6 bytes" in caplog.text


def test_cli_get_and_put_send_names_as_local_bytes(root, tmp_path):
    (root / "café.txt").write_bytes(b"coffee")
    src = tmp_path / "src.bin"
    src.write_bytes(b"upload")
    runner = CliRunner()
    with serve(root) as srv:
        where = f"{srv.address[0]}:{srv.address[1]}"
        out = tmp_path / "got.txt"
        res = runner.invoke(tftp_cli, ["get", where, "café.txt", str(out)])
        assert res.exit_code == 0, res.output
        assert out.read_bytes() == b"coffee"
        res = runner.invoke(tftp_cli, ["put", where, str(src), "naïve.bin"])
        assert res.exit_code == 0, res.output
    assert "naïve.bin".encode() in os.listdir(os.fsencode(root))
