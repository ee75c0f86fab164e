"""The network's seed decides every random draw netsim makes: TCP initial sequence numbers,
ephemeral ports and CSMA/CD backoff slots all come from ``kernel.rng`` (STYLE.md rule 7), so
the same seed repeats them exactly and another seed changes them."""

from __future__ import annotations

from netsim import AF_INET, SOCK_STREAM, Network
from netsim.wire import SYN, decode_frame


def draws(seed: int):
    """Two clients on a 10 Mbit/s hub connect to a server at the same instant (so their
    frames collide and back off); returns their ephemeral ports, the ISNs of their SYNs and
    every backoff note the hub's segment wrote."""
    net = Network(seed=seed)
    hub = net.add_hub("hub1")
    a, b, srv = (net.add_host(name) for name in ("a", "b", "srv"))
    for i, h in enumerate((a, b, srv)):
        net.link(h, hub, bandwidth="10Mbps")
        h.set_ip(f"10.0.0.{i + 1}/24")
    ports = {}

    def serve(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.bind(("", 80))
        s.listen(4)
        for _ in range(2):
            conn, _ = s.accept()
            conn.close()

    def connect(h):
        s = h.socket(AF_INET, SOCK_STREAM)
        s.connect(("10.0.0.3", 80))
        ports[h.name] = s.getsockname()[1]
        s.close()

    srv.spawn_with_host(serve)
    a.spawn_with_host(connect, at="1ms")
    b.spawn_with_host(connect, at="1ms")
    net.run()
    isns, backoffs = {}, []
    for ev in net.trace:
        if ev.kind == "tx" and ev.node in ("a", "b") and ev.frame is not None:
            seg = decode_frame(ev.frame).tcp
            if seg is not None and seg.flags == SYN:
                isns[ev.node] = seg.seq
        if ev.note and "backoff" in ev.note:
            backoffs.append((ev.time_ns, ev.node, ev.note))
    return ports, isns, backoffs


def test_same_seed_same_isns_ephemeral_ports_and_backoff_draws():
    first = draws(1)
    ports, isns, backoffs = first
    assert set(ports) == set(isns) == {"a", "b"} and backoffs  # every kind of draw happened
    assert draws(1) == first
    other_ports, other_isns, other_backoffs = draws(2)
    assert other_ports != ports and other_isns != isns and other_backoffs != backoffs
