"""multiprocessing with spawn semantics: fresh namespaces, pickled arguments, shared queues."""

from __future__ import annotations

from tests.kits.userland import lan, program, run_alone


def test_process_status_exit_codes_and_terminate(tmp_path):
    p = run_alone(tmp_path, """
        import multiprocessing as mp, os, sys, time
        def quits(): sys.exit(3)
        def fails(): raise KeyError("nope")
        def sleeps(): time.sleep(100)
        if __name__ == "__main__":
            print(mp.current_process().name, os.getpid())
            a, b, c = mp.Process(target=quits), mp.Process(target=fails), mp.Process(target=sleeps)
            print(a.pid, a.is_alive(), a)
            for p in (a, b, c): p.start()
            print(a.is_alive(), c.pid == os.getpid() + 3)
            a.join(); b.join()
            c.join(timeout=1)
            print(c.is_alive())
            c.terminate(); c.join()
            print(a.exitcode, b.exitcode, c.exitcode, c.is_alive(), mp.active_children())
    """)
    assert p.stdout_text.splitlines() == [
        "MainProcess 1000", "None False <Process name='Process-1' parent=1000 initial>",
        "True True", "True", "3 1 -15 False []"]
    assert "Process Process-2:\nTraceback" in p.stderr_text
    assert p.stderr_text.rstrip().endswith("KeyError: 'nope'")


def test_child_reruns_the_module_but_not_the_main_block(tmp_path):
    p = run_alone(tmp_path, """
        import multiprocessing, os
        print("module level in", multiprocessing.current_process().name, __name__)
        def child(x):
            print("child got", x, "parent", os.getppid())
        if __name__ == "__main__":
            q = multiprocessing.Process(target=child, args=({"k": [1, 2]},), name="kid")
            q.start(); q.join()
    """)
    assert p.stdout_text.splitlines() == ["module level in MainProcess __main__",
                                          "module level in kid __mp_main__",
                                          "child got {'k': [1, 2]} parent 1000"]


def test_arguments_are_copies_and_unpicklable_ones_fail_in_start(tmp_path):
    p = run_alone(tmp_path, """
        import multiprocessing, threading
        data = [1]
        def child(lst):
            lst.append(2); print("child", lst)
        if __name__ == "__main__":
            c = multiprocessing.Process(target=child, args=(data,)); c.start(); c.join()
            print("parent", data)
            for bad in (lambda: 0, threading.Lock()):
                try:
                    multiprocessing.Process(target=print, args=(bad,)).start()
                except Exception as e:
                    print(type(e).__name__)
    """)
    assert p.stdout_text.splitlines() == ["child [1, 2]", "parent [1]", "PicklingError", "TypeError"]


def test_starting_a_process_without_the_main_guard_is_refused_in_the_child(tmp_path):
    p = run_alone(tmp_path, """
        import multiprocessing
        def f(): print("never")
        multiprocessing.Process(target=f).start()
        print("parent goes on")
    """)
    assert "parent goes on" in p.stdout_text
    assert "before the\n        current process has finished its bootstrapping phase" in \
        p.stderr_text.replace("[", "")
    assert p.children[0].exitcode == 1


def test_pool_apply_map_imap_and_errors(tmp_path):
    p = run_alone(tmp_path, """
        from multiprocessing import Pool
        import os, time
        def square(x):
            time.sleep(1)
            return x * x, os.getpid()
        def bad(x):
            raise ValueError(f"bad {x}")
        if __name__ == "__main__":
            t0 = time.monotonic()
            with Pool(2) as pool:
                print([r for r, _ in pool.map(square, range(4))], time.monotonic() - t0)
                print(pool.apply(square, (5,))[0])
                print(sorted(r for r, _ in pool.imap_unordered(square, [1, 2])))
                print([r for r, _ in pool.imap(square, [3])])
                res = pool.apply_async(bad, (7,), error_callback=lambda e: print("callback", e))
                try:
                    res.get()
                except ValueError as e:
                    print("raised", e, res.successful())
                pids = {pid for _, pid in pool.starmap(square, [(1,), (2,)])}
                print(len(pids), os.getpid() in pids)
            try:
                pool.apply(square, (1,))
            except ValueError as e:
                print(e)
    """)
    assert p.exitcode == 0, p.stderr_text
    assert p.stdout_text.splitlines() == [
        "[0, 1, 4, 9] 2.0", "25", "[1, 4]", "[9]", "callback bad 7", "raised bad 7 False",
        "2 False", "Pool not running"]


