"""The timeline netsim exports for the viewer: hops, state deltas, device notes, captures."""

from __future__ import annotations

import pytest

from labs import hub_vs_switch, tcp_handshake
from netsim import AF_INET, SOCK_DGRAM
from netsim.capture import PcapWriter
from netsim.viewer.capture import CaptureMismatch, scene_from_capture
from netsim.viewer.export import record_scene, scene_from_trace
from netsim.viewer.record import Recorder
from tests.kits.stack import lan, pair, three_subnets


def send(host, dst, data=b"x", port=9000):
    def prog(h):
        h.socket(AF_INET, SOCK_DGRAM).sendto(data, (dst, port))
    host.spawn_with_host(prog, at=0.001)


def rows(scene, **want):
    cols = scene["event_columns"]
    out = []
    for i, e in enumerate(scene["events"]):
        ev = dict(zip(cols, e))
        if all(ev[k] == v for k, v in want.items()):
            out.append((i, ev))
    return out


def mac_of(scene, node):
    return next(n for n in scene["topology"]["nodes"] if n["name"] == node)["ifaces"][0]["mac"]


def test_a_hub_fans_out_and_every_copy_is_a_hop_from_the_hub():
    net, _ = hub_vs_switch.build("hub")
    scene = record_scene(net, "hub")
    h2 = mac_of(scene, "h2")
    # The first frame h2 sends: its arrival at the hub causes one copy per other port.
    first = next(i for i, ev in rows(scene, node="h2", kind="tx"))
    hop_in = next(h for h in scene["hops"] if h[0] == first)
    hub_rx = hop_in[1]
    assert scene["events"][hub_rx][1] == "hub1"
    copies = [h for h in scene["hops"] if scene["events"][h[0]][1] == "hub1"
              and h[2] == scene["events"][hub_rx][0] and scene["events"][h[0]][4] ==
              scene["events"][first][4]]
    assert sorted(scene["events"][h[1]][1] for h in copies) == ["h1", "h3"]
    assert all(h[4] == "ok" and h[3] > h[2] for h in copies)
    assert scene["fields"][scene["events"][first][4]]["eth.src"] == h2
    assert "repeats the frame to" in scene["did"][hub_rx]["title"]


def test_the_switch_learns_floods_then_forwards_to_one_port():
    net, _ = hub_vs_switch.build("switch")
    scene = record_scene(net, "switch")
    learned = [(i, ev) for i, ev in rows(scene, node="s1", kind="rx")
               if (ev["note"] or "").startswith("learned")]
    i, ev = learned[0]
    mac = ev["note"].split()[1]
    # The MAC table gets the row at exactly that event.
    assert [d for d in scene["state"]["deltas"] if d[0] == i and d[1] == "mac/s1"] == [
        [i, "mac/s1", mac, [mac, ev["iface"]]]]
    assert scene["did"][i]["title"].startswith(f"s1: learned {mac} on port {ev['iface']}; ")
    assert "broadcast -> flooded to" in scene["did"][i]["title"]
    # Later unicast frames go to one port only.
    forwards = [i for i, ev in rows(scene, node="s1", kind="rx")
                if "-> forwarded to" in scene["did"][i]["title"]]
    assert forwards
    # After the flush (clear mac address-table) the next frame to h2 is an unknown unicast.
    flush = next(i for i, ev in rows(scene, node="s1", kind="mac"))
    after = next(i for i, ev in rows(scene, node="s1", kind="rx") if i > flush)
    assert "destination unknown -> flooded to" in scene["did"][after]["title"]
    gone = [d for d in scene["state"]["deltas"] if d[0] == flush and d[3] is None]
    assert len(gone) == 2  # both learned addresses forgotten at the flush event


def test_a_router_says_ttl_route_and_arp_for_the_next_hop():
    net, (h1, h2, h3), _ = three_subnets()
    send(h1, "10.0.2.1")
    scene = record_scene(net, "routed")
    r1 = [i for i, ev in rows(scene, node="r1", kind="rx")
          if scene["fields"][ev["frame"]].get("ip.dst") == "10.0.2.1"]
    title = scene["did"][r1[0]]["title"]
    assert "TTL 64 -> 63" in title
    assert "route 10.0.2.0/24 via 10.0.1.2 on eth1" in title
    assert "ARP for next hop 10.0.1.2" in title
    out = [i for i, ev in rows(scene, node="r1", kind="tx")
           if scene["fields"][ev["frame"]].get("ip.ttl") == 63]
    assert "forwards on eth1 the datagram received on eth0" in scene["did"][out[0]]["title"]


def test_tcp_state_changes_come_with_the_segment_and_the_ladder():
    net, _ = tcp_handshake.build("normal")
    scene = record_scene(net, "normal")
    states = [ev["note"] for i, ev in rows(scene, kind="state")]
    assert states[:2] == ["h1: CLOSED -> SYN_SENT", "h2: LISTEN -> SYN_RECEIVED"]
    [lad] = scene["tcp"]
    labels = [r[3] for r in lad["rows"]]
    # RFC 7323/2018 options on the SYNs; after them the window field is scaled (WS=4)
    assert labels[:3] == ["[SYN] seq=0 win=65535 MSS=1460 SACK_PERM TS WS=4",
                          "[SYN,ACK] seq=0 ack=1 win=65535 MSS=1460 SACK_PERM TS WS=4",
                          "[ACK] seq=1 ack=1 win=16383"]
    syn_tx = lad["rows"][0][5]
    assert scene["events"][syn_tx][3] == "tx" and "[SYN]" in scene["summaries"][scene["events"][syn_tx][4]]
    tcp_rows = [d for d in scene["state"]["deltas"] if d[1] == "tcp/h1" and d[3] is not None]
    assert tcp_rows[0][3][:3] == ["h1:" + lad["endpoints"][0].split(":")[1], "h2:80", "SYN_SENT"]


