"""A concurrent TCP echo server: one thread per client.

Usage: python thread_echo_server.py [PORT]

The main thread only accepts; each connection gets a thread that echoes until the client
closes (recv returns b""), then closes the connection. Threads share the process, so the
accepting thread must not close the connection itself.
"""

import sys
import threading
from socket import AF_INET, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET, socket


def echo(conn, client):
    with conn:
        try:
            while data := conn.recv(4096):
                conn.sendall(data)
        except ConnectionResetError:
            print(f"{client[0]}:{client[1]} reset the connection")


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9999
    server = socket(AF_INET, SOCK_STREAM)
    server.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    server.bind(("", port))
    server.listen(16)
    print(f"echo server on port {port}, a thread per client")
    while True:
        conn, client = server.accept()
        threading.Thread(target=echo, args=(conn, client), daemon=True).start()
