"""A UDP echo server (RFC 862): every datagram goes back to its sender, unchanged.

Usage: python udp_echo.py [PORT]

recvfrom(65535) takes any datagram whole (a smaller buffer silently cuts a bigger one); the
reply goes to the address *and port* the datagram came from; the bytes are sent back as they
are (no decode, no upper()); an empty datagram is a datagram too, answered like any other.
"""

import sys
from socket import AF_INET, SOCK_DGRAM, socket

if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9090
    sock = socket(AF_INET, SOCK_DGRAM)
    sock.bind(("", port))
    print(f"echoing UDP on port {port}")
    while True:
        data, addr = sock.recvfrom(65535)
        sock.sendto(data, addr)
