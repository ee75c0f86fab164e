"""The library clients send a file name as bytes (issue 10): a ``str`` as the file system
spells it (UTF-8 on Linux), bytes as given; never latin-1 re-encoded (RFC 1350 section 5 says
netascii, but real clients send the bytes of their locale, as tftp-hpa does)."""

from __future__ import annotations

import inspect

import pytest

from netsim.apps.tftp import os_driver, sim_driver
from netsim.apps.tftp.os_server import TftpServer


@pytest.fixture
def server(tmp_path):
    (tmp_path / "café.txt").write_bytes(b"accent\n")
    srv = TftpServer(tmp_path, port=0, allow_write=True).start()
    yield srv
    srv.stop()


def test_a_utf8_name_given_as_str_or_bytes_reaches_the_same_file(server, tmp_path):
    assert os_driver.get(server.address, "café.txt", dally=None).data == b"accent\n"
    assert os_driver.get(server.address, "café.txt".encode(), dally=None).data == b"accent\n"


def test_an_upload_named_in_utf8_is_stored_under_those_bytes(server, tmp_path):
    os_driver.put(server.address, b"new\n", "naïve.txt")
    assert (tmp_path / "naïve.txt").read_bytes() == b"new\n"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == \
        ["café.txt", "naïve.txt"]


def test_both_front_doors_take_str_or_bytes_names():
    for fn in (os_driver.get, os_driver.put, sim_driver.get, sim_driver.put):
        assert "bytes" in str(inspect.signature(fn).parameters["remote"].annotation)
