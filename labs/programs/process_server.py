"""The concurrent-server lab's process-per-client server, run unmodified on a virtual host.

Usage: python process_server.py PORT SERVICE_SECONDS

The parent accepts; each connection goes to a new multiprocessing.Process, which reads the
request, works for SERVICE_SECONDS (time.sleep: virtual time on netsim), answers and closes.
The parent closes its own copy of the connection at once: the child has a duplicate.
"""

import sys
import time
from multiprocessing import Process
from socket import AF_INET, SOCK_STREAM, socket


def handle(conn, service_s):
    """Runs in the child process."""
    request = conn.recv(1024)
    time.sleep(service_s)                  # the work: a disk, a database, a computation
    conn.sendall(b"done: " + request)
    conn.close()


if __name__ == "__main__":
    port, service_s = int(sys.argv[1]), float(sys.argv[2])
    listener = socket(AF_INET, SOCK_STREAM)
    listener.bind(("", port))
    listener.listen(128)
    while True:
        conn, _addr = listener.accept()
        Process(target=handle, args=(conn, service_s)).start()
        conn.close()
