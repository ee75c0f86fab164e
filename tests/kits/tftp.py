"""Raw TFTP clients for the server tests: every byte of a request is the test's to choose
(names as bytes, broken packets, odd options), and every reply is decoded and returned."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Callable

from netsim.apps.tftp.os_driver import TftpServer, get
from netsim.wire import tftp
from netsim.wire.tftp import Ack, Data, Error, OAck

__all__ = ["HELLO", "Raw", "healthy", "request", "wait_until"]

HELLO = b"hello\nworld\n"


def request(opcode: int, name: bytes, mode: bytes = b"octet",
            options: tuple[tuple[bytes, bytes], ...] = ()) -> bytes:
    """An RRQ (1) or WRQ (2) with ``name`` exactly as given."""
    body = b"".join(n + b"\0" + v + b"\0" for n, v in options)
    return opcode.to_bytes(2, "big") + name + b"\0" + mode + b"\0" + body


class Raw:
    """One client socket talking to one server: send anything, read decoded replies."""

    def __init__(self, server: tuple[str, int], wait: float = 2.0):
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(wait)
        self.tid: tuple[str, int] | None = None

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, payload: bytes, to: tuple[str, int] | None = None) -> None:
        self.sock.sendto(payload, to or self.server)

    def reply(self, wait: float | None = None):
        """The next datagram, decoded (a DecodeError if it is not TFTP); remembers its TID."""
        if wait is not None:
            self.sock.settimeout(wait)
        data, addr = self.sock.recvfrom(70000)
        if addr != self.server:
            self.tid = addr
        return tftp.decode(data)

    def ask(self, payload: bytes, wait: float = 2.0):
        self.send(payload)
        return self.reply(wait)

    def download(self, name: bytes, options: tuple[tuple[bytes, bytes], ...] = (),
                 windowsize: int = 1) -> tuple[bytes, OAck | None]:
        """Fetch ``name`` (lock-step, or ACK every ``windowsize`` blocks); returns the data and
        the OACK if there was one. Raises AssertionError on an ERROR."""
        pkt = self.ask(request(tftp.RRQ, name, options=options))
        oack, blksize = None, 512
        if isinstance(pkt, OAck):
            oack = pkt
            opts = {n.lower(): v for n, v in pkt.options}
            blksize = int(opts.get("blksize", 512))
            windowsize = int(opts.get("windowsize", 1))
            self.send(Ack(0).encode(), self.tid)
            pkt = self.reply()
        got, expect, count = bytearray(), 1, 0
        while True:
            assert isinstance(pkt, Data), f"expected DATA {expect}, got {pkt.summary()}"
            if pkt.block == expect & 0xFFFF:
                got += pkt.data
                expect += 1
                count += 1
                last = len(pkt.data) < blksize
                if last or count == windowsize:
                    count = 0
                    self.send(Ack(pkt.block).encode(), self.tid)
                if last:
                    return bytes(got), oack
            pkt = self.reply()

    def upload(self, name: bytes, data: bytes, options: tuple[tuple[bytes, bytes], ...] = (),
               blksize: int = 512, before_last: Callable[[], None] | None = None):
        """Send ``data`` as ``name`` lock-step; return the server's answer to the last block
        (an Ack or an Error), or its refusal of the request. ``before_last`` runs just before
        the final DATA goes out."""
        pkt = self.ask(request(tftp.WRQ, name, options=options))
        if isinstance(pkt, Error):
            return pkt
        assert isinstance(pkt, (Ack, OAck)), pkt.summary()
        blocks = [data[i:i + blksize] for i in range(0, len(data) + 1, blksize)]
        if len(blocks[-1]) == blksize:
            blocks.append(b"")
        for number, chunk in enumerate(blocks, 1):
            if number == len(blocks) and before_last is not None:
                before_last()
            self.send(Data(number, chunk).encode(), self.tid)
            pkt = self.reply()
            if isinstance(pkt, Error):
                return pkt
            assert isinstance(pkt, Ack) and pkt.block == number, pkt.summary()
        return pkt


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def healthy(server: TftpServer, name: str = "hello.txt", content: bytes = HELLO) -> None:
    """Assert that the server still serves a normal download, from a fresh client."""
    assert server._thread is not None and server._thread.is_alive(), "the server thread died"
    sink = io.BytesIO()
    get(server.address, name, sink, dally=None)
    assert sink.getvalue() == content
