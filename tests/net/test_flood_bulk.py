"""Quiet receptions counted in bulk (net.bulk): every reader sees what one-by-one delivery gives.

Each scene runs three ways: bulk counting on (the default), bulk counting off, and floods
not batched at all. Everything observable is compared: counters of every interface, host
and link read *during* the run by events at many instants (including the arrival instants
of the floods), ARP tables, taps' logs, pings answered, the clock and the events run. Each
scene also checks that the ledger did count in bulk, so a test cannot pass because all
three runs took the one-by-one path.
"""

from __future__ import annotations

import pickle

import pytest

from benchmarks.flat_arp import build as build_flat
from netsim.net import bulk as bulk_mod
from netsim.net import link as link_mod
from netsim.net.interface import TapList
from netsim.net.link import Link

MODES = {"bulk": (True, True), "one-ledger-off": (True, False), "unbatched": (False, False)}


def _snapshot(net, nodes, sw) -> tuple:
    hosts = tuple((h.name, tuple(h.counters.items())) for h in nodes)
    ifaces = tuple((i.fullname, tuple(i.counters().items()))
                   for x in (*nodes, sw) for i in x.interfaces)
    return net.now, hosts, ifaces


_BUMPS = [0]


@pytest.fixture(autouse=True)
def _count_bumps(monkeypatch):
    """Count every ledger bump of a scene (ledgers are replaced when a plan is rebuilt)."""
    real = bulk_mod.Ledger.bump

    def bump(self, size, skipped):
        _BUMPS[0] += 1
        return real(self, size, skipped)
    monkeypatch.setattr(bulk_mod.Ledger, "bump", bump)


def _bumps(sw) -> int:
    return _BUMPS[0]


