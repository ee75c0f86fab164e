"""Lab: TCP congestion control through a bottleneck router with a drop-tail queue.

Senders on fast links reach the receiver ``srv`` through router ``r1``, whose link to ``srv`` is
the bottleneck: ``bandwidth``, ``delay`` each way, and a drop-tail queue of ``queue`` frames.
Every sender's congestion state (cwnd, ssthresh, RTO, recovery state) is read from the TCP
tracer, which records each change (``conn.congestion(endpoint)``). Four experiments:

* **cwnd over time** for Reno (RFC 5681), NewReno (RFC 6582) and CUBIC (RFC 9438), one flow
  at a time: slow start until the queue overflows, fast recovery, timeouts, then congestion
  avoidance's sawtooth (Reno: +1 segment per round trip, halved on each loss) or cubic curve
  (CUBIC: ``W(t) = C (t - K)^3 + W_max``, cut to 0.7 W_max on a loss).
* **throughput vs loss rate**: Reno over a link that loses a fraction p of the frames, against
  the Mathis et al. (1997) formula ``MSS / RTT * C / sqrt(p)``, C = sqrt(3/2) ~ 1.22.
* **fairness**: two flows of the same algorithm, one with a longer round trip, share the
  bottleneck; Reno's window grows one segment per round trip, so the short flow gets more.
* **Nagle and delayed ACKs**: a client writes a request in two small pieces and waits for the
  answer. Nagle's algorithm (RFC 896, RFC 1122 4.2.3.4) holds the second piece until the
  first is acknowledged; the server's delayed ACK (RFC 1122 4.2.3.2) holds that ACK until its
  timer fires, because no data goes back until the whole request is in: every request waits
  the delayed-ACK timer (40 ms on Linux, 200 ms on many other systems). TCP_NODELAY ends it.

Plots, tables and graded checks in :mod:`labs.tcp_congestion_report`; the commented captures
in :mod:`labs.tcp_congestion_capture`. ``netsim step tcp-congestion`` walks through a short
transfer that overflows the queue (``--scene cwnd``) or the Nagle stall (``--scene nagle``).
"""

from __future__ import annotations

import socket as _pysocket
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from netsim import AF_INET, SOCK_STREAM, Network
from netsim.sim.units import NS_PER_S, parse_time

from .params import RATE, TIME, Param, checked, declare
from .result import LabResult
from .sweep import run_points

NAME = "tcp-congestion"
TITLE = "TCP congestion control: cwnd over time, loss, fairness and the Nagle stall"
SUMMARY = ("Reno, NewReno and CUBIC through a drop-tail bottleneck: cwnd vs time, throughput "
           "vs loss (Mathis), RTT fairness, Nagle vs delayed ACKs")

ALGORITHMS = ("reno", "newreno", "cubic")

PARAMS = declare(
    Param("algorithms", str, list(ALGORITHMS), many=True, choices=ALGORITHMS,
          help="congestion-control modules to compare (TCP_CONGESTION)"),
    # The simulator's cost grows with the packet rate: 100 Mb/s for 60 s is minutes of CPU.
    Param("bandwidth", RATE, "10Mbps", min="1Mbps", max="100Mbps",
          help="bottleneck link rate (r1 -> srv)"),
    Param("delay", TIME, "40ms", min="1ms", max="200ms",
          help="bottleneck one-way delay (the round trip is twice this, plus queueing)"),
    Param("queue", int, 34, min=2, max=10_000,
          help="drop-tail queue of the bottleneck, in frames"),
    Param("duration", TIME, "15s", min="2s", max="300s",
          help="how long each flow sends"),
    Param("outage", TIME, "300ms", min="0s", max="5s",
          help="the bottleneck drops every frame this long, a fifth of the way in (0s: never)"),
    Param("sack", str, "on", choices=("on", "off"),
          help="SACK (RFC 2018/6675); off shows Reno and NewReno apart"),
    Param("loss", float, [0.002, 0.005, 0.01, 0.02], many=True, min=0, min_open=True,
          max=0.2, help="frame loss rates of the bottleneck for throughput vs loss"),
    Param("extra_delay", TIME, "40ms", min="0s", max="500ms",
          help="extra one-way delay of the second flow's own link (fairness)"),
    Param("delack", TIME, ["40ms", "200ms"], many=True, min="1ms", max="500ms",
          help="delayed-ACK timers to try the Nagle stall with (Linux 40 ms, others 200 ms)"),
    Param("seed", int, 1, min=0, help="random seed (ISNs, ports, loss)"),
)