def test_pool_close_join_and_terminate(tmp_path):
    p = run_alone(tmp_path, """
        from multiprocessing import Pool
        import time
        def slow(x):
            time.sleep(10); print("finished", x)
        if __name__ == "__main__":
            pool = Pool(2)
            try:
                pool.join()
            except ValueError as e:
                print(e)
            pool.apply_async(slow, (1,))
            pool.close(); pool.join()
            print("joined at", time.monotonic())
            pool = Pool(2)
            pool.apply_async(slow, (2,))
            time.sleep(1)
            pool.terminate(); pool.join()
            print("terminated at", time.monotonic())
    """)
    assert p.stdout_text.splitlines() == ["Pool is still running", "finished 1", "joined at 10.0",
                                          "terminated at 11.0"]


def test_manager_queue_value_and_lock_are_shared(tmp_path):
    p = run_alone(tmp_path, """
        from multiprocessing import Manager, Process, Value, Lock, Pipe
        def add(counter, lock, q, conn):
            for _ in range(5):
                with lock:
                    counter.value += 1
            q.put("hi"); conn.send({"from": "child"})
        if __name__ == "__main__":
            counter, lock, q = Value("i", 0), Lock(), Manager().Queue()
            a, b = Pipe()
            ps = [Process(target=add, args=(counter, lock, q, b)) for _ in range(3)]
            for x in ps: x.start()
            for x in ps: x.join()
            print(counter.value, [q.get() for _ in range(3)], a.recv())
    """)
    assert p.stdout_text == "15 ['hi', 'hi', 'hi'] {'from': 'child'}\n"


def test_a_socket_passed_to_a_child_closes_only_with_its_last_descriptor(tmp_path):
    net, (h1, h2, _) = lan()
    server = h1.run_program(program(tmp_path, "srv.py", """
        import multiprocessing, socket, time
        def child(conn):
            time.sleep(1)
            conn.sendall(b"late answer")
            conn.close()
        if __name__ == "__main__":
            srv = socket.create_server(("", 7000))
            conn, _ = srv.accept()
            dup = conn.dup()
            multiprocessing.Process(target=child, args=(conn,)).start()
            conn.close(); dup.close()          # both parent descriptors gone at once
            print("parent closed at", time.monotonic())
    """))
    client = h2.run_program(program(tmp_path, "cli.py", """
        import socket, time
        s = socket.create_connection(("10.0.0.1", 7000))
        print(s.recv(100), s.recv(100), round(time.monotonic(), 1))
    """), at="1ms")
    net.run()
    assert server.stdout_text.startswith("parent closed at 0.0")
    assert client.stdout_text == "b'late answer' b'' 1.0\n"


def test_terminating_a_process_before_it_ran(tmp_path):
    p = run_alone(tmp_path, """
        import multiprocessing
        def f(): print("child ran")
        if __name__ == "__main__":
            p = multiprocessing.Process(target=f); p.start(); p.terminate(); p.join()
            print("exit", p.exitcode)
    """, until=None)
    assert p.stdout_text == "exit -15\n"


def test_terminating_a_program_that_starts_later(tmp_path):
    net, (h1,) = lan(1)
    prog = h1.run_program(program(tmp_path, "late.py", "print('ran')\n"), at="5s")
    prog.terminate()
    net.run()
    assert prog.done and prog.exitcode == -15 and prog.stdout_text == "" and net.now == 5e9
