"""Live capture: a pcapng stream to any binary file object, stdout or a FIFO, as frames happen.

The stream must carry what the file capture carries (same blocks: interface names, comments,
directions), be readable while it grows, and survive its reader going away with one line.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from netsim import AF_INET, SOCK_DGRAM, Network
from netsim.capture import read_capture
from netsim.realworld.live import LiveCapture, LiveReaderGone, LiveStream
from tests.kits.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
TOPO = ROOT / "examples" / "topologies" / "three_subnets_line.yaml"


def _net() -> Network:
    net = Network(seed=2)
    h1, h2, s1 = net.add_host("h1"), net.add_host("h2"), net.add_switch("s1")
    net.link(h1, s1)
    net.link(h2, s1)
    h1.set_ip("10.0.0.1/24")
    h2.set_ip("10.0.0.2/24")

    def listen(host):
        s = host.socket(AF_INET, SOCK_DGRAM)
        s.bind(("", 9))
        while True:
            s.recvfrom(100)

    def talk(host):
        s = host.socket(AF_INET, SOCK_DGRAM)
        for i in range(30):
            s.sendto(b"datagram %d" % i, ("10.0.0.2", 9))
            host.sleep(0.001)
    h2.spawn_with_host(listen)
    h1.spawn_with_host(talk)
    return net


def _key(frames) -> list[tuple]:
    return [(f.time_ns, f.data, f.if_name, f.comments, f.direction) for f in frames]


def test_a_stream_gets_the_same_bytes_as_a_file(tmp_path):
    net = _net()
    buf = io.BytesIO()
    with net.capture(tmp_path / "file.pcapng"), net.capture(buf) as live:
        net.run(until="0.1s")
        assert live.frames > 60
    assert buf.getvalue() == (tmp_path / "file.pcapng").read_bytes()


class _Counting(io.RawIOBase):
    """A writable stream recording how many whole bytes had been written at each flush."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.flushed_at: list[int] = []

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.data += b
        return len(b)

    def flush(self) -> None:
        self.flushed_at.append(len(self.data))


def test_each_block_is_written_whole_and_flushed_as_its_frame_happens():
    net = _net()
    out = _Counting()
    seen_when_flushed = []
    with net.capture(out) as live:
        tap = net.nodes["h1"].iface("eth0")

        def check(iface, t, frame, direction, comment):
            # by the time the next frame happens, the previous one is already out
            seen_when_flushed.append(len(list(read_capture(io.BytesIO(bytes(out.data))))))
        tap.taps.insert(0, check)
        net.run(until="0.05s")
    assert live.frames > 20
    # the stream read at any flush is a valid capture ending on a block boundary
    for n in out.flushed_at[:40]:
        list(read_capture(io.BytesIO(bytes(out.data[:n]))))
    assert seen_when_flushed == sorted(seen_when_flushed) and seen_when_flushed[-1] > 10


def test_broken_pipe_continue_says_one_line_and_the_run_goes_on(tmp_path):
    r, w = os.pipe()
    os.close(r)            # nobody will ever read: the very first block meets EPIPE
    lines = []
    stream = LiveStream(os.fdopen(w, "wb", buffering=0), "continue", report=lines.append)
    net = _net()
    live = LiveCapture(net, stream)
    with net.capture(tmp_path / "f.pcapng") as cap:
        net.run(until="0.1s")
    live.close()
    stream.close()
    assert len(lines) == 1 and "went away (broken pipe)" in lines[0] and "goes on" in lines[0]
    assert cap.frames > 60 and stream.broken


def test_broken_pipe_stop_raises_a_one_line_error():
    r, w = os.pipe()
    net = _net()
    lines = []
    wfile = os.fdopen(w, "wb", buffering=0)
    stream = LiveStream(wfile, "stop", report=lines.append)
    LiveCapture(net, stream)
    os.close(r)        # the reader goes away once the stream has started
    with pytest.raises(LiveReaderGone) as info:
        net.run(until="0.1s")
    assert "\n" not in str(info.value) and "stopping the simulation" in str(info.value)
    assert net.now < 100_000_000 and lines == [str(info.value)]
    stream.close()