def _scene(n: int, actions=(), readers: int = 400, seed_gap_ns: int = 3_137, run=None,
           capture=None):
    """A flat network of ``n`` hosts pinging the server 10 us apart, with readers taking a
    snapshot of every counter every ``seed_gap_ns`` and at each flood's arrival instant,
    and ``actions``: (time_ns, fn(net, sw, server, hosts, log)) events."""
    _BUMPS[0] = 0
    net, sw, server, hosts = build_flat(n)
    nodes = [server, *hosts]
    cap = net.capture(capture[0], interfaces=capture[1]) if capture is not None else None
    snaps: list = []
    log: list = []
    answered: list = []
    for i, h in enumerate(hosts):
        h.spawn_with_host(lambda h: answered.append(h.ping("10.0.0.1", count=1).received),
                          at=f"{1 + i * 0.01}ms")
    # Host i's request is flooded at 1 ms + i * 10 us + 6.672 us and its copies land
    # 1.672 us later; a reader at that instant runs before the delivery event (lower seq)
    # and one a nanosecond later runs after it.
    for k in range(readers):
        t = 1_000_000 + k * seed_gap_ns
        net.kernel.call_at(t, lambda: snaps.append(_snapshot(net, nodes, sw)))
    for i in range(0, n, max(1, n // 20)):
        for extra in (6_672, 8_344, 8_345):
            t = 1_000_000 + i * 10_000 + extra
            net.kernel.call_at(t, lambda: snaps.append(_snapshot(net, nodes, sw)))
    for t, fn in actions:
        net.kernel.call_at(t, fn, net, sw, server, hosts, log)
    (run or (lambda net: net.run()))(net)
    if cap is not None:
        cap.close()
    out = {"snaps": snaps, "final": _snapshot(net, nodes, sw), "log": log,
           "arp": {h.name: h.arp_table() for h in nodes}, "answered": sum(answered),
           "now": net.now, "events": net.kernel.events_run,
           "links": [i.medium.stats() for i in sw.interfaces]}
    return out, _bumps(sw)


def _all_modes(monkeypatch, *args, **kwargs):
    results, bumps = {}, {}
    for name, (batch, bulk) in MODES.items():
        monkeypatch.setattr(link_mod, "BATCH_FLOODS", batch)
        monkeypatch.setattr(link_mod, "BULK_COUNTS", bulk)
        results[name], bumps[name] = _scene(*args, **kwargs)
    assert bumps["bulk"] > 0, "the ledger never counted in bulk: nothing was tested"
    assert bumps["one-ledger-off"] == bumps["unbatched"] == 0
    assert results["bulk"] == results["one-ledger-off"]
    for key in ("snaps", "final", "log", "arp", "answered", "now", "links"):
        assert results["bulk"][key] == results["unbatched"][key], key
    return results["bulk"], bumps["bulk"]


def test_counters_read_at_any_instant_match_one_by_one_delivery(monkeypatch):
    out, bumps = _all_modes(monkeypatch, 60)
    assert out["answered"] == 60
    assert bumps >= 55      # nearly every request was counted in bulk at the other hosts
    # and the totals are the ARP requests each host saw: every other host's, and its reply
    final = dict(out["final"][1])
    assert dict(final["h7"])["arp_rx"] == 60


def _tap_to(name: str, when: str):
    def act(net, sw, server, hosts, log):
        iface = next(h for h in hosts if h.name == name).interfaces[0]
        def tap(i, t, f, d, c):
            # what a tap may read mid-flood: counters of hosts before and after it
            seen = [h.interfaces[0].rx_frames for h in hosts[::7]]
            log.append((t, i.fullname, d, c, bytes(f[:16]), seen, server.counters["arp_rx"]))
        if when == "append":
            iface.taps.append(tap)
        elif when == "extend":
            iface.taps.extend([tap])
        elif when == "insert":
            iface.taps.insert(0, tap)
        else:
            iface.taps += [tap]
    return act


@pytest.mark.parametrize("how", ["append", "extend", "insert", "iadd"])
def test_a_tap_added_mid_run_sees_every_frame_from_then_on(monkeypatch, how):
    # h1's request is flooded at 1.016672 ms and its copies land at 1.018344 ms: a tap
    # added in between must see it, so the group in flight delivers to h12 in person
    out, _ = _all_modes(monkeypatch, 30, actions=[(1_018_000, _tap_to("h12", how)),
                                                  (1_120_000, _tap_to("h3", how))])
    seen = [entry for entry in out["log"] if entry[1] == "h12-eth0"]
    assert len(seen) >= 20 and seen[0][0] == 1_018_344


def test_a_capture_on_the_server_keeps_bulk_counting_and_its_bytes(monkeypatch, tmp_path):
    files = {}
    for name, (batch, bulk) in MODES.items():
        monkeypatch.setattr(link_mod, "BATCH_FLOODS", batch)
        monkeypatch.setattr(link_mod, "BULK_COUNTS", bulk)
        path = tmp_path / f"{name}.pcap"
        out, bumps = _scene(25, capture=(str(path), ["server", "h3"]), readers=100)
        files[name] = (path.read_bytes(), out)
        if name == "bulk":
            assert bumps >= 20      # the capture only writes frames: quiet_safe
    assert files["bulk"] == files["one-ledger-off"]
    assert files["bulk"][0] == files["unbatched"][0] and len(files["bulk"][0]) > 2000


def test_a_link_changed_mid_run_rebuilds_the_plan(monkeypatch):
    def slower(net, sw, server, hosts, log):
        hosts[5].interfaces[0].medium.delay_ns = 7_000
        hosts[9].interfaces[0].medium.loss = 0.5

    out, _ = _all_modes(monkeypatch, 30, actions=[(1_100_000, slower)])
    assert out["answered"] >= 29


def test_hosts_that_learn_and_readdress_are_concerned_from_then_on(monkeypatch):
    def learn(net, sw, server, hosts, log):
        # h2 resolves h20 and h25 now: their later requests refresh h2's entries (RFC 826)
        hosts[2].spawn_with_host(lambda h: h.ping(hosts[20].ip, count=1))
        hosts[2].spawn_with_host(lambda h: h.ping(hosts[25].ip, count=1))

    def readdress(net, sw, server, hosts, log):
        # h4 moves to a new address, which h29 asks for 50 us later: h4 is its target
        hosts[4].set_ip("10.0.9.9/16")
        hosts[29].spawn_with_host(lambda h: h.ping("10.0.9.9", count=1), at="1.2ms")

    out, _ = _all_modes(monkeypatch, 32, actions=[(1_050_000, learn), (1_150_000, readdress)])
    arp_h2 = {e.ip for e in out["arp"]["h2"]}
    assert {"10.0.0.1", "10.0.0.22", "10.0.0.27"} <= arp_h2


def test_counters_reset_mid_run(monkeypatch):
    def reset(net, sw, server, hosts, log):
        hosts[3].counters["arp_rx"] = 0
        hosts[6].interfaces[0].rx_frames = 0
        hosts[6].interfaces[0].rx_bytes = 0
        hosts[8].counters = type(hosts[8].counters)()

    out, _ = _all_modes(monkeypatch, 30, actions=[(1_155_000, reset)])
    final = dict(out["final"][1])
    assert dict(final["h3"])["arp_rx"] < 30


@pytest.mark.parametrize("how", ["stop-predicate", "step"])
def test_runs_that_may_stop_between_deliveries_deliver_one_by_one(monkeypatch, how):
    seen: dict[str, list] = {}

    def run(net):
        if how == "step":
            while net.kernel.step():
                pass
        else:
            # a predicate that reads counters: it sees them move one delivery at a time
            mine = seen.setdefault(str(len(seen)), [])
            net.kernel.run(stop=lambda: mine.append(net.nodes["h3"].counters["arp_rx"])
                           or False)

    results, bumps = {}, {}
    for name, (batch, bulk) in MODES.items():
        monkeypatch.setattr(link_mod, "BATCH_FLOODS", batch)
        monkeypatch.setattr(link_mod, "BULK_COUNTS", bulk)
        results[name], bumps[name] = _scene(20, run=run, readers=50)
    # nothing can be counted in bulk where a run may stop between two deliveries...
    assert bumps["bulk"] == 0
    # ...and what every reader saw is the same
    for key in ("snaps", "final", "arp", "answered", "now"):
        assert results["bulk"][key] == results["unbatched"][key], key
    if how != "step":
        runs = list(seen.values())
        assert runs[0] == runs[1] and runs[0][-1] == 20


def test_the_ledger_compacts_its_totals(monkeypatch):
    monkeypatch.setattr(bulk_mod, "_COMPACT_AT", 5)
    out, bumps = _all_modes(monkeypatch, 40)
    assert bumps > 5 * 3


def test_a_ledger_member_is_only_where_nothing_watches():
    net, sw, server, hosts = build_flat(6)
    hosts[2].interfaces[0].taps.append(lambda *a: None)
    net.link(net.add_host("lossy"), sw, bandwidth="1Gbps", loss=0.1)
    net.run()
    plan = sw._flood_plan
    plan.for_ports(sw.interfaces)
    members = {rec.iface.fullname for led in plan.ledgers for rec in led.members}
    assert "h2-eth0" not in members and "lossy-eth0" not in members
    assert {"server-eth0", "h0-eth0", "h5-eth0"} <= members
    # a tap on a member ends its membership at once, and what it was owed is counted
    iface = hosts[4].interfaces[0]
    assert iface.bulk is not None
    iface.taps.append(lambda *a: None)
    assert iface.bulk is None


def test_taplist_is_a_list_to_its_readers():
    net, sw, server, hosts = build_flat(1)
    taps = hosts[0].interfaces[0].taps
    assert isinstance(taps, TapList) and isinstance(taps, list) and taps == []
    f = lambda *a: None  # noqa: E731
    taps.append(f)
    taps[0] = f
    assert taps == [f] and taps.copy() == [f]
    taps.remove(f)
    assert taps == []
    assert pickle.loads(pickle.dumps(taps)) == [] and type(pickle.loads(pickle.dumps(taps))) is list


def test_link_stats_and_flood_plans_agree_after_a_bulk_run():
    net, sw, server, hosts = build_flat(10)
    for i, h in enumerate(hosts):
        h.spawn_with_host(lambda h: h.ping("10.0.0.1", count=1), at=f"{1 + i * 0.01}ms")
    net.run()
    assert _bumps(sw) >= 9
    rx = sum(h.interfaces[0].rx_frames for h in hosts)
    tx = sum(p.tx_frames for p in sw.interfaces if isinstance(p.medium, Link)
             and p.medium.b.node is not server and p.medium.a.node is not server)
    assert rx == tx


# -- random scenes ----------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ACTIONS = st.lists(st.tuples(
    # when, after 1 ms: anywhere, or exactly when a host's first ping starts (two requests
    # from one host back to back, one flooded while the other is still landing)
    st.one_of(st.integers(0, 400_000), st.sampled_from([0, 4_000, 8_000, 12_000, 40_000])),
    st.sampled_from(["ping", "tap", "untap", "capture-like", "delay", "loss", "readdress",
                     "zero", "read", "bytes-reset"]),
    st.integers(0, 10_000), st.integers(0, 10_000)), max_size=12)


