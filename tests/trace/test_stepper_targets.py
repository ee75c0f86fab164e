"""``netsim step`` on every lab, on lab variants, on scripts; and a stepper that shows one
consistent picture: the ladder holds only what the frames shown so far have shown, one clock,
one sequence-number convention."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import labs
from netsim.cli_step import StepError, load_target, main
from netsim.trace.ladder.model import LadderRow
from netsim.trace.stepper import HELP, Stepper

ROOT = Path(__file__).resolve().parents[2]


def step(target: str, commands: str, *args: str) -> str:
    out = io.StringIO()
    assert main(target, io.StringIO(commands), out, args=list(args)) == 0
    return out.getvalue()


@pytest.mark.parametrize("name", list(labs.LABS))
def test_every_lab_can_be_stepped_to_its_end(name):
    text = step(name, "n\nc\nq\n")
    assert "\n#1  t=" in text
    assert "the simulation is idle after" in text


@pytest.mark.parametrize("name", list(labs.LABS))
def test_every_lab_declares_the_options_of_its_scene(name):
    mod = labs.load(name)
    assert mod.STEP_PARAMS and callable(mod.scene)
    defaults = {k: p.default for k, p in mod.STEP_PARAMS.items()}
    assert mod.scene(**defaults) is not None


def test_a_variant_of_the_handshake_lab_lost_syn():
    text = step("tcp-handshake", "b tcp.flags.syn\nc\nc\nl\nq\n", "--variant", "lost-syn")
    first, second = text.split("-- breakpoint 'tcp.flags.syn'")[1:3]
    assert re.search(r"note: .*lost on purpose \(the first SYN\)", first)
    ladder = text.rsplit("(step) l", 1)[1]
    syns = [ln for ln in ladder.splitlines() if "[SYN]" in ln]
    assert len(syns) == 2 and "✗" in syns[0] and "▶" in syns[1]
    assert "t=1010.000 ms" in second       # the RTO: 1 s after TCP sent it at 10 ms


def test_the_main_lab_on_a_hub_shows_the_bystander_receiving_h2s_frames():
    text = step("hub-vs-switch", "b node h3 and udp\nc\nq\n", "--device", "hub")
    event = text.split("-- breakpoint 'node h3 and udp'", 1)[1].split("(step)")[0]
    assert "h3-eth0  received" in event and "10.0.0.1 -> 10.0.0.2" in event
    assert "note: not for me: dropped by the NIC" in event


def test_a_bad_scene_value_is_one_line(capsys):
    assert main("hub-vs-switch", io.StringIO("q\n"), io.StringIO(), args=["--device", "hb"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--device must be one of hub, switch (got hb)" in err


def test_an_unknown_target_is_a_step_error_without_internal_names():
    with pytest.raises(StepError) as info:
        load_target("tcp-handshak")
    assert "did you mean 'tcp-handshake'" in str(info.value) and "build" not in str(info.value)


def _readme_example(tmp_path: Path) -> Path:
    text = (ROOT / "README.md").read_text()
    at = text.index("<!-- sample: the Python example -->")
    code = re.search(r"```python\n(.*?)```", text[at:], re.S).group(1)
    path = tmp_path / "my_script.py"
    path.write_text(code)
    return path


def test_the_readme_example_script_can_be_stepped(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)            # its net.capture() would write there: it must not
    text = step(str(_readme_example(tmp_path)), "b tcp.flags.fin\nc\nd\nc\nq\n")
    assert "[FIN, ACK]" in text.split("-- breakpoint 'tcp.flags.fin'", 1)[1]
    assert "b'HELLO'" in capsys.readouterr().out      # the client's own print, as it ran
    assert not (tmp_path / "captures").exists()


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.py")))
def test_every_example_script_can_be_stepped_in_its_simulator_mode(example, capsys):
    text = step(str(ROOT / "examples" / example), "n\nc\nq\n", "--sim")
    assert "\n#1  t=" in text and "the simulation is idle after" in text


def test_a_script_that_builds_no_network_says_so_in_one_line(tmp_path, capsys):
    path = tmp_path / "nothing.py"
    path.write_text("x = 1\n")
    assert main(str(path), io.StringIO("q\n"), io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "without building a Network" in err


def _shown_rows(stepper: Stepper) -> list[LadderRow]:
    return [i for _ends, items, _init in stepper.so_far.ladders() for i in items
            if isinstance(i, LadderRow)]


def test_the_ladder_so_far_never_runs_ahead_of_the_frames_shown():
    stepper = Stepper(load_target("tcp-handshake"), io.StringIO())
    sent = arrived = 0
    while (ev := stepper.next(show=False)) is not None:
        f = ev.decoded if ev.frame is not None else None
        if f is not None and f.tcp is not None:
            if ev.kind == "tx" and stepper.net.owner_of(f.ip.src) == ev.node:
                sent += 1
            if ev.kind == "rx" and stepper.net.owner_of(f.ip.dst) == ev.node:
                arrived += 1
        rows = _shown_rows(stepper)
        assert len(rows) == sent, f"event #{stepper.index}: {len(rows)} rows, {sent} sent"
        assert sum(r.arrive_ns is not None for r in rows) == arrived
        assert all(r.time_ns <= ev.time_ns for r in rows)
    assert sent == 11 and arrived == 11


def test_before_the_first_segment_leaves_there_is_no_ladder():
    text = step("tcp-handshake", "n\nn\nn\nn\nn\nq\n")   # the state change, then ARP
    assert "ladder so far" not in text
    assert "[SYN]" not in text


def test_one_clock_the_header_time_is_the_ladder_time():
    text = step("tcp-handshake", "b tcp.flags.syn\nc\nq\n")
    shown = text.split("-- breakpoint 'tcp.flags.syn'", 1)[1]
    header = re.search(r"t=(\d+\.\d{3}) ms  h1-eth0  sent", shown).group(1)
    ladder_line = next(ln for ln in shown.splitlines() if "──[SYN]" in ln)
    assert ladder_line.split()[0] == header


def test_one_sequence_number_convention_and_a_toggle():
    text = step("tcp-handshake", "b tcp.flags.syn and tcp.flags.ack\nc\nr\nn\nq\n")
    first, raw = text.split("-- sequence numbers raw", 1)
    synack = first.split("-- breakpoint", 1)[1]
    assert "Seq=0 Ack=1" in synack
    assert re.search(r"Sequence number: 0 \(relative; raw \d+\)", synack)
    assert re.search(r"h2:80 +SYN_RECEIVED snd.una=0 snd.nxt=1 rcv.nxt=1", synack)
    assert "[SYN,ACK] seq=0 ack=1" in synack
    assert re.search(r"snd.una=\d{5,}", raw) and not re.search(r"\(relative; raw", raw)
    assert re.search(r"\[SYN,ACK\] seq=\d{5,} ack=\d{5,}", raw)


def test_help_is_the_command_list_not_a_docstring_fragment():
    text = step("tcp-handshake", "h\nq\n")
    assert HELP.startswith("Commands")
    assert "(step) h\nCommands (one per line" in text


def test_the_help_example_pipes_commands_that_work_in_bash():
    env = dict(os.environ, COLUMNS="100", PYTHONPATH=str(ROOT),
               PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    helptext = subprocess.run([sys.executable, "-m", "netsim.cli", "step", "--help"], env=env,
                              capture_output=True, text=True, check=True).stdout
    assert 'echo "n\\n' not in helptext
    example = next(ln.strip() for ln in helptext.splitlines() if ln.strip().startswith("printf"))
    proc = subprocess.run(["bash", "-c", example.replace("netsim step",
                                                         f"{sys.executable} -m netsim.cli step")],
                          env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "-- breakpoint 'tcp.flags.fin'" in proc.stdout and "\\n" not in proc.stdout


def test_a_script_error_before_its_run_is_one_line_with_the_line_number(tmp_path, capsys):
    path = tmp_path / "typo.py"
    path.write_text("from netsim import Network\nnet = Network()\nnet.add_hots('h1')\n")
    assert main(str(path), io.StringIO("q\n"), io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 3 raised AttributeError" in err
    assert "Traceback" not in err


def test_a_program_error_while_stepping_ends_the_run_in_one_line(tmp_path):
    path = tmp_path / "bug.py"
    path.write_text("from netsim import Network\nnet = Network()\nh = net.add_host('h1')\n"
                    "def prog(host):\n    host.sleep(0.001)\n    raise RuntimeError('my bug')\n"
                    "h.spawn_with_host(prog)\nnet.run()\n")
    text = step(str(path), "c\nq\n")
    line = next(ln for ln in text.splitlines() if ln.startswith("-- the simulation stopped"))
    assert "t=1.000 ms: RuntimeError: my bug" in line and "'prog' on h1" in line
    assert "Traceback" not in text
