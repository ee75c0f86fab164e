"""Exercise ``udp-echo``: a UDP echo server (RFC 862 over RFC 768).

The program is started as ``python PROGRAM.py 9090`` on h2 (10.0.0.2) and must send every
datagram that arrives on UDP port 9090 back to its sender (address and port), unchanged.
Reference senders on h1 (10.0.0.1) and h3 (10.0.0.3) send datagrams and note the answers.
"""

from __future__ import annotations

from .battery import FAIL, PASS, Bench, Item, Run, ended_early
from .peers import UdpPeer

NAME = "udp-echo"
SUMMARY = "a UDP echo server (RFC 862): sender's port, bytes unchanged, boundaries, sizes"
USAGE = "python PROGRAM.py 9090"

SERVER, PORT = "10.0.0.2", 9090
BINARY = bytes(range(256)) + b"\xff\xfe not UTF-8 \xc3\x28"
LARGEST = 1472                  # the largest UDP payload in one 1500-byte Ethernet frame


def scenario(bench: Bench, sends: dict[tuple[int, int], list[tuple[float, bytes]]]) -> Run:
    """The program on h2; ``sends[(host number, port)]`` = [(at_s, payload)] for each peer."""
    hosts = bench.lan(3)
    bench.start(hosts[1], [str(PORT)], at="0")
    peers = {}
    for (h, port), payloads in sends.items():
        peers[(h, port)] = UdpPeer(hosts[h - 1], port).send(payloads, (SERVER, PORT))
    run = bench.run("10s")
    run.data.update(peers=peers, sends=sends)
    return run


def _one(at: float, data: bytes) -> dict:
    return {(1, 5000): [(at, data)]}


SCENARIOS = {
    "hello": ("one datagram b'hello' from 10.0.0.1 port 5000", lambda b: scenario(
        b, _one(0.01, b"hello"))),
    "binary": ("a datagram of bytes that are not UTF-8 text", lambda b: scenario(
        b, _one(0.01, BINARY))),
    "boundaries": ("three datagrams of 10, 200 and 30 bytes back to back", lambda b: scenario(
        b, {(1, 5000): [(0.01, b"a" * 10), (0.01, b"b" * 200), (0.01, b"c" * 30)]})),
    "large": (f"one datagram of {LARGEST} bytes", lambda b: scenario(
        b, _one(0.01, bytes(i % 251 for i in range(LARGEST))))),
    "empty": ("an empty datagram, then b'after'", lambda b: scenario(
        b, {(1, 5000): [(0.01, b""), (0.2, b"after")]})),
    "clients": ("three clients (two ports on h1, one on h3), interleaved", lambda b: scenario(
        b, {(1, 5000): [(0.01, b"one-a"), (0.03, b"one-b")], (1, 5001): [(0.02, b"two")],
            (3, 6000): [(0.015, b"three-a"), (0.04, b"three-b")]})),
}


# -- judges -------------------------------------------------------------------------------------

def _answers(run: Run, key: tuple[int, int]) -> list[tuple[float, bytes, tuple[str, int]]]:
    return run.data["peers"][key].got


def _frame_of(run: Run, data: bytes, out: bool, port: int | None = None) -> str:
    """Where a datagram with this payload went through the server's NIC."""
    for p in run.pkts:
        if p.proto == "udp" and (p.dir == "out") == out and p.data == data[:len(p.data)] \
                and p.size == len(data) and (port is None or p.dport == port or p.sport == port):
            return run.at(p)
    return f"{run.label} (not seen)"


def _check(run: Run, key: tuple[int, int], want: list[bytes]) -> tuple[bool, str]:
    got = _answers(run, key)
    ip = f"10.0.0.{key[0]}"
    datas = [d for _t, d, _a in got]
    wrong_src = [a for _t, _d, a in got if a != (SERVER, PORT)]
    if datas == want and not wrong_src:
        return True, ""
    if not got:
        sent = _frame_of(run, want[0], out=False) if want else run.label
        return False, (f"{ip}:{key[1]} got no answer to {_show(want[0])} ({sent})"
                       f"{ended_early(run)}")
    if wrong_src:
        return False, f"the answer came from {wrong_src[0]}, not {SERVER}:{PORT}"
    return False, (f"{ip}:{key[1]} sent {', '.join(_show(w) for w in want)} and got back "
                   f"{', '.join(_show(d) for d in datas)}")


def _show(data: bytes) -> str:
    return repr(data) if len(data) <= 16 else f"{len(data)} bytes"


def _misdirected(run: Run) -> str:
    """Answers the server sent to somewhere no sender listens (a fixed port, port 69...)."""
    ports = {k[1] for k in run.data["peers"]}
    odd = [p for p in run.pkts if p.proto == "udp" and p.dir == "out" and p.dport not in ports]
    return f"; it sent {_show(odd[0].data)} to port {odd[0].dport} ({run.at(odd[0])})" if odd else ""


def judge_echo(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["hello"]
    ok, why = _check(run, (1, 5000), [b"hello"])
    if not ok:
        return FAIL, [why + _misdirected(run)]
    t = _answers(run, (1, 5000))[0][0]
    return PASS, [f"b'hello' from 10.0.0.1:5000 ({_frame_of(run, b'hello', False)}) came back "
                  f"to 10.0.0.1:5000 ({_frame_of(run, b'hello', True)}) at {t:.4f} s"]


def judge_simple(key: str, want: list[bytes], text: str):
    def judge(runs: dict[str, Run]) -> tuple[str, list[str]]:
        run = runs[key]
        ok, why = _check(run, (1, 5000), want)
        if not ok:
            return FAIL, [why + _misdirected(run)]
        nos = [_frame_of(run, w, True).rsplit(" ", 1)[1] for w in want]
        return PASS, [f"{run.label}: {text} (frame{'s' if len(nos) > 1 else ''} "
                      f"{', '.join(nos)})"]
    return judge


def judge_clients(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["clients"]
    lines, ok = [], True
    for key, payloads in run.data["sends"].items():
        good, why = _check(run, key, [d for _t, d in sorted(payloads, key=lambda x: x[0])])
        if not good:
            ok = False
            lines.append(why)
    if ok:
        lines.append(f"{run.label}: 10.0.0.1:5000, 10.0.0.1:5001 and 10.0.0.3:6000 each got "
                     "exactly their own datagrams back, in order")
    return (PASS if ok else FAIL), lines


ITEMS = [
    Item("echo", "echoes a datagram to its sender's address and port", "RFC 862; RFC 768",
         ("hello",), judge_echo),
    Item("binary", "echoes bytes unchanged (not text: no decode, no upper())", "RFC 862",
         ("binary",), judge_simple("binary", [BINARY], f"{len(BINARY)} bytes back, identical")),
    Item("boundaries", "one answer per datagram, boundaries kept", "RFC 768",
         ("boundaries",), judge_simple("boundaries", [b"a" * 10, b"b" * 200, b"c" * 30],
                                       "10, 200 and 30 bytes back, in three datagrams")),
    Item("large", f"a {LARGEST}-byte datagram echoed whole (recvfrom big enough)", "RFC 768",
         ("large",), judge_simple("large", [bytes(i % 251 for i in range(LARGEST))],
                                  f"{LARGEST} bytes back")),
    Item("empty", "an empty datagram is echoed too, and the server goes on", "RFC 768",
         ("empty",), judge_simple("empty", [b"", b"after"],
                                  "an empty datagram back, then b'after'")),
    Item("clients", "answers several clients, each only with its own datagrams", "RFC 862",
         ("clients",), judge_clients),
]
