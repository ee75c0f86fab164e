"""Lab: the TCP three-way handshake and four-way teardown, and what happens when things go wrong.

Two hosts on one cable. Each variant is a tiny client/server program; the TCP tracer records
every segment and every state change of both ends (RFC 9293 3.3.2), drawn as a ladder
diagram, and the capture of h1's wire carries the state changes as packet comments:

* ``normal``: SYN, SYN-ACK, ACK; data; FIN/ACK from each side; TIME_WAIT for 2*MSL.
* ``simultaneous-open``: both ends send SYN at once and pass through SYN_RECEIVED.
* ``closed-port``: nothing listens; the SYN is answered with RST (ConnectionRefusedError).
* ``lost-syn``: the first SYN is lost and retransmitted after the RTO (1 s, RFC 6298 2.1).
* ``lost-fin``: the first FIN is lost and retransmitted after the RTO.
* ``simultaneous-close``: both ends close at once and pass through CLOSING.
* ``time-wait``: the active closer's port is held for 2*MSL; rebinding it fails with
  EADDRINUSE unless SO_REUSEADDR is set (on Linux both the socket that left the TIME_WAIT
  and the new one must set it; the client here does).

``netsim step tcp-handshake [--variant lost-syn]`` walks through one variant event by event.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from netsim import AF_INET, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET, Network
from netsim.sim.units import NS_PER_S, parse_time
from netsim.wire import tcp as wtcp

from .params import TIME, Param, checked, declare
from .result import LabResult

NAME = "tcp-handshake"
TITLE = "TCP: the three-way handshake, the four-way teardown, and what goes wrong"
SUMMARY = "SYN/SYN-ACK/ACK and FIN/ACK pairs with both ends' states; RST, lost SYN/FIN, TIME_WAIT"

VARIANTS = ("normal", "simultaneous-open", "closed-port", "lost-syn", "lost-fin",
            "simultaneous-close", "time-wait")

PARAMS = declare(
    Param("variant", str, "all", choices=(*VARIANTS, "all"), help="which variant to run, or all"),
    # RFC 9293 3.4.1 sets MSL to 2 minutes; at least 1 s keeps TIME_WAIT (2*MSL) longer than
    # the time-wait variant's wait before it rebinds the port.
    Param("msl", TIME, "5s", min="1s", max="120s",
          help="maximum segment lifetime; TIME_WAIT lasts 2*MSL (Linux: 60 s in all)"),
    Param("seed", int, 1, min=0, help="random seed (initial sequence numbers, ports)"),
)

PORT = 80


def _tcp_of(frame: bytes) -> wtcp.TCP | None:
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 0x0F) * 4
    try:
        return wtcp.decode(frame[14 + ihl:])
    except ValueError:
        return None


def _is(flags: int, without: int = 0):
    def predicate(frame: bytes) -> bool:
        seg = _tcp_of(frame)
        return seg is not None and seg.flags & flags == flags and not seg.flags & without
    return predicate


def build(variant: str = "normal", msl: str = "5s", seed: int = 1) -> tuple[Network, dict[str, Any]]:
    """The network of one variant with its programs started, not yet run (for the stepper)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    net = Network(seed=seed)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    link = net.link(h1, h2, bandwidth="100Mbps", delay="1ms")
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    for h in (h1, h2):
        h.tcp.config.msl_ns = parse_time(msl)
    info: dict[str, Any] = {"events": [], "link": link}
    log = info["events"]

    def server(host, reply: bytes = b"hi h1", close_delay: float = 0.0) -> None:
        s = host.socket(AF_INET, SOCK_STREAM)
        s.bind(("", PORT))
        s.listen(1)
        conn, addr = s.accept()
        data = conn.recv(1024)
        conn.sendall(reply)
        log.append(("h2", f"got {data!r} from {addr[0]}:{addr[1]}, answered {reply!r}"))
        # Wait for the client's FIN (recv returns b""), then close: the passive close.
        while conn.recv(1024):
            pass
        host.sleep(close_delay)
        conn.close()
        s.close()

    def client(host, payload: bytes = b"hello h2", reuse: bool = False) -> None:
        c = host.socket(AF_INET, SOCK_STREAM)
        if reuse:
            c.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        c.connect((h2.ip, PORT))
        c.sendall(payload)
        log.append(("h1", f"got {c.recv(1024)!r}"))
        c.close()  # the active close: h1 will sit in TIME_WAIT

    if variant in ("normal", "lost-syn", "lost-fin", "time-wait"):
        if variant == "lost-syn":
            link.drop_when(_is(wtcp.SYN, without=wtcp.ACK), reason="lost on purpose (the first SYN)")
        if variant == "lost-fin":
            link.drop_when(_is(wtcp.FIN), reason="lost on purpose (the first FIN)")
        h2.spawn_with_host(server, name="server")
        h1.spawn_with_host(client, reuse=variant == "time-wait", at="10ms", name="client")
        if variant == "time-wait":
            def rebind(host) -> None:
                port = net.tcp_tracer.connections[0].endpoints[0].split(":")[1]
                for reuse in (False, True):
                    s = host.socket(AF_INET, SOCK_STREAM)
                    if reuse:
                        s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
                    try:
                        s.bind(("", int(port)))
                        log.append(("h1", f"bind to port {port} with SO_REUSEADDR={int(reuse)}: ok"))
                        info.setdefault("bind", []).append("ok")
                    except OSError as exc:
                        log.append(("h1", f"bind to port {port} with SO_REUSEADDR={int(reuse)}: "
                                          f"{type(exc).__name__}: {exc}"))
                        info.setdefault("bind", []).append(errno.errorcode.get(exc.errno, "?"))
                    s.close()
            h1.spawn_with_host(rebind, at="1s", name="rebind")
    elif variant == "closed-port":
        def refused(host) -> None:
            c = host.socket(AF_INET, SOCK_STREAM)
            try:
                c.connect((h2.ip, PORT))
                log.append(("h1", "connected?!"))
            except ConnectionRefusedError as exc:
                info["refused"] = exc
                log.append(("h1", f"connect raised {type(exc).__name__}: {exc}"))
            c.close()
        h1.spawn_with_host(refused, at="10ms", name="client")
    elif variant == "simultaneous-open":
        def peer(host, my_port: int, other_ip: str, other_port: int) -> None:
            s = host.socket(AF_INET, SOCK_STREAM)
            s.bind(("", my_port))
            s.connect((other_ip, other_port))
            s.sendall(f"hello from {host.name}".encode())
            log.append((host.name, f"got {s.recv(1024)!r}"))
            host.sleep(0.1)
            s.close()
        h1.spawn_with_host(peer, 5001, h2.ip, 5002, at="10ms", name="peer")
        h2.spawn_with_host(peer, 5002, h1.ip, 5001, at="10ms", name="peer")
    elif variant == "simultaneous-close":
        def both(host, role: str) -> None:
            if role == "server":
                s = host.socket(AF_INET, SOCK_STREAM)
                s.bind(("", PORT))
                s.listen(1)
                c, _ = s.accept()
                s.close()
            else:
                c = host.socket(AF_INET, SOCK_STREAM)
                c.connect((h2.ip, PORT))
            c.sendall(b"x")
            c.recv(1)
            host.sleep(max(0.0, 0.5 - host.now / NS_PER_S))  # both close at t = 0.5 s exactly
            c.close()
        h2.spawn_with_host(both, "server", name="server")
        h1.spawn_with_host(both, "client", at="10ms", name="client")
    return net, info


