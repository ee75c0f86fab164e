"""Two hosts running one program share no module state; other imports stay the real ones."""

from __future__ import annotations

import queue as real_queue
import socket as real_socket
import sys

from tests.kits.userland import lan, program


def test_two_hosts_running_one_program_do_not_share_state(tmp_path):
    program(tmp_path, "registry.py", """
        seen = []          # module state of the program's own helper module
    """)
    prog = program(tmp_path, "counter.py", """
        import socket, threading, time, queue, urllib.request, http.client
        import registry
        registry.seen.append(socket.gethostname())
        threading.current_thread().name = "main-" + socket.gethostname()
        queue.Queue.shared_by = getattr(queue.Queue, "shared_by", []) + [socket.gethostname()]
        time.sleep(1)
        print(registry.seen, queue.Queue.shared_by, threading.current_thread().name,
              urllib.request._opener, http.client.HTTPConnection.debuglevel)
        http.client.HTTPConnection.debuglevel = 1
    """)
    net, (h1, h2, _) = lan()
    a, b = h1.run_program(prog), h2.run_program(prog)
    net.run()
    assert a.stdout_text == "['h1'] ['h1'] main-h1 None 0\n"
    assert b.stdout_text == "['h2'] ['h2'] main-h2 None 0\n"


def test_the_virtual_modules_are_per_host_and_the_rest_is_untouched(tmp_path):
    prog = program(tmp_path, "which.py", """
        import socket, struct, json, queue, os, sys
        print(socket.gethostname(), os.getpid(), sys.argv[1:], socket.socket.__module__,
              struct.__name__, json.dumps([1]), "registry" in sys.modules)
        MODULES[socket.gethostname()] = (socket, struct, queue)
    """)
    net, (h1, h2, _) = lan()
    seen: dict = {}
    for h in (h1, h2):
        p = h.run_program(prog, ["x", 1])
        p.importer.builtins["MODULES"] = seen   # a window into the program for the test
    net.run()
    (s1, st1, q1), (s2, st2, q2) = seen["h1"], seen["h2"]
    assert s1 is not s2 and s1 is not real_socket and q1 is not q2 and q1 is not real_queue
    assert st1 is st2 is sys.modules["struct"]          # other imports: the ordinary module
    assert h1.run_program  # the real socket module is unchanged for everyone else
    assert real_socket.socket.__module__ == "socket" and real_socket.gethostname() != "h1"


def test_print_output_is_stamped_per_host(tmp_path):
    prog = program(tmp_path, "hello.py", """
        import socket, time
        time.sleep(1.0034)
        print("hello from", socket.gethostname(), end="!\\n")
        print("partial", end="")
    """)
    net, (h1, h2, _) = lan()
    p1 = h1.run_program(prog)
    h2.run_program(prog, at="0.5s")
    net.run()
    from netsim.userland import console
    assert console(net).text().splitlines() == [
        "[1.003 s h1] hello from h1!", "[1.003 s h1] partial",
        "[1.503 s h2] hello from h2!", "[1.503 s h2] partial"]
    assert console(net).text("h1") == p1.text()


def test_working_directory_per_program(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    prog = program(tmp_path, "files.py", """
        import os, socket, time, pathlib
        with open("note.txt", "w") as f:
            f.write(socket.gethostname())
        time.sleep(1)
        print(os.getcwd() == os.path.abspath("."), sorted(os.listdir()),
              pathlib.Path("note.txt").read_text())
        os.chdir("..")
        print(os.path.exists("files.py"))
    """)
    net, (h1, h2, _) = lan()
    a = h1.run_program(prog, cwd=tmp_path / "a")
    b = h2.run_program(prog, cwd=tmp_path / "b")
    before = __import__("os").getcwd()
    net.run()
    assert __import__("os").getcwd() == before
    assert a.stdout_text == "True ['note.txt'] h1\nTrue\n"
    assert b.stdout_text == "True ['note.txt'] h2\nTrue\n"
    assert (tmp_path / "a" / "note.txt").read_text() == "h1"


def test_input_and_exit_codes(tmp_path):
    prog = program(tmp_path, "ask.py", """
        import sys
        name = input("name? ")
        print("hi", name)
        try:
            input()
        except EOFError as e:
            print("EOF:", e)
        sys.exit("bye")
    """)
    net, (h1,) = lan(1)
    p = h1.run_program(prog, stdin="ana\n")
    net.run()
    assert p.stdout_text == "name? hi ana\nEOF: EOF when reading a line\n"
    assert p.stderr_text == "bye\n" and p.exitcode == 1
