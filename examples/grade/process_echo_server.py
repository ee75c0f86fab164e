"""A concurrent TCP echo server: one process per client (multiprocessing.Process).

Usage: python process_echo_server.py [PORT]

The parent accepts and hands each connection to a new process, then closes its own copy at
once: the child got a duplicate of the descriptor, and the connection ends (FIN) only when
every copy is closed. Forgetting that close keeps every connection half open after the child
is done. Processes share no memory: the child gets the socket and the address, nothing else.
"""

import sys
from multiprocessing import Process
from socket import AF_INET, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET, socket


def echo(conn, client):
    """Runs in the child process."""
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
    print(f"echo server on port {port}, a process per client")
    while True:
        conn, client = server.accept()
        Process(target=echo, args=(conn, client), daemon=True).start()
        conn.close()                      # the child has its own copy now