STEP_PARAMS = declare(
    Param("variant", str, "normal", choices=VARIANTS, help="the variant to step through"),
    PARAMS["msl"], PARAMS["seed"],
)


def scene(variant: str = "normal", msl: str = "5s", seed: int = 1) -> Network:
    """What ``netsim step tcp-handshake [--variant V]`` walks through: one variant's network
    with its programs started."""
    return build(variant, msl, seed)[0]


def _states(conn, endpoint_prefix: str) -> list[str]:
    from netsim.trace.ladder import StateChange
    seq: list[str] = []
    for item in conn.items:
        if isinstance(item, StateChange) and item.endpoint.startswith(endpoint_prefix + ":"):
            if not seq:
                seq.append(item.old)
            seq.append(item.new)
    return seq


def _segments(conn, src_prefix: str, flag: str) -> list:
    from netsim.trace.ladder import LadderRow
    return [r for r in conn.items if isinstance(r, LadderRow) and r.src.startswith(src_prefix + ":")
            and flag in r.flags.split(",")]


def run_variant(variant: str, out: Path, msl: str = "5s", seed: int = 1) -> dict[str, Any]:
    """Run one variant to completion; returns its ladder, capture and the facts checks use."""
    net, info = build(variant, msl, seed)
    cap = out / f"{variant}.pcapng"
    with net.capture(cap, interfaces=["h1-eth0"]):
        net.run(until=parse_time(msl) * 2 / NS_PER_S + 30)
    conns = net.tcp_tracer.connections
    conn = conns[0]
    ladder = conn.ladder()
    svg = out / f"{variant}.svg"
    svg.write_text(ladder.svg())
    from netsim.trace.ladder_plot import render_png
    png = render_png(ladder.items, ladder.endpoints, out / f"{variant}.png",
                     title=f"TCP {variant}: both ends' states, from the tracer",
                     states=ladder.initial)
    return {"variant": variant, "net": net, "info": info, "conn": conn, "conns": conns,
            "ladder": ladder.text(), "svg": svg, "png": png, "capture": cap,
            "h1": _states(conn, "h1"), "h2": _states(conn, "h2")}


