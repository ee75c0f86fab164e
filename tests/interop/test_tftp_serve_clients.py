"""``netsim tftp serve`` itself (the command, in its own process) against curl, tftp-hpa, atftp
and tftpy: downloads, uploads, overwrites in place and UTF-8 names, every file checked byte for
byte (issue 10: the hardened server must interoperate as before)."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys

import pytest

from tests.kits.tools import require_tool

pytestmark = pytest.mark.tools

RUN_TIMEOUT = 60
CONTENT = os.urandom(70_000)
NAME = "café-ü.bin"                # UTF-8 on disk and on the wire


def require_tftpy():
    try:
        import tftpy
    except ImportError:
        reason = "the tftpy package is not installed (pip install -e '.[test]')"
        if os.environ.get("NETSIM_REQUIRE_TOOLS") == "1":
            pytest.fail(reason + " and NETSIM_REQUIRE_TOOLS=1", pytrace=False)
        pytest.skip(reason)
    logging.getLogger("tftpy").setLevel(logging.WARNING)
    return tftpy


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    (root / "plain.bin").write_bytes(CONTENT)
    (root / NAME).write_bytes(CONTENT[::-1])
    proc = subprocess.Popen([sys.executable, "-m", "netsim.apps.tftp.cli", "serve", "--root",
                             str(root), "--port", "0", "--allow-write", "--allow-overwrite",
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        match = re.search(r"on ([\d.]+):(\d+) ", proc.stderr.readline())
        assert match, "netsim tftp serve did not start"
        yield root, int(match[2])
    finally:
        proc.terminate()
        proc.wait(5)
        assert proc.returncode in (0, -15), proc.stderr.read()


def run(cmd, cwd=None):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, f"{cmd} failed: {proc.stderr.decode(errors='replace')}"


def test_curl(served, tmp_path):
    curl = require_tool("curl")
    root, port = served
    run([curl, "-sS", "-o", str(tmp_path / "a"), f"tftp://127.0.0.1:{port}/plain.bin"])
    run([curl, "-sS", "-o", str(tmp_path / "b"),
         f"tftp://127.0.0.1:{port}/caf%C3%A9-%C3%BC.bin"])       # curl sends the decoded bytes
    (tmp_path / "up").write_bytes(CONTENT[:5000])
    run([curl, "-sS", "-T", str(tmp_path / "up"), f"tftp://127.0.0.1:{port}/curl-up.bin"])
    assert (tmp_path / "a").read_bytes() == CONTENT
    assert (tmp_path / "b").read_bytes() == CONTENT[::-1]
    assert (root / "curl-up.bin").read_bytes() == CONTENT[:5000]      # committed before ACK


def test_tftp_hpa(served, tmp_path):
    tftp = require_tool("tftp")
    root, port = served
    run([tftp, "127.0.0.1", str(port), "-m", "binary", "-c", "get", NAME, "got.bin"],
        cwd=tmp_path)
    assert (tmp_path / "got.bin").read_bytes() == CONTENT[::-1]
    (root / "hpa.bin").write_bytes(b"old")
    os.link(root / "hpa.bin", root / "hpa-link.bin")
    run([tftp, "127.0.0.1", str(port), "-m", "binary", "-c", "put", "got.bin", "hpa.bin"],
        cwd=tmp_path)
    assert (root / "hpa-link.bin").read_bytes() == CONTENT[::-1]      # overwritten in place


def test_atftp(served, tmp_path):
    atftp = require_tool("atftp")
    root, port = served
    for option in (None, "blksize 1468", "windowsize 8"):
        extra = ["--option", option] if option else []
        out = tmp_path / "a.bin"
        run([atftp, *extra, "-g", "-r", NAME, "-l", str(out), "127.0.0.1", str(port)])
        assert out.read_bytes() == CONTENT[::-1]
    run([atftp, "-p", "-r", "atftp-ü.bin", "-l", str(out), "127.0.0.1", str(port)])
    assert (root / "atftp-ü.bin").read_bytes() == CONTENT[::-1]


def test_tftpy(served, tmp_path):
    tftpy = require_tftpy()
    root, port = served
    for options in ({}, {"blksize": 1428}):
        client = tftpy.TftpClient("127.0.0.1", port, options=options)
        out = tmp_path / "t.bin"
        client.download("plain.bin", str(out))
        assert out.read_bytes() == CONTENT
    client.upload("tftpy.bin", str(out))
    assert (root / "tftpy.bin").read_bytes() == CONTENT


def test_tftpy_missing_file_is_file_not_found(served, tmp_path):
    tftpy = require_tftpy()
    _, port = served
    with pytest.raises(tftpy.TftpException) as info:
        tftpy.TftpClient("127.0.0.1", port).download("missing.bin", str(tmp_path / "m"))
    assert "File not found" in str(info.value)
