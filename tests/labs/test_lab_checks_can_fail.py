"""Each lab's checks are real: change what a lab measures, and the relevant check fails."""

from __future__ import annotations

import errno

import pytest

from labs.result import LabResult
from tests.kits.labs import lab_module


def _checks(result: LabResult) -> dict[str, bool]:
    return {c.name: c.passed for c in result.checks}


# -- the lead's labs --------------------------------------------------------------------------

def test_hub_vs_switch_bystander_check_fails_when_the_hub_is_really_a_switch(tmp_path, monkeypatch):
    import labs.hub_vs_switch as hvs
    real = hvs.bystander_demo

    def always_a_switch(kind, out, seed, bandwidth):
        (out / kind).mkdir(exist_ok=True)  # keep the two captures apart
        return real("switch", out / kind, seed, bandwidth)

    monkeypatch.setattr(hvs, "bystander_demo", always_a_switch)
    result = hvs.run(hosts=[2], load=[0.3], duration="0.02s", out=tmp_path, jobs=1, progress=False)
    checks = _checks(result)
    assert checks["hub: bystander sees the conversation"] is False
    assert checks["switch: bystander sees only broadcasts and unknown-unicast floods"] is True


def test_hub_vs_switch_switch_check_fails_when_the_switch_is_really_a_hub(tmp_path, monkeypatch):
    import labs.hub_vs_switch as hvs
    real = hvs.bystander_demo

    def always_a_hub(kind, out, seed, bandwidth):
        (out / kind).mkdir(exist_ok=True)
        return real("hub", out / kind, seed, bandwidth)

    monkeypatch.setattr(hvs, "bystander_demo", always_a_hub)
    result = hvs.run(hosts=[2], load=[0.3], duration="0.02s", out=tmp_path, jobs=1, progress=False)
    checks = _checks(result)
    assert checks["switch: bystander sees only broadcasts and unknown-unicast floods"] is False


def test_switch_learning_aging_check_fails_when_entries_never_age(tmp_path, monkeypatch):
    import labs.switch_learning as sl

    class NoAging(sl.Network):
        def add_switch(self, name, **options):
            options["aging"] = "1000s"  # the lab waits aging + 5 s: nothing will have aged
            return super().add_switch(name, **options)

    monkeypatch.setattr(sl, "Network", NoAging)
    checks = _checks(sl.run(hosts=3, out=tmp_path, progress=False))
    assert checks["after aging, a frame to a forgotten address floods again (unknown unicast)"] is False
    assert checks["the first frame (an ARP broadcast) is flooded"] is True


def test_router_subnets_checks_fail_when_r1_stops_forwarding(tmp_path, monkeypatch):
    import labs.router_subnets as rs
    real = rs.topology

    def r1_does_not_route(prefix_len=24, seed=1):
        net = real(prefix_len, seed)
        net["r1"].forwarding = False  # a host with two NICs, not a router
        return net

    monkeypatch.setattr(rs, "topology", r1_does_not_route)
    checks = _checks(rs.run(out=tmp_path, progress=False))
    assert checks["ping h1 -> h3 across two routers"] is False
    assert checks["TTL drops by one at each router"] is False
    assert checks["traceroute lists r1, r2, then h3"] is False
    assert checks["every echo request goes h1 > r1 > r2 > h3, every reply the reverse way"] is False


def test_tcp_handshake_time_wait_check_fails_against_a_different_msl(tmp_path):
    th = lab_module("tcp-handshake")
    from netsim.sim.units import parse_time
    r = th.run_variant("normal", tmp_path, msl="2s", seed=1)
    result = LabResult("t", "t", {})
    th._check_variant(result, r, parse_time("3s"))  # expects 6 s of TIME_WAIT, was 4 s
    checks = _checks(result)
    assert checks["normal: TIME_WAIT lasts 2*MSL"] is False
    assert checks["normal: the handshake is SYN, SYN+ACK, ACK"] is True


def test_tftp_transfer_integrity_check_fails_when_a_byte_arrives_wrong(tmp_path, monkeypatch):
    tt = lab_module("tftp-transfer")
    real_get = tt.tftp_sim.get

    def corrupting_get(*args, **kwargs):
        data, stats = real_get(*args, **kwargs)
        return bytes([data[0] ^ 0xFF]) + data[1:], stats

    monkeypatch.setattr(tt.tftp_sim, "get", corrupting_get)
    result = tt.run(size=3000, loss=[0.0], blksize=[512], windowsize=[1], out=tmp_path, jobs=1,
                    progress=False)
    checks = _checks(result)
    assert checks["every download arrives byte-identical (sha256)"] is False
    assert checks["no loss, no retransmission"] is True


