"""Helpers for the lab tests: small sizes for each lab, skipping unwritten labs, tshark checks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import labs
from tests.kits.tools import require_tool

# Small sizes so that the whole folder stays well under a minute; None = the lab's defaults.
SMALL: dict[str, dict] = {
    "sockets-basics": {},
    "hub-vs-switch": {"hosts": [2, 3], "load": [0.3, 0.9], "duration": "0.05s"},
    "switch-learning": {"hosts": 3},
    "router-subnets": {},
    "udp-broadcast": {"hosts": 2, "remote": 1},
    "tcp-handshake": {},
    "tcp-congestion": {"algorithms": ["reno", "cubic"], "bandwidth": "4Mbps", "queue": 20,
                       "duration": "6s", "loss": [0.02], "delack": ["40ms"], "outage": "0s"},
    "tftp-transfer": {},
    "concurrent-server": {"clients": 4, "workers": 2, "sweep": [1, 4]},
}

# Checksum verification is off by default in Wireshark; the lesson's captures must pass it.
TSHARK_CHECKSUM_PREFS = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                         "-o", "tcp.check_checksum:TRUE"]
EXPERT_ERROR = 0x00800000  # _ws.expert.severity of an error (malformed, bad checksum)
CHECKSUM_BAD = "0"         # *.checksum.status: 0 bad, 1 good, 2 unverified


def lab_module(name: str):
    """The lab's module (every lab in the registry must import)."""
    return labs.load(name)


def tshark_check(path: Path) -> tuple[int, list[str]]:
    """Read ``path`` with tshark, checksum verification on.

    Returns:
        (number of frames, one line per bad frame: malformed, an expert error, or a bad IPv4,
        UDP or TCP checksum).
    """
    tshark = require_tool("tshark")
    fields = ["frame.number", "_ws.malformed", "_ws.expert.severity", "ip.checksum.status",
              "udp.checksum.status", "tcp.checksum.status", "_ws.col.Info"]
    cmd = [tshark, "-n", "-r", str(path), *TSHARK_CHECKSUM_PREFS, "-T", "fields",
           "-E", "separator=|", "-E", "occurrence=a"]
    for f in fields:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"tshark failed on {path}: {proc.stderr}"
    rows = [line.split("|") for line in proc.stdout.splitlines() if line.strip()]
    bad = []
    for num, malformed, severity, ip_ck, udp_ck, tcp_ck, info in rows:
        severities = [int(v) for v in severity.split(",") if v]
        checksums = ",".join(v for v in (ip_ck, udp_ck, tcp_ck) if v).split(",")
        if malformed or any(v >= EXPERT_ERROR for v in severities) or CHECKSUM_BAD in checksums:
            bad.append(f"frame {num}: {info}")
    return len(rows), bad
