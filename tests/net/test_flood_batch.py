"""Flood batching (net.link.flood): a switch's flood gives exactly what port-by-port sends give.

Every test runs one scene twice, with ``BATCH_FLOODS`` on and off, and compares everything
observable: the order of every tap call (time, interface, direction, note), counters of
interfaces, links, switches and hosts, MAC tables, the RNG state, and where a stopped run
stopped. Each also checks that batching happened (fewer kernel events), so a test cannot
pass because both runs took the same path.
"""

from __future__ import annotations

import pytest

from benchmarks.flat_arp import build as build_flat
from netsim import Network
from netsim.net import link as link_mod
from netsim.net.link import Link
from tests.kits.l2 import BROADCAST, RawNode, add_raw, eth_frame


@pytest.fixture(params=[True, False], ids=["batched", "unbatched"])
def batching(request, monkeypatch):
    monkeypatch.setattr(link_mod, "BATCH_FLOODS", request.param)
    return request.param


def _run_both(monkeypatch, scene):
    out = {}
    for on in (True, False):
        monkeypatch.setattr(link_mod, "BATCH_FLOODS", on)
        out[on] = scene()
    return out[True], out[False]


class _Raiser(RawNode):
    """Raises on its first frame, as a buggy node would, then behaves."""

    def receive(self, iface, frame):
        super().receive(iface, frame)
        if len(self.received) == 1:
            raise RuntimeError(f"{self.name} fails")


def _mixed(log: list, trace: bool = True) -> tuple[Network, object, list]:
    """A switch whose ports are as mixed as they come, and a log of every tap call."""
    net = Network(seed=5, trace=trace)
    sw = net.add_switch("s1")
    src, *plain = add_raw(net, "src", "a", "b", "c", "d", "e", "f")
    net.link(src, sw, bandwidth="100Mbps", delay="1us")
    # same speed and delay (one arrival instant), other delays and speeds (other instants)
    net.link(plain[0], sw, bandwidth="1Gbps", delay="2us")
    net.link(plain[1], sw, bandwidth="1Gbps", delay="2us")
    net.link(plain[2], sw, bandwidth="100Mbps", delay="2us")
    net.link(plain[3], sw, bandwidth="1Gbps", delay="5us")
    lossy, dup, reo, ruled, small, busy, down, late = add_raw(
        net, "lossy", "dup", "reo", "ruled", "small", "busy", "down", "late")
    net.link(lossy, sw, bandwidth="1Gbps", delay="2us", loss=0.5)
    net.link(plain[4], sw, bandwidth="1Gbps", delay="2us")
    net.link(dup, sw, bandwidth="1Gbps", delay="2us", duplicate=0.5)
    net.link(reo, sw, bandwidth="1Gbps", delay="2us", reorder=0.5)
    rl = net.link(ruled, sw, bandwidth="1Gbps", delay="2us")
    rl.drop_when(lambda f: f[14:15] == b"\x02", count=1)
    net.link(small, sw, bandwidth="1Gbps", delay="2us", mtu=68)
    net.link(busy, sw, bandwidth="1Gbps", delay="2us")
    net.link(down, sw, bandwidth="1Gbps", delay="2us")
    net.link(plain[5], sw, bandwidth="1Gbps", delay="2us")
    net.link(late, sw, bandwidth="1Gbps", delay="2us")
    hub = net.add_hub("hub1")
    net.link(sw, hub, bandwidth="100Mbps")
    hx, hy = add_raw(net, "hx", "hy")
    net.link(hx, hub, bandwidth="100Mbps")
    net.link(hy, hub, bandwidth="100Mbps")
    raiser = net.add_node(_Raiser(net, "raiser"))
    net.link(raiser, sw, bandwidth="1Gbps", delay="2us")
    down.interfaces[0].peer.up = False          # the switch's port to "down" is shut

    def tap(iface, now, frame, direction, note):
        log.append((now, iface.fullname, direction, note, frame[14:16]))

    for node in net.nodes.values():
        for iface in node.interfaces:
            iface.taps.append(tap)

    def scheduling_tap(iface, now, frame, direction, note):
        # a tap that schedules events at exactly the arrival instants of the flood, in the
        # middle of it: they must run between the same deliveries as before
        if direction == "out" and isinstance(iface.medium, Link):
            at = iface.medium.serialisation_ns(len(frame)) + iface.medium.delay_ns
            net.kernel.call_later(at, log.append, ("marker", iface.fullname, net.kernel.now))

    plain[4].interfaces[0].peer.taps.append(scheduling_tap)
    return net, sw, [src, busy, late]


