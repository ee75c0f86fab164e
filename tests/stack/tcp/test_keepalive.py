"""Keepalive in the sans-I/O core (RFC 1122 4.2.3.6, RFC 9293 3.8.4; Linux's knobs)."""

from __future__ import annotations

import dataclasses
import errno

from netsim.stack.tcp import Connection, TcpConfig
from netsim.stack.tcp.segment import ACK, RST, SYN, TCP

A, B = ("10.0.0.1", 40000), ("10.0.0.2", 80)
S = 1_000_000_000


def established(**cfg) -> Connection:
    c = Connection(A, B, 1000, dataclasses.replace(TcpConfig().classic(), **cfg))
    c.open_active(0)
    c.pending_segments()
    c.receive(TCP(sport=80, dport=40000, seq=5000, ack=1001, flags=SYN | ACK, window=65535,
                  options=(("MSS", 1460),)), 10)
    c.pending_segments()
    return c


def answer(c: Connection, now: int) -> None:
    c.receive(TCP(sport=80, dport=40000, seq=5001, ack=c.snd_max, flags=ACK, window=65535), now)


def test_established_without_so_keepalive_arms_no_timer() -> None:
    c = established()
    assert c.next_deadline() is None  # RFC 1122: "MUST default to off"


def test_established_idle_sends_probe_below_snd_una_and_an_answer_keeps_it_alive() -> None:
    c = established(keepalive=True, keepidle_ns=60 * S, keepintvl_ns=10 * S, keepcnt=2)
    assert c.next_deadline() == 10 + 60 * S
    c.on_timer(c.next_deadline())
    (probe,) = c.pending_segments()
    assert (probe.flags, probe.seq, probe.payload) == (ACK, 1000, b"")  # SND.UNA - 1
    answer(c, 61 * S)
    c.on_timer(c.next_deadline())  # one interval after the probe: it was answered
    assert c.pending_segments() == [] and c.next_deadline() == 121 * S  # idle again
    c.on_timer(121 * S)
    (again,) = c.pending_segments()
    assert again.seq == 1000 and c.state.name == "ESTABLISHED"


def test_established_unanswered_probes_reset_with_etimedout() -> None:
    c = established(keepalive=True, keepidle_ns=60 * S, keepintvl_ns=10 * S, keepcnt=3)
    sent = []
    while c.state.name == "ESTABLISHED":
        t = c.next_deadline()
        c.on_timer(t)
        sent += [(t, s.flags) for s in c.pending_segments()]
    assert [f for _, f in sent] == [ACK, ACK, ACK, RST | ACK]
    assert sent[-1][0] == 10 + 90 * S and c.error == errno.ETIMEDOUT


def test_established_with_data_outstanding_sends_no_probe() -> None:
    c = established(keepalive=True, keepidle_ns=1 * S, keepintvl_ns=1 * S, keepcnt=1,
                    data_retries=100)
    c.send(b"data", 20)
    c.pending_segments()
    deadline = c._timers["keepalive"]
    c.on_timer(deadline)
    assert all(s.payload for s in c.pending_segments())  # retransmissions only
    assert c.stats["keepalive_probes"] == 0