def test_a_frame_lost_on_a_link_ends_with_its_reason():
    net, h1, h2 = pair(loss=1.0)
    send(h1, "10.0.0.2")
    scene = record_scene(net, "lossy", until="0.5s")
    lost = [h for h in scene["hops"] if h[4] == "lost"]
    assert lost and all(h[6] == "lost on link" and h[1] == -1 for h in lost)
    assert any(e[3] == "tx" for e in scene["events"])


def test_collided_attempts_are_events_and_hops_that_stop_short():
    net, hub, (h1, h2, h3) = lan(3, device="hub")
    send(h1, "10.0.0.2")
    send(h2, "10.0.0.1")   # both ARP at the same instant: they collide (802.3 CSMA/CD)
    scene = record_scene(net, "collision")
    hits = [h for h in scene["hops"] if h[4] == "collision"]
    assert len(hits) == 2
    for h in hits:
        assert h[1] == -1 and 0 < h[5] < 1 and h[2] < h[3]
        assert scene["events"][h[0]][5].startswith("collided after")


def test_a_network_that_already_ran_is_shown_with_its_final_tables():
    net, _ = hub_vs_switch.build("switch")
    net.run()
    scene = scene_from_trace(net, "after")
    assert "ran before the viewer was attached" in scene["state"]["note"]
    last = len(scene["events"]) - 1
    assert {d[0] for d in scene["state"]["deltas"]} == {last}


def test_the_recorder_stops_at_max_events():
    net, _ = hub_vs_switch.build("switch")
    scene = record_scene(net, "short", max_events=10)
    assert len(scene["events"]) == 10
    assert "stopped after 10 events" in scene["notes"][0]


def test_recording_changes_nothing_in_the_run():
    a, _ = hub_vs_switch.build("switch")
    a.run()
    b, _ = hub_vs_switch.build("switch")
    with Recorder(b):
        b.run()
    assert [repr(e) for e in a.trace] == [repr(e) for e in b.trace]


def _pcap_of(net, path):
    with PcapWriter(str(path)) as w:
        for ev in net.trace:
            if ev.kind == "tx" and ev.node == "h1":
                w.write(ev.time_ns, ev.frame)
    return path


def test_a_classic_pcap_plays_as_a_list_of_interfaces(tmp_path):
    net, _ = hub_vs_switch.build("switch")
    net.run()
    scene = scene_from_capture(_pcap_of(net, tmp_path / "h1.pcap"))
    assert [n["name"] for n in scene["topology"]["nodes"]] == ["if0"]
    assert len(scene["events"]) == sum(1 for e in net.trace if e.kind == "tx" and e.node == "h1")
    assert {e[3] for e in scene["events"]} == {"frame"}
    assert scene["trees"][0][0][0] == "Ethernet II"


def test_a_pcap_on_its_topology_is_matched_by_mac(tmp_path):
    net, _ = hub_vs_switch.build("switch")
    net.run()
    other, _ = hub_vs_switch.build("switch")
    scene = scene_from_capture(_pcap_of(net, tmp_path / "h1.pcap"), other)
    assert {(e[1], e[2], e[3]) for e in scene["events"]} == {("h1", "eth0", "tx")}
    assert {h[4] for h in scene["hops"]} == {"unseen"}  # nobody captured the far end


def test_our_pcapng_on_its_topology_pairs_every_frame(tmp_path):
    net, _ = hub_vs_switch.build("switch")
    path = tmp_path / "all.pcapng"
    with net.capture(path):
        net.run()
    other, _ = hub_vs_switch.build("switch")
    scene = scene_from_capture(path, other)
    assert {h[4] for h in scene["hops"]} == {"ok"}
    assert len(scene["hops"]) == sum(1 for e in scene["events"] if e[3] == "rx")


def test_a_capture_that_does_not_fit_the_topology_names_the_interface(tmp_path):
    net, _ = hub_vs_switch.build("switch")
    path = tmp_path / "all.pcapng"
    with net.capture(path):
        net.run()
    small, _, _ = pair()
    with pytest.raises(CaptureMismatch, match=r"capture interface 's1-eth0' is not in the "
                                              r"topology \(its interfaces: h1-eth0, h2-eth0\)"):
        scene_from_capture(path, small)


def test_net_view_is_a_jupyter_display_object(tmp_path):
    net, _ = hub_vs_switch.build("switch")
    view = net.view(title="lan")
    html = view._repr_html_()
    assert html.startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;') and "allow-scripts" in html
    [scene] = view.doc["scenes"]
    assert scene["source"] == "net.view()" and not scene["state"]["note"]
    assert len({d[0] for d in scene["state"]["deltas"]}) > 5   # recorded as they changed
    assert view.save(tmp_path / "lan.html").read_text() == view.html
    assert repr(view) == "<netsim viewer: lan (lan)>"
    ran, _ = hub_vs_switch.build("switch")
    ran.run()
    assert "ran before the viewer" in ran.view().doc["scenes"][0]["state"]["note"]


def test_a_network_without_a_trace_cannot_be_viewed():
    from netsim import Network
    with pytest.raises(ValueError, match=r"needs the network's trace: make it with "
                                         r"Network\(trace=True\)"):
        Network(trace=False).view()
