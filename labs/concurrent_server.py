"""Lab: iterative vs concurrent servers — one client at a time, a thread each, or a worker pool.

N clients connect to a TCP server at the same instant; serving a request takes a fixed service
time (the handler sleeps, as if it read a disk or asked a database). Four classic designs:

* **iterative**: ``accept``, serve, close, next. Clients queue in the listen backlog; the last
  one waits for all the others, so the makespan is about N x service time.
* **thread per client**: ``accept`` and hand the connection to a new thread (here
  ``host.spawn``). All requests are served at once: about 1 x service time, whatever N.
* **worker pool**: K workers share the listening socket, each looping on ``accept``. At most K
  requests are in service at once: about ceil(N / K) x service time.
* **process per client**: ``accept`` and hand the connection to a new
  ``multiprocessing.Process``, then close the parent's copy (``labs/programs/process_server.py``,
  an ordinary Python program run unmodified on the virtual host by ``netsim.userland``). Like a
  thread each: about 1 x service time.

The lab measures each client's completion time (connect to last byte of the answer), draws
them, and sweeps N to show how the makespan grows for each design.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from netsim import AF_INET, SOCK_STREAM, Network
from netsim.sim.units import NS_PER_S

from .params import TIME, Param, checked, declare
from .result import LabResult
from .sweep import run_points

NAME = "concurrent-server"
TITLE = "Concurrent servers: iterative vs thread per client vs a pool of workers"
SUMMARY = "N clients at once against an iterative, a thread-per-client and a worker-pool server"

PARAMS = declare(
    # Past about 300 clients at once, full queues lose ARP replies and connect() fails with
    # EHOSTUNREACH, which these programs do not handle.
    Param("clients", int, 8, min=1, max=250, help="clients that connect at the same time"),
    Param("workers", int, 3, min=1, max=1000, help="workers in the pool (K)"),
    Param("service", TIME, "50ms", min="1ms", max="10s",
          help="time the server spends on each request"),
    Param("sweep", int, [1, 2, 4, 8, 16, 32], many=True, min=1, max=250,
          help="client counts for the makespan-vs-N sweep (comma separated)"),
    Param("seed", int, 1, min=0, help="random seed"),
)

MODELS = ("iterative", "thread per client", "worker pool", "process per client")
PROGRAMS = Path(__file__).resolve().parent / "programs"
PORT = 8080
START_S = 0.010  # when every client connects (after the listeners are up)


# -- the server programs ----------------------------------------------------------------------

def handle(host, conn, service_s: float) -> None:
    """Serve one request: read it, work for ``service_s``, answer, close."""
    request = conn.recv(1024)
    host.sleep(service_s)                      # the work: a disk, a database, a computation
    conn.sendall(b"done: " + request)
    conn.close()


def iterative_server(host, service_s: float) -> None:
    """One client at a time: the next ``accept`` waits until this client is served."""
    listener = host.socket(AF_INET, SOCK_STREAM)
    listener.bind(("", PORT))
    listener.listen(128)
    while True:
        conn, _addr = listener.accept()
        handle(host, conn, service_s)


def threaded_server(host, service_s: float) -> None:
    """A new thread for every accepted connection; the loop goes straight back to accept."""
    listener = host.socket(AF_INET, SOCK_STREAM)
    listener.bind(("", PORT))
    listener.listen(128)
    while True:
        conn, _addr = listener.accept()
        host.spawn_with_host(handle, conn, service_s)


def pool_server(host, service_s: float, workers: int) -> None:
    """K workers, started once, all blocked in ``accept`` on the same listening socket."""
    listener = host.socket(AF_INET, SOCK_STREAM)
    listener.bind(("", PORT))
    listener.listen(128)

    def worker() -> None:
        while True:
            conn, _addr = listener.accept()
            handle(host, conn, service_s)

    for _ in range(workers):
        host.spawn(worker)


def client(host, server_ip: str, done: dict) -> None:
    """Connect, send a request, read the whole answer; note the completion time (ns)."""
    start = host.now
    sock = host.socket(AF_INET, SOCK_STREAM)
    sock.connect((server_ip, PORT))
    sock.sendall(f"request from {host.name}".encode())
    answer = b""
    while chunk := sock.recv(1024):
        answer += chunk
    sock.close()
    done[host.name] = (host.now - start, answer)


# -- measuring --------------------------------------------------------------------------------

def measure(model: str, clients: int, workers: int, service: str, seed: int,
            capture: Path | None = None) -> dict[str, Any]:
    """Run ``clients`` clients against one server model; completion times in ms.

    Args:
        model: one of :data:`MODELS`.
        clients, workers, service, seed: the lab's parameters.
        capture: write the server's NIC to this pcapng file (None: no capture).

    Returns:
        ``{"model", "clients", "times_ms" (in client order), "answered" (clients with a full
        answer), "mean_ms", "max_ms"}``, and for the process model ``"processes"`` (the
        child processes the program started); a client that never finished has time ``nan``.
    """
    net, info = build(model, clients, workers, service, seed, trace=False)
    hosts, done, limit = info["clients"], info["done"], info["limit"]
    if capture is not None:
        with net.capture(capture, interfaces=["server-eth0"]):
            net.run(until=limit)
    else:
        net.run(until=limit)
    times = [done[h.name][0] / 1e6 if h.name in done else math.nan for h in hosts]
    answered = sum(1 for h in hosts if h.name in done and done[h.name][1].startswith(b"done: "))
    finished = [t for t in times if not math.isnan(t)]
    result = {"model": model, "clients": clients, "times_ms": times, "answered": answered,
              "mean_ms": sum(finished) / len(finished) if finished else math.nan,
              "max_ms": max(finished) if finished else math.nan}
    if model == "process per client":
        result["processes"] = len(info["program"].children)     # one child per client
    return result


def build(model: str, clients: int, workers: int, service: str, seed: int, trace: bool = True
          ) -> tuple[Network, dict[str, Any]]:
    """The server and ``clients`` clients, programs started (not run).

    Returns ``(net, info)``: ``info["done"]`` fills with each client's (completion ns,
    answer); ``info["limit"]`` is how long to run; ``info["clients"]`` the client hosts.
    """
    from netsim.sim.units import parse_time
    service_s = parse_time(service) / NS_PER_S
    net = Network(seed=seed, trace=trace)
    sw = net.add_switch("s1")
    server = net.add_host("server")
    net.link(server, sw)
    server.set_ip("10.0.0.1/16")
    hosts = []
    for i in range(clients):
        h = net.add_host(f"c{i + 1}")
        net.link(h, sw)
        h.set_ip(f"10.0.{1 + i // 250}.{1 + i % 250}/16")  # a /16 has room for many clients
        hosts.append(h)
    if model == "iterative":
        server.spawn_with_host(iterative_server, service_s)
    elif model == "thread per client":
        server.spawn_with_host(threaded_server, service_s)
    elif model == "worker pool":
        server.spawn_with_host(pool_server, service_s, workers)
    elif model == "process per client":
        # The unmodified program: its multiprocessing.Process children are virtual processes.
        program = server.run_program(PROGRAMS / "process_server.py", [PORT, service_s])
    else:
        raise ValueError(f"model must be one of {MODELS}, not {model!r}")
    if model != "process per client":
        program = None
    done: dict[str, tuple[int, bytes]] = {}
    for h in hosts:
        h.spawn_with_host(client, server.ip, done, at=START_S)
    # Room for SYN retransmissions (1, 3, 7, 15, 31 s...) when more clients than the listen
    # backlog knock at once; an idle network costs nothing to simulate.
    limit = START_S + (clients + 2) * service_s + 70.0
    return net, {"done": done, "limit": limit, "clients": hosts, "program": program}


STEP_PARAMS = declare(
    Param("model", str, "iterative", choices=tuple(m.replace(" ", "-") for m in MODELS),
          help="the server to step through"),
    replace(PARAMS["clients"], default=3),
    replace(PARAMS["workers"], default=2),
    PARAMS["service"], PARAMS["seed"],
)


def scene(model: str = "iterative", clients: int = 3, workers: int = 2, service: str = "50ms",
          seed: int = 1) -> Network:
    """What ``netsim step concurrent-server [--model worker-pool]`` walks through."""
    model = model.replace("-", " ")      # "worker-pool" needs no quotes on a command line
    if model not in MODELS:
        raise ValueError(f"--model must be one of {', '.join(m.replace(' ', '-') for m in MODELS)}"
                         f" (got {model.replace(' ', '-')!r})")
    if clients < 1 or workers < 1:
        raise ValueError(f"--clients and --workers must be integers >= 1 (got {clients}, "
                         f"{workers})")
    return build(model, clients, workers, service, seed)[0]


def expected_ms(model: str, clients: int, workers: int, service_ms: float) -> float:
    """The makespan the simple model predicts (network time left out)."""
    rounds = {"iterative": clients, "thread per client": 1, "process per client": 1,
              "worker pool": math.ceil(clients / max(1, workers))}[model]
    return rounds * service_ms


# -- plots ------------------------------------------------------------------------------------

def _plot_completion(rows: list[dict], service_ms: float, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for r, marker in zip(rows, "osD^"):
        times = sorted(r["times_ms"])
        frac = [(i + 1) / len(times) for i in range(len(times))]
        ax.step(times, frac, where="post", marker=marker, markersize=4, label=r["model"])
    n = rows[0]["clients"]
    ax.set_xlabel("completion time of a client (ms, from connect to the last byte of the answer)")
    ax.set_ylabel("fraction of clients done")
    ax.set_title(f"{n} clients at once, {service_ms:g} ms of work per request")
    ax.set_xlim(left=0)
    ax.set_ylim(0, 1.05)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _plot_sweep(points: list[dict], workers: int, service_ms: float, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for model, colour, marker in zip(MODELS, colours, "osD^"):
        pts = sorted((p["clients"], p["max_ms"]) for p in points if p["model"] == model)
        xs = [x for x, _ in pts]
        label = model + (f" (K={workers})" if model == "worker pool" else "")
        ax.plot(xs, [y for _, y in pts], marker=marker, color=colour, label=label)
        ax.plot(xs, [expected_ms(model, x, workers, service_ms) for x in xs], ":", color=colour)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(sorted({p["clients"] for p in points}))
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    top = max(p["max_ms"] for p in points if not math.isnan(p["max_ms"]))
    ticks = [service_ms * 2 ** k for k in range(int(math.log2(max(1.0, top / service_ms))) + 2)]
    ax.set_yticks(ticks)
    ax.set_yticklabels([f"{t:g}" for t in ticks])
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("clients connecting at once (N)")
    ax.set_ylabel("makespan: when the last client is done (ms)")
    ax.set_title(f"Makespan vs N ({service_ms:g} ms per request); dotted: N, 1 and ceil(N/K) "
                 "x service", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- grading ----------------------------------------------------------------------------------

def grade(result: LabResult, rows: list[dict], workers: int, service_ms: float) -> None:
    """Each model's makespan against its prediction: at least it, and less than half a service
    time more (the network adds well under a millisecond per client here)."""
    for r in rows:
        if r["answered"] != r["clients"]:
            result.check(f"{r['model']}: every client is served", False,
                         f"{r['answered']} of {r['clients']} clients got their answer")
    names = {"iterative": "iterative makespan ~ N x service time",
             "thread per client": "thread-per-client makespan ~ 1 x service time (+ network)",
             "worker pool": "pool makespan ~ ceil(N/K) x service time",
             "process per client": "process-per-client makespan ~ 1 x service time (+ network)"}
    for r in rows:
        want = expected_ms(r["model"], r["clients"], workers, service_ms)
        got = r["max_ms"]
        ok = not math.isnan(got) and want <= got < want + service_ms / 2
        result.check(names[r["model"]], ok,
                     f"{r['clients']} clients: makespan {got:.1f} ms, predicted {want:.0f} ms "
                     f"(allowed {want:.0f} to {want + service_ms / 2:.0f})")


@checked(PARAMS)
def run(clients: int = PARAMS["clients"].default, workers: int = PARAMS["workers"].default,
        service: str = PARAMS["service"].default, sweep=None, seed: int = PARAMS["seed"].default,
        out: Path | str | None = None, jobs: int | None = None, progress: bool = True) -> LabResult:
    """Measure the three servers with ``clients`` clients, sweep N, plot, check."""
    from netsim.sim.units import parse_time
    if clients < 1 or workers < 1:
        raise ValueError("concurrent-server needs at least 1 client and 1 worker")
    sweep = sorted({int(n) for n in (sweep or PARAMS["sweep"].default)})
    out = Path(out) if out is not None else Path("captures") / NAME
    out.mkdir(parents=True, exist_ok=True)
    service_ms = parse_time(service) / 1e6
    result = LabResult(NAME, TITLE, {"clients": clients, "workers": workers, "service": service,
                                     "sweep": sweep, "seed": seed})
    rows = []
    for model in MODELS:
        cap = out / f"{model.replace(' ', '-')}.pcapng"
        rows.append(measure(model, clients, workers, service, seed, capture=cap))
        result.captures.append(cap)

    t = result.table(f"{clients} clients at once, {service_ms:g} ms of work per request",
                     ["server model", "mean ms", "makespan ms", "predicted ms"])
    for r in rows:
        t.add(r["model"] + (f" (K={workers})" if r["model"] == "worker pool" else ""),
              round(r["mean_ms"], 1), round(r["max_ms"], 1),
              expected_ms(r["model"], clients, workers, service_ms))
    result.notes.append("makespan: when the last client was done (the largest completion time).")
    ct = result.table("Completion time of each client (ms)", ["client", *MODELS])
    for i in range(clients):
        ct.add(f"c{i + 1}", *[round(r["times_ms"][i], 1) for r in rows])
    result.figures.append(_plot_completion(rows, service_ms, out / "completion-times.png"))

    points = [dict(model=m, clients=n, workers=workers, service=service, seed=seed)
              for n in sweep for m in MODELS]
    swept = run_points(measure, points, jobs=jobs, label=f"{NAME}: {len(points)} runs",
                       progress=progress)
    st = result.table("Sweep: makespan (ms) as N grows", ["N", *MODELS])
    for n in sweep:
        st.add(n, *[round(next(p["max_ms"] for p in swept if p["clients"] == n and p["model"] == m), 1)
                    for m in MODELS])
    result.figures.append(_plot_sweep(swept, workers, service_ms, out / "makespan-vs-n.png"))
    late = [p for p in [*rows, *swept]
            if p["max_ms"] >= expected_ms(p["model"], p["clients"], workers, service_ms) + 900]
    if late:
        result.notes.append(
            "Some clients took a second or more longer than predicted ("
            + ", ".join(f"{p['model']} with N={p['clients']}" for p in late[:4])
            + "): more connections arrived at once than the listen backlog (128) holds, the "
            "extra connection attempts were dropped, and the clients' TCP retransmitted them after "
            "its retransmission timeout (1 s at first, RFC 6298). Look for [TCP Retransmission] "
            "in the capture.")
    result.notes.append("Each capture is the server's NIC: in Wireshark, Statistics > Conversations "
                        "> TCP shows when each connection started and how long it lasted.")
    grade(result, rows, workers, service_ms)
    return result