def _observe(net, sw, log) -> dict:
    ifaces = {i.fullname: i.counters() for n in net.nodes.values() for i in n.interfaces}
    links = {}
    for n in net.nodes.values():
        for i in n.interfaces:
            if isinstance(i.medium, Link):
                links.update(i.medium.stats())
    return {"log": list(log), "ifaces": ifaces, "links": links, "switch": sw.stats(),
            "mac": [tuple(e) for e in sw.mac_table()], "rng": net.kernel.rng.getstate(),
            "now": net.now, "received": {n.name: list(n.received) for n in net.nodes.values()
                                         if isinstance(n, RawNode)}}


def _flood_scene(trace: bool = True):
    log: list = []
    net, sw, (src, busy, late) = _mixed(log, trace)
    busy_port = busy.interfaces[0].peer

    def start():
        # keep the switch's port to "busy" transmitting while the floods leave
        busy_port.send(eth_frame(busy.mac, sw.interfaces[0].mac, b"\x09" * 1400))
        for k in range(4):
            src.send_to(BROADCAST, bytes([k + 1]) * 40, size=60 + 40 * k)
        src.send_to("02:99:00:00:00:01", b"\x05" * 20)   # unknown unicast: flooded too
    net.kernel.call_at(1_000, start)
    # an event due exactly when the first flood lands on the 1 Gb/s, 2 us ports, scheduled
    # before the flood: it runs before those deliveries, batched or not
    # (sent at 1 us, 6.72 us on the 100 Mb/s wire, 1 us delay, 5 us switch latency, then
    # 0.672 us on a 1 Gb/s wire and 2 us delay)
    net.kernel.call_at(1_000 + 6_720 + 1_000 + 5_000 + 672 + 2_000, log.append, ("early marker",))
    with pytest.raises(RuntimeError, match="raiser fails"):
        net.run()
    log.append(("raised at", net.now))
    net.run()
    return net, sw, log


def test_mixed_flood_matches_the_unbatched_path(monkeypatch):
    (net_b, sw_b, log_b), (net_u, sw_u, log_u) = _run_both(monkeypatch, _flood_scene)
    seen_b, seen_u = _observe(net_b, sw_b, log_b), _observe(net_u, sw_u, log_u)
    for key in seen_u:
        assert seen_b[key] == seen_u[key], key
    assert sw_u.flooded == 5
    # the scene exercises what it claims to
    assert any(e[0] == "marker" for e in log_u) and ("early marker",) in log_u
    assert seen_u["links"]["s1-eth5->lossy-eth0"]["lost"] > 0
    assert seen_u["switch"]["dropped"] > 0          # the MTU-68 port and the shut port
    assert net_b.kernel.events_run < net_u.kernel.events_run


def test_mixed_flood_without_trace_matches(monkeypatch):
    (net_b, sw_b, log_b), (net_u, sw_u, log_u) = _run_both(
        monkeypatch, lambda: _flood_scene(trace=False))
    assert _observe(net_b, sw_b, log_b) == _observe(net_u, sw_u, log_u)


def _star(n: int, trace: bool = True):
    net = Network(seed=3, trace=trace)
    sw = net.add_switch("s1")
    nodes = add_raw(net, *(f"r{i}" for i in range(n)))
    for node in nodes:
        net.link(node, sw, bandwidth="1Gbps", delay="1us")
    return net, sw, nodes


def test_step_makes_one_delivery_at_a_time(monkeypatch):
    def scene():
        net, sw, nodes = _star(12)
        nodes[0].send_to(BROADCAST, b"hi")
        steps = []
        while (new := net.step()) is not None:
            steps.append([(e.time_ns, e.node, e.iface, e.kind) for e in new])
        return steps, net.kernel.events_run

    (steps_b, events_b), (steps_u, events_u) = _run_both(monkeypatch, scene)
    assert steps_b == steps_u
    # one flood of 11 copies, each delivery its own step
    assert sum(1 for s in steps_u for e in s if e[3] == "rx" and e[1] != "s1") == 11
    assert events_b == events_u     # step() counts each part it runs


def test_stop_predicates_and_stop_take_effect_between_deliveries(monkeypatch):
    def scene():
        net, sw, nodes = _star(30, trace=True)
        nodes[0].send_to(BROADCAST, b"hi")
        got = lambda: sum(len(n.received) for n in nodes)   # noqa: E731
        net.kernel.run(stop=lambda: got() >= 7)
        first = (net.now, got(), [len(n.received) for n in nodes])
        net.run(until=lambda ev: ev.kind == "rx" and ev.node == "r20")   # kernel.stop()
        second = (net.now, got(), [len(n.received) for n in nodes])
        net.run()
        return first, second, (net.now, got()), net.kernel.events_run

    batched, unbatched = _run_both(monkeypatch, scene)
    assert batched[:3] == unbatched[:3]
    assert batched[0][1] == 7 and batched[1][2][20] == 1 and batched[1][2][21] == 0
    assert batched[3] < unbatched[3]


