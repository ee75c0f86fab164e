"""Exercise ``tcp-echo-server``: a TCP echo server (RFC 862 over RFC 9293).

The program is started as ``python PROGRAM.py 9999`` on h2 (10.0.0.2) and must send back
every byte each client sends, until that client closes; then close its side. Scripted
reference clients on h1, h3 and h4 send in pieces, half-close, reset, or stream 100 kB.
TCP is a byte stream (RFC 9293 section 2.2): one ``send`` of the client may arrive as several
``recv`` on the server and the other way round, so a server that reads "one message" with one
``recv``, or stops at the first short read, loses data.
"""

from __future__ import annotations

from .battery import FAIL, PASS, Bench, Item, Run, ended_early
from .peers import Step, TcpClient

NAME = "tcp-echo-server"
SUMMARY = "a TCP echo server: pieces, several clients, half-close, a client that resets"
USAGE = "python PROGRAM.py 9999"

SERVER, PORT = "10.0.0.2", 9999
FIN, SYN, RST = 0x01, 0x02, 0x04
PIECE = bytes(range(65, 91)) * 20                  # 520 bytes; three pieces are 1,500
MESSAGE = (PIECE * 3)[:1500]
BIG = bytes(i * 7 % 256 for i in range(100_000))


def scenario(bench: Bench, clients: list[tuple[int, list[Step], float]]) -> Run:
    """The program on h2; each ``(host number, steps, start_s)`` is a scripted client."""
    hosts = bench.lan(4)
    bench.start(hosts[1], [str(PORT)], at="0")
    peers = [TcpClient(hosts[h - 1], (SERVER, PORT), steps, at=at, name=f"client{i + 1}",
                       timeout=10.0).start() for i, (h, steps, at) in enumerate(clients)]
    run = bench.run("60s", done=lambda: all(c.done is not None for c in peers))
    run.data["clients"] = peers
    return run


def _thirds(data: bytes) -> list[Step]:
    a, b = len(data) // 3, 2 * len(data) // 3
    return [Step("send", data[:a]), Step("sleep", seconds=0.05), Step("send", data[a:b]),
            Step("sleep", seconds=0.05), Step("send", data[b:]), Step("recv", n=len(data))]


SCENARIOS = {
    "hello": ("b'hello\\n', its echo, then the client closes", lambda b: scenario(
        b, [(1, [Step("send", b"hello\n"), Step("recv", n=6), Step("sleep", seconds=0.05)],
             0.01)])),
    "pieces": ("a 1,500-byte message sent in three pieces 50 ms apart", lambda b: scenario(
        b, [(1, _thirds(MESSAGE), 0.01)])),
    "clients": ("three clients at the same time, 100 bytes each", lambda b: scenario(
        b, [(h, [Step("send", bytes([64 + h]) * 100), Step("recv", n=100)], 0.01)
            for h in (1, 3, 4)])),
    "half-close": ("1,000 bytes, then shutdown(SHUT_WR) at once; read to the end",
                   lambda b: scenario(b, [(1, [Step("send", MESSAGE[:1000]), Step("shutdown"),
                                               Step("eof")], 0.01)])),
    "reset": ("a client sends and resets (RST); 1 s later another client comes",
              lambda b: scenario(b, [(1, [Step("send", b"first"), Step("sleep", seconds=0.2),
                                          Step("reset")], 0.01),
                                     (3, [Step("send", b"after the reset"), Step("recv", n=15)],
                                      1.0)])),
    "big": ("100,000 bytes streamed while the echo is read", lambda b: scenario(
        b, [(1, [Step("stream", BIG, n=len(BIG))], 0.01)])),
}


# -- judges -------------------------------------------------------------------------------------

def _tcp(run: Run, port: int | None = None, out: bool | None = None, flag: int = 0) -> list:
    """TCP frames of the server's NIC with one client port (and a direction, a flag)."""
    found = []
    for p in run.pkts:
        if p.proto != "tcp" or (port is not None and port not in (p.sport, p.dport)):
            continue
        if out is not None and (p.dir == "out") != out:
            continue
        if flag and not p.flags & flag:
            continue
        found.append(p)
    return found


def _payload(run: Run, port: int, out: bool) -> list:
    return [p for p in _tcp(run, port, out) if p.size]


def _got(c: TcpClient, want: bytes) -> str:
    if c.received == want:
        return f"{len(want):,} bytes came back identical"
    if not c.received:
        return "nothing came back" + (f" ({c.error})" if c.error else "")
    same = next((i for i, (a, b) in enumerate(zip(c.received, want)) if a != b),
                min(len(c.received), len(want)))
    return (f"{len(c.received):,} of {len(want):,} bytes came back"
            + (f", differing from byte {same:,}" if same < min(len(c.received), len(want)) else "")
            + (f" ({c.error})" if c.error else ""))


