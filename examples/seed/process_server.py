"""A concurrent TCP server with one process per client.

Usage: python process_server.py [PORT]

The parent accepts, hands the connected socket to a new Process and closes its own copy at
once: the child received a duplicate of the descriptor, so the connection stays open until
the child closes it too.
"""

import sys
from multiprocessing import Process
from socket import AF_INET, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET, socket


def serve(conn, client):
    """Runs in the child process."""
    while True:
        data = conn.recv(1024)
        if not data:
            break
        print(f"from {client[0]}:{client[1]}: {data.decode()}")
        if len(data) < 1024:
            break
    conn.send(b"Hello Client")
    conn.close()
    print(f"done with {client[0]}:{client[1]}")


def main(port):
    server = socket(AF_INET, SOCK_STREAM)
    server.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)   # restart without waiting for TIME-WAIT
    server.bind(("", port))
    server.listen(5)
    print("server started")
    try:
        while True:
            conn, client = server.accept()
            print(f"connection from {client[0]}:{client[1]}")
            Process(target=serve, args=(conn, client)).start()
            conn.close()          # the child has its own descriptor now
    finally:
        server.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9999)
