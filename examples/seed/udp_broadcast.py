"""UDP broadcast: one datagram to every host of the LAN, then collect whoever answers.

Usage: python udp_broadcast.py [PORT] [WAIT_SECONDS]

Broadcasting needs SO_BROADCAST: without it sendto("<broadcast>") fails with
PermissionError (EACCES), on Linux and on netsim alike.
"""

import sys
from socket import AF_INET, SO_BROADCAST, SOCK_DGRAM, SOL_SOCKET, socket

if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    wait = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    sock = socket(AF_INET, SOCK_DGRAM)
    sock.setsockopt(SOL_SOCKET, SO_BROADCAST, 1)   # off by default
    sock.sendto(b"Hello Everyone!", ("<broadcast>", port))
    sock.settimeout(wait)                          # stop listening after a quiet spell
    answers = []
    try:
        while True:
            data, addr = sock.recvfrom(1024)
            answers.append(addr[0])
            print(f"answer from {addr[0]}: {data.decode()}")
    except TimeoutError:
        pass
    print(f"{len(answers)} hosts answered")
