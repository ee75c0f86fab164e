"""Same seed and script, byte-identical captures (DESIGN.md principle 3)."""

from __future__ import annotations

from netsim import Network
from netsim.capture import read_capture
from tests.kits.l2 import BROADCAST, add_raw


def script(seed: int, path=None):
    """A hub with collisions behind a switch, traffic drawn from the network's own RNG."""
    net = Network(seed=seed)
    sw, hub = net.add_switch("s1"), net.add_hub("hub1")
    on_hub = add_raw(net, "a", "b", "c")
    on_sw = add_raw(net, "d", "e")
    for h in on_hub:
        net.link(h, hub, bandwidth="10Mbps", delay="2us")
    net.link(sw, hub, bandwidth="10Mbps", delay="2us")
    for h in on_sw:
        net.link(h, sw, bandwidth="100Mbps", delay="5us", loss=0.05)
    hosts = on_hub + on_sw
    rng = net.rng
    for i in range(300):
        src = rng.choice(hosts)
        dst = rng.choice([h for h in hosts if h is not src] + [None])
        t = rng.randrange(0, 20_000_000)
        mac = BROADCAST if dst is None else dst.mac
        net.kernel.call_at(t, src.send_to, mac, i.to_bytes(2, "big"), rng.randrange(60, 400))
    if path is not None:
        with net.capture(path):
            net.run()
    else:
        net.run()
    return net, [(e.time_ns, e.node, e.iface, e.kind, e.frame, e.note) for e in net.trace]


def test_same_seed_gives_identical_trace_events():
    _, first = script(seed=42)
    _, second = script(seed=42)
    assert first == second
    _, other = script(seed=43)
    assert other != first


def test_same_seed_gives_byte_identical_capture_files(tmp_path):
    net, _ = script(seed=42, path=tmp_path / "one.pcapng")
    script(seed=42, path=tmp_path / "two.pcapng")
    script(seed=43, path=tmp_path / "three.pcapng")
    one, two = (tmp_path / "one.pcapng").read_bytes(), (tmp_path / "two.pcapng").read_bytes()
    assert one == two
    assert one != (tmp_path / "three.pcapng").read_bytes()
    frames = list(read_capture(tmp_path / "one.pcapng"))
    comments = [c for f in frames for c in f.comments]
    # the collisions of the hub show up as comments on frames in the capture file
    assert net.nodes["hub1"].collisions > 0
    assert any(c.startswith(("collision, backoff k=", "2 collisions")) for c in comments)
    assert any(c.startswith("repeated to 3 ports") for c in comments)
    assert any(c.startswith("learned ") for c in comments)
