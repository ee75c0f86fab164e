"""Every program shape of the seed, run unmodified on virtual hosts (examples/seed/)."""

from __future__ import annotations

import pytest

from netsim.apps.tftp import sim_driver as tftp_sim
from netsim.userland import DeadlockError
from tests.kits.userland import SEED, lan, routed


def test_udp_sender_and_receiver():
    net, (h1, h2, _) = lan()
    receiver = h2.run_program(SEED / "udp_receiver.py")
    sender = h1.run_program(SEED / "udp_sender.py", ["10.0.0.2", "2"], at="10ms")
    net.run()
    assert sender.exitcode == 0
    assert sender.stdout_text.splitlines() == ["reply from 10.0.0.2:9090: HELLO 0 您好",
                                               "reply from 10.0.0.2:9090: HELLO 1 您好"]
    got = [x for x in receiver.lines if "bytes from" in x.text]
    assert [x.text for x in got] == ["14 bytes from ('10.0.0.1', 8000): Hello 0 您好",
                                     "14 bytes from ('10.0.0.1', 8000): Hello 1 您好"]
    # time.sleep(3) between the rounds is virtual: the second datagram arrives 3 s later
    assert got[1].time_ns - got[0].time_ns == pytest.approx(3e9, abs=1e6)
    assert not receiver.done and receiver.waiting()[0][1].startswith("recvfrom")


def test_udp_broadcast_reaches_every_receiver():
    net, (h1, h2, h3) = lan()
    for h in (h2, h3):
        h.run_program(SEED / "udp_receiver.py", ["8080"])
    caster = h1.run_program(SEED / "udp_broadcast.py", ["8080", "1"], at="1ms")
    net.run()
    out = caster.stdout_text
    assert "answer from 10.0.0.2: HELLO EVERYONE!" in out
    assert "answer from 10.0.0.3: HELLO EVERYONE!" in out
    assert out.endswith("2 hosts answered\n")


def test_tftp_downloader_gets_the_bytes_into_its_working_directory(tmp_path):
    net, (h1, h2, _) = lan()
    data = bytes(range(256)) * 5 + b"tail"          # 1284 bytes: blocks of 512, 512, 260
    # netsim's own TFTP server as the peer (a kernel task: independent of host.start's name)
    h2.kernel.spawn(tftp_sim.serve, h2, {"hello.bin": data}, node=h2)
    client = h1.run_program(SEED / "tftp_download.py", ["10.0.0.2", "hello.bin"], cwd=tmp_path,
                            at="1ms")
    net.run(until="10s")
    assert client.exitcode == 0, client.stderr_text
    assert (tmp_path / "hello.bin").read_bytes() == data
    lines = client.stdout_text.splitlines()
    assert [x.split(":")[0] for x in lines[:3]] == ["block 1", "block 2", "block 3"]
    port = lines[0].rsplit(" ", 1)[1]
    assert port != "69"                      # the server answered from its own TID
    assert lines[-1] == "hello.bin: 1284 bytes"


def test_tftp_downloader_reports_the_servers_error(tmp_path):
    net, (h1, h2, _) = lan()
    h2.kernel.spawn(tftp_sim.serve, h2, {}, node=h2)
    client = h1.run_program(SEED / "tftp_download.py", ["10.0.0.2", "missing.txt"], cwd=tmp_path)
    net.run(until="10s")
    assert client.stdout_text.startswith("server error 1: ")


def test_tcp_server_and_client():
    net, (h1, h2, _) = lan()
    server = h1.run_program(SEED / "tcp_server.py")
    client = h2.run_program(SEED / "tcp_client.py", ["10.0.0.1"], at="1ms")
    net.run()
    assert client.exitcode == 0
    assert client.stdout_text == "connecting ...\nanswer: Hello\n"
    assert "client says: Hello Server" in server.stdout_text
    assert server.stdout_text.endswith("connection closed\n")


def test_process_per_client_server_keeps_the_connection_open_in_the_child():
    net, (h1, h2, h3) = lan()
    server = h1.run_program(SEED / "process_server.py")
    clients = [h.run_program(SEED / "tcp_client.py", ["10.0.0.1", "9999", f"hi from {h.name}"],
                             at="1ms") for h in (h2, h3)]
    net.run()
    for c in clients:
        # the parent closed its newSock right after start(): only the child's duplicate
        # kept the connection open long enough to answer
        assert c.stdout_text.endswith("answer: Hello Client\n"), c.text()
    pids = {x.pid for x in server.lines if x.text.startswith("from ")}
    assert len(pids) == 2 and server.pid not in pids      # served by two child processes
    assert all(child.exitcode == 0 for child in server.children)


