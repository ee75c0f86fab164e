"""The README's tcp-congestion sample is what the lab prints at 80 columns with its defaults,
and its picture is the lab's cwnd plot of that run."""

from __future__ import annotations

import io

from rich.console import Console

from tests.labs.test_readme_claims import ROOT, in_order, sample


def test_the_tcp_congestion_sample_is_its_80_column_output(default_results):
    buf = io.StringIO()
    default_results("tcp-congestion").render(Console(file=buf, width=80, color_system=None))
    shown = [ln for ln in sample("netsim lab tcp-congestion") if not ln.startswith("  ... (")]
    assert len(shown) > 30
    missing = in_order(shown, buf.getvalue().splitlines())
    assert not missing, "README lines the lab does not print (in this order):\n" + "\n".join(missing)


def test_the_readme_picture_is_the_labs_cwnd_plot(default_results):
    made = next(p for p in default_results("tcp-congestion").figures if p.name == "cwnd.png")
    readme = (ROOT / "README.md").read_text()
    assert "![cwnd over time for Reno, NewReno and CUBIC](docs/images/tcp-congestion-cwnd.png)" \
        in readme
    shown = (ROOT / "docs/images/tcp-congestion-cwnd.png").read_bytes()
    # The PNG header (IHDR: width and height) of the picture the lab draws.
    assert shown[:8] == b"\x89PNG\r\n\x1a\n" and shown[16:24] == made.read_bytes()[16:24]
