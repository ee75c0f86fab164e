"""The Linux end of the real-world TCP tests, run inside a namespace with the system's Python.

    python3 linux_peer.py client HOST PORT NBYTES SEED   send NBYTES, half-close, read the echo
    python3 linux_peer.py server ADDR PORT               echo one connection, then exit

Prints one JSON line: bytes sent/received and their sha256, so the test compares digests.
"""

import hashlib
import json
import random
import socket
import sys
import threading


def client(host: str, port: int, nbytes: int, seed: int) -> dict:
    data = random.Random(seed).randbytes(nbytes)
    s = socket.create_connection((host, port), timeout=60)
    got = bytearray()

    def reader() -> None:
        while chunk := s.recv(65536):
            got.extend(chunk)
    t = threading.Thread(target=reader)
    t.start()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    t.join(90)
    s.close()
    return {"sent": len(data), "sent_sha256": hashlib.sha256(data).hexdigest(),
            "received": len(got), "received_sha256": hashlib.sha256(got).hexdigest()}


def server(addr: str, port: int) -> dict:
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    print(json.dumps({"listening": port}), flush=True)
    ls.settimeout(60)
    conn, peer = ls.accept()
    conn.settimeout(60)
    digest, total = hashlib.sha256(), 0
    while chunk := conn.recv(65536):
        digest.update(chunk)
        total += len(chunk)
        conn.sendall(chunk)
    conn.close()
    ls.close()
    return {"peer": peer[0], "received": total, "received_sha256": digest.hexdigest()}


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "client":
        out = client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        out = server(sys.argv[2], int(sys.argv[3]))
    print(json.dumps(out), flush=True)
