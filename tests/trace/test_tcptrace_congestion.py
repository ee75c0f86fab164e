"""What the tracer keeps of congestion control, and what the ladder and stepper show of it:
congestion updates per connection (bounded like the event log), SACK blocks relative to the
ISN, the options both SYNs agreed on, and cwnd/ssthresh/rto on the stepper's endpoint line."""

from __future__ import annotations

import io

from netsim import AF_INET, SOCK_STREAM, Network
from netsim.trace.ladder import LadderRow, render_text
from netsim.trace.ladder.model import negotiation, row_label
from netsim.trace.stepper import Stepper
from netsim.wire import tcp as wtcp

DATA = 60_000


def _is_data(nth: int):
    """A predicate true for the ``nth`` data segment from h1 (counting from 1)."""
    seen = [0]

    def pred(frame: bytes) -> bool:
        if len(frame) < 54 or frame[23] != 6:
            return False
        seg = wtcp.decode(frame[14 + (frame[14] & 15) * 4:])
        if seg.sport == 80 or not seg.payload:
            return False
        seen[0] += 1
        return seen[0] == nth
    return pred


def two_hosts(trace=True, delay="2ms"):
    net = Network(seed=1, trace=trace)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    link = net.link(h1, h2, delay=delay)
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")
    return net, h1, h2, link


def bulk(trace=True, drop_nth: int | None = None):
    """h1 sends DATA bytes to h2:80; optionally the nth data segment is lost once."""
    net, h1, h2, link = two_hosts(trace)
    if drop_nth is not None:
        link.drop_when(_is_data(drop_nth))
    seen: list = []
    h1.tcp.on_congestion = lambda label, update: seen.append((label, update))

    def server(host):
        s = host.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 80))
        s.listen(1)
        c, _ = s.accept()
        while c.recv(65536):
            pass

    def client(host):
        c = host.socket(AF_INET, SOCK_STREAM)
        c.connect(("10.0.0.2", 80))
        c.sendall(b"x" * DATA)
        c.close()

    h2.spawn_with_host(server)
    h1.spawn_with_host(client, at="1ms")
    net.run(until=10)
    return net, seen


def test_the_tracer_records_every_congestion_update_of_each_sender():
    net, seen = bulk(drop_nth=5)
    conn = net.tcp_tracer.connections[0]
    sender = conn.endpoints[0]
    assert [u for label, u in seen] == conn.congestion(sender)
    states = [u.ca_state for u in conn.congestion(sender)]
    assert "recovery" in states and states[-1] == "open"
    times = [u.time for u in conn.congestion(sender)]
    assert times == sorted(times)


def test_the_congestion_record_keeps_only_the_newest_updates_like_the_event_log():
    net, seen = bulk(trace=25, drop_nth=5)
    conn = net.tcp_tracer.connections[0]
    kept = conn.congestion()
    assert len(kept) == 25 < net.tcp_tracer.updates_total
    assert [u for _ep, u in kept] == [u for _label, u in seen][-25:]


def test_without_tracing_no_congestion_update_is_kept():
    net, seen = bulk(trace=False)
    assert seen and net.tcp_tracer.updates_total == 0


def test_sack_blocks_in_the_ladder_are_relative_to_the_isn_like_ack():
    net, _ = bulk(drop_nth=3)
    ladder = net.tcp_tracer.connections[0].ladder()
    rows = ladder.rows
    sacked = [r for r in rows if r.sack]
    assert sacked, "the receiver sent no SACK block"
    text = ladder.text()
    isn = rows[0].seq                       # h1's SYN
    lost = next(r for r in rows if r.length and r.lost)
    left = (lost.seq - isn + lost.length) % (1 << 32)
    assert f"SACK={left}-" in text
    assert f"SACK={(sacked[0].sack[0][0])}" not in text  # not the raw number
    assert f"SACK={sacked[0].sack[0][0]}-" in ladder.text(relative=False)


def test_row_label_shows_sack_blocks_in_the_receivers_numbers():
    row = LadderRow(0, "b:80", "a:1", "ACK", 5000, 1001 + 1448, 0, 100,
                    sack=((1001 + 2896, 1001 + 4344),))
    assert row_label(row, {"a:1": 1000, "b:80": 5000}).endswith("SACK=2897-4345")
    assert row_label(row, None).endswith(f"SACK={1001 + 2896}-{1001 + 4344}")


def test_the_ladder_says_what_the_two_syns_agreed_on():
    net, _ = bulk()
    text = net.tcp_tracer.connections[0].ladder().text()
    lines = text.splitlines()
    at = next(i for i, ln in enumerate(lines) if "[SYN,ACK]" in ln)
    agreed = " ".join(ln.strip("│ ") for ln in lines[at + 1:at + 3])
    assert agreed.startswith("negotiated: MSS 1460 both ways, SACK, timestamps, window scale")


def test_negotiation_names_an_option_only_one_end_offered():
    a, b = "h1:5", "h2:80"
    rows = [LadderRow(0, a, b, "SYN", 1, 0, 0, 100, "MSS=1460 SACK_PERM TS WS=128"),
            LadderRow(1, b, a, "SYN,ACK", 9, 2, 0, 100, "MSS=536 WS=4")]
    index, text = negotiation(rows, (a, b))
    assert index == 1
    assert text == ("negotiated: MSS 1460/536, no SACK (only h1 offered it), "
                    "no timestamps (only h1 offered it), window scale x128/x4")
    assert negotiation(rows[:1], (a, b)) is None
    drawn = render_text(rows, (a, b))
    assert "no SACK (only h1 offered it)" in drawn
    assert "negotiated" not in render_text(rows, (a, b), negotiated=False)


def test_the_stepper_shows_each_senders_cwnd_ssthresh_and_rto():
    net_holder = {}

    def scene():
        net, h1, h2, _link = two_hosts()

        def server(host):
            s = host.socket(AF_INET, SOCK_STREAM)
            s.bind(("", 80))
            s.listen(1)
            c, _ = s.accept()
            c.recv(10)

        def client(host):
            c = host.socket(AF_INET, SOCK_STREAM)
            c.connect(("10.0.0.2", 80))
            c.sendall(b"hello")

        h2.spawn_with_host(server)
        h1.spawn_with_host(client)
        net_holder["net"] = net
        return net

    stepper = Stepper(scene, io.StringIO())
    while stepper.next(show=False) is not None:
        lines = stepper.endpoints()
        if any("ESTABLISHED" in ln for ln in lines):
            break
    lines = stepper.endpoints()
    at = next(i for i, ln in enumerate(lines) if "ESTABLISHED" in ln)
    cc = lines[at + 1].split()
    conn = next(ep.conn for ep in net_holder["net"]["h1"].tcp.conns.values())
    assert cc[0] == f"cwnd={conn.cwnd / conn.eff_mss:.4g}" and cc[1] == f"({conn.cwnd}"
    assert "ssthresh=inf" in lines[at + 1] and "rto=" in lines[at + 1]
    assert lines[at + 1].rstrip().endswith("open cubic")
