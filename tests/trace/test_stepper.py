"""The stepper, driven through its non-interactive mode, once through a pseudo-terminal."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time

from netsim.cli_step import load_target, main
from netsim.trace.stepper import Stepper


def _run(commands: str) -> str:
    out = io.StringIO()
    main("tcp-handshake", io.StringIO(commands), out)
    return out.getvalue()


def test_next_shows_one_event_with_its_tree_and_states():
    text = _run("n\nn\nq\n")
    assert "#1 " in text and "#2 " in text and "#3 " not in text
    assert "h1: CLOSED -> SYN_SENT" in text
    assert "▸ Address Resolution Protocol" in text
    assert "h2:80" in text and "LISTEN" in text


def test_break_on_fin_stops_at_the_first_fin():
    text = _run("b tcp.flags.fin\nc\nq\n")
    after = text.split("-- breakpoint 'tcp.flags.fin'", 1)[1]
    first_line = [ln for ln in after.splitlines() if "TCP" in ln][0]
    assert "[FIN, ACK]" in first_line
    assert "ESTABLISHED -> FIN_WAIT_1" in after


def test_break_on_node_and_state_filters():
    text = _run("b state TIME_WAIT\nc\nq\n")
    assert "h1: FIN_WAIT_2 -> TIME_WAIT" in text.split("-- breakpoint", 1)[1]


def test_back_re_runs_to_the_previous_event_exactly():
    stepper = Stepper(load_target("tcp-handshake"), io.StringIO())
    events = [stepper.next(show=False) for _ in range(6)]
    again = stepper.back()
    assert stepper.index == 5
    prev = events[4]
    assert (again.time_ns, again.node, again.kind, again.frame, again.note) == \
        (prev.time_ns, prev.node, prev.kind, prev.frame, prev.note)


def test_continue_without_breakpoints_runs_to_idle():
    text = _run("c\nq\n")
    assert "the simulation is idle" in text


def test_bad_filter_is_reported_not_raised():
    text = _run("b tcp.flags.bogus\nq\n")
    assert "bad filter" in text and "bogus" in text


def test_stepper_in_a_pseudo_terminal_advances_on_enter():
    pid, fd = pty.fork()
    if pid == 0:  # child: the real command on a terminal
        os.execvp(sys.executable, [sys.executable, "-m", "netsim.cli", "step", "tcp-handshake"])
    buf = b""

    def read_until(marker: bytes, timeout: float = 60.0, count: int = 1) -> None:
        nonlocal buf
        end = time.monotonic() + timeout
        while buf.count(marker) < count and time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    buf += os.read(fd, 65536)
                except OSError:
                    break

    try:
        read_until(b"(step) ")
        os.write(fd, b"\n")
        read_until(b"(step) ", count=2)  # the event was shown and the prompt came back
        os.write(fd, b"q\n")
        read_until(b"q")
    finally:
        os.waitpid(pid, 0)
        os.close(fd)
    assert b"#1 " in buf and b"SYN_SENT" in buf


def test_cli_step_reads_commands_from_stdin():
    proc = subprocess.run([sys.executable, "-m", "netsim.cli", "step", "tcp-handshake", "--script", "-"],
                          input="n\nb tcp.flags.syn\nc\nq\n", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "[SYN]" in proc.stdout


def test_stepping_the_main_lab_stops_at_the_unknown_unicast_flood_reaching_the_bystander():
    out = io.StringIO()
    main("hub-vs-switch", io.StringIO("b node h3 and udp\nc\nq\n"), out)
    text = out.getvalue().split("-- breakpoint 'node h3 and udp'", 1)[1]
    assert "h3-eth0  received" in text and "UDP" in text
    assert "not for me" in text  # h3's NIC drops it: the switch flooded it as unknown unicast


def test_a_lab_option_it_does_not_take_is_one_line_naming_the_options(capsys):
    assert main("tcp-handshake", io.StringIO("q\n"), io.StringIO(), args=["--varient", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--varient" in err and "did you mean --variant?" in err
    assert "it takes --variant, --msl, --seed" in err