def test_a_node_raising_mid_batch_leaves_the_rest_due(monkeypatch):
    def scene():
        net, sw, nodes = _star(5)
        bad = net.add_node(_Raiser(net, "bad"))
        net.link(bad, sw, bandwidth="1Gbps", delay="1us")
        more = add_raw(net, "m1", "m2")
        for node in more:
            net.link(node, sw, bandwidth="1Gbps", delay="1us")
        nodes[0].send_to(BROADCAST, b"x")
        with pytest.raises(RuntimeError, match="bad fails"):
            net.run()
        at_raise = [len(n.received) for n in [*nodes, bad, *more]]
        net.run()
        return at_raise, [len(n.received) for n in [*nodes, bad, *more]]

    batched, unbatched = _run_both(monkeypatch, scene)
    assert batched == unbatched
    assert batched[0] == [0, 1, 1, 1, 1, 1, 0, 0] and batched[1] == [0] + [1] * 7


def _flat(n: int):
    net, sw, server, hosts = build_flat(n)
    answered = []
    for i, h in enumerate(hosts):
        h.spawn_with_host(lambda h: answered.append(h.ping("10.0.0.1", count=1).received),
                          at=f"{1 + i * 0.01}ms")
    net.run()
    nodes = [server, *hosts]
    return ({h.name: h.stats() for h in nodes},
            {i.fullname: i.counters() for x in (*nodes, sw) for i in x.interfaces},
            sw.stats(), [tuple(e) for e in sw.mac_table()], sum(answered), net.now)


def test_flat_network_of_500_hosts_counts_as_before(monkeypatch):
    # 500 rather than thousands: the unbatched reference run is O(N^2) in events
    batched, unbatched = _run_both(monkeypatch, lambda: _flat(500))
    assert batched == unbatched
    assert batched[4] == 500
    assert batched[0]["h7"]["arp_rx"] == 500      # every request but its own, and the reply


def test_arp_shortcut_leaves_frames_for_us_or_known_senders_to_the_full_path(batching):
    # a small flat network where hosts already know each other: a second round of requests
    # from known senders must refresh caches (RFC 826 merge), not be skipped
    net = Network(seed=2)
    sw = net.add_switch("s1")
    hosts = []
    for i in range(4):
        h = net.add_host(f"h{i}")
        net.link(h, sw)
        h.set_ip(f"10.0.0.{i + 1}/24")
        hosts.append(h)
    hosts[0].spawn_with_host(lambda h: h.ping("10.0.0.2", count=1))
    net.run()
    assert len(hosts[2].arp_table()) == 0          # h2 heard h0's request: not for it
    hosts[2].spawn_with_host(lambda h: h.ping("10.0.0.1", count=1))
    net.run()
    assert {e.ip for e in hosts[0].arp_table()} == {"10.0.0.2", "10.0.0.3"}
    # 30 s on, h0 asks for h3: h1 knows h0, so the request refreshes h1's entry (RFC 826
    # merge) although it is not for h1
    hosts[0].spawn_with_host(lambda h: h.ping("10.0.0.4", count=1), at="30s")
    net.run()
    entry = {e.ip: e for e in hosts[1].arp_table()}["10.0.0.1"]
    assert entry.expires_in > 59.0
    # h0: 2 replies and h2's request; the others: 3 requests, or 2 and h0's reply for h2;
    # plus one echo request or reply each (h0 gets 3 replies)
    assert [h.stats()["arp_rx"] for h in hosts] == [3, 3, 3, 3]
    assert [h.stats()["frames_rx"] for h in hosts] == [6, 4, 4, 4]


def test_a_tap_that_changes_a_later_link_mid_flood(monkeypatch):
    # a capture tap may change any link while the flood is under way; the flood must see it
    # for the ports after, as port-by-port sends do
    def scene():
        net, sw, nodes = _star(8)
        later = [n.interfaces[0].peer.medium for n in nodes[5:]]

        def tap(iface, now, frame, direction, note):
            if direction == "out":
                later[0].loss = 1.0
                later[1].delay_ns = 7_000
                later[2].drop_when(lambda f: True)
        nodes[2].interfaces[0].peer.taps.append(tap)
        for _ in range(2):          # the second flood reuses the switch's plan
            nodes[0].send_to(BROADCAST, b"x")
            net.run()
        return ([n.received for n in nodes], [m.stats() for m in later],
                net.kernel.rng.getstate())

    batched, unbatched = _run_both(monkeypatch, scene)
    assert batched == unbatched
    assert len(batched[0][5]) == 0 and batched[0][6][0][0] != batched[0][4][0][0]
