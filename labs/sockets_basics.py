"""Lab: the first sockets — a UDP sender and receiver, a TCP client and server.

The four programs (``labs/programs/udp_receiver.py``, ``udp_sender.py``, ``tcp_server.py``,
``tcp_client.py``) are plain blocking socket code written for a real machine; the lab runs
them unmodified on virtual hosts (``host.run_program``), and what they print is the
transcript. Copy them, change them, run them (``netsim exec`` runs your own versions).

* UDP (RFC 768) sends *datagrams*: no connection, no handshake; one ``sendto`` is one packet,
  and ``recvfrom`` tells the receiver who sent it (address and source port).
* TCP (RFC 9293) is a *connection*: ``connect`` performs the three-way handshake (SYN,
  SYN-ACK, ACK) before any data moves, data is acknowledged, and each side ends its half of
  the connection with a FIN.

Each exchange runs on its own little network (two hosts and a switch) with its own capture,
so each capture starts with the ARP that finds the peer's MAC address.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from netsim import Network
from netsim.sim.units import NS_PER_S

from .params import Param, checked, declare
from .result import LabResult

NAME = "sockets-basics"
TITLE = "Sockets, first steps: a UDP datagram and a TCP conversation, frame by frame"
SUMMARY = "UDP sender/receiver and TCP client/server as plain blocking code, with their captures"

PARAMS = declare(
    # The programs read with recv(1024): a longer message would arrive in pieces.
    Param("message", str, "hello, network", min=1, max=1024, help="the text the client sends"),
    Param("port", int, 9000, min=1, max=65535, help="the port the receiver / server listens on"),
    Param("seed", int, 1, min=0, help="random seed (it picks the client's ephemeral port)"),
)

# -- the programs (what a student copies) ---------------------------------------------------

# Ordinary Python programs (``from socket import *``, ``print``), run unmodified on the virtual
# hosts by netsim.userland; the same files run on two real machines.
PROGRAMS = {name: Path(__file__).resolve().parent / "programs" / f"{name}.py"
            for name in ("udp_receiver", "udp_sender", "tcp_server", "tcp_client")}


# -- the lab ---------------------------------------------------------------------------------

def _network(seed: int) -> Network:
    net = Network(seed=seed)
    sw = net.add_switch("s1")
    client, server = net.add_host("client"), net.add_host("server")
    net.link(client, sw)
    net.link(server, sw)
    client.set_ip("10.0.0.1/24")
    server.set_ip("10.0.0.2/24")
    return net


def build(kind: str, message: str, port: int, seed: int,
          say: Callable[[str, str], None] | None = None) -> tuple[Network, list]:
    """The UDP or the TCP pair on a fresh network, programs started (not run).

    Returns ``(net, said)``: ``said`` fills with ``(time_s, host, text)`` as the programs
    print; ``say(host, text)``, when given, is called too.
    """
    if kind not in ("udp", "tcp"):
        raise ValueError(f"kind must be 'udp' or 'tcp', not {kind!r}")
    net = _network(seed)
    client, server = net["client"], net["server"]
    said: list[tuple[float, str, str]] = []

    def note(line) -> None:
        said.append((line.time_ns / NS_PER_S, line.host, line.text))
        if say is not None:
            say(line.host, line.text)

    listener, talker = ("udp_receiver", "udp_sender") if kind == "udp" else \
        ("tcp_server", "tcp_client")
    server.run_program(PROGRAMS[listener], [port], on_output=note)
    client.run_program(PROGRAMS[talker], [server.ip, port, message], at=0.001, on_output=note)
    return net, said


STEP_PARAMS = declare(
    Param("kind", str, "tcp", choices=("udp", "tcp"),
          help="udp (a datagram and its answer) or tcp (a connection)"),
    PARAMS["message"], PARAMS["port"], PARAMS["seed"],
)


def scene(kind: str = "tcp", message: str = "hello, network", port: int = 9000,
          seed: int = 1) -> Network:
    """What ``netsim step sockets-basics [--kind udp]`` walks through; what the programs
    print appears as they print it."""
    if kind not in ("udp", "tcp"):
        raise ValueError(f"--kind must be udp or tcp (got {kind!r})")
    return build(kind, message, port, seed, say=lambda host, text: print(f"   {host} says: {text}"))[0]


def exchange(kind: str, message: str, port: int, seed: int, out: Path | None = None) -> dict[str, Any]:
    """Run the UDP or the TCP pair on a fresh network; what each side said and every frame.

    Args:
        kind: "udp" or "tcp".
        message, port, seed: the lab's parameters.
        out: folder for ``<kind>.pcapng`` (captured on the client's NIC); none when None.

    Returns:
        ``{"said": [(time_s, host, text)], "frames": [(time_s, sender, receiver, Frame)],
        "capture": path | None, "client_port": int | None}``.
    """
    net, said = build(kind, message, port, seed)
    path = out / f"{kind}.pcapng" if out is not None else None
    if path is not None:
        with net.capture(path, interfaces=["client-eth0"]):
            net.run(until="2s")
    else:
        net.run(until="2s")
    peer = {"client": "server", "server": "client"}
    frames = [(ev.time, ev.node, peer[ev.node], ev.decoded) for ev in net.trace
              if ev.kind == "tx" and ev.node in peer and ev.frame is not None]
    return {"said": said, "frames": frames, "capture": path}


def _frames_table(result: LabResult, kind: str, ex: dict) -> None:
    t = result.table(f"{kind.upper()}: every frame on the wire (as in the capture {kind}.pcapng)",
                     ["#", "time ms", "direction", "frame (TCP numbers relative, as Wireshark shows them)"])
    isn: dict[str, int] = {}
    for i, (time_s, src, dst, frame) in enumerate(ex["frames"], 1):
        t.add(i, round(time_s * 1e3, 3), f"{src} -> {dst}", describe(frame, src, dst, isn))


def describe(frame, src: str, dst: str, isn: dict[str, int]) -> str:
    """One short line per frame; TCP sequence numbers relative to each side's ISN.

    Args:
        frame: a decoded frame (:func:`netsim.wire.decode_frame`).
        src, dst: names of the sending and receiving hosts.
        isn: each sender's initial sequence number, filled in as SYNs go by.
    """
    from netsim.wire.tcp import SYN, flags_str
    if frame.arp is not None:
        return f"ARP {frame.arp.summary()}"
    if frame.tcp is not None:
        seg = frame.tcp
        if seg.flags & SYN:
            isn[src] = seg.seq
        seq = (seg.seq - isn.get(src, seg.seq)) % 2**32
        text = f"TCP {seg.sport} -> {seg.dport} [{flags_str(seg.flags)}] Seq={seq}"
        if dst in isn and seg.flags & 0x10:
            text += f" Ack={(seg.ack - isn[dst]) % 2**32}"
        text += f" Len={len(seg.payload)}"
        return text + (f"  data={seg.payload!r}" if seg.payload else "")
    if frame.udp is not None:
        return (f"UDP {frame.udp.sport} -> {frame.udp.dport} Len={len(frame.udp.payload)}  "
                f"data={frame.udp.payload!r}")
    return frame.summary()


def tcp_flags_sequence(frames: list) -> list[tuple[str, str, int]]:
    """(sender, flags, payload length) of each TCP segment, in order."""
    from netsim.wire.tcp import flags_str
    return [(src, flags_str(f.tcp.flags), len(f.tcp.payload)) for _t, src, _d, f in frames
            if f.tcp is not None]


def grade(result: LabResult, udp: dict, tcp: dict, message: str, port: int) -> None:
    """The lesson as checks over the two exchanges."""
    dgrams = [(src, f) for _t, src, _d, f in udp["frames"] if f.udp is not None]
    first = dgrams[0] if dgrams else None
    heard = [text for _t, who, text in udp["said"] if who == "server"]
    sent = [text for _t, who, text in udp["said"] if who == "client" and text.startswith("sent")]
    ok = (first is not None and first[0] == "client" and first[1].udp.payload == message.encode()
          and first[1].udp.dport == port and bool(heard)
          and heard[0].endswith(f"port {first[1].udp.sport}")
          and bool(sent) and f"from port {first[1].udp.sport} " in sent[0])
    result.check("the UDP datagram arrives with the right payload and source port", ok,
                 (f"on the wire: {first[1].udp.payload!r} from port {first[1].udp.sport} to {port}; "
                  f"the receiver said: {heard[0] if heard else 'nothing'}") if first else
                 "no UDP datagram on the wire")
    seq = tcp_flags_sequence(tcp["frames"])
    first_data = next((i for i, (_s, _f, n) in enumerate(seq) if n > 0), None)
    hs = [(s, f) for s, f, _n in seq[:3]]
    want = [("client", "SYN"), ("server", "SYN,ACK"), ("client", "ACK")]
    result.check("TCP shows SYN, SYN-ACK, ACK before the first data",
                 hs == want and first_data is not None and first_data >= 3,
                 f"first segments: {', '.join(f'{s} {f}' for s, f in hs)}; first data in segment "
                 f"{'none' if first_data is None else first_data + 1}")
    fins = {s for s, f, _n in seq if "FIN" in f.split(",")}
    last = seq[-1] if seq else None
    result.check("the TCP exchange ends with FINs from both sides",
                 fins == {"client", "server"} and last is not None and last[1] == "ACK",
                 f"FIN sent by: {sorted(fins) or 'nobody'}; last segment: "
                 f"{last[0] + ' ' + last[1] if last else 'none'}")
    replies = [text for _t, who, text in tcp["said"] if who == "client" and text.startswith("reply")]
    result.check("the TCP client gets its message back in upper case",
                 bool(replies) and repr(message.upper().encode()) in replies[0],
                 replies[0] if replies else "the client got no reply")


@checked(PARAMS)
def run(message: str = PARAMS["message"].default, port: int = PARAMS["port"].default,
        seed: int = PARAMS["seed"].default, out: Path | str | None = None, jobs: int | None = None,
        progress: bool = True) -> LabResult:
    """Run the UDP pair and the TCP pair; transcripts, frame tables, captures and checks."""
    out = Path(out) if out is not None else Path("captures") / NAME
    out.mkdir(parents=True, exist_ok=True)
    result = LabResult(NAME, TITLE, {"message": message, "port": port, "seed": seed})
    runs = {kind: exchange(kind, message, port, seed, out) for kind in ("udp", "tcp")}
    for kind, ex in runs.items():
        lines = [f"{t * 1e3:9.3f} ms  {who:>6}: {text}" for t, who, text in ex["said"]]
        result.texts.append((f"{kind.upper()}: what each program printed", "\n".join(lines)))
    for kind, ex in runs.items():
        _frames_table(result, kind, ex)
        result.captures.append(ex["capture"])
    result.notes.append("The programs are udp_receiver, udp_sender, tcp_server and tcp_client in "
                        f"{Path(__file__).name}. Wireshark filters to try: udp, tcp, arp, "
                        "tcp.flags.syn == 1, tcp.flags.fin == 1.")
    grade(result, runs["udp"], runs["tcp"], message, port)
    return result