def test_thread_per_client_server():
    net, (h1, h2, h3) = lan()
    server = h1.run_program(SEED / "thread_server.py")
    clients = [h.run_program(SEED / "tcp_client.py", ["10.0.0.1"], at="1ms") for h in (h2, h3)]
    net.run()
    assert all(c.stdout_text.endswith("answer: Hello Client\n") for c in clients)
    served = [x.text for x in server.lines if "from 10.0.0." in x.text and "Thread-" in x.text]
    assert sorted(s.split()[0] for s in served) == ["Thread-1", "Thread-2"]


def test_pool_of_clients_against_the_process_server():
    net, (h1, h2, _) = lan()
    h1.run_program(SEED / "process_server.py")
    pool = h2.run_program(SEED / "pool_clients.py", ["10.0.0.1", "9999", "2"], at="1ms")
    net.run(until="30s")
    assert pool.exitcode == 0, pool.stderr_text
    answers = [x for x in pool.lines if x.text.endswith("got: Hello Client")]
    assert len(answers) == 6                       # 3 workers x 2 rounds
    assert len({x.pid for x in answers}) == 3      # one worker process each
    # the second round starts 2 s of virtual time after the first
    assert sorted({round(x.time_ns / 1e9) for x in answers}) == [0, 2]
    assert pool.stdout_text.endswith("clients done: [0, 1, 2]\n")


def test_producer_consumer_with_queue_and_threads():
    net, (h1,) = lan(1)
    p = h1.run_program(SEED / "producer_consumer.py", ["3"])
    net.run()
    assert p.exitcode == 0, p.stderr_text
    lines = p.stdout_text.splitlines()
    assert lines[0] == "queue size at start: 500"
    took = [x for x in lines if " took 100, " in x]
    assert took and all(int(x.split(", ")[1].split()[0]) >= 0 for x in took)
    assert lines[-1].startswith("queue size at the end: ")


def test_thread_local_keeps_one_value_per_thread():
    net, (h1,) = lan(1)
    p = h1.run_program(SEED / "thread_local.py")
    net.run()
    assert p.stdout_text.splitlines() == ["thread-white sees Student:white-OK",
                                          "thread-black sees Student:black-OK",
                                          "main thread has a student: False"]


def test_processes_do_not_share_globals():
    net, (h1,) = lan(1)
    p = h1.run_program(SEED / "processes_dont_share.py")
    net.run()
    assert p.stdout_text.splitlines() == ["child 1: num = 15", "child 2: num = 20", "num:10"]


def test_process_queue_blocks_the_writer_until_the_reader_takes_one():
    net, (h1,) = lan(1)
    p = h1.run_program(SEED / "process_queue.py")
    net.run()
    lines = p.stdout_text.splitlines()
    assert [x for x in lines if x.startswith("read:")] == [f"read: message {i}" for i in range(4)]
    # the fourth put() waited for the reader's first get()
    assert lines.index("writer done") > lines.index("read: message 0")
    assert lines[-1] == "nothing for a second: reader stops"
    assert p.exitcode == 0


def test_deadlock_is_reported_with_each_thread_and_line():
    net, (h1,) = lan(1)
    h1.run_program(SEED / "deadlock.py")
    with pytest.raises(DeadlockError) as err:
        net.run()
    waits = {who: (what, where) for who, what, where in err.value.waits}
    assert waits["pid 1000 Thread-1 (first_a_then_b)"] == ("Lock.acquire()",
                                                          "deadlock.py:20 (with lock_b:)")
    assert waits["pid 1000 Thread-2 (first_b_then_a)"] == ("Lock.acquire()",
                                                          "deadlock.py:28 (with lock_a:)")
    assert "MainThread" in str(err.value) and net.now == 1_000_000_000


def test_http_server_and_urllib_across_a_router(tmp_path):
    (tmp_path / "index.html").write_text("served by h2\n")
    net, h1, h2 = routed()
    server = h2.run_program("http.server", ["8000"], module=True, cwd=tmp_path)
    fetch = h1.run_program(SEED / "http_fetch.py", ["http://10.0.2.20:8000/index.html"],
                           at="100ms", check=True)
    net.run(until="2s")
    assert fetch.stdout_text == "200 OK\nserved by h2\n"
    assert server.stdout_text.startswith("Serving HTTP on 0.0.0.0 port 8000")
    log = server.stderr_text
    assert '10.0.1.10 - - [01/Jan/1970 00:00:00] "GET /index.html HTTP/1.1" 200 -' in log
    # the bytes crossed the router: r1 forwarded the TCP segments both ways
    assert net.nodes["r1"].stats()["forwarded"] > 6
