"""After a RST, each socket call answers as Linux and CPython do: the error once, then EOF
and EPIPE.

RFC 9293 3.10.7.4 has a RST in ESTABLISHED (or CLOSE_WAIT...) tell the user "connection
reset" and enter CLOSED; how often the calls after it say so is the API's business. Linux
keeps the errno in ``sk_err`` and ``sock_error()`` clears it as it reports it: the first
recv() or send() (or getsockopt(SO_ERROR)) raises ECONNRESET, a later recv() returns b""
(the socket is shut down both ways), a later send() raises EPIPE. Bytes that arrived before
the RST are still read first (Linux does not flush them); after the peer's FIN, EOF comes
before the error (Linux checks SOCK_DONE before sk_err), and a RST in CLOSE_WAIT gives EPIPE.
The expected lines are what Linux 6.18 gave for the same calls in
tests/interop/test_tcp_linux.py, which runs them against the kernel.
"""

from __future__ import annotations

import pytest

from tests.interop import linux_tcp_peer as peer
from tests.kits.stack import pair

# What the scenario's client saw on Linux (netsim must give the same on a virtual host).
LINUX = {
    "reset-recv-first": ["0: recv -> ConnectionResetError ECONNRESET",
                         "1: recv -> b'' (0 bytes)",
                         "2: send -> BrokenPipeError EPIPE",
                         "SO_ERROR -> 0"],
    "reset-send-first": ["0: send -> ConnectionResetError ECONNRESET",
                         "1: send -> BrokenPipeError EPIPE",
                         "2: recv -> b'' (0 bytes)",
                         "SO_ERROR -> 0"],
    "reset-with-data-queued": [*(f"{i}: recv -> b'dddddddd' (100 bytes)" for i in range(5)),
                               "5: recv -> ConnectionResetError ECONNRESET",
                               "6: recv -> b'' (0 bytes)",
                               "SO_ERROR -> 0"],
    "reset-in-close-wait": ["recv (FIN) -> b'' (0 bytes)",
                            "send in CLOSE_WAIT -> 100",
                            "recv after RST -> b'' (0 bytes)",
                            "send after RST -> BrokenPipeError EPIPE",
                            "send again -> BrokenPipeError EPIPE"],
}


@pytest.mark.parametrize("name", list(LINUX))
def test_socket_after_rst_reports_the_error_once_then_eof_and_epipe(name):
    net, h1, h2 = pair()
    client, server = peer.SCENARIOS[name]
    h2.spawn(server, peer.SimApi(h2), "10.0.0.2", 7000)
    task = h1.spawn(client, peer.SimApi(h1), "10.0.0.2", 7000, at="10ms")
    net.run(duration="5s")
    assert task.exception is None, task.exception
    assert task.result == LINUX[name]