PORT = 5000
WARMUP_NS = 2 * NS_PER_S          # throughput is measured after slow start
CHUNK = b"x" * 65536
#: Buffers much larger than the path holds, so only cwnd limits the senders (Linux would
#: autotune towards this; netsim's buffers are fixed).
BUFFER = 2 * 1024 * 1024


@dataclass(frozen=True)
class Flow:
    """One bulk sender: its host, algorithm, start time and extra one-way delay."""

    host: str
    algorithm: str
    start_ns: int = 10_000_000
    extra_delay: str = "0s"


def build(flows: list[Flow], bandwidth: str = "10Mbps", delay: str = "40ms", queue: int = 34,
          loss: float = 0.0, sack: str = "on", seed: int = 1, stop_ns: int | None = None,
          size: int | None = None, trace: bool | int = True) -> tuple[Network, dict[str, Any]]:
    """The senders, r1 and srv, with every flow's programs started (not run).

    Each flow sends until ``stop_ns`` (or ``size`` bytes), then closes; ``info["received"][i]``
    collects ``(time_ns, total bytes)`` as the receiver reads flow i.
    """
    net = Network(seed=seed, trace=trace)
    r1, srv = net.add_router("r1"), net.add_host("srv")
    senders = []
    for i, flow in enumerate(flows):
        h = net.add_host(flow.host)
        net.link(h, r1, bandwidth="1Gbps", delay=flow.extra_delay if flow.extra_delay != "0s"
                 else "1us")
        h.set_ip(f"10.0.{i + 1}.2/24", gateway=f"10.0.{i + 1}.1")
        r1.set_ip(f"10.0.{i + 1}.1/24", iface=f"eth{i}")
        senders.append(h)
    bottleneck = net.link(r1, srv, bandwidth=bandwidth, delay=delay, queue=queue, loss=loss)
    r1.set_ip("10.0.100.1/24", iface=f"eth{len(flows)}")
    srv.set_ip("10.0.100.2/24", gateway="10.0.100.1")
    for h in (*senders, srv):
        cfg = h.tcp.config
        cfg.sack = sack == "on"
        cfg.sysctl("net.ipv4.tcp_rmem", f"4096 {2 * BUFFER} {2 * BUFFER}")
        cfg.sysctl("net.ipv4.tcp_wmem", f"4096 {BUFFER} {BUFFER}")
    info: dict[str, Any] = {"received": [[] for _ in flows], "bottleneck": bottleneck,
                            "tcp_info": [{} for _ in flows]}
    for i, (flow, h) in enumerate(zip(flows, senders)):
        srv.spawn_with_host(_receiver, PORT + i, info["received"][i], name=f"sink{i}")
        h.spawn_with_host(_sender, srv.ip, PORT + i, flow.algorithm, stop_ns, size,
                          info["tcp_info"][i], at=flow.start_ns / NS_PER_S, name="bulk")
    return net, info


def _receiver(host, port: int, log: list) -> None:
    s = host.socket(AF_INET, SOCK_STREAM)
    s.bind(("", port))
    s.listen(1)
    c, _ = s.accept()
    total = 0
    while True:
        data = c.recv(1 << 20)
        if not data:
            break
        total += len(data)
        log.append((host.now, total))
    c.close()


def _sender(host, dst: str, port: int, algorithm: str, stop_ns: int | None,
            size: int | None, tcp_info: dict) -> None:
    c = host.socket(AF_INET, SOCK_STREAM)
    c.setsockopt(_pysocket.IPPROTO_TCP, _pysocket.TCP_CONGESTION, algorithm.encode())
    c.connect((dst, port))
    if size is not None:
        c.sendall(CHUNK[:1] * size)
    else:
        while host.now < stop_ns:
            c.sendall(CHUNK)
    tcp_info.update(c.tcp_info())      # Linux's names: tcpi_total_retrans, tcpi_snd_mss, ...
    c.close()


def goodput(log: list[tuple[int, int]], start_ns: int, end_ns: int) -> float:
    """Bits per second the receiver read between ``start_ns`` and ``end_ns``."""
    def at(t: int) -> int:
        got = 0
        for when, total in log:
            if when > t:
                break
            got = total
        return got
    span = (end_ns - start_ns) / NS_PER_S
    return (at(end_ns) - at(start_ns)) * 8 / span if span > 0 else 0.0


def _sender_conn(net: Network, host: str):
    """The traced connection a sender host opened, and its own endpoint label."""
    conn = next(c for c in net.tcp_tracer.connections if c.endpoints[0].startswith(host + ":"))
    return conn, conn.endpoints[0]


