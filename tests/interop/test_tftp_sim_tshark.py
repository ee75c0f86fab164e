"""A simulated TFTP download through a router over a 10% lossy link, checked by tshark."""

from __future__ import annotations

import hashlib
import subprocess

from labs.tftp_transfer import build
from tests.kits.tools import require_tool


def test_lossy_routed_download_is_intact_and_dissected_as_tftp(tmp_path):
    tshark = require_tool("tshark")
    net, info = build(size=60_000, loss=0.1, seed=7)
    cap = tmp_path / "tftp.pcapng"
    with net.capture(cap, interfaces=["h1-eth0"]):
        net.run(until="600s")
    assert "error" not in info, info.get("error")
    assert hashlib.sha256(info["got"]).digest() == hashlib.sha256(info["sent"]).digest()
    assert info["wan"].stats()["r1-eth1->srv-eth0"]["lost"] + \
        info["wan"].stats()["srv-eth0->r1-eth1"]["lost"] > 0  # the link really lost frames

    out = subprocess.run(
        [tshark, "-r", str(cap), "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
         "-T", "fields", "-E", "separator=\t", "-e", "udp.srcport", "-e", "udp.dstport",
         "-e", "tftp.opcode", "-e", "_ws.malformed", "-e", "udp.checksum.status", "-Y", "udp"],
        capture_output=True, text=True, check=True, timeout=120).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows
    assert all(r[3] == "" for r in rows), "malformed frames"
    assert all(r[4] in ("1", "2") for r in rows), "bad UDP checksums"
    data = [r for r in rows if r[2] == "3"]
    assert data, "no TFTP DATA dissected"
    # DATA comes from the server's new port (its transfer ID), not from 69 (RFC 1350 section 4).
    assert {r[0] for r in data} != {"69"} and "69" not in {r[0] for r in data}
    blocks = -(-60_000 // 512) + (60_000 % 512 == 0)
    assert len(data) >= blocks  # every block at least once (more with retransmissions)
    assert all(r[2] != "" for r in rows), "a UDP datagram of the transfer was not dissected as TFTP"