def judge_echo(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["hello"]
    c = run.data["clients"][0]
    ins, outs = _payload(run, c.port, False), _payload(run, c.port, True)
    if c.received != b"hello\n":
        return FAIL, [f"{run.label}: the client sent b'hello\\n' ({run.frames(ins)}): "
                      f"{_got(c, b'hello' + bytes([10]))}{ended_early(run)}"]
    return PASS, [f"{run.label}: b'hello\\n' in ({run.frames(ins)}), the same out "
                  f"({run.frames(outs)})"]


def judge_close(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["hello"]
    c = run.data["clients"][0]
    theirs = _tcp(run, c.port, out=False, flag=FIN)
    ours = _tcp(run, c.port, out=True, flag=FIN)
    if not theirs:
        return FAIL, [f"{run.label}: the client never got to close{ended_early(run)}"]
    if not ours:
        return FAIL, [f"{run.label}: the client's FIN ({run.frames(theirs[:1])}) got no FIN "
                      "back: the server never closed that connection (it stays in "
                      f"CLOSE_WAIT){ended_early(run)}"]
    gap = (ours[0].t - theirs[0].t) / 1e6
    order = "after" if gap >= 0 else "before"
    return PASS, [f"{run.label}: the client's FIN ({run.frames(theirs[:1])}), the server's FIN "
                  f"({run.frames(ours[:1])}) {abs(gap):.3f} ms {order}"]


def judge_pieces(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["pieces"]
    c = run.data["clients"][0]
    ins, outs = _payload(run, c.port, False), _payload(run, c.port, True)
    line = (f"{run.label}: {len(ins)} segments in ({run.frames(ins)}: "
            f"{', '.join(str(p.size) for p in ins)} bytes), {len(outs)} out "
            f"({run.frames(outs)}); {_got(c, MESSAGE)}")
    if c.received == MESSAGE:
        return PASS, [line]
    fin = _tcp(run, c.port, out=True, flag=FIN)
    extra = ""
    if fin and ins:
        before = sum(p.size for p in ins if p.t <= fin[0].t)
        extra = (f"; the server closed ({run.frames(fin[:1])}) after reading {before:,} bytes:"
                 " it stopped at the first short read, but a short read is just what had "
                 "arrived so far")
    return FAIL, [line + extra]


def judge_clients(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["clients"]
    bad, good = [], []
    for c in run.data["clients"]:
        want = bytes([64 + int(c.host.name[1:])]) * 100
        (good if c.received == want else bad).append(f"{c.host.name}: {_got(c, want)}")
    if bad:
        return FAIL, [b + ended_early(run) for b in bad[:1]] + bad[1:]
    done = ", ".join(f"{c.host.name} at {c.done:.3f} s" for c in run.data["clients"])
    return PASS, [f"{run.label}: each client got its own 100 bytes back ({done})"]


def judge_half_close(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["half-close"]
    c = run.data["clients"][0]
    theirs = _tcp(run, c.port, out=False, flag=FIN)
    line = (f"{run.label}: 1,000 bytes then the client's FIN ({run.frames(theirs[:1])}); "
            f"{_got(c, MESSAGE[:1000])}")
    if c.received != MESSAGE[:1000]:
        return FAIL, [line + "; after a FIN the client can still receive (RFC 9293 §3.6)"]
    if c.eof is None:
        return FAIL, [line + f", but the server never closed its side{ended_early(run)}"]
    return PASS, [line + f", then the server's FIN (read at {c.eof:.3f} s)"]


def judge_reset(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["reset"]
    first, second = run.data["clients"]
    rst = _tcp(run, first.port, out=False, flag=RST)
    head = (f"{run.label}: client 1's RST ({run.frames(rst[:1])})" if rst else
            f"{run.label}: client 1 reset its connection")
    if second.received == b"after the reset":
        return PASS, [head + f"; client 2 was then served ({_got(second, b'after the reset')})"]
    syn = _tcp(run, second.port, out=False, flag=SYN)
    answer = _tcp(run, second.port, out=True)
    what = f"client 2: {_got(second, b'after the reset')}"
    if syn and answer and answer[0].flags & RST:
        what += f"; its SYN ({run.frames(syn[:1])}) was refused ({run.frames(answer[:1])})"
    died = ended_early(run)
    if died and "ConnectionResetError" in run.proc.stderr_text:
        died += " (catch ConnectionResetError: it ends one connection, not the server)"
    return FAIL, [head, what + died]


def judge_big(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["big"]
    c = run.data["clients"][0]
    outs = _payload(run, c.port, True)
    line = (f"{run.label}: {_got(c, BIG)} in {len(outs)} segments, done at "
            f"{c.done:.3f} s" if c.done is not None else f"{run.label}: {_got(c, BIG)}")
    return (PASS if c.received == BIG else FAIL), [line + ("" if c.received == BIG else
                                                          ended_early(run))]


ITEMS = [
    Item("echo", "echoes what a client sends", "RFC 862", ("hello",), judge_echo),
    Item("close", "closes its side when the client closes (FIN for FIN)", "RFC 9293 §3.6",
         ("hello",), judge_close),
    Item("pieces", "partial reads: 1,500 bytes arriving in pieces are echoed whole",
         "RFC 9293 §2.2", ("pieces",), judge_pieces),
    Item("clients", "several clients, each gets its own bytes back", "RFC 9293 §3.5",
         ("clients",), judge_clients),
    Item("half-close", "after the client's FIN (half-close) it still echoes, then closes",
         "RFC 9293 §3.6", ("half-close",), judge_half_close),
    Item("reset", "a client that resets (RST) does not stop the server",
         "RFC 9293 §3.5.3; RFC 1122 §4.2.2.13",
         ("reset",), judge_reset),
    Item("big", "100,000 bytes streamed are echoed intact", "RFC 9293 §2.2", ("big",),
         judge_big),
]
