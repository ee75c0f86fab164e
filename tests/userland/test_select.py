"""select, selectors and socketserver over virtual sockets."""

from __future__ import annotations

from tests.kits.userland import lan, program

CLIENT = """
    import socket, sys, time
    time.sleep(float(sys.argv[1]))
    s = socket.create_connection(("10.0.0.1", 7000))
    s.sendall(sys.argv[2].encode())
    print(s.recv(100).decode(), round(time.monotonic(), 2))
    s.close()
"""


def _clients(tmp_path, net, hosts, server_source):
    server = hosts[0].run_program(program(tmp_path, "server.py", server_source))
    cli = program(tmp_path, "client.py", CLIENT)
    clients = [h.run_program(cli, [delay, word]) for h, delay, word in
               zip(hosts[1:], ("0.1", "0.2"), ("one", "two"))]
    return server, clients


def test_select_serves_several_clients_in_one_thread(tmp_path):
    net, hosts = lan()
    server, clients = _clients(tmp_path, net, hosts, """
        import select, socket, time
        lsock = socket.create_server(("", 7000))
        socks = [lsock]
        print(select.select([lsock], [], [], 0.05), time.monotonic())   # times out, empty
        served = 0
        while served < 2:
            readable, _, _ = select.select(socks, [], [])
            for s in readable:
                if s is lsock:
                    conn, _ = lsock.accept()
                    socks.append(conn)
                else:
                    data = s.recv(100)
                    if data:
                        s.sendall(data.upper())
                    else:
                        socks.remove(s); s.close(); served += 1
        print("served", served)
    """)
    net.run()
    assert server.stdout_text == "([], [], []) 0.05\nserved 2\n"
    assert [c.stdout_text for c in clients] == ["ONE 0.1\n", "TWO 0.2\n"]


def test_select_with_zero_timeout_sees_what_is_queued_now(tmp_path):
    net, (h1, h2, _) = lan()
    p = h1.run_program(program(tmp_path, "poll.py", """
        import select, socket, time
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("", 5000))
        time.sleep(1)                                  # the datagram arrived meanwhile
        print(select.select([s], [], [], 0)[0] == [s], s.recvfrom(100)[0])
        p = select.poll(); p.register(s, select.POLLIN)
        print(p.poll(0))
    """))
    h2.run_program(program(tmp_path, "send.py", """
        import socket
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"ping", ("10.0.0.1", 5000))
    """), at="0.5s")
    net.run()
    assert p.stdout_text == "True b'ping'\n[]\n"


def test_selectors_default_selector(tmp_path):
    net, hosts = lan()
    server, clients = _clients(tmp_path, net, hosts, """
        import selectors, socket
        sel = selectors.DefaultSelector()
        print(type(sel).__name__)
        lsock = socket.create_server(("", 7000)); lsock.setblocking(False)
        sel.register(lsock, selectors.EVENT_READ, "listener")
        closed = 0
        while closed < 2:
            for key, _ in sel.select():
                if key.data == "listener":
                    conn, _ = lsock.accept()
                    sel.register(conn, selectors.EVENT_READ, "conn")
                else:
                    data = key.fileobj.recv(100)
                    if data:
                        key.fileobj.sendall(data[::-1])
                    else:
                        sel.unregister(key.fileobj); key.fileobj.close(); closed += 1
    """)
    net.run()
    assert server.stdout_text == "PollSelector\n"
    assert [c.stdout_text for c in clients] == ["eno 0.1\n", "owt 0.2\n"]


def test_socketserver_threading_tcp_server(tmp_path):
    net, hosts = lan()
    server, clients = _clients(tmp_path, net, hosts, """
        import socketserver, threading
        class Upper(socketserver.StreamRequestHandler):
            def handle(self):
                word = self.rfile.read1(100)
                self.wfile.write(word.upper() + b" by " + threading.current_thread().name.encode())
        with socketserver.ThreadingTCPServer(("", 7000), Upper) as srv:
            srv.serve_forever()
    """)
    net.run(until="2s")
    outs = [c.stdout_text for c in clients]
    assert outs[0].startswith("ONE by Thread-") and outs[1].startswith("TWO by Thread-")
    assert outs[0].split()[-1] == "0.1" and outs[1].split()[-1] == "0.2"
