"""Real-time mode: pacing, lag reports, the hard limit, outside events, and determinism.

Most tests drive :class:`RealtimePacer` with a fake wall clock (``time.sleep`` patched to move
it), so lags are exact and the tests take no wall time; a few run against the real clock with
generous bounds.
"""

from __future__ import annotations

import io
import socket
import threading
import time

import pytest

from netsim import AF_INET, SOCK_DGRAM, Network
from netsim.realworld import realtime as rt
from netsim.realworld.realtime import LagReport, RealtimeLagError, RealtimePacer
from netsim.sim.kernel import Kernel


class FakeClock:
    def __init__(self) -> None:
        self.ns = 1_000_000_000

    def __call__(self) -> int:
        return self.ns

    def sleep(self, seconds: float) -> None:
        self.ns += round(seconds * 1e9)


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(rt.time, "sleep", fake.sleep)
    return fake


def test_paced_events_run_when_the_wall_clock_reaches_their_time(clock):
    kernel = Kernel()
    kernel.pacer = RealtimePacer(clock=clock)
    seen = []
    for t in (5_000_000, 20_000_000, 20_000_000, 70_000_000):
        kernel.call_at(t, lambda: seen.append((kernel.now, clock.ns - 1_000_000_000)))
    kernel.run()
    # each event ran exactly when wall time (from the start of the run) equalled its time
    assert seen == [(5_000_000, 5_000_000), (20_000_000, 20_000_000), (20_000_000, 20_000_000),
                    (70_000_000, 70_000_000)]
    assert kernel.pacer.lag.max_ns == 0


def test_until_runs_to_the_wall_clock_time_even_when_idle(clock):
    kernel = Kernel()
    kernel.pacer = RealtimePacer(clock=clock)
    kernel.run(until_ns=300_000_000)
    assert kernel.now == 300_000_000
    assert clock.ns - 1_000_000_000 == 300_000_000


def test_lag_is_how_late_an_event_starts_max_and_mean(clock):
    kernel = Kernel()
    pacer = kernel.pacer = RealtimePacer(clock=clock)
    # the event at 10 ms takes 30 ms of wall time: the event due at 20 ms starts 20 ms late
    kernel.call_at(10_000_000, clock.sleep, 0.030)
    kernel.call_at(20_000_000, lambda: None)
    kernel.call_at(100_000_000, lambda: None)
    kernel.run()
    assert pacer.lag.samples == 3
    assert pacer.lag.max_ns == 20_000_000 and pacer.lag.max_at_ns == 20_000_000
    assert pacer.lag.mean_ns == pytest.approx(20_000_000 / 3)
    text = str(pacer.lag)
    assert "best effort" in text and "max 20.000 ms" in text and "mean 6.667 ms" in text


def test_hard_limit_aborts_with_a_message_naming_the_lag_and_the_limit(clock):
    net = Network()
    net.realtime(True, max_lag="10ms")
    net.kernel.pacer.clock = clock
    net.kernel.call_at(1_000_000, clock.sleep, 0.025)      # a 25 ms computation
    net.kernel.call_at(2_000_000, lambda: None)
    with pytest.raises(RealtimeLagError) as info:
        net.run()
    msg = str(info.value)
    assert "24.000 ms behind the wall clock at t=2.000ms" in msg
    assert "hard limit of 10.000 ms" in msg and "\n" not in msg


def test_best_effort_goes_on_past_any_lag(clock):
    net = Network()
    net.realtime(True)
    net.kernel.pacer.clock = clock
    net.kernel.call_at(1_000_000, clock.sleep, 0.5)
    done = []
    net.kernel.call_at(2_000_000, done.append, 1)
    net.run()
    assert done == [1] and net.lag.max_ns == 499_000_000


