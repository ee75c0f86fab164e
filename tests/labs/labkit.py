"""Helpers for the lab tests: small sizes for each lab, skipping unwritten labs, tshark checks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import labs
from tests.tools import require_tool

# Small sizes so that the whole folder stays well under a minute; None = the lab's defaults.
SMALL: dict[str, dict] = {
    "sockets-basics": {},
    "hub-vs-switch": {"hosts": [2, 3], "load": [0.3, 0.9], "duration": "0.05s"},
    "switch-learning": {"hosts": 3},
    "router-subnets": {},
    "udp-broadcast": {"hosts": 2, "remote": 1},
    "tcp-handshake": {},
    "tftp-transfer": {},
    "concurrent-server": {"clients": 4, "workers": 2, "sweep": [1, 4]},
}

# Checksum verification is off by default in Wireshark; the lesson's captures must pass it.
TSHARK_CHECKSUM_PREFS = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                         "-o", "tcp.check_checksum:TRUE"]
BAD_FRAME_FILTER = ('_ws.malformed or _ws.expert.severity >= error or ip.checksum.status == "Bad" '
                    'or udp.checksum.status == "Bad" or tcp.checksum.status == "Bad"')


def lab_module_or_skip(name: str):
    """The lab's module, or skip the test when it has not been written yet."""
    mod = labs.available().get(name)
    if mod is None:
        pytest.skip(f"lab {name!r}: module {labs.LABS[name]} does not exist yet")
    return mod


def tshark_frames(path: Path, display_filter: str | None = None) -> list[str]:
    """One line per frame tshark reads from ``path`` (matching ``display_filter`` if given),
    with checksum verification on."""
    tshark = require_tool("tshark")
    cmd = [tshark, "-n", "-r", str(path), *TSHARK_CHECKSUM_PREFS,
           "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info"]
    if display_filter:
        cmd += ["-Y", display_filter]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"tshark failed on {path}: {proc.stderr}"
    return [line for line in proc.stdout.splitlines() if line.strip()]
