"""Every lab runs at a small size, its checks pass, and its captures are clean in tshark."""

from __future__ import annotations

import pytest

import labs
from tests.kits.labs import tshark_check

ALL_LABS = list(labs.LABS)


def test_every_registered_lab_is_listed_with_a_summary():
    for name, mod in labs.available().items():
        assert mod.NAME == name
        assert mod.TITLE and mod.SUMMARY and isinstance(mod.PARAMS, dict)


@pytest.mark.parametrize("name", ALL_LABS)
def test_lab_runs_small_and_every_check_passes(lab_results, name):
    result = lab_results(name)
    assert result.checks, f"{name} graded nothing"
    failed = [f"{c.name}: {c.explanation}" for c in result.failed_checks]
    assert not failed, f"{name}: failed checks:\n" + "\n".join(failed)
    assert result.tables, f"{name} produced no table"


@pytest.mark.parametrize("name", ALL_LABS)
def test_lab_writes_the_files_it_reports(lab_results, name):
    result = lab_results(name)
    for path in [*result.figures, *result.captures]:
        assert path.exists() and path.stat().st_size > 0, f"{name}: {path} missing or empty"
    for fig in result.figures:
        head = fig.read_bytes()[:200]
        if fig.suffix == ".png":
            assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{fig} is not a PNG"
        else:
            assert fig.suffix == ".svg" and b"<svg" in head, f"{fig}: not a PNG nor an SVG"


@pytest.mark.parametrize("name", ALL_LABS)
def test_lab_prints_its_title_tables_and_checks(lab_results, name):
    text = str(lab_results(name))
    result = lab_results(name)
    assert result.title.split(":")[0] in text
    assert "Checks" in text and "PASS" in text and "FAIL" not in text
    assert result.tables[0].title[:30] in text.replace("\n", " ")


@pytest.mark.tools
@pytest.mark.parametrize("name", ALL_LABS)
def test_lab_captures_have_no_malformed_frame_nor_bad_checksum_in_tshark(lab_results, name):
    result = lab_results(name)
    assert result.captures, f"{name} wrote no capture"
    for path in result.captures:
        frames, bad = tshark_check(path)
        assert frames, f"tshark read no frame from {path}"
        assert not bad, f"{path}: tshark flags {len(bad)} of {frames} frames:\n" + "\n".join(bad[:10])


@pytest.mark.tools
def test_the_bad_frame_filter_catches_a_corrupted_checksum(tmp_path):
    """The tshark check above can fail: a UDP datagram with a wrong checksum is reported."""
    from netsim.capture import PcapngWriter
    from netsim.wire import UDP, Ethernet, IPv4
    udp = UDP(5000, 6000, b"payload").encode("10.0.0.1", "10.0.0.2")
    udp = udp[:6] + bytes([udp[6] ^ 0xFF]) + udp[7:]  # flip the checksum's high byte
    ip = IPv4("10.0.0.1", "10.0.0.2", 17, udp).encode()
    frame = Ethernet("02:00:00:00:00:02", "02:00:00:00:00:01", 0x0800, ip).encode()
    path = tmp_path / "bad.pcapng"
    with PcapngWriter(path) as w:
        w.write(w.add_interface("h1-eth0"), 0, frame)
    frames, bad = tshark_check(path)
    assert frames == 1 and len(bad) == 1, bad
