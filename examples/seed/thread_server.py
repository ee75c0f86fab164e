"""A concurrent TCP server with one thread per client.

Usage: python thread_server.py [PORT]

Threads share the process, so the accepting thread must not close the connection: the
handler thread closes it when it is done.
"""

import sys
import threading
from socket import AF_INET, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET, socket


def serve(conn, client):
    while True:
        data = conn.recv(1024)
        if not data:
            break
        print(f"{threading.current_thread().name} from {client[0]}: {data.decode()}")
        if len(data) < 1024:
            break
    conn.send(b"Hello Client")
    conn.close()


def main(port):
    server = socket(AF_INET, SOCK_STREAM)
    server.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    server.bind(("", port))
    server.listen(5)
    print("server started")
    try:
        while True:
            conn, client = server.accept()
            print(f"connection from {client[0]}:{client[1]}")
            threading.Thread(target=serve, args=(conn, client)).start()
    finally:
        server.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9999)