# -- udp-broadcast ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def broadcast_runs():
    import labs.udp_broadcast as ub
    return {lan: ub.measure(lan, hosts=2, remote=1, port=5000, seed=1) for lan in ("hub", "switch")}


def test_udp_broadcast_sender_without_so_broadcast_gets_eacces(broadcast_runs):
    for run in broadcast_runs.values():
        (exc,) = run["errors"]
        assert isinstance(exc, PermissionError) and exc.errno == errno.EACCES


def test_udp_broadcast_reaches_the_segment_and_the_router_but_not_beyond(broadcast_runs):
    for run in broadcast_runs.values():
        assert run["sockets"]["limited broadcast"] == {"h2", "h3", "r1"}
        assert run["sockets"]["directed broadcast, remote subnet"] == {"r1"}
        assert not any(run["sockets"][m] & {"x1"} for m in run["sockets"])


def test_udp_broadcast_router_check_fails_when_the_router_is_replaced_by_a_switch():
    import labs.udp_broadcast as ub
    runs = {lan: ub.measure(lan, hosts=2, remote=1, port=5000, seed=1, boundary="switch")
            for lan in ("hub", "switch")}
    result = LabResult("t", "t", {})
    ub.grade(result, runs)
    checks = _checks(result)
    assert checks["router does not forward the broadcast"] is False
    assert checks["PermissionError without SO_BROADCAST"] is True


def test_udp_broadcast_permission_check_fails_if_the_send_was_allowed(broadcast_runs):
    import labs.udp_broadcast as ub
    runs = {lan: dict(run, errors=[]) for lan, run in broadcast_runs.items()}
    result = LabResult("t", "t", {})
    ub.grade(result, runs)
    assert _checks(result)["PermissionError without SO_BROADCAST"] is False


def test_udp_broadcast_unicast_check_fails_when_both_lans_are_hubs(broadcast_runs):
    import labs.udp_broadcast as ub
    runs = {"hub": broadcast_runs["hub"], "switch": broadcast_runs["hub"]}
    result = LabResult("t", "t", {})
    ub.grade(result, runs)
    assert _checks(result)["a unicast reaches every NIC on the hub but only h2's on the switch"] is False


# -- sockets-basics ---------------------------------------------------------------------------

def test_sockets_basics_fin_check_fails_when_the_client_forgets_to_close(tmp_path, monkeypatch):
    import labs.sockets_basics as sb

    # The lab's client without its close(); it also stays alive, as an exit would close the
    # socket for it.
    forgetful = tmp_path / "forgetful_client.py"
    forgetful.write_text(sb.PROGRAMS["tcp_client"].read_text().replace("sock.close()", "pass")
                         + "import time\ntime.sleep(3600)\n")
    monkeypatch.setitem(sb.PROGRAMS, "tcp_client", forgetful)
    checks = _checks(sb.run(out=tmp_path, progress=False))
    assert checks["the TCP exchange ends with FINs from both sides"] is False
    assert checks["TCP shows SYN, SYN-ACK, ACK before the first data"] is True


def test_sockets_basics_udp_check_fails_for_a_different_payload():
    import labs.sockets_basics as sb
    udp = sb.exchange("udp", "hello", 9000, 1)
    tcp = sb.exchange("tcp", "hello", 9000, 1)
    result = LabResult("t", "t", {})
    sb.grade(result, udp, tcp, "goodbye", 9000)
    assert _checks(result)["the UDP datagram arrives with the right payload and source port"] is False


def test_sockets_basics_handshake_check_fails_without_a_handshake():
    import labs.sockets_basics as sb
    udp = sb.exchange("udp", "hello", 9000, 1)
    result = LabResult("t", "t", {})
    sb.grade(result, udp, udp, "hello", 9000)  # the UDP frames offered as the TCP exchange
    assert _checks(result)["TCP shows SYN, SYN-ACK, ACK before the first data"] is False


def test_sockets_basics_frames_start_with_arp_then_syn_synack_ack():
    import labs.sockets_basics as sb
    tcp = sb.exchange("tcp", "hi", 9000, 1)
    seq = sb.tcp_flags_sequence(tcp["frames"])
    assert tcp["frames"][0][3].arp is not None
    assert [(s, f) for s, f, _n in seq[:3]] == [("client", "SYN"), ("server", "SYN,ACK"),
                                                ("client", "ACK")]


