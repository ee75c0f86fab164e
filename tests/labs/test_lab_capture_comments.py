"""Each lab's captures carry the comments that show its lesson, and the README's list of
packet comments is a list of comments the labs really write.

Comments are read back from the pcapng files (``read_capture``), split into their ``"; "``
parts, as Wireshark shows them under *Packet comments*.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import labs
from netsim.capture import read_capture

README = Path(__file__).resolve().parents[2] / "README.md"

# lab -> capture file -> comments (regular expressions, matched against a whole comment part)
LESSONS: dict[str, dict[str, list[str]]] = {
    "sockets-basics": {"tcp.pcapng": [r"client: CLOSED -> SYN_SENT",
                                      r"client: FIN_WAIT_2 -> TIME_WAIT"]},
    "hub-vs-switch": {
        "hub.pcapng": [r"not for me: dropped by the NIC", r"repeated to \d+ ports"],
        "switch.pcapng": [r"flooded: unknown unicast", r"learned [0-9a-f:]{17} on port eth\d"],
        "hub-saturated.pcapng": [r"collision, backoff k=1", r"3 collisions, backoff k=1,2,3",
                                 r"dropped: queue full", r"dropped: 16 collisions"],
    },
    "switch-learning": {"switch-learning.pcapng": [
        r"learned [0-9a-f:]{17} on port eth\d", r"flooded: broadcast",
        r"flooded: unknown unicast"]},
    "router-subnets": {"router-subnets.pcapng": [
        r"TTL exceeded", r"forwarded to eth1 via [\d.]+, TTL 64 -> 63",
        r"broadcast not forwarded"]},
    "udp-broadcast": {"hub.pcapng": [r"broadcast not forwarded", r"not for me: dropped by the NIC"],
                      "switch.pcapng": [r"broadcast not forwarded"]},
    "tcp-handshake": {
        "normal.pcapng": [r"h1: CLOSED -> SYN_SENT", r"h1: FIN_WAIT_2 -> TIME_WAIT"],
        "simultaneous-open.pcapng": [r"h1: SYN_SENT -> SYN_RECEIVED"],
        "closed-port.pcapng": [r"h1: SYN_SENT -> CLOSED"],
        "lost-syn.pcapng": [r"lost on purpose \(the first SYN\)"],
        "lost-fin.pcapng": [r"lost on purpose \(the first FIN\)"],
        "simultaneous-close.pcapng": [r"h1: FIN_WAIT_1 -> CLOSING"],
    },
    "tcp-congestion": {
        "reno.pcapng": [r"dropped at r1: the bottleneck's queue was full \(drop-tail\).*",
                        r"fast retransmit \(RFC 5681 3.2, RFC 6675\).*",
                        r"this duplicate ACK starts fast recovery",
                        r"fast recovery ends: .*", r"lost after r1: the bottleneck was down.*",
                        r"retransmission timeout \(RFC 6298 5.5\).*"],
        "nagle.pcapng": [r"delayed ACK \(RFC 1122 4.2.3.2\).*", r"Nagle \(RFC 896.*",
                         r"the first small write goes at once.*"],
    },
    "tftp-transfer": {"transfer.pcapng": [r"lost on link"]},
    "concurrent-server": {name: [r"server: LISTEN -> SYN_RECEIVED"] for name in
                          ("iterative.pcapng", "thread-per-client.pcapng", "worker-pool.pcapng")},
}


def comment_parts(path: Path) -> set[str]:
    return {part for frame in read_capture(path) for c in frame.comments for part in c.split("; ")}


def test_every_lab_has_its_lesson_listed():
    assert set(LESSONS) == set(labs.LABS)


@pytest.mark.parametrize("name", list(LESSONS))
def test_lab_captures_carry_the_comments_of_its_lesson(default_results, name):
    captures = {p.name: p for p in default_results(name).captures}
    for file, patterns in LESSONS[name].items():
        assert file in captures, f"{name} wrote no {file} (it wrote {sorted(captures)})"
        parts = comment_parts(captures[file])
        for pattern in patterns:
            assert any(re.fullmatch(pattern, p) for p in parts), \
                f"{name}/{file}: no comment matches {pattern!r}; it has {sorted(parts)[:15]}"


def readme_comment_list() -> list[str]:
    """The comments the README promises: the backquoted items of its "packet comments" list
    (from the opening parenthesis to the first semicolon; an item may wrap across lines)."""
    text = README.read_text()
    start = text.index("(", text.index("packet comments saying why things happened"))
    return [" ".join(item.split()) for item in
            re.findall(r"`([^`]+)`", text[start:text.index(";", start)])]


def test_every_comment_the_readme_promises_is_in_a_lab_capture(default_results):
    promised = readme_comment_list()
    assert len(promised) >= 8, promised
    written = set()
    for name in labs.LABS:
        for path in default_results(name).captures:
            written |= comment_parts(path)
    missing = [c for c in promised if c not in written]
    assert not missing, f"the README promises comments no lab capture has: {missing}"