def _series(updates) -> list[tuple]:
    """Congestion updates as plain tuples (they cross process boundaries in a sweep):
    (time_ns, cwnd, ssthresh, ca_state, rto, srtt)."""
    return [(u.time, u.cwnd, u.ssthresh, u.ca_state, u.rto, u.srtt) for u in updates]


def measure_cwnd(algorithm: str, bandwidth: str, delay: str, queue: int, duration: str,
                 sack: str, seed: int, outage: str = "0s", capture: str | None = None
                 ) -> dict[str, Any]:
    """One flow alone through the bottleneck: its congestion updates and what it achieved.

    ``outage``: from a fifth of ``duration`` on, the bottleneck loses every frame for this
    long: nothing in flight arrives, so no duplicate ACK can start fast retransmit and only
    the retransmission timer recovers (RFC 6298 5.5). ``capture``: write the sender's NIC
    until a second after the outage (or for 4 s) to this pcapng file, commented
    (:func:`labs.tcp_congestion_capture.annotate_cwnd`).
    """
    stop = parse_time(duration)
    net, info = build([Flow("h1", algorithm)], bandwidth, delay, queue, sack=sack, seed=seed,
                      stop_ns=stop)
    down, length = stop // 5, parse_time(outage)
    if length:
        kernel = net.kernel
        info["bottleneck"].drop_when(lambda frame: down <= kernel.now < down + length,
                                     count=1 << 62, reason="lost: the bottleneck is down")
    drops: list[tuple[int, bytes, str]] = []

    def lost_at_r1(iface, t, frame, direction, comment) -> None:
        # r1's end of the bottleneck: its drop-tail queue throws frames away ("drop"), and
        # during the outage the link loses what r1 sends ("out", commented by drop_when).
        if direction == "drop":
            drops.append((t, frame, "queue"))
        elif direction == "out" and comment and "bottleneck is down" in comment:
            drops.append((t, frame, "outage"))

    info["bottleneck"].endpoints[0].taps.append(lost_at_r1)
    if capture:
        with net.capture(capture, interfaces=["h1-eth0"]):
            net.run(until=(down + length + NS_PER_S if length else 4 * NS_PER_S) / NS_PER_S)
    net.run(until=stop / NS_PER_S + 5)
    conn, me = _sender_conn(net, "h1")
    tcp_info = info["tcp_info"][0]
    # The flow's own time: after ``duration`` its sender stops writing and only drains.
    out = {"algorithm": algorithm,
           "series": _series(u for u in conn.congestion(me) if u.time <= stop),
           "mss": tcp_info["tcpi_snd_mss"],
           "goodput_bps": goodput(info["received"][0], WARMUP_NS, stop),
           "queue_drops": sum(d["queue_drops"] for d in info["bottleneck"].stats().values()),
           "retransmits": tcp_info["tcpi_total_retrans"],
           "outage_s": (down / NS_PER_S, (down + length) / NS_PER_S) if length else None}
    if capture:
        from .tcp_congestion_capture import annotate_cwnd
        annotate_cwnd(Path(capture), out["series"], drops, out["mss"])
    return out


def measure_loss(loss: float, bandwidth: str, delay: str, duration: str, sack: str,
                 seed: int) -> dict[str, Any]:
    """Reno alone over a bottleneck that loses ``loss`` of its frames, its queue big enough
    never to overflow: the throughput Mathis et al. predict from the loss rate and RTT."""
    stop = parse_time(duration)
    net, info = build([Flow("h1", "reno")], bandwidth, delay, 10_000, loss=loss, sack=sack,
                      seed=seed, stop_ns=stop)
    net.run(until=stop / NS_PER_S + 5)
    conn, me = _sender_conn(net, "h1")
    srtts = [u.srtt for u in conn.congestion(me) if u.srtt and u.time >= WARMUP_NS]
    data_dir = next(d for name, d in info["bottleneck"].stats().items() if name.startswith("r1"))
    return {"loss": loss, "goodput_bps": goodput(info["received"][0], WARMUP_NS, stop),
            "srtt_ns": sum(srtts) / len(srtts) if srtts else float("nan"),
            "mss": info["tcp_info"][0]["tcpi_snd_mss"],
            "lost": data_dir["lost"], "frames": data_dir["frames"],
            "p": data_dir["lost"] / data_dir["frames"] if data_dir["frames"] else 0.0}


