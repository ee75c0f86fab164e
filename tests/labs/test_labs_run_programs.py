"""The labs that run ordinary programs through netsim.userland: concurrent-server's process
per client design (labs/programs/process_server.py, multiprocessing.Process per client) and
sockets-basics, whose four programs are plain files that also run on a real machine."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import labs.concurrent_server as cs
import labs.sockets_basics as sb


def test_process_per_client_serves_everyone_in_one_service_time_with_a_child_each():
    r = cs.measure("process per client", clients=5, workers=2, service="40ms", seed=1)
    assert r["answered"] == 5 and r["processes"] == 5
    assert cs.expected_ms("process per client", 5, 2, 40) == 40
    assert 40 <= r["max_ms"] < 45, r["times_ms"]
    iterative = cs.measure("iterative", clients=5, workers=2, service="40ms", seed=1)
    assert iterative["max_ms"] > 4 * r["max_ms"]


def test_the_process_design_is_a_model_of_the_lab_with_its_own_check(tmp_path):
    result = cs.run(clients=3, workers=2, sweep=[2], out=tmp_path, progress=False)
    check = next(c for c in result.checks if c.name.startswith("process-per-client"))
    assert check.passed, check.explanation
    assert (tmp_path / "process-per-client.pcapng").exists()


def test_sockets_basics_transcript_is_what_the_program_files_print(tmp_path, monkeypatch):
    ex = sb.exchange("tcp", "hi", 9000, 1)
    said = [(who, text) for _t, who, text in ex["said"]]
    assert ("server", "got b'hi'") in said and ("client", "reply b'HI'") in said
    chatty = tmp_path / "tcp_client.py"
    chatty.write_text(sb.PROGRAMS["tcp_client"].read_text().replace(
        'print(f"reply {reply!r}")', 'print(f"reply {reply!r}")\nprint("edited by a student")'))
    monkeypatch.setitem(sb.PROGRAMS, "tcp_client", chatty)
    said = [text for _t, _who, text in sb.exchange("tcp", "hi", 9000, 1)["said"]]
    assert "edited by a student" in said


def test_the_lab_programs_run_unchanged_on_the_real_machine():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    receiver = subprocess.Popen([sys.executable, str(sb.PROGRAMS["udp_receiver"]), str(port)],
                                stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:      # until the receiver has bound its port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    break
            time.sleep(0.02)
        sender = subprocess.run([sys.executable, str(sb.PROGRAMS["udp_sender"]), "127.0.0.1",
                                 str(port), "real"], capture_output=True, text=True, timeout=10)
        out, _ = receiver.communicate(timeout=10)
    finally:
        receiver.kill()
    assert "reply b'REAL' from 127.0.0.1 port" in sender.stdout
    assert out.startswith("got b'real' from 127.0.0.1 port")