def test_run_realtime_is_for_that_run_only():
    net = Network()
    net.run(until="1ms", realtime=True)
    assert net.kernel.pacer is None
    net.realtime(True)
    assert net.kernel.pacer is not None
    net.run(until="2ms", realtime=False)
    assert net.kernel.pacer is not None          # the network's own setting is back
    net.realtime(False)
    assert net.kernel.pacer is None


def test_max_lag_alone_asks_for_real_time():
    net = Network()
    t0 = time.monotonic()
    net.run(until="0.1s", max_lag="1s")
    assert time.monotonic() - t0 >= 0.09
    assert net.lag.samples >= 1 and net.kernel.pacer is None
    assert net.lag.limit_ns is None       # the limit was for that run


def _ping_net(seed: int = 3) -> Network:
    net = Network(seed=seed)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    net.link(h1, h2, delay="1ms", loss=0.2)
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")

    def talk(host):
        s = host.socket(AF_INET, SOCK_DGRAM)
        for i in range(20):
            s.sendto(b"%d" % i, ("10.0.0.2", 7))
            host.sleep(0.005)
    h1.spawn_with_host(talk)
    h1.spawn_with_host(lambda h: h.ping("10.0.0.2", count=3, interval=0.02))
    return net


def test_real_time_run_gives_the_same_capture_as_a_normal_one():
    """The documented promise: with nothing external attached, pacing changes nothing."""
    captures = []
    for realtime in (False, True):
        net = _ping_net()
        buf = io.BytesIO()
        with net.capture(buf):
            net.run(until="0.15s", realtime=realtime)
        captures.append(buf.getvalue())
    assert len(captures[0]) > 2000
    assert captures[0] == captures[1]


def test_real_time_takes_the_virtual_duration_in_wall_time():
    net = _ping_net()
    t0 = time.monotonic()
    net.run(until="0.2s", realtime=True)
    wall = time.monotonic() - t0
    assert 0.19 <= wall < 1.5
    assert net.lag.samples > 10


def test_an_outside_event_enters_at_the_current_virtual_time():
    """A datagram on a watched socket is scheduled at the virtual time it arrived."""
    net = Network()
    net.realtime(True)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.setblocking(False)
    got = []

    def readable(arrival):
        data = a.recv(100)
        net.kernel.call_at(arrival, lambda: got.append((net.now, arrival, data)))
        return 1
    net.kernel.pacer.watch(a, readable)
    threading.Timer(0.1, b.send, (b"hello",)).start()
    net.run(until="1s")
    net.kernel.pacer.unwatch(a)
    a.close()
    b.close()
    assert len(got) == 1
    now, arrival, data = got[0]
    assert data == b"hello" and now == arrival
    assert 90_000_000 <= arrival <= 900_000_000    # wide: a loaded machine wakes late
    assert net.lag.external_events == 1


def test_idle_with_a_source_waits_for_it_and_realtime_cannot_be_switched_off():
    net = Network()
    a, b = socket.socketpair()
    a.setblocking(False)
    world = __import__("netsim.realworld.world", fromlist=["realworld_of"]).realworld_of(net)

    def readable(arrival):
        a.recv(100)
        net.kernel.call_at(arrival, net.kernel.stop)
        return 1
    world.pacer.watch(a, readable)
    world.set_realtime(True)
    with pytest.raises(ValueError, match="must be real time"):
        net.realtime(False)
    threading.Timer(0.05, b.send, (b"x",)).start()
    t0 = time.monotonic()
    net.run()                 # idle, but a source is watched: waits for it, then stops
    assert time.monotonic() - t0 >= 0.04
    world.pacer.unwatch(a)
    a.close()
    b.close()


def test_lag_reports_merge_for_a_lab():
    a, b = LagReport(), LagReport()
    a.add(1_000_000, 5)
    b.add(3_000_000, 7)
    b.add(0, 8)
    a.merge(b)
    assert (a.samples, a.max_ns, a.max_at_ns) == (3, 3_000_000, 7)
    assert a.to_dict()["mean_ns"] == round(4_000_000 / 3)