def mathis(mss: int, rtt_s: float, p: float, c: float = 1.22) -> float:
    """Mathis, Semke, Mahdavi and Ott (1997): a Reno flow's throughput in bit/s,
    ``MSS / RTT * C / sqrt(p)``, C = sqrt(3/2) for periodic loss and an ACK per segment."""
    return mss * 8 / rtt_s * c / p ** 0.5


def measure_fairness(algorithm: str, bandwidth: str, delay: str, queue: int, duration: str,
                     extra_delay: str, sack: str, seed: int) -> dict[str, Any]:
    """Two flows of ``algorithm`` from h1 (RTT 2 x delay) and h2 (2 x (delay + extra)) share
    the bottleneck; each one's goodput over the second half, and its mean smoothed RTT."""
    stop = parse_time(duration)
    net, info = build([Flow("h1", algorithm), Flow("h2", algorithm, extra_delay=extra_delay)],
                      bandwidth, delay, queue, sack=sack, seed=seed, stop_ns=stop)
    net.run(until=stop / NS_PER_S + 5)
    half = stop // 2
    out: dict[str, Any] = {"algorithm": algorithm, "flows": []}
    for i, host in enumerate(("h1", "h2")):
        conn, me = _sender_conn(net, host)
        updates = conn.congestion(me)
        srtts = [u.srtt for u in updates if u.srtt and u.time >= half]
        out["flows"].append({"host": host, "goodput_bps": goodput(info["received"][i], half, stop),
                             "srtt_ns": sum(srtts) / len(srtts) if srtts else float("nan"),
                             "series": _series(updates)})
    return out


# -- the Nagle / delayed-ACK stall -------------------------------------------------------------

REQUEST_PIECES = (100, 100)   # a header and a body, written separately
RESPONSE = 100
REQUESTS = 5


def build_nagle(nodelay: bool, delack: str, seed: int = 1, requests: int = REQUESTS,
                delay: str = "5ms") -> tuple[Network, dict[str, Any]]:
    """h1 -- srv on one cable: h1 sends ``requests`` requests of two small writes each and
    reads a 100-byte answer after each; srv acknowledges with delayed ACKs. Both ends keep
    RFC 6298's 1 s minimum RTO, so that only the delayed ACK ends a stall."""
    net = Network(seed=seed)
    h1, srv = net.add_host("h1"), net.add_host("srv")
    net.link(h1, srv, delay=delay)
    h1.set_ip("10.0.0.1/24")
    srv.set_ip("10.0.0.2/24")
    for h in (h1, srv):
        h.tcp.config.delayed_ack = True
        h.tcp.config.delack_ns = parse_time(delack)
        # RFC 6298 (2.4)'s 1 s floor: netsim's RTO is max(SRTT + 4 RTTVAR, floor), so with
        # Linux's 200 ms floor on a 10 ms path the sender's timer would fire as a 200 ms
        # delayed ACK does and resend (Linux's own RTO is at least SRTT + 200 ms).
        h.tcp.config.rto_min_ns = NS_PER_S
    info: dict[str, Any] = {"latency_ns": []}

    def server(host) -> None:
        s = host.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 80))
        s.listen(1)
        c, _ = s.accept()
        want = sum(REQUEST_PIECES)
        while True:
            got = b""
            while len(got) < want:
                data = c.recv(want - len(got))
                if not data:
                    c.close()
                    return
                got += data
            c.sendall(b"r" * RESPONSE)

    def client(host) -> None:
        c = host.socket(AF_INET, SOCK_STREAM)
        if nodelay:
            c.setsockopt(_pysocket.IPPROTO_TCP, _pysocket.TCP_NODELAY, 1)
        c.connect((srv.ip, 80))
        for _ in range(requests):
            start = host.now
            for size in REQUEST_PIECES:
                c.sendall(b"q" * size)
            got = 0
            while got < RESPONSE:
                got += len(c.recv(RESPONSE - got))
            info["latency_ns"].append(host.now - start)
        c.close()

    srv.spawn_with_host(server, name="server")
    h1.spawn_with_host(client, at="10ms", name="client")
    return net, info


def measure_nagle(nodelay: bool, delack: str, seed: int,
                  capture: str | None = None) -> dict[str, Any]:
    net, info = build_nagle(nodelay, delack, seed)
    if capture:
        with net.capture(capture, interfaces=["h1-eth0"]):
            net.run(until=60)
        from .tcp_congestion_capture import annotate_nagle
        annotate_nagle(Path(capture), parse_time(delack))
    else:
        net.run(until=60)
    rtt = min(u.srtt for c in net.tcp_tracer.connections
              for _ep, u in c.congestion() if u.srtt) if net.tcp_tracer.updates_total else 0
    return {"nodelay": nodelay, "delack": delack, "delack_ns": parse_time(delack),
            "latency_ns": info["latency_ns"], "rtt_ns": rtt}


