"""An iterative TCP server: one client at a time, in the order they connect.

Usage: python tcp_server.py [PORT]

For each connection: read until a short read (less than 1024 bytes means the client's message
is complete, the lesson's convention), answer "Hello", close. The next client waits in the
listen backlog meanwhile.
"""

import sys
from socket import AF_INET, SOCK_STREAM, socket

if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9999
    server = socket(AF_INET, SOCK_STREAM)
    server.bind(("", port))
    server.listen(5)                  # at most 5 connections wait to be accepted
    print("server started")
    while True:
        conn, client = server.accept()
        print(f"connection from {client[0]}:{client[1]}")
        while True:
            data = conn.recv(1024)
            if not data:              # b"": the client closed its side
                break
            print("client says:", data.decode())
            if len(data) < 1024:
                break
        conn.send(b"Hello")
        conn.close()                  # FIN: the four-way teardown starts here
        print("connection closed")
