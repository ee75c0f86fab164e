"""Exercise ``broadcast``: a UDP broadcast sender (SO_BROADCAST) and who receives it.

The program is started as ``python PROGRAM.py 8080`` on h1 (10.0.0.1) and must send one
datagram to UDP port 8080 of every host on its LAN (a broadcast: 255.255.255.255 or
10.0.0.255), print the address of each host that answers, and exit once the answers stop.
h2, h3 and h4 share h1's switch; h5 (10.0.1.5) is behind the router r1. Each of them runs a
reference receiver on port 8080 that answers after a short delay (0, 50 and 300 ms), or, in
the ``silent`` scenario, not at all.
"""

from __future__ import annotations

from .battery import FAIL, PASS, Bench, Item, Run, exit_summary
from .peers import UdpPeer

NAME = "broadcast"
SUMMARY = "a UDP broadcast sender: SO_BROADCAST, who receives it, collecting the answers"
USAGE = "python PROGRAM.py 8080   (prints each answering host's address)"

PORT = 8080
LAN = {"h2": ("10.0.0.2", 0.0), "h3": ("10.0.0.3", 0.05), "h4": ("10.0.0.4", 0.3)}
REMOTE = ("h5", "10.0.1.5")
BROADCASTS = ("255.255.255.255", "10.0.0.255")


def scenario(bench: Bench, answer: bool) -> Run:
    net = bench.net
    sw, r1 = net.add_switch("s1"), net.add_router("r1")
    hosts = {}
    for name, ip in [("h1", "10.0.0.1"), *((n, v[0]) for n, v in LAN.items())]:
        h = hosts[name] = net.add_host(name)
        net.link(h, sw)
        h.set_ip(f"{ip}/24", gateway="10.0.0.254")
    net.link(r1, sw)
    r1.set_ip("10.0.0.254/24", iface="eth0")
    h5 = hosts["h5"] = net.add_host("h5")
    net.link(h5, r1)
    r1.set_ip("10.0.1.254/24", iface="eth1")
    h5.set_ip("10.0.1.5/24", gateway="10.0.1.254")
    peers = {name: UdpPeer(hosts[name], PORT, answer=f"here: {name}".encode() if answer else None,
                           delay=LAN.get(name, ("", 0.0))[1]) for name in (*LAN, "h5")}
    proc = bench.start(hosts["h1"], [str(PORT)], at="10ms")
    run = bench.run("30s", done=lambda: proc.done)
    run.data.update(peers=peers, answer=answer)
    return run


SCENARIOS = {
    "answers": ("h2, h3, h4 answer after 0, 50 and 300 ms; h5 is behind a router",
                lambda b: scenario(b, True)),
    "silent": ("nobody answers", lambda b: scenario(b, False)),
}


def _broadcasts(run: Run) -> list:
    return [p for p in run.pkts if p.proto == "udp" and p.dir == "out" and p.dport == PORT]


def judge_sent(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["answers"]
    sent = _broadcasts(run)
    if not sent:
        err = run.proc.stderr_text if run.proc is not None else ""
        hint = " (without SO_BROADCAST, sendto to a broadcast address is refused with " \
               "EACCES)" if "PermissionError" in err else ""
        return FAIL, [f"{run.label}: nothing was sent to port {PORT}; {exit_summary(run)}{hint}"]
    p = sent[0]
    line = f"{run.at(p)}: to {p.dst}:{p.dport}, Ethernet destination {p.eth_dst.hex(':')}"
    if p.dst in BROADCASTS and p.eth_dst == b"\xff" * 6:
        return PASS, [line + f" ({'the limited' if p.dst == BROADCASTS[0] else 'the LAN'} "
                      "broadcast address)"]
    if len(sent) > 1:
        line += f", and {len(sent) - 1} more datagrams to " + \
            ", ".join(sorted({x.dst for x in sent[1:]}))
    return FAIL, [line + ": one datagram per host is not a broadcast"]


def judge_lan(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["answers"]
    peers = run.data["peers"]
    got = {n: [x for x in peers[n].got if x[2][0] == "10.0.0.1"] for n in LAN}
    missing = [n for n, g in got.items() if not g]
    if missing:
        return FAIL, [f"{', '.join(missing)} received nothing from h1; {exit_summary(run)}"]
    return PASS, ["; ".join(f"{n} received {len(g)} datagram at {g[0][0]:.4f} s"
                            for n, g in got.items())]


def judge_router(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["answers"]
    got = run.data["peers"]["h5"].got
    if got:
        return FAIL, [f"h5 ({REMOTE[1]}, behind the router) received {got[0][1]!r} at "
                      f"{got[0][0]:.4f} s: the program addressed the other subnet"]
    if not _broadcasts(run):
        return FAIL, [f"{run.label}: nothing was sent, so nothing to judge"]
    return PASS, [f"h5 ({REMOTE[1]}) received nothing: a router does not forward a broadcast "
                  "out of its LAN"]


def judge_answers(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["answers"]
    out = run.proc.stdout_text if run.proc is not None else ""
    missing = [ip for ip, _d in LAN.values() if ip not in out]
    answered = [x for n in LAN for x in run.data["peers"][n].got]
    if not answered:
        return FAIL, [f"{run.label}: no host got a datagram to answer; {exit_summary(run)}"]
    if missing:
        return FAIL, [f"the program never printed {', '.join(missing)} (it printed "
                      f"{len(out.splitlines())} lines); {exit_summary(run)}"]
    lines = [ln for ln in out.splitlines() if any(ip in ln for ip, _d in LAN.values())]
    return PASS, [f"it printed: {' | '.join(lines[:3])}"]


def judge_ends(runs: dict[str, Run]) -> tuple[str, list[str]]:
    lines, ok = [], True
    for name in ("answers", "silent"):
        run = runs[name]
        if run.proc is None or not run.proc.done:
            ok = False
            lines.append(f"{name}: {exit_summary(run)}: a receive timeout (settimeout) ends "
                         "the wait for answers")
        elif run.proc.exitcode != 0:
            ok = False
            lines.append(f"{name}: {exit_summary(run)}")
        else:
            lines.append(f"{name}: exited {run.proc.exitcode} at {run.ended_s:.3f} s")
    return (PASS if ok else FAIL), lines


ITEMS = [
    Item("so-broadcast", "sets SO_BROADCAST and sends one datagram to a broadcast address",
         "RFC 1122 §3.3.6; socket(7) SO_BROADCAST", ("answers",), judge_sent),
    Item("lan", "every host on its LAN receives it", "RFC 919", ("answers",), judge_lan),
    Item("router", "it stays on the LAN: the host behind the router gets nothing",
         "RFC 1812 §5.3.4, §5.3.5.1", ("answers",), judge_router),
    Item("answers", "hears every answer (prints each answering address)", "RFC 768",
         ("answers",), judge_answers),
    Item("ends", "ends by itself (status 0) when the answers stop", "a receive timeout: settimeout",
         ("answers", "silent"), judge_ends),
]