# -- the stepper -------------------------------------------------------------------------------

STEP_PARAMS = declare(
    Param("scene", str, "cwnd", choices=("cwnd", "nagle"),
          help="cwnd: 200 kB through a small queue; nagle: three stalled requests"),
    Param("algorithm", str, "reno", choices=ALGORITHMS, help="congestion control (cwnd scene)"),
    replace(PARAMS["queue"], default=8, help="drop-tail queue in frames (cwnd scene)"),
    PARAMS["sack"],
    PARAMS["seed"],
)


def scene(scene: str = "cwnd", algorithm: str = "reno", queue: int = 8, sack: str = "on",
          seed: int = 1) -> Network:
    """What ``netsim step tcp-congestion`` walks through: a 200 kB transfer whose slow start
    overflows a small queue (fast retransmit, recovery, the endpoint line's cwnd halving), or
    three requests stalled by Nagle and delayed ACKs."""
    if scene == "nagle":
        return build_nagle(False, "200ms", seed, requests=3)[0]
    return build([Flow("h1", algorithm)], "10Mbps", "10ms", queue, sack=sack, seed=seed,
                 size=200_000)[0]


# -- the lab -----------------------------------------------------------------------------------

@checked(PARAMS)
def run(algorithms=None, bandwidth: str = "10Mbps", delay: str = "40ms", queue: int = 34,
        duration: str = "15s", outage: str = "300ms", sack: str = "on", loss=None, extra_delay: str = "40ms",
        delack=None, seed: int = 1, out: Path | str | None = None, jobs: int | None = None,
        progress: bool = True) -> LabResult:
    from . import tcp_congestion_report as report
    algorithms = list(dict.fromkeys(algorithms or PARAMS["algorithms"].default))
    loss = sorted(set(loss or PARAMS["loss"].default))
    delack = list(dict.fromkeys(delack or PARAMS["delack"].default))
    out = Path(out) if out is not None else Path("captures") / NAME
    out.mkdir(parents=True, exist_ok=True)
    result = LabResult(NAME, TITLE, {"algorithms": algorithms, "bandwidth": bandwidth,
                                     "delay": delay, "queue": queue, "duration": duration,
                                     "outage": outage, "sack": sack, "loss": loss, "extra_delay": extra_delay,
                                     "delack": delack, "seed": seed})
    common = dict(bandwidth=bandwidth, delay=delay, duration=duration, sack=sack, seed=seed)
    capture_algo = "reno" if "reno" in algorithms else algorithms[0]
    jobs_list: list[tuple[Any, dict[str, Any]]] = []
    for a in algorithms:
        extra = {"capture": str(out / f"{a}.pcapng")} if a == capture_algo else {}
        jobs_list.append((measure_cwnd, dict(algorithm=a, queue=queue, outage=outage, **common,
                                             **extra)))
    for p in loss:
        jobs_list.append((measure_loss, dict(loss=p, **common)))
    # With SACK, NewReno's recovery is Reno's (RFC 6675) and so is its window arithmetic: the
    # two would share the bottleneck identically, so one run of the pair is enough.
    same = sack == "on" and {"reno", "newreno"} <= set(algorithms)
    for a in algorithms:
        if not (same and a == "newreno"):
            jobs_list.append((measure_fairness, dict(algorithm=a, queue=queue,
                                                     extra_delay=extra_delay, **common)))
    for d in delack:
        for nodelay in (False, True):
            extra = {"capture": str(out / "nagle.pcapng")} if (d == delack[-1] and not nodelay) \
                else {}
            jobs_list.append((measure_nagle, dict(nodelay=nodelay, delack=d, seed=seed,
                                                  **extra)))
    results = run_points(_call, [{"fn": fn, "kw": kw} for fn, kw in jobs_list], jobs=jobs,
                         label=f"{NAME}: {len(jobs_list)} runs", progress=progress)
    kinds: dict[Any, list] = {}
    for (fn, _kw), res in zip(jobs_list, results):
        kinds.setdefault(fn, []).append(res)
    report.assemble(result, out, kinds[measure_cwnd], kinds.get(measure_loss, []),
                    kinds[measure_fairness], kinds[measure_nagle], capture_algo,
                    extra_delay=extra_delay, delay=delay)
    return result


def _call(fn, kw: dict[str, Any]) -> Any:
    """Run one sweep job (a module-level function, so that it pickles to a worker)."""
    return fn(**kw)
