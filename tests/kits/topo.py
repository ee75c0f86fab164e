"""Shared text of a valid topology file for the topo tests; error tests change one line."""

from __future__ import annotations

from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "topologies"

# Line numbers matter: the error tests assert them.
VALID = """\
seed: 1
nodes:
  h1: {kind: host, ip: 10.0.1.10/24, gateway: 10.0.1.1}
  h2: {kind: host, ip: 10.0.1.20/24, gateway: 10.0.1.1}
  s1: {kind: switch, aging: 300s}
  hub1: {kind: hub}
  r1: {kind: router}
  r2: {kind: router}
  h3: {kind: host, ip: 10.0.3.10/24, gateway: 10.0.3.1}
links:
  - {a: h1, b: s1, bandwidth: 100Mbps, delay: 50us, loss: 0.01}
  - {a: h2, b: s1}
  - {a: r1, b: s1, a_ip: 10.0.1.1/24}
  - {a: r1, b: r2, a_ip: 10.0.2.1/24, b_ip: 10.0.2.2/24, delay: 1ms}
  - {a: r2, b: hub1, a_ip: 10.0.3.1/24}
  - {a: h3, b: hub1}
routes:
  r1: [{prefix: 10.0.3.0/24, via: 10.0.2.2}]
  r2: [{prefix: 10.0.1.0/24, via: 10.0.2.1}]
auto_routes: false
allow_loops: false
programs:
  - {host: h2, run: udp_echo_server, port: 9000}
  - {host: h1, run: udp_send, target: h2, port: 9000, message: hi, at: 10ms}
"""


def replace_line(text: str, lineno: int, new: str) -> str:
    """``text`` with its 1-based line ``lineno`` replaced by ``new`` (may hold newlines)."""
    lines = text.split("\n")
    lines[lineno - 1] = new
    return "\n".join(lines)
