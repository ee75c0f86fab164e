"""A plain RFC 1350 server that does everything on port 69 (one socket, one transfer at a
time): right about timers and duplicates, wrong about transfer IDs; it ignores options."""

import struct
import sys
from socket import AF_INET, SOCK_DGRAM, socket

sock = socket(AF_INET, SOCK_DGRAM)
sock.bind(("", int(sys.argv[1])))
while True:
    packet, client = sock.recvfrom(1024)
    if packet[:2] != b"\0\1":
        continue
    name = packet[2:].split(b"\0")[0].decode()
    try:
        data = open(name, "rb").read()
    except OSError:
        sock.sendto(struct.pack("!HH", 5, 1) + b"File not found\0", client)
        continue
    sock.settimeout(1.0)
    block = 1
    while True:
        chunk = data[(block - 1) * 512:block * 512]
        packet = struct.pack("!HH", 3, block & 0xFFFF) + chunk
        for _try in range(6):
            sock.sendto(packet, client)
            try:
                reply, addr = sock.recvfrom(1024)
            except TimeoutError:
                continue
            if addr == client and reply[:4] == struct.pack("!HH", 4, block & 0xFFFF):
                break
        if len(chunk) < 512:
            break
        block += 1
    sock.settimeout(None)
