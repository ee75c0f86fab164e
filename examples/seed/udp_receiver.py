"""UDP receiver: wait for datagrams on a port and answer each one upper-cased.

Usage: python udp_receiver.py [PORT]

Runs forever (stop it with Ctrl-C on a real machine; on netsim the run just ends).
"""

import sys
from socket import AF_INET, SOCK_DGRAM, socket

if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9090
    sock = socket(AF_INET, SOCK_DGRAM)
    sock.bind(("", port))             # "" = every local address
    print(f"receiver waiting on port {port}")
    while True:
        data, addr = sock.recvfrom(2048)
        print(f"{len(data)} bytes from {addr}: {data.decode()}")
        sock.sendto(data.upper(), addr)