def _check_variant(result: LabResult, r: dict[str, Any], msl_ns: int) -> None:
    v, conn, h1, h2 = r["variant"], r["conn"], r["h1"], r["h2"]
    if v in ("normal", "lost-syn", "lost-fin", "time-wait"):
        result.check(f"{v}: h1 (active opener and closer) walks the RFC 9293 states",
                     h1 == ["CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
                            "TIME_WAIT", "CLOSED"], " -> ".join(h1))
        result.check(f"{v}: h2 (passive opener and closer) walks the RFC 9293 states",
                     h2 == ["LISTEN", "SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK",
                            "CLOSED"], " -> ".join(h2))
    if v == "normal":
        from netsim.trace.ladder import LadderRow
        first = [r.flags for r in conn.items if isinstance(r, LadderRow)][:3]
        result.check("normal: the handshake is SYN, SYN+ACK, ACK", first == ["SYN", "SYN,ACK", "ACK"],
                     f"first three segments: {first}")
        from netsim.trace.ladder import StateChange
        tw = [i.time_ns for i in conn.items if isinstance(i, StateChange)
              and i.endpoint.startswith("h1:") and i.new in ("TIME_WAIT",)]
        end = [i.time_ns for i in conn.items if isinstance(i, StateChange)
               and i.endpoint.startswith("h1:") and i.old == "TIME_WAIT"]
        held = (end[0] - tw[0]) / NS_PER_S if tw and end else None
        result.check("normal: TIME_WAIT lasts 2*MSL", held is not None and abs(held - 2 * msl_ns / NS_PER_S) < 1e-6,
                     f"h1 stayed in TIME_WAIT for {held} s; 2*MSL = {2 * msl_ns / NS_PER_S} s")
    elif v == "closed-port":
        rst = _segments(conn, "h2", "RST")
        result.check("closed-port: the SYN is answered with RST and connect() raises "
                     "ConnectionRefusedError", bool(rst) and "refused" in r["info"],
                     f"{len(rst)} RST from h2; connect raised {r['info'].get('refused')!r}")
    elif v == "simultaneous-open":
        result.check("simultaneous-open: both ends pass through SYN_RECEIVED",
                     "SYN_RECEIVED" in h1 and "SYN_RECEIVED" in h2 and h1[1] == "SYN_SENT" == h2[1],
                     f"h1: {' -> '.join(h1)}; h2: {' -> '.join(h2)}")
    elif v == "lost-syn":
        syns = _segments(conn, "h1", "SYN")
        gap = (syns[1].time_ns - syns[0].time_ns) / NS_PER_S if len(syns) >= 2 else None
        result.check("lost-syn: the SYN is sent again after the initial RTO of 1 s (RFC 6298 2.1)",
                     gap is not None and abs(gap - 1.0) < 0.01 and syns[0].lost,
                     f"SYNs at {[round(s.time_ns / NS_PER_S, 3) for s in syns]} s, first lost: "
                     f"{bool(syns) and syns[0].lost}")
    elif v == "lost-fin":
        fins = _segments(conn, "h1", "FIN")
        result.check("lost-fin: the FIN is retransmitted after the RTO",
                     len(fins) >= 2 and fins[0].lost and not fins[-1].lost,
                     f"h1 sent {len(fins)} FINs, first lost: {bool(fins) and fins[0].lost}")
    elif v == "simultaneous-close":
        result.check("simultaneous-close: both ends pass through CLOSING to TIME_WAIT",
                     "CLOSING" in h1 and "CLOSING" in h2 and "TIME_WAIT" in h1 and "TIME_WAIT" in h2,
                     f"h1: {' -> '.join(h1)}; h2: {' -> '.join(h2)}")
    if v == "time-wait":
        binds = r["info"].get("bind", [])
        result.check("time-wait: the port is held; SO_REUSEADDR lets a new socket bind it",
                     binds == ["EADDRINUSE", "ok"], f"bind without / with SO_REUSEADDR: {binds}")


@checked(PARAMS)
def run(variant: str = "all", msl: str = "5s", seed: int = 1, out: Path | str | None = None,
        jobs: int | None = None, progress: bool = True) -> LabResult:
    out = Path(out) if out is not None else Path("captures") / NAME
    out.mkdir(parents=True, exist_ok=True)
    variants = VARIANTS if variant == "all" else (variant,)
    for v in variants:
        if v not in VARIANTS:
            raise ValueError(f"unknown variant {v!r}; choose one of {', '.join(VARIANTS)} or all")
    result = LabResult(NAME, TITLE, {"variant": variant, "msl": msl, "seed": seed})
    t = result.table("Each variant at a glance (its capture: VARIANT.pcapng)",
                     ["variant", "h1 states", "h2 states", "segments"])
    msl_ns = parse_time(msl)
    for v in variants:
        r = run_variant(v, out, msl, seed)
        from netsim.trace.ladder import LadderRow
        nseg = sum(isinstance(i, LadderRow) for c in r["conns"] for i in c.items)
        t.add(v, " > ".join(r["h1"]) or "(no socket)", " > ".join(r["h2"]) or "(no socket)",
              nseg)
        said = "\n".join(f"  {who}: {what}" for who, what in r["info"]["events"])
        result.texts.append((f"{v}: ladder (h1's wire; seq/ack relative to each ISN)",
                             r["ladder"] + ("\n" + said if said else "")))
        result.captures.append(r["capture"])
        result.figures.append(r["png"])
        result.notes.append(f"{v}: ladder as SVG too: {r['svg']}")
        _check_variant(result, r, msl_ns)
    result.notes.append("Step through it: netsim step tcp-handshake   |   "
                        "ladder from the capture: netsim ladder " + str(out / "normal.pcapng"))
    return result
