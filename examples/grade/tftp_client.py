"""A TFTP downloader that follows RFC 1350: the seed's struct-built client, made robust.

Usage: python tftp_client.py SERVER FILE

Fetches FILE from SERVER (port 69) in octet mode and writes it to FILE in the current
directory. What it adds to the lesson's downloader, each for a reason the RFC gives:

* a timeout: a lost packet is sent again (the request, or the last ACK), up to 5 times;
* the server's transfer ID: the port its first reply came from; ACKs go there, and a packet
  from any other port is answered with ERROR 5 and otherwise ignored (RFC 1350 section 4);
* block numbers: only the expected block is written; a repeat of the previous block (our ACK
  was lost) is ACKed again, anything older is ignored; numbers wrap 65535 -> 0;
* no Sorcerer's Apprentice (RFC 1123 4.2.3.1): one ACK per DATA received, never more;
* the end: a block shorter than 512 bytes is the last; its ACK may be lost, so the client
  lingers a moment to ACK a repeat ("dallying", RFC 1350 section 6);
* an ERROR ends the transfer at once and is not answered (section 7); the file is created
  only when the first block arrives, so "file not found" leaves nothing behind.
"""

import struct
import sys
from socket import AF_INET, SOCK_DGRAM, socket

RRQ, DATA, ACK, ERROR = 1, 3, 4, 5
BLOCK = 512
TIMEOUT = 1.0        # seconds without an answer before sending again
RETRIES = 5
DALLY = 2.0          # how long to wait for a repeat of the last DATA


def error_packet(code, message):
    return struct.pack("!HH", ERROR, code) + message.encode() + b"\0"


def download(server, filename):
    name = filename.encode()
    request = struct.pack(f"!H{len(name)}sx5sx", RRQ, name, b"octet")
    sock = socket(AF_INET, SOCK_DGRAM)
    sock.settimeout(TIMEOUT)
    last, dest = request, (server, 69)     # what a timeout sends again, and where
    sock.sendto(request, dest)
    tid, expect, tries, size, out = None, 1, 0, 0, None
    while True:
        try:
            packet, addr = sock.recvfrom(4 + BLOCK)
        except TimeoutError:
            tries += 1
            if tries > RETRIES:
                print(f"no answer from {server} after {RETRIES} tries")
                return 1
            sock.sendto(last, dest)
            continue
        if tid is None and addr[0] == server:
            tid = dest = addr                      # the server's transfer ID
        elif addr != tid:
            sock.sendto(error_packet(5, "Unknown transfer ID"), addr)
            continue
        if len(packet) < 4:
            continue
        opcode, number = struct.unpack("!HH", packet[:4])
        if opcode == ERROR:
            message = packet[4:].rstrip(b"\0").decode(errors="replace")
            print(f"server error {number}: {message}")
            return 1
        if opcode != DATA:
            continue
        if number == expect & 0xFFFF:
            if out is None:
                out = open(filename, "wb")
            out.write(packet[4:])
            size += len(packet) - 4
            last = struct.pack("!HH", ACK, number)
            sock.sendto(last, dest)
            expect, tries = expect + 1, 0
            if len(packet) - 4 < BLOCK:
                break
        elif number == (expect - 1) & 0xFFFF:
            sock.sendto(last, dest)                # our ACK was lost: the same ACK again
    out.close()
    print(f"{filename}: {size} bytes")
    sock.settimeout(DALLY)
    try:
        while True:
            packet, addr = sock.recvfrom(4 + BLOCK)
            if addr == tid and packet[:2] == b"\0\3":
                sock.sendto(last, dest)            # the last DATA again: our ACK was lost
    except TimeoutError:
        pass
    sock.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python tftp_client.py SERVER FILE")
    sys.exit(download(sys.argv[1], sys.argv[2]))
