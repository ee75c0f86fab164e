"""The README's topology-file section: its complete example runs, and its tables of node kinds,
link keys, programs and ranges are the ones the parser uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netsim import Network
from netsim.capture.reader import read_capture
from netsim.topo import parse_topology
from netsim.topo.programs import PROGRAMS, REQUIRED
from netsim.topo.runner import run_topology_file
from netsim.topo.yamlfile import (
    AGING_RANGE,
    DELAY_RANGE,
    LINK_KEYS,
    MTU_RANGE,
    NODE_KEYS,
    QUEUE_RANGE,
    RATE_RANGE,
    TOP_KEYS,
)

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def section() -> str:
    text = README.read_text()
    start = text.index("## Topology files")
    return text[start:text.index("\n## ", start + 1)]


def example(section: str) -> str:
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def table(section: str, header: str) -> dict[str, list[str]]:
    """The rows of the markdown table whose first header cell is ``header``: first cell ->
    the other cells."""
    lines = section[section.index(f"| {header} |"):].splitlines()
    rows = {}
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def names(cell: str) -> list[str]:
    return re.findall(r"`([a-z_]+)`", cell)


def test_the_complete_example_runs_every_program_and_captures_the_router(section, tmp_path):
    topo = tmp_path / "readme.yaml"
    topo.write_text(example(section))
    spec = parse_topology(topo.read_text())
    assert {n.kind for n in spec.nodes.values()} == set(NODE_KEYS)  # every node kind
    # every program but the TFTP server, which needs a folder of files beside the topology
    # (examples/topologies/tftp_behind_routers.yaml runs it)
    assert {p.run for p in spec.programs} == set(PROGRAMS) - {"tftp_server"}
    summary = run_topology_file(topo, tmp_path, factory=Network, picture=True)
    out = "\n".join(summary.output)
    assert summary.duration_ns == 3_000_000_000
    assert out.count("pc1 udp_send: reply from 10.0.2.50:9100: b'page 1'") == 2
    assert "pc1 tcp_client: sent 5 bytes to 10.0.1.11:7, got back b'hello'" in out
    assert "2 packets transmitted, 2 received, 0% packet loss" in out
    assert {f.if_name for f in read_capture(summary.capture)} == {"r1-eth0", "r1-eth1"}
    assert summary.picture.stat().st_size > 0


def test_the_node_kinds_table_lists_each_kinds_keys(section):
    rows = table(section, "node kind")
    assert {k.strip("`") for k in rows} == set(NODE_KEYS)
    for kind, (keys, _notes) in rows.items():
        assert set(names(keys)) == set(NODE_KEYS[kind.strip("`")]) - {"kind"}, kind


def test_the_link_table_lists_every_link_key_and_its_range(section):
    rows = table(section, "link key")
    listed = [k for cell in rows for k in names(cell)]
    assert sorted(listed) == sorted(LINK_KEYS)
    assert rows["`bandwidth`"][1].startswith(f"{RATE_RANGE[0]} to {RATE_RANGE[1]}")
    assert rows["`mtu`"][1].startswith(f"{MTU_RANGE[0]} to {MTU_RANGE[1]}")
    assert rows["`queue`"][1].startswith(f"{QUEUE_RANGE[0]} to {QUEUE_RANGE[1]}")
    assert rows["`delay`"][1].startswith(f"{DELAY_RANGE[0]} to {DELAY_RANGE[1]}")


def test_the_ranges_in_the_text_are_the_parsers(section):
    text = " ".join(section.split())
    assert AGING_RANGE == ("10s", "1000000s") and "`aging` (10 s to 1,000,000 s" in text
    port = PROGRAMS["udp_send"].params["port"]
    count = PROGRAMS["udp_send"].params["count"]
    assert f"ports are {port.low} to {port.high}, counts {count.low} to {count.high}" in text
    assert PROGRAMS["udp_send"].params["timeout"].high == "86400s" and "times up to a day" in text


def test_the_program_table_lists_every_program_with_its_arguments_and_defaults(section):
    rows = table(section, "program")
    assert {k.strip("`") for k in rows} == set(PROGRAMS)
    for name, (args, _what) in rows.items():
        prog = PROGRAMS[name.strip("`")]
        assert names(args) == list(prog.params), name
        for pname, param in prog.params.items():
            if param.default is not REQUIRED and param.kind in ("port", "count"):
                assert f"`{pname}` ({param.default})" in args, (name, pname)


def test_the_top_level_keys_are_all_described(section):
    text = section[section.index("Top-level keys"):section.index("| node kind |")]
    assert set(names(text)) == set(TOP_KEYS)
