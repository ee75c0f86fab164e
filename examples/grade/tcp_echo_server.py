"""A TCP echo server (RFC 862): everything a client sends comes back, until it closes.

Usage: python tcp_echo_server.py [PORT]

One client at a time (an iterative server). TCP is a byte stream: recv returns what has
arrived so far, so the loop echoes each piece and stops only at b"" (the client's FIN); then
closing sends our FIN. A client that resets makes recv raise ConnectionResetError: that ends
this connection, not the server.
"""

import sys
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
    server.listen(5)
    print(f"echo server on port {port}")
    while True:
        conn, client = server.accept()
        echo(conn, client)
