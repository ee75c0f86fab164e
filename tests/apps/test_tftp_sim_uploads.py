"""Uploads to the simulator's TFTP server (issue 10's leftovers in sim_driver): the file is in
place *before* the final ACK goes out, a commit that fails sends an ERROR instead of that ACK,
every upload stages into a temporary file of its own, and an OSError while the data arrives
ends that transfer with an ERROR, not the server."""

from __future__ import annotations

import errno
import os

import pytest

from netsim import Network
from netsim.apps.tftp import sim_driver as tftp_sim
from netsim.apps.tftp.blocking import TftpError
from netsim.apps.tftp.server_files import TMP_SUFFIX, Upload
from netsim.wire import tftp
from netsim.wire.frame import decode_frame

DATA = bytes(range(256)) * 6 + b"end"          # 1539 bytes: blocks 1-3 of 512 and a short 4


def two_hosts():
    net = Network(seed=3)
    cli, srv = net.add_host("cli"), net.add_host("srv")
    net.link(cli, srv, delay="1ms")
    cli.set_ip("10.0.0.1/24")
    srv.set_ip("10.0.0.2/24")
    return net, cli, srv


def acks_sent(srv, seen: list, watch=None):
    """Note (block, watch()) for every ACK the server's NIC sends."""
    def tap(_iface, _t, frame, direction, _comment):
        if direction != "out":
            return
        f = decode_frame(frame)
        if f.udp is not None and f.udp.payload[:2] == b"\x00\x04":
            seen.append((int.from_bytes(f.udp.payload[2:4], "big"), watch() if watch else None))
    srv.interfaces[0].taps.append(tap)


def upload(net, cli, srv, root, *payloads, names=None, **serve):
    """Upload each payload (as names[i], default up.bin) from its own task; results in order."""
    srv.spawn_with_host(tftp_sim.serve, os.fspath(root), allow_write=True, **serve)
    results: list = [None] * len(payloads)

    def put(host, i, data, name):
        try:
            results[i] = tftp_sim.put(host, "10.0.0.2", data, name)
        except TftpError as exc:
            results[i] = exc
    for i, data in enumerate(payloads):
        cli.spawn_with_host(put, i, data, (names or ["up.bin"] * len(payloads))[i], at="10ms")
    net.run(until="60s")
    return results


def leftovers(root) -> list[str]:
    return [n for n in os.listdir(root) if n.endswith(TMP_SUFFIX)]


def test_the_file_is_in_place_before_the_final_ack_leaves(tmp_path):
    net, cli, srv = two_hosts()
    target = tmp_path / "up.bin"
    seen: list = []
    acks_sent(srv, seen, lambda: target.exists() and target.read_bytes() == DATA)
    [result] = upload(net, cli, srv, tmp_path, DATA)
    assert not isinstance(result, TftpError)
    assert seen[-1] == (4, True)                        # ACK 4, the final one: file complete
    assert all(present is False for _block, present in seen[:-1])
    assert target.read_bytes() == DATA and not leftovers(tmp_path)


def test_a_file_that_appears_during_the_upload_gets_error_6_not_the_final_ack(tmp_path):
    net, cli, srv = two_hosts()
    target = tmp_path / "up.bin"
    seen: list = []

    def intruder():      # someone else creates the name while the data is on its way
        if len(seen) == 2:                       # ACK 0 and ACK 1 have left
            target.write_bytes(b"someone else's")
    acks_sent(srv, seen, intruder)
    [result] = upload(net, cli, srv, tmp_path, DATA)
    assert isinstance(result, TftpError) and result.code == tftp.ERR_EXISTS and not result.sent
    assert 4 not in [block for block, _ in seen]        # no final ACK was sent
    assert target.read_bytes() == b"someone else's" and not leftovers(tmp_path)


def test_an_oserror_in_the_commit_is_an_error_packet(tmp_path, monkeypatch):
    def full(self):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Upload, "commit", full)
    net, cli, srv = two_hosts()
    seen: list = []
    acks_sent(srv, seen)
    [result] = upload(net, cli, srv, tmp_path, DATA)
    assert isinstance(result, TftpError) and result.code == tftp.ERR_DISK_FULL
    assert "No space left" in result.message
    assert 4 not in [block for block, _ in seen]
    assert not (tmp_path / "up.bin").exists() and not leftovers(tmp_path)


def test_two_uploads_of_one_name_do_not_share_a_temporary_file(tmp_path):
    net, cli, srv = two_hosts()
    other = bytes(reversed(DATA))
    first, second = upload(net, cli, srv, tmp_path, DATA, other)
    outcomes = [r for r in (first, second) if isinstance(r, TftpError)]
    # One commit wins; the other finds the name taken (RFC 1350 error 6), none is mixed.
    assert len(outcomes) == 1 and outcomes[0].code == tftp.ERR_EXISTS
    winner = other if isinstance(first, TftpError) else DATA
    assert (tmp_path / "up.bin").read_bytes() == winner and not leftovers(tmp_path)


def test_an_oserror_while_data_arrives_ends_that_transfer_and_the_server_serves_on(tmp_path,
                                                                                  monkeypatch):
    real_begin = Upload.begin.__func__

    def begin(cls, path, *args, **kwargs):
        up = real_begin(cls, path, *args, **kwargs)
        if path.endswith("broken.bin"):
            def write(_data):
                raise OSError(errno.EDQUOT, "Disk quota exceeded")
            up.file = type("Full", (), {"write": staticmethod(write), "close": lambda self: None,
                                        "flush": lambda self: None})()
        return up
    monkeypatch.setattr(Upload, "begin", classmethod(begin))
    net, cli, srv = two_hosts()
    broken, fine = upload(net, cli, srv, tmp_path, DATA, DATA, names=["broken.bin", "fine.bin"])
    assert isinstance(broken, TftpError) and broken.code == tftp.ERR_DISK_FULL
    assert not isinstance(fine, TftpError)
    assert (tmp_path / "fine.bin").read_bytes() == DATA
    assert not (tmp_path / "broken.bin").exists() and not leftovers(tmp_path)


@pytest.mark.parametrize("allow_overwrite", [False, True])
def test_in_memory_uploads_commit_before_the_final_ack_too(allow_overwrite):
    net, cli, srv = two_hosts()
    files: dict[str, bytes] = {"old.bin": b"old"}
    seen: list = []
    acks_sent(srv, seen, lambda: files.get("up.bin") == DATA)
    srv.spawn_with_host(tftp_sim.serve, files, allow_write=True, allow_overwrite=allow_overwrite)
    got = {}

    def put(host):
        got["up"] = tftp_sim.put(host, "10.0.0.2", DATA, "up.bin")
        try:
            tftp_sim.put(host, "10.0.0.2", b"new", "old.bin")
        except TftpError as exc:
            got["old"] = exc
    cli.spawn_with_host(put, at="10ms")
    net.run(until="60s")
    assert seen[:5] == [(0, False), (1, False), (2, False), (3, False), (4, True)]
    assert files["up.bin"] == DATA
    if allow_overwrite:
        assert files["old.bin"] == b"new" and "old" not in got
    else:
        assert got["old"].code == tftp.ERR_EXISTS and files["old.bin"] == b"old"