def _netsim(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "netsim.cli", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


@pytest.mark.parametrize("policy", ["stop", "continue"])
def test_cli_live_reader_gone_is_one_line_never_a_traceback(tmp_path, policy):
    # real time: the pings go on for seconds after the reader has gone
    proc = _netsim("run", str(TOPO), "--duration", "3s", "--out", str(tmp_path), "--live", "-",
                   "--realtime", "--on-broken-pipe", policy)
    proc.stdout.read(4000)         # the reader takes the first ping, then goes away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 0
    assert "Traceback" not in err and "Exception ignored" not in err
    gone = [line for line in err.splitlines() if "broken pipe" in line]
    assert len(gone) == 1
    if policy == "stop":
        assert "stopping the simulation" in gone[0] and "stopped early" in err
    else:
        assert "goes on without it" in gone[0] and "ran 3.000000s" in err
    frames = list(read_capture(tmp_path / "three_subnets_line.pcapng"))
    assert frames                  # the file capture is whole either way


def test_cli_live_fifo_carries_the_file_capture(tmp_path):
    fifo = tmp_path / "live.pcapng"
    got = bytearray()
    proc = _netsim("run", str(TOPO), "--duration", "3s", "--out", str(tmp_path / "out"),
                   "--live", str(fifo))

    def reader() -> None:
        while not fifo.exists():
            threading.Event().wait(0.01)
        with open(fifo, "rb") as f:
            got.extend(f.read())
    t = threading.Thread(target=reader)
    t.start()
    out, err = proc.communicate(timeout=60)
    t.join(10)
    assert proc.returncode == 0, err
    assert b"waiting for a reader on the FIFO" in err
    assert bytes(got) == (tmp_path / "out" / "three_subnets_line.pcapng").read_bytes()
    assert not fifo.exists()       # the FIFO netsim made is removed again


def test_cli_live_refuses_a_regular_file(tmp_path):
    target = tmp_path / "x.pcapng"
    target.write_bytes(b"keep")
    proc = _netsim("run", str(TOPO), "--live", str(target))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and b"is not a FIFO" in err and b"Traceback" not in err
    assert target.read_bytes() == b"keep"


_FIELDS = ["frame.interface_name", "frame.len", "frame.comment", "frame.md5_hash"]


def _tshark_rows(tshark: str, source: list[str], stdin=None) -> list[list[str]]:
    args = [tshark, *source, "-o", "frame.generate_md5_hash:TRUE", "-T", "fields", "-E",
            "separator=|", "-E", "occurrence=a", "-E", "aggregator=;"]
    for f in _FIELDS:
        args += ["-e", f]
    out = subprocess.run(args, stdin=stdin, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [line.split("|") for line in out.stdout.splitlines()]


@pytest.mark.tools
def test_tshark_reading_live_sees_the_file_capture_in_order_with_comments(tmp_path):
    tshark = require_tool("tshark")
    proc = _netsim("run", str(TOPO), "--duration", "3s", "--out", str(tmp_path), "--realtime",
                   "--live", "-")
    live = _tshark_rows(tshark, ["-i", "-"], stdin=proc.stdout)
    assert proc.wait(60) == 0
    frames = list(read_capture(tmp_path / "three_subnets_line.pcapng"))
    want = [[f.if_name, str(len(f.data)), ";".join(f.comments), hashlib.md5(f.data).hexdigest()]
            for f in frames]
    assert len(live) == len(want) > 20
    assert live == want
    assert any(row[2] for row in live)      # comments came through


def test_cli_lab_live_streams_the_labs_captures(tmp_path):
    proc = _netsim("lab", "hub-vs-switch", "--hosts", "2", "--load", "0.2", "--duration", "0.02s",
                   "--out", str(tmp_path), "--live", "-")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"Bystander" in err          # the lab's report went to stderr, stdout is the stream
    live = list(read_capture(io.BytesIO(out)))
    # in the order the lab opens them: the saturated hub run, then the two bystander scenes
    files = [*read_capture(tmp_path / "hub-saturated.pcapng"),
             *read_capture(tmp_path / "hub.pcapng"), *read_capture(tmp_path / "switch.pcapng")]
    assert len(live) > 50 and _key(live) == _key(files)


def test_cli_lab_realtime_reports_the_lag(tmp_path):
    proc = _netsim("lab", "sockets-basics", "--out", str(tmp_path), "--realtime")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode in (0, 1), err.decode()
    assert b"real time (best effort): lag max" in err and b"Traceback" not in err
