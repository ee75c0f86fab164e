"""netsim grade udp-echo, broadcast, tcp-echo-server and concurrent-server: the reference
programs score full marks, the seed's programs and broken variants fail exactly the items
about their flaw, with the evidence (frames, timings, the exception) that shows it."""

from __future__ import annotations

from tests.kits.grade import GRADE, SEED, card, evidence, statuses, variant

UDP_ECHO = GRADE / "udp_echo.py"
TCP_ECHO = GRADE / "tcp_echo_server.py"


# -- udp-echo ------------------------------------------------------------------------------

def test_the_reference_udp_echo_server_passes_every_item(tmp_path):
    c = card("udp-echo", UDP_ECHO, tmp_path)
    assert c.passed, c.text()
    assert "b'hello' from 10.0.0.1:5000 (hello.pcapng frame 3) came back to 10.0.0.1:5000 " \
        "(hello.pcapng frame 4)" in evidence(c, "echo")


def test_the_seeds_receiver_is_no_echo_server(tmp_path):
    """It answers upper-cased text, and binary data kills it."""
    c = card("udp-echo", SEED / "udp_receiver.py", tmp_path, only=["echo", "binary"])
    assert statuses(c) == {"echo": "fail", "binary": "fail"}
    assert "sent b'hello' and got back b'HELLO'" in evidence(c, "echo")
    assert "UnicodeDecodeError" in evidence(c, "binary")


def test_a_small_receive_buffer_cuts_the_big_datagram(tmp_path):
    prog = variant(tmp_path, UDP_ECHO, "small.py", ("sock.recvfrom(65535)", "sock.recvfrom(1024)"))
    c = card("udp-echo", prog, tmp_path, only=["echo", "large"])
    assert statuses(c) == {"echo": "pass", "large": "fail"}
    assert "sent 1472 bytes and got back 1024 bytes" in evidence(c, "large")


def test_a_server_that_stops_at_an_empty_datagram(tmp_path):
    prog = variant(tmp_path, UDP_ECHO, "tcp_habit.py", (
        "        data, addr = sock.recvfrom(65535)\n",
        "        data, addr = sock.recvfrom(65535)\n        if not data:\n            break\n"))
    c = card("udp-echo", prog, tmp_path, only=["empty", "clients"])
    assert statuses(c) == {"empty": "fail", "clients": "pass"}
    assert "sent b'', b'after' and got back nothing" in evidence(c, "empty") or \
        "got no answer" in evidence(c, "empty")
    assert "the program exited with status 0" in evidence(c, "empty")


def test_answers_to_a_fixed_port_miss_the_sender(tmp_path):
    prog = variant(tmp_path, UDP_ECHO, "fixed.py",
                   ("sock.sendto(data, addr)", "sock.sendto(data, (addr[0], 8000))"))
    c = card("udp-echo", prog, tmp_path, only=["echo"])
    assert statuses(c) == {"echo": "fail"}
    assert "got no answer to b'hello'" in evidence(c, "echo")
    assert "it sent b'hello' to port 8000 (hello.pcapng frame 4)" in evidence(c, "echo")


# -- broadcast -----------------------------------------------------------------------------

BROADCAST = SEED / "udp_broadcast.py"


def test_the_seeds_broadcast_sender_passes_every_item(tmp_path):
    c = card("broadcast", BROADCAST, tmp_path)
    assert c.passed, c.text()
    assert "answers.pcapng frame 1: to 255.255.255.255:8080, Ethernet destination " \
        "ff:ff:ff:ff:ff:ff" in evidence(c, "so-broadcast")
    assert "h5 (10.0.1.5) received nothing" in evidence(c, "router")


def test_without_so_broadcast_the_send_is_refused(tmp_path):
    prog = variant(tmp_path, BROADCAST, "no_opt.py",
                   ("    sock.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)   # off by default\n", ""))
    c = card("broadcast", prog, tmp_path, only=["so-broadcast", "lan"])
    assert statuses(c) == {"so-broadcast": "fail", "lan": "fail"}
    text = evidence(c, "so-broadcast")
    assert "PermissionError: [Errno 13] Permission denied (no_opt.py:" in text
    assert "without SO_BROADCAST" in text


def test_a_sender_without_a_timeout_never_ends(tmp_path):
    prog = variant(tmp_path, BROADCAST, "forever.py", (
        "    sock.settimeout(wait)                          # stop listening after a quiet spell\n",
        ""))
    c = card("broadcast", prog, tmp_path, only=["answers", "ends"])
    assert statuses(c) == {"answers": "pass", "ends": "fail"}
    assert "the program was still waiting when nothing else could happen (at 0.3 s): " \
        "recvfrom on h1 port" in evidence(c, "ends")


