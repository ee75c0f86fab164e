"""Exercise ``concurrent-server``: an echo server that serves many clients at the same time.

The program is started as ``python PROGRAM.py 9999`` on h2 (10.0.0.2): the echo server of
``tcp-echo-server``, but concurrent (a thread or a process per client, a pool...). Each
reference client holds a session: five messages, each echoed, with 100 ms of "thinking"
after each one, then a half-close and a read to the end. A session alone takes about half a
second (its service time); five clients connecting at once should all be done in about one
service time, not five: an iterative server serves them one after the other.
"""

from __future__ import annotations

from .battery import FAIL, PASS, Bench, Item, Run, ended_early
from .peers import Step, TcpClient

NAME = "concurrent-server"
SUMMARY = "a concurrent echo server: N clients in about one service time, each connection closed"
USAGE = "python PROGRAM.py 9999"

SERVER, PORT = "10.0.0.2", 9999
ROUNDS, THINK = 5, 0.1
CLIENTS = (1, 3, 4, 5, 6)                    # the five client hosts (h2 is the server)
SLACK = 1.5                                  # "about one service time": less than 1.5 of them


def message(host: int, k: int) -> bytes:
    return f"h{host} message {k} ".encode().ljust(64, b".")


def session(host: int) -> list[Step]:
    steps: list[Step] = []
    for k in range(ROUNDS):
        steps += [Step("send", message(host, k)), Step("recv", n=64),
                  Step("sleep", seconds=THINK)]
    return steps + [Step("shutdown"), Step("eof")]


def scenario(bench: Bench, hosts: tuple[int, ...]) -> Run:
    """The program on h2; a session client on each of ``hosts``, all at 10 ms."""
    net_hosts = bench.lan(max(CLIENTS))
    bench.start(net_hosts[1], [str(PORT)], at="0")
    clients = [TcpClient(net_hosts[h - 1], (SERVER, PORT), session(h), at=0.01,
                         name=f"h{h}", timeout=30.0).start() for h in hosts]
    run = bench.run("120s", done=lambda: all(c.done is not None for c in clients))
    run.data["clients"] = clients
    return run


SCENARIOS = {
    "one": ("one client alone: its session is the service time", lambda b: scenario(b, (1,))),
    "five": ("five clients connecting at the same moment", lambda b: scenario(b, CLIENTS)),
}


def _want(c: TcpClient) -> bytes:
    host = int(c.host.name[1:])
    return b"".join(message(host, k) for k in range(ROUNDS))


def _echoed(c: TcpClient) -> float | None:
    """When the session ended: its last echo read and its last think time over, when the
    client half-closes (whatever the server then does with its side)."""
    total, want = 0, ROUNDS * 64
    for _t, data in c.chunks:
        total += len(data)
    return c.marks.get("shutdown") if total >= want else None


def _span(c: TcpClient) -> str:
    first = c.chunks[0][0] if c.chunks else None
    end = f"{_echoed(c):.3f}" if _echoed(c) is not None else "?"
    return (f"{c.host.name} {c.at:.3f}-{end} s" +
            (f" (first echo at {first:.3f})" if first is not None and first - c.at > THINK else ""))


def _service(runs: dict[str, Run]) -> float | None:
    [c] = runs["one"].data["clients"]
    if _echoed(c) is None or c.received[:ROUNDS * 64] != _want(c):
        return None
    return _echoed(c) - c.at


def judge_serves(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["five"]
    bad = [c for c in run.data["clients"] if c.received != _want(c)]
    if bad:
        return FAIL, [f"{c.host.name}: {len(c.received)} of {ROUNDS * 64} echoed bytes"
                      + (f" ({c.error})" if c.error else "") for c in bad[:3]] + \
            ([ended_early(run).lstrip("; ")] if ended_early(run) else [])
    return PASS, [f"{run.label}: all five sessions echoed in full ({ROUNDS} x 64 bytes each)"]


def judge_parallel(runs: dict[str, Run]) -> tuple[str, list[str]]:
    one = _service(runs)
    run = runs["five"]
    clients = run.data["clients"]
    if one is None:
        return FAIL, [f"{runs['one'].label}: even one client alone was not served in full"
                      f"{ended_early(runs['one'])}"]
    if any(_echoed(c) is None for c in clients):
        return FAIL, ["not every client got all its echoes" + ended_early(run)]
    makespan = max(_echoed(c) for c in clients) - min(c.at for c in clients)
    ratio = makespan / one
    lines = [f"one client alone: {one:.3f} s; five at once: makespan {makespan:.3f} s = "
             f"{ratio:.1f} service times (allowed: under {SLACK})",
             "; ".join(_span(c) for c in sorted(clients, key=_echoed))]
    if ratio >= SLACK:
        last = max(clients, key=_echoed)
        syn = [p for p in run.pkts if p.proto == "tcp" and p.dir == "in" and p.flags & 0x02
               and p.sport == last.port]
        echo = [p for p in run.pkts if p.proto == "tcp" and p.dir == "out" and p.size
                and p.dport == last.port]
        if syn and echo:
            lines.append(f"{last.host.name}: SYN at {syn[0].seconds:.3f} s ({run.at(syn[0])}), "
                         f"its first echo only at {echo[0].seconds:.3f} s ({run.at(echo[0])})")
        lines.append("the clients were served one after the other: the server talks to one "
                     "client while the others wait in the listen backlog")
        return FAIL, lines
    return PASS, lines


def judge_own(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["five"]
    mixed = []
    for c in run.data["clients"]:
        others = [f"h{h}" for h in CLIENTS if h != int(c.host.name[1:])
                  and f"h{h} message".encode() in c.received]
        if others:
            mixed.append(f"{c.host.name} received bytes of {', '.join(others)}")
    if mixed:
        return FAIL, mixed
    if not any(c.received for c in run.data["clients"]):
        return FAIL, ["no client received anything" + ended_early(run)]
    return PASS, [f"{run.label}: no client received another client's bytes"]


def judge_close(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["five"]
    late = []
    for c in run.data["clients"]:
        sent = c.marks.get("shutdown")
        if sent is None:
            continue
        if c.eof is None or c.eof - sent > 1.0:
            late.append(f"{c.host.name}: its FIN at {sent:.3f} s got "
                        + ("no FIN back" if c.eof is None else f"a FIN {c.eof - sent:.1f} s later"))
    if late:
        return FAIL, late[:3] + ["a connection ends when every descriptor of it is closed: "
                                 "a parent that hands the socket to a child process must "
                                 "close its own copy"]
    closed = [c for c in run.data["clients"] if c.eof is not None]
    if not closed:
        return FAIL, ["no session got as far as its FIN" + ended_early(run)]
    worst = max(c.eof - c.marks["shutdown"] for c in closed)
    return PASS, [f"{run.label}: each client's FIN was answered by the server's within "
                  f"{worst * 1000:.3f} ms"]


ITEMS = [
    Item("serves", "five clients at once: every session echoed in full", "RFC 862",
         ("five",), judge_serves),
    Item("parallel", "five clients at once in about one service time", "RFC 9293 §3.5",
         ("one", "five"), judge_parallel),
    Item("own", "each client gets only its own bytes", "RFC 9293 §3.5", ("five",), judge_own),
    Item("close", "each connection closed when its client is done (FIN for FIN)",
         "RFC 9293 §3.6", ("five",), judge_close),
]
