"""A TFTP downloader (RFC 1350) built by hand with struct, as in the lesson.

Usage: python tftp_download.py SERVER_IP FILENAME

Sends a read request to port 69, then answers every DATA block with an ACK sent to the port
the server answered from (its transfer ID), writes the data to FILENAME in the current
directory, and stops at the first block shorter than 512 bytes. An ERROR packet (opcode 5)
ends the transfer with its message.
"""

import struct
import sys
from socket import AF_INET, SOCK_DGRAM, socket

RRQ, DATA, ACK, ERROR = 1, 3, 4, 5
BLOCK = 512

if __name__ == "__main__":
    server_ip = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
    filename = sys.argv[2] if len(sys.argv) > 2 else "hello.txt"
    # "!H{n}sb5sb": network byte order, a 2-byte opcode, the name, a 0 byte, "octet", a 0 byte
    name = filename.encode()
    request = struct.pack(f"!H{len(name)}sb5sb", RRQ, name, 0, b"octet", 0)
    sock = socket(AF_INET, SOCK_DGRAM)
    sock.settimeout(5)
    sock.sendto(request, (server_ip, 69))
    received = 0
    with open(filename, "wb") as f:
        while True:
            packet, (ip, port) = sock.recvfrom(4 + BLOCK)
            opcode, number = struct.unpack("!HH", packet[:4])
            if opcode == ERROR:
                print(f"server error {number}: {packet[4:-1].decode()}")
                break
            if opcode != DATA:
                continue
            f.write(packet[4:])
            received += len(packet) - 4
            print(f"block {number}: {len(packet) - 4} bytes from port {port}")
            sock.sendto(struct.pack("!HH", ACK, number), (ip, port))   # to the server's TID
            if len(packet) - 4 < BLOCK:                                # the last block
                break
    print(f"{filename}: {received} bytes")
    sock.close()
