"""draw writes a PNG or an SVG picture of the topology."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from netsim import Network
from tests.kits.topo import EXAMPLES_DIR


def line_net() -> Network:
    return Network.from_file(EXAMPLES_DIR / "three_subnets_line.yaml")


def test_draw_writes_a_png(tmp_path):
    out = line_net().draw(tmp_path / "topo.png")
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


def test_draw_writes_an_svg_with_names_and_addresses(tmp_path):
    out = line_net().draw(tmp_path / "pics" / "topo.svg")
    text = out.read_text()
    ET.fromstring(text.encode())  # well-formed XML
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    for word in ("hub1", "r2", "eth1 10.0.2.1/24", "10Mbps / 2ms"):
        assert word in text


def test_draw_refuses_other_formats(tmp_path):
    with pytest.raises(ValueError, match=".png or .svg"):
        line_net().draw(tmp_path / "topo.gif")


def test_same_network_draws_the_same_svg_twice(tmp_path):
    import matplotlib

    from netsim.topo.drawing import draw

    with matplotlib.rc_context({"svg.hashsalt": "netsim"}):
        a = draw(line_net(), tmp_path / "a.svg", title="t").read_text()
        b = draw(line_net(), tmp_path / "b.svg", title="t").read_text()
    strip = [line for line in a.splitlines() if "<dc:date>" not in line]
    assert strip == [line for line in b.splitlines() if "<dc:date>" not in line]