def test_unicasts_to_each_host_are_not_a_broadcast(tmp_path):
    prog = variant(tmp_path, BROADCAST, "unicast.py", (
        '    sock.sendto(b"Hello Everyone!", ("<broadcast>", port))\n',
        '    for i in (2, 3, 4):\n        sock.sendto(b"Hello Everyone!", (f"10.0.0.{i}", port))\n'))
    c = card("broadcast", prog, tmp_path, only=["so-broadcast", "lan", "router"])
    assert statuses(c) == {"so-broadcast": "fail", "lan": "pass", "router": "pass"}
    assert "one datagram per host is not a broadcast" in evidence(c, "so-broadcast")


# -- tcp-echo-server -----------------------------------------------------------------------

def test_the_reference_tcp_echo_server_passes_every_item(tmp_path):
    c = card("tcp-echo-server", TCP_ECHO, tmp_path)
    assert c.passed, c.text()
    assert "3 segments in (frames 6, 10, 14: 500, 500, 500 bytes)" in evidence(c, "pieces")


def test_the_seeds_server_stops_at_the_first_short_read(tmp_path):
    c = card("tcp-echo-server", SEED / "tcp_server.py", tmp_path, only=["pieces"])
    assert statuses(c) == {"pieces": "fail"}
    assert "after reading 500 bytes: it stopped at the first short read" in evidence(c, "pieces")


def test_a_reset_kills_a_server_that_does_not_catch_it(tmp_path):
    prog = variant(tmp_path, TCP_ECHO, "fragile.py", (
        "        try:\n            while data := conn.recv(4096):\n                conn.sendall(data)\n"
        "        except ConnectionResetError:\n"
        "            print(f\"{client[0]}:{client[1]} reset the connection\")\n",
        "        while data := conn.recv(4096):\n            conn.sendall(data)\n"))
    c = card("tcp-echo-server", prog, tmp_path, only=["echo", "reset"])
    assert statuses(c) == {"echo": "pass", "reset": "fail"}
    text = evidence(c, "reset")
    assert "client 1's RST (frame" in text and "ConnectionResetError" in text
    assert "was refused" in text                    # nothing listens any more: RST to the SYN


def test_a_busy_loop_is_killed_and_fails_its_items(tmp_path):
    """recv returns b'' after the client's FIN; a loop that never stops holds the simulation
    until the watchdog kills the program."""
    prog = variant(tmp_path, TCP_ECHO, "spin.py", (
        "            while data := conn.recv(4096):\n                conn.sendall(data)\n",
        "            while True:\n                data = conn.recv(4096)\n"
        "                if data:\n                    conn.sendall(data)\n"))
    c = card("tcp-echo-server", prog, tmp_path, only=["close"])
    assert statuses(c) == {"close": "fail"}
    assert "the program was killed: thread MainThread ran at spin.py:" in evidence(c, "close")
    assert c.scenarios[0].ending == "killed: busy loop"


# -- concurrent-server ---------------------------------------------------------------------

def test_thread_and_process_per_client_servers_pass_every_item(tmp_path):
    for name in ("thread_echo_server.py", "process_echo_server.py"):
        c = card("concurrent-server", GRADE / name, tmp_path / name)
        assert c.passed, c.text()
        assert "= 1.0 service times" in evidence(c, "parallel")


def test_an_iterative_server_fails_the_timing_with_the_timings(tmp_path):
    c = card("concurrent-server", TCP_ECHO, tmp_path)
    assert statuses(c) == {"serves": "pass", "parallel": "fail", "own": "pass", "close": "pass"}
    text = evidence(c, "parallel")
    assert "one client alone: 0.500 s; five at once: makespan 2.50" in text
    assert "= 5.0 service times (allowed: under 1.5)" in text
    assert "h6: SYN at 0.010 s (five.pcapng frame" in text and "its first echo only at 2.01" in text


def test_a_parent_that_keeps_its_copy_leaves_every_connection_open(tmp_path):
    prog = variant(tmp_path, GRADE / "process_echo_server.py", "keeps.py",
                   ("        conn.close()                      # the child has its own copy now\n",
                    ""))
    c = card("concurrent-server", prog, tmp_path)
    assert statuses(c) == {"serves": "pass", "parallel": "pass", "own": "pass", "close": "fail"}
    assert "h1: its FIN at 0.510 s got no FIN back" in evidence(c, "close")
