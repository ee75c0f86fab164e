"""A TFTP server (RFC 1350) with options (RFC 2347-2349) and windows (RFC 7440).

Usage: python tftp_server.py [PORT]

Serves the files of the current directory (downloads only) on PORT (default 69). Each request
gets a thread and a socket of its own: the new port is the server's transfer ID (RFC 1350
section 4), and a packet from any other port is answered with ERROR 5 without disturbing the
transfer. Why each piece is there:

* options: blksize (RFC 2348, at most 65464), tsize (RFC 2349: the file's size), timeout
  (RFC 2349: the client's value, 1-255 s) and windowsize (RFC 7440, at most 64) are granted in
  an OACK; anything else is ignored (RFC 2347), and without options there is no OACK;
* a timer: a block (or window) not acknowledged in time is sent again, at most 5 times;
* no Sorcerer's Apprentice (RFC 1123 4.2.3.1): a duplicate ACK never makes it send DATA;
  only the timer resends;
* block numbers wrap 65535 -> 0; the file is read block by block, never whole;
* a file size that is a multiple of the block size ends with an empty DATA block.

Only octet mode is really served: a netascii request gets the bytes as they are, no options.
"""

import os
import struct
import sys
import threading
from socket import AF_INET, SOCK_DGRAM, socket

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6
TIMEOUT, RETRIES = 1.0, 5


def error(code, message):
    return struct.pack("!HH", ERROR, code) + message.encode() + b"\0"


def parse_request(packet):
    """(opcode, filename, mode, {option: value}) of an RRQ/WRQ."""
    opcode = struct.unpack("!H", packet[:2])[0]
    words = packet[2:].split(b"\0")
    name, mode = words[0].decode(errors="replace"), words[1].decode(errors="replace").lower()
    pairs = words[2:-1]
    options = {pairs[i].decode().lower(): pairs[i + 1].decode() for i in range(0, len(pairs) - 1, 2)}
    return opcode, name, mode, options


def negotiate(options, size):
    """The options granted, as the OACK lists them, and the transfer's parameters."""
    granted, blksize, window, timeout = {}, 512, 1, TIMEOUT
    if options.get("blksize", "").isdigit() and int(options["blksize"]) >= 8:
        blksize = min(int(options["blksize"]), 65464)
        granted["blksize"] = str(blksize)
    if options.get("timeout", "").isdigit() and 1 <= int(options["timeout"]) <= 255:
        timeout = int(options["timeout"])
        granted["timeout"] = options["timeout"]
    if options.get("tsize") == "0":
        granted["tsize"] = str(size)
    if options.get("windowsize", "").isdigit() and int(options["windowsize"]) >= 1:
        window = min(int(options["windowsize"]), 64)
        granted["windowsize"] = str(window)
    return granted, blksize, window, timeout


class Transfer:
    """One download, on its own socket, run by its own thread."""

    def __init__(self, client, f, size, granted, blksize, window, timeout):
        self.client, self.f, self.size = client, f, size
        self.granted, self.blksize, self.window = granted, blksize, window
        self.sock = socket(AF_INET, SOCK_DGRAM)
        self.sock.bind(("", 0))
        self.sock.settimeout(timeout)
        self.last = size // blksize + 1           # the final block (maybe empty)

    def block(self, n):
        self.f.seek((n - 1) * self.blksize)
        return struct.pack("!HH", DATA, n & 0xFFFF) + self.f.read(self.blksize)

    def wait_ack(self, packets, base):
        """Send ``packets``; return the highest block ACKed at or after ``base``, or None."""
        for _ in range(RETRIES + 1):
            for p in packets:
                self.sock.sendto(p, self.client)
            while True:
                try:
                    packet, addr = self.sock.recvfrom(1024)
                except TimeoutError:
                    break                             # resend the window
                if addr != self.client:
                    self.sock.sendto(error(5, "Unknown transfer ID"), addr)
                    continue
                opcode, number = struct.unpack("!HH", packet[:4])
                if opcode == ERROR:
                    return None
                if opcode != ACK:
                    continue
                # The ACKed block nearest to the window (numbers wrap at 65536).
                acked = base - 1 + ((number - (base - 1)) & 0xFFFF)
                if acked >= base + len(packets):
                    acked -= 0x10000
                if acked >= base:
                    return acked
                # an old or duplicate ACK: ignore it (RFC 1123 4.2.3.1)
        return None

    def run(self):
        try:
            if self.granted:
                body = b"".join(k.encode() + b"\0" + v.encode() + b"\0"
                                for k, v in self.granted.items())
                if self.wait_ack([struct.pack("!H", OACK) + body], 0) is None:
                    return
            base = 1
            while base <= self.last:
                top = min(base + self.window - 1, self.last)
                acked = self.wait_ack([self.block(n) for n in range(base, top + 1)], base)
                if acked is None:
                    return                             # gave up, or the client said ERROR
                base = acked + 1
        finally:
            self.f.close()
            self.sock.close()


def handle(packet, client, busy):
    try:
        serve(packet, client)
    finally:
        busy.discard(client)


def serve(packet, client):
    try:
        opcode, name, mode, options = parse_request(packet)
    except (ValueError, IndexError, UnicodeDecodeError, struct.error):
        return reply(client, error(4, "Malformed request"))
    if opcode != RRQ:
        return reply(client, error(2, "Only downloads are served"))
    if "/" in name or "\\" in name or name.startswith("."):
        return reply(client, error(2, "Access violation"))
    try:
        f = open(name, "rb")
    except FileNotFoundError:
        return reply(client, error(1, "File not found"))
    except OSError as exc:
        return reply(client, error(2, exc.strerror or "Access violation"))
    size = os.fstat(f.fileno()).st_size
    granted, blksize, window, timeout = negotiate(options if mode == "octet" else {}, size)
    Transfer(client, f, size, granted, blksize, window, timeout).run()


def reply(client, packet):
    sock = socket(AF_INET, SOCK_DGRAM)
    sock.sendto(packet, client)
    sock.close()


def main(port):
    sock = socket(AF_INET, SOCK_DGRAM)
    sock.bind(("", port))
    busy = set()                                  # clients with a transfer running
    print(f"TFTP server on port {port}, serving {os.getcwd()}")
    while True:
        packet, client = sock.recvfrom(1024)
        if client in busy or packet[:2] not in (b"\0\1", b"\0\2"):
            continue                              # a repeated request, or not a request
        busy.add(client)
        threading.Thread(target=handle, args=(packet, client, busy), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 69)
