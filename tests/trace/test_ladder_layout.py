"""The SVG and PNG ladders are drawn on a time axis: arrows go from the send time to the
arrival time, long idle gaps are cut out and marked, and labels stay clear of everything else.

The geometry is :func:`netsim.trace.ladder.layout.layout`'s; the tests read it from the layout,
from the SVG's lines and from the PNG's matplotlib figure, so all three are held to it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from netsim.trace.ladder import LadderRow, StateChange, render_svg
from netsim.trace.ladder.layout import GAP_PX, collisions, layout, segments_cross

A, B = "h1:5001", "h2:5002"
MS = 1_000_000
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    """Every tcp-handshake variant's ladder, from the tracer (as the lab draws them)."""
    import labs.tcp_handshake as th
    out = tmp_path_factory.mktemp("ladders")
    return {v: th.run_variant(v, out)["conn"].ladder() for v in th.VARIANTS}


def _first_two(arrows, flag: str):
    found = [a for a in arrows if a.row.flags == flag][:2]
    assert len(found) == 2 and found[0].row.src != found[1].row.src, [a.row for a in found]
    return found


@pytest.mark.parametrize("variant, flag", [("simultaneous-open", "SYN"),
                                           ("simultaneous-close", "FIN,ACK")])
def test_segments_in_flight_at_once_cross(variants, variant, flag):
    lad = variants[variant]
    one, two = _first_two(layout(lad.items, lad.endpoints, states=lad.initial).arrows, flag)
    assert segments_cross((one.x1, one.y1), (one.x2, one.y2), (two.x1, two.y1), (two.x2, two.y2))
    # and each goes down the page from its send time to its arrival time
    assert one.y2 > one.y1 and two.y2 > two.y1


def test_the_svg_draws_the_two_syns_of_a_simultaneous_open_crossing(variants):
    lad = variants["simultaneous-open"]
    root = ET.fromstring(lad.svg())
    lines = [ln for ln in root.iter(f"{SVG}line") if "seg" in ln.get("class", "")]
    (a, b) = [[float(ln.get(k)) for k in ("x1", "y1", "x2", "y2")] for ln in lines[:2]]
    assert a[0] != b[0]                        # one from each side
    assert segments_cross(a[:2], a[2:], b[:2], b[2:])


def test_the_png_draws_the_two_syns_of_a_simultaneous_open_crossing(variants, tmp_path,
                                                                    monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from netsim.trace.ladder_plot import render_png
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)     # keep the figure to read it back
    lad = variants["simultaneous-open"]
    render_png(lad.items, lad.endpoints, tmp_path / "so.png", states=lad.initial)
    ax = figures[0].axes[0]
    xl, xr = sorted(set(_lifeline_xs(ax)))
    arrows = [ln.get_xydata() for ln in ax.lines
              if ln.get_xydata()[0][0] in (xl, xr) and len({p[0] for p in ln.get_xydata()}) > 1
              and abs(ln.get_xydata()[-1][0] - ln.get_xydata()[0][0]) > (xr - xl) / 2]
    (p, q) = arrows[:2]
    assert p[0][0] != q[0][0]
    assert segments_cross(tuple(p[0]), tuple(p[-1]), tuple(q[0]), tuple(q[-1]))
    assert (tmp_path / "so.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _lifeline_xs(ax):
    """The x of the vertical lines (the lifelines)."""
    return [ln.get_xydata()[0][0] for ln in ax.lines
            if ln.get_xydata()[0][0] == ln.get_xydata()[-1][0]
            and abs(ln.get_xydata()[-1][1] - ln.get_xydata()[0][1]) > 100]


def test_a_long_idle_gap_is_cut_out_and_marked_with_its_length(variants):
    lad = variants["lost-syn"]       # the SYN is sent again after the 1 s RTO
    lay = layout(lad.items, lad.endpoints, states=lad.initial)
    first, again = [a for a in lay.arrows if a.row.flags == "SYN"][:2]
    gap = again.row.time_ns - first.row.time_ns
    assert gap > 900 * MS
    brk = next(b for b in lay.breaks if first.y1 < b.y0 < again.y1)
    assert brk.text.endswith("ms idle") and 900 < float(brk.text.split()[0]) < 1000
    assert again.y1 - first.y1 < GAP_PX          # a second of nothing takes less than a trip
    svg = lad.svg()
    assert brk.text in svg


def _trip(send_ms: float, transit_ms: float, src=A, dst=B, flags="ACK"):
    t = round(send_ms * MS)
    return LadderRow(t, src, dst, flags, 1, 1, 0, 100, arrive_ns=t + round(transit_ms * MS))


def test_arrows_are_as_tall_as_their_trip_takes():
    items = [_trip(0, 1), _trip(10, 3, B, A), _trip(20, 2)]
    lay = layout(items, (A, B))
    heights = [a.y2 - a.y1 for a in lay.arrows]
    assert heights[1] == pytest.approx(3 * heights[0], rel=0.01)
    assert heights[2] == pytest.approx(2 * heights[0], rel=0.01)
    # 9 ms of nothing between the first arrival and the next send (four and a half typical
    # trips) is cut out; the 7 ms before the third send is drawn to scale.
    assert [b.text for b in lay.breaks] == ["9.0 ms idle"]
    assert lay.arrows[2].y1 - lay.arrows[1].y2 == pytest.approx(7 * heights[0], rel=0.01)


def test_a_lost_segment_stops_short_at_a_cross_and_says_so():
    items = [_trip(0, 1), LadderRow(5 * MS, A, B, "PSH,ACK", 1, 1, 5, 100, lost=True)]
    lay = layout(items, (A, B))
    lost = lay.arrows[1]
    assert lost.lost and lost.label.endswith("(lost)")
    assert abs(lost.end[0] - lost.x1) < abs(lost.x2 - lost.x1)
    root = ET.fromstring(render_svg(items, (A, B)))
    assert [ln.get("class") for ln in root.iter(f"{SVG}line")].count("cross") == 2


def test_events_at_one_instant_get_their_own_room():
    items = [StateChange(0, A, "ESTABLISHED", "FIN_WAIT_1"), _trip(0, 1, flags="ACK"),
             _trip(0, 1, flags="FIN,ACK")]
    lay = layout(items, (A, B))
    ys = sorted(a.y1 for a in lay.arrows)
    assert ys[1] - ys[0] >= 18
    assert not collisions(lay)


@pytest.mark.parametrize("variant", ["normal", "simultaneous-open", "closed-port", "lost-syn",
                                     "lost-fin", "simultaneous-close", "time-wait"])
def test_no_label_touches_another_arrow_label_or_state_box(variants, variant):
    lad = variants[variant]
    assert collisions(layout(lad.items, lad.endpoints, states=lad.initial)) == []
