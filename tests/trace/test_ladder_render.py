"""render_text and render_svg: the ladder shows states and arrows in order, relative numbers,
lost segments, and the SVG is well-formed."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from netsim.trace.ladder import LadderRow, StateChange, render_svg, render_text
from netsim.trace.ladder.model import isns, row_label

A, B = "h1:49152", "h2:9999"


def handshake_items():
    return [
        StateChange(0, A, "CLOSED", "SYN_SENT"),
        LadderRow(0, A, B, "SYN", 1000, 0, 0, 64240, "MSS=1460", arrive_ns=50_000),
        StateChange(50_000, B, "LISTEN", "SYN_RECEIVED"),
        LadderRow(60_000, B, A, "SYN,ACK", 7000, 1001, 0, 65535, "MSS=1460", arrive_ns=110_000),
        StateChange(110_000, A, "SYN_SENT", "ESTABLISHED"),
        LadderRow(110_000, A, B, "ACK", 1001, 7001, 0, 64240, arrive_ns=160_000),
        StateChange(160_000, B, "SYN_RECEIVED", "ESTABLISHED"),
        LadderRow(200_000, A, B, "PSH,ACK", 1001, 7001, 5, 64240, note="hello", lost=True),
    ]


def test_text_shows_initial_states_then_arrows_and_states_in_time_order():
    text = render_text(handshake_items(), (A, B))
    lines = text.splitlines()
    assert lines[0].split()[-2:] == [A, B]
    assert lines[1].split() == ["CLOSED", "LISTEN"]
    order = ["SYN_SENT", "[SYN] seq=0 win=64240 MSS=1460", "SYN_RECEIVED",
             "[SYN,ACK] seq=0 ack=1 win=65535", "ESTABLISHED", "[ACK] seq=1 ack=1",
             "ESTABLISHED", "[PSH,ACK] seq=1 ack=1 len=5"]
    pos = 0
    for needle in order:
        found = text.find(needle, pos)
        assert found >= 0, f"{needle!r} missing after offset {pos}:\n{text}"
        pos = found + 1
    syn = next(line for line in lines if "[SYN]" in line)
    synack = next(line for line in lines if "[SYN,ACK]" in line)
    assert syn.rstrip().endswith("▶│") and "│◀" in synack     # directions
    lost = next(line for line in lines if "[PSH,ACK]" in line)
    assert "✗" in lost and "▶" not in lost and lost.endswith("# hello")
    assert lines[3].split()[0] == "0.000"


def test_absolute_numbers_when_not_relative():
    text = render_text(handshake_items(), (A, B), relative=False)
    assert "[SYN,ACK] seq=7000 ack=1001" in text


def test_ascii_mode_is_pure_ascii_with_the_same_content():
    text = render_text(handshake_items(), (A, B), ascii=True)
    text.encode("ascii")
    assert "|--[SYN] seq=0" in text and "-->|" in text and "|<--" in text
    assert "--x" in text


def test_width_cuts_long_labels_and_keeps_lines_aligned():
    text = render_text(handshake_items(), (A, B), width=50, notes=False)
    arrows = [line for line in text.splitlines() if "[" in line]
    assert {len(line) for line in arrows} == {50}
    assert any("…" in line for line in arrows)


def test_segments_of_other_connections_are_left_out():
    items = handshake_items() + [LadderRow(300_000, "h3:1", B, "SYN", 1, 0, 0, 100)]
    assert "h3" not in render_text(items, (A, B))


def test_svg_is_well_formed_with_one_arrow_per_segment_and_a_box_per_state():
    svg = render_svg(handshake_items(), (A, B))
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert A in texts and B in texts
    assert "[SYN,ACK] seq=0 ack=1 win=65535 MSS=1460" in texts
    states = [g.find("s:text", ns).text for g in root.iter("{http://www.w3.org/2000/svg}g")]
    assert states == ["CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
                      "ESTABLISHED"]
    segs = [ln for ln in root.iter("{http://www.w3.org/2000/svg}line")
            if "seg" in ln.get("class", "")]
    assert len(segs) == 4 and "lost" in segs[-1].get("class")
    # Arrows with an arrival time slant down; the SYN arrives where SYN_RECEIVED is drawn.
    y1, y2 = float(segs[0].get("y1")), float(segs[0].get("y2"))
    assert y2 > y1


def test_svg_escapes_labels():
    items = [LadderRow(0, "a<b>", "c&d", "SYN", 1, 0, 0, 1, note="x")]
    root = ET.fromstring(render_svg(items, ("a<b>", "c&d")))
    assert "a<b>" in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_png_labels_are_the_same_row_label_text_and_svg_print(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from netsim.trace.ladder_plot import render_png
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)     # keep the figure to read it back
    items = handshake_items() + [LadderRow(300_000, A, B, "", 1006, 0, 0, 64240)]
    render_png(items, (A, B), tmp_path / "l.png")
    shown = {t.get_text() for ax in figures[0].axes for t in ax.texts}
    rows = [i for i in items if isinstance(i, LadderRow)]
    isn = isns(rows)
    for row in rows:
        assert row_label(row, isn) + ("  (lost)" if row.lost else "") in shown
    assert "[<none>] seq=6 win=64240" in shown        # the PNG's old copy printed "[]"


def test_importing_the_trace_package_loads_neither_matplotlib_nor_xml_sax():
    code = ("import sys, netsim.trace, netsim.trace.ladder_plot; "
            "print(sorted(m for m in ('matplotlib', 'xml.sax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