# -- concurrent-server ------------------------------------------------------------------------

def test_concurrent_server_iterative_clients_finish_one_service_time_apart():
    import labs.concurrent_server as cs
    r = cs.measure("iterative", clients=4, workers=2, service="20ms", seed=1)
    times = sorted(r["times_ms"])
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert r["answered"] == 4
    assert all(19.5 < g < 20.5 for g in gaps), gaps


def test_concurrent_server_thread_check_fails_for_an_iterative_server():
    import labs.concurrent_server as cs
    row = cs.measure("iterative", clients=4, workers=2, service="20ms", seed=1)
    result = LabResult("t", "t", {})
    cs.grade(result, [dict(row, model="thread per client")], workers=2, service_ms=20)
    assert _checks(result) == {"thread-per-client makespan ~ 1 x service time (+ network)": False}


def test_concurrent_server_pool_check_fails_when_the_pool_is_smaller_than_assumed():
    import labs.concurrent_server as cs
    row = cs.measure("worker pool", clients=4, workers=1, service="20ms", seed=1)
    result = LabResult("t", "t", {})
    cs.grade(result, [row], workers=4, service_ms=20)  # 4 workers would take 20 ms, 1 takes 80
    assert _checks(result) == {"pool makespan ~ ceil(N/K) x service time": False}


# -- hub-vs-switch: the physics checks over the sweep ----------------------------------------

def _sweep_rows(collisions, goodput, fairness, switch_fairness=1.0):
    """Hub and switch rows for 8 hosts at loads 0.2, 0.8, 1.2, 1.6."""
    rows = []
    for load, c, g, f in zip((0.2, 0.8, 1.2, 1.6), collisions, goodput, fairness):
        rows.append({"device": "hub", "hosts": 8, "load": load, "collisions": c,
                     "goodput_mbps": g, "fairness": f, "not_for_me": 10})
        rows.append({"device": "switch", "hosts": 8, "load": load, "collisions": 0,
                     "goodput_mbps": g, "fairness": switch_fairness, "not_for_me": 0})
    return rows


def _grade_hub(rows):
    import labs.hub_vs_switch as hvs
    demo = {"hub": {"to_h2": 10}, "switch": {"to_h2": 1, "unknown_unicast_floods": 1}}
    result = LabResult("t", "t", {})
    hvs._grade(result, rows, demo, [8], [0.2, 0.8, 1.2, 1.6], "10Mbps")
    return _checks(result)


def test_hub_physics_checks_pass_on_what_a_hub_does():
    checks = _grade_hub(_sweep_rows([30, 900, 560, 340], [1.6, 6.7, 8.3, 8.4],
                                    [0.99, 1.0, 0.94, 0.90]))
    assert checks["hub: collisions rise with the offered load up to saturation"] is True
    assert checks["hub: goodput plateaus below the link rate"] is True
    assert checks["hub: past saturation the stations' shares grow unequal (capture effect)"] is True


def test_hub_collision_check_fails_when_collisions_fall_before_saturation():
    checks = _grade_hub(_sweep_rows([300, 90, 560, 340], [1.6, 6.7, 8.3, 8.4], [1, 1, 0.9, 0.9]))
    assert checks["hub: collisions rise with the offered load up to saturation"] is False


def test_hub_plateau_check_fails_when_goodput_keeps_growing_with_the_load():
    checks = _grade_hub(_sweep_rows([30, 900, 560, 340], [1.6, 6.7, 7.4, 9.9], [1, 1, 0.9, 0.9]))
    assert checks["hub: goodput plateaus below the link rate"] is False


def test_hub_plateau_check_fails_above_the_link_rate():
    checks = _grade_hub(_sweep_rows([30, 900, 560, 340], [1.6, 6.7, 12.0, 12.1], [1, 1, 0.9, 0.9]))
    assert checks["hub: goodput plateaus below the link rate"] is False


def test_hub_capture_effect_check_fails_when_the_shares_stay_equal():
    checks = _grade_hub(_sweep_rows([30, 900, 560, 340], [1.6, 6.7, 8.3, 8.4], [1, 1, 1, 1]))
    assert checks["hub: past saturation the stations' shares grow unequal (capture effect)"] is False