def _random_scene(n: int, actions, run_kind: str):
    net, sw, server, hosts = build_flat(n)
    nodes = [server, *hosts]
    log: list = []
    snaps: list = []

    def do(kind, a, b):
        h, other = hosts[a % n], nodes[b % (n + 1)]
        if kind == "ping":
            h.spawn_with_host(lambda h: log.append(("ping", h.name, h.ping(
                other.ip, count=1, timeout=0.05).received)))
        elif kind in ("tap", "capture-like"):
            def tap(i, t, f, d, c):
                if kind == "tap":    # reads counters: it must see them as one by one gives
                    log.append((t, i.fullname, d, c, nodes[b % (n + 1)].counters["arp_rx"],
                                hosts[(a + 1) % n].interfaces[0].rx_frames))
                else:
                    log.append((t, i.fullname, d, bytes(f[:20])))
            if kind == "capture-like":
                tap.quiet_safe = True
            h.interfaces[0].taps.append(tap)
        elif kind == "untap":
            h.interfaces[0].taps.clear()
        elif kind == "delay":
            h.interfaces[0].medium.delay_ns = 1_000 + b % 3 * 500
        elif kind == "loss":
            h.interfaces[0].medium.loss = (b % 3) / 4
        elif kind == "readdress":
            h.set_ip(f"10.0.200.{a % 250 + 1}/16")
        elif kind == "zero":
            h.counters["frames_rx"] = 0
        elif kind == "bytes-reset":
            h.interfaces[0].rx_bytes = 0
        snaps.append(_snapshot(net, nodes, sw))

    for i, h in enumerate(hosts):
        h.spawn_with_host(lambda h: log.append(("first", h.name, h.ping(
            "10.0.0.1", count=1, timeout=0.05).received)), at=f"{1 + i * 0.004}ms")
    for k in range(60):
        net.kernel.call_at(1_000_000 + k * 7_919, lambda: snaps.append(_snapshot(net, nodes, sw)))
    for when, kind, a, b in actions:
        net.kernel.call_at(1_000_000 + when, do, kind, a, b)
    if run_kind == "run":
        net.run()
    elif run_kind == "until":
        net.run(until="1.2ms")
        snaps.append(_snapshot(net, nodes, sw))
        net.run()
    else:
        net.kernel.run(stop=lambda: net.now > 1_150_000)
        snaps.append(_snapshot(net, nodes, sw))
        net.run()
    return (snaps, _snapshot(net, nodes, sw), log, {h.name: h.arp_table() for h in nodes},
            net.now, [i.medium.stats() for i in sw.interfaces], net.kernel.rng.getstate())


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 14), actions=_ACTIONS, run_kind=st.sampled_from(["run", "until", "stop"]))
def test_random_scenes_match_one_by_one_delivery(n, actions, run_kind):
    # (this found the key gained between a flood and its arrival: ledger.adds)
    out = {}
    for batch, bulk in ((True, True), (False, False)):
        link_mod.BATCH_FLOODS, link_mod.BULK_COUNTS = batch, bulk
        try:
            out[bulk] = _random_scene(n, actions, run_kind)
        finally:
            link_mod.BATCH_FLOODS, link_mod.BULK_COUNTS = True, True
    assert out[True] == out[False]
