"""Every packetdrill-style script in tests/stack/tcp/scripts runs; the expect-failure ones fail
exactly where they say, naming the line, the expected and the actual segment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netsim.stack.tcp import TcpConfig
from netsim.stack.tcp.packetdrill import ScriptError, parse_script, run_script

# The inline scripts below expect a SYN with only the MSS option: RFC 7323 and SACK off.
CLASSIC = TcpConfig().classic()
SCRIPTS = sorted((Path(__file__).parent / "scripts").glob("*.pkt"))


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_script(path: Path) -> None:
    """Each script replays one exchange against the core, as packetdrill does against Linux:
    handshakes (RFC 9293 3.5), resets (3.5.2, 3.10.7.1; RFC 5961 3.2), SYN retransmission (RFC
    6298 5.5), the zero window (3.8.6.1), closing and TIME_WAIT (3.6), fast retransmit (RFC 5681
    3.2). An expect-failure script must fail at its line, naming the expected and the actual
    segment."""
    text = path.read_text()
    want = re.search(r"//\s*expect-failure:\s*line\s+(\d+)", text)
    if want is None:
        run_script(text, path.name)
        return
    with pytest.raises(ScriptError) as info:
        run_script(text, path.name)
    err = info.value
    assert err.lineno == int(want.group(1))
    assert f"{path.name}:{err.lineno}:" in str(err)
    assert "expected: > S. 0:0(0) ack 1 win 1000" in str(err)
    assert "actual:   > S. 0:0(0) ack 1 win 65535" in str(err)


def test_there_are_scripts_for_each_topic() -> None:
    """One script per stage of RFC 9293's connection life cycle: 3.5 (opening, also simultaneous),
    3.5.2 (reset), 3.8.1 (SYN retransmission), 3.8.6.1 (zero window), 3.6 (closing, TIME_WAIT)."""
    names = {p.stem for p in SCRIPTS}
    for topic in ("handshake_active", "handshake_passive", "simultaneous_open",
                  "rst_closed_port", "syn_retransmit", "zero_window", "close_active",
                  "close_passive", "simultaneous_close", "time_wait"):
        assert topic in names


def test_runner_reports_a_segment_sent_at_the_wrong_time() -> None:
    """RFC 6298 2.1: the SYN is resent after the initial RTO of 1 s, so a script expecting it at +2
    s fails at that line, naming the actual time."""
    script = """
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    connect(3, ..., ...) = 0
+0    > S 0:0(0) <mss 1460>
+2    > S 0:0(0) <mss 1460>
"""
    with pytest.raises(ScriptError) as info:
        run_script(script, "t.pkt", config=CLASSIC)
    assert info.value.lineno == 5
    assert "sent at 1.000000s" in str(info.value)


def test_runner_reports_an_unexpected_segment() -> None:
    """RFC 9293 3.10.1 (an active OPEN sends a SYN at once): a script that lists none fails with
    "unexpected outbound segment"."""
    script = """
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    connect(3, ..., ...) = 0
+0.5  read(3, ..., 10) = 0
"""
    with pytest.raises(ScriptError) as info:
        run_script(script, "t.pkt")
    assert info.value.lineno == 4
    assert "unexpected outbound segment" in str(info.value)
    assert "> S 0:0(0)" in str(info.value)


def test_runner_reports_a_wrong_return_value() -> None:
    """RFC 9293 3.10.7.3 (an RST acknowledging our SYN refuses the connection): connect() returns
    ECONNREFUSED, so a script claiming 0 fails at the connect line."""
    script = """
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    connect(3, ..., ...) = 0
+0    > S 0:0(0) <mss 1460>
+.01  < R. 0:0(0) ack 1 win 0
"""
    with pytest.raises(ScriptError) as info:
        run_script(script, "t.pkt", config=CLASSIC)
    assert info.value.lineno == 3
    assert "connect(...) = -1 ECONNREFUSED" in str(info.value)


def test_runner_reports_a_blocking_call_that_never_returns() -> None:
    """RFC 9293 3.10.7.2 (a listener waits for a SYN): with none coming accept() blocks forever,
    which the runner reports instead of hanging."""
    script = """
0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    listen(3, 1) = 0
+0    accept(3, ..., ...) = 4
"""
    with pytest.raises(ScriptError, match="never returned"):
        run_script(script, "t.pkt")


def test_parser_reads_times_flags_and_options() -> None:
    """The packetdrill syntax for RFC 9293 3.1 flags and 3.2 options (MSS), RFC 7323 (window scale,
    timestamps) and RFC 2018 (SACK-permitted): times, flags and options parse."""
    lines = parse_script("0 < S 0:0(0) win 32792 <mss 1000,nop,wscale 7,sackOK,TS val 5 ecr 0>\n"
                         "+.1 > S. 0:0(0) ack 1 <...>  // comment\n"
                         "+1.5 write(4, ..., 10) = -1 EPIPE (Broken pipe)\n")
    assert [ln.time_ns for ln in lines] == [0, 100_000_000, 1_600_000_000]
    seg = lines[0].item
    assert seg.options == (("MSS", 1000), ("NOP", None), ("WScale", 7), ("SAckOK", b""),
                           ("Timestamp", (5, 0)))
    assert lines[1].item.options is None and lines[1].item.ack == 1
    assert lines[2].item.errno == "EPIPE" and lines[2].item.ret == -1


def test_scripts_pass_with_sequence_numbers_wrapping() -> None:
    """RFC 9293 3.4 (sequence arithmetic modulo 2**32): the passive handshake script passes with
    ISNs just below the wrap."""
    text = (Path(__file__).parent / "scripts" / "handshake_passive.pkt").read_text()
    run_script(text, "wrap", local_isn=0xFFFFFE00, remote_isn=0xFFFFFF00)
