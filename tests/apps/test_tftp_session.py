"""Sans-I/O TFTP sessions, fed datagrams and time by hand. Names: <state>_<stimulus>."""

from __future__ import annotations

import io
import random

import pytest

from netsim.apps.tftp import options as opt
from netsim.apps.tftp.session import (
    State,
    client_read,
    client_write,
    server_read,
    server_write,
)
from netsim.sim.units import NS_PER_S
from netsim.wire import tftp
from netsim.wire.tftp import Ack, Data, Error, OAck, Request, decode

C = ("10.0.0.2", 40000)      # client address
S = ("10.0.0.1", 69)         # server well-known port
T = ("10.0.0.1", 50001)      # server transfer ID


def pkts(out):
    return [(decode(b), dest) for b, dest in out]


# -- a tiny two-ended harness ------------------------------------------------------------------


class Pair:
    """Client and server sessions over a fake link; ``drop(n, payload, src)`` loses packets."""

    def __init__(self, client, files=None, drop=None, max_blksize=65464, max_window=64):
        self.client, self.server = client, None
        self.files = files if files is not None else {}
        self.uploads: dict[str, io.BytesIO] = {}
        self.drop = drop or (lambda n, payload, src: False)
        self.max_blksize, self.max_window = max_blksize, max_window
        self.now = 0
        self.sent = 0
        self.log: list[tuple[str, object]] = []

    def _deliver(self, out, src):
        queue = []
        for payload, dest in out:
            self.sent += 1
            self.log.append((src, decode(payload)))
            if not self.drop(self.sent, payload, src):
                queue.append((payload, dest, src))
        return queue

    def _server_for(self, payload):
        req = decode(payload)
        if req.opcode == tftp.RRQ:
            data = self.files[req.filename]
            params = opt.negotiate(req, file_size=len(data), max_blksize=self.max_blksize,
                                   max_windowsize=self.max_window)
            return server_read(req, io.BytesIO(data), C, params)
        params = opt.negotiate(req, max_blksize=self.max_blksize, max_windowsize=self.max_window)
        self.uploads[req.filename] = io.BytesIO()
        return server_write(req, self.uploads[req.filename], C, params)

    def run(self, limit=2_000_000):
        queue = self._deliver(self.client.start(self.now), "client")
        for _ in range(limit):
            if self.client.closed and (self.server is None or self.server.closed):
                return self
            if queue:
                payload, dest, src = queue.pop(0)
                if src == "client":
                    if dest == S:
                        if self.server is None or self.server.closed:
                            self.server = self._server_for(payload)
                            queue += self._deliver(self.server.start(self.now), "server")
                        continue
                    queue += self._deliver(self.server.receive(payload, C, self.now), "server")
                else:
                    queue += self._deliver(self.client.receive(payload, T, self.now), "client")
                continue
            deadlines = [d for d in (self.client.next_deadline(),
                                     self.server and self.server.next_deadline()) if d]
            if not deadlines:
                return self
            self.now = min(deadlines)
            queue += self._deliver(self.client.on_timer(self.now), "client")
            if self.server is not None:
                queue += self._deliver(self.server.on_timer(self.now), "server")
        raise AssertionError("transfer did not end")


def download(data, drop=None, **kw):
    sink = io.BytesIO()
    mode = kw.pop("mode", "octet")
    pair = Pair(client_read("f", sink, S, mode=mode, **kw), {"f": data}, drop).run()
    return pair, sink.getvalue()


# -- whole transfers -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 511, 512, 513, 1024, 5000])
def test_lockstep_download_is_byte_identical(size):
    data = random.Random(size).randbytes(size)
    pair, got = download(data, dally=None)
    assert got == data
    assert pair.client.state is State.DONE and pair.server.state is State.DONE
    assert pair.client.stats.bytes == size


def test_exact_multiple_of_blksize_ends_with_empty_data():
    pair, got = download(b"x" * 1024, dally=None)
    datas = [p for src, p in pair.log if isinstance(p, Data)]
    assert [len(d.data) for d in datas] == [512, 512, 0]


@pytest.mark.parametrize("size", [0, 511, 512, 513, 3000])
def test_lockstep_upload_is_byte_identical(size):
    data = random.Random(size).randbytes(size)
    pair = Pair(client_write("up", io.BytesIO(data), S)).run()
    assert pair.uploads["up"].getvalue() == data
    assert pair.client.state is State.DONE
    assert pair.server.finished


def test_requested_receives_oack_then_acks_block_zero():
    pair, got = download(b"a" * 3000, options=opt.build_request_options(blksize=1468, tsize=0),
                         dally=None)
    kinds = [(src, type(p).__name__) for src, p in pair.log[:4]]
    assert kinds == [("client", "Request"), ("server", "OAck"), ("client", "Ack"),
                     ("server", "Data")]
    assert pair.log[1][1] == OAck((("blksize", "1468"), ("tsize", "3000")))
    assert pair.log[2][1] == Ack(0)
    assert pair.client.blksize == 1468 and pair.client.stats.tsize == 3000
    assert got == b"a" * 3000


def test_windowed_download_acks_once_per_window():
    data = bytes(512 * 20 + 7)
    pair, got = download(data, options=opt.build_request_options(windowsize=4), dally=None)
    assert got == data
    acks = [p for src, p in pair.log if src == "client" and isinstance(p, Ack)]
    # ACK 0 for the OACK, then one per window of 4 blocks (20 full + 1 short = 21 blocks)
    assert [a.block for a in acks] == [0, 4, 8, 12, 16, 20, 21]


def test_windowed_upload_with_rollover_and_loss():
    rng = random.Random(7)
    data = rng.randbytes(8 * 70_000 + 3)
    lost = {50, 51, 300, 9_000}
    client = client_write("w", io.BytesIO(data), S,
                          options=opt.build_request_options(blksize=8, windowsize=8))
    pair = Pair(client, drop=lambda n, p, src: n in lost).run()
    assert pair.uploads["w"].getvalue() == data
    assert client.stats.blocks == 70_001


def test_block_numbers_wrap_65535_to_0():
    data = bytes(8 * 65_537)
    pair, got = download(data, options=opt.build_request_options(blksize=8), dally=None)
    assert got == data
    blocks = [p.block for src, p in pair.log if isinstance(p, Data)]
    assert blocks[65534:65538] == [65535, 0, 1, 2]


@pytest.mark.parametrize("text", [
    b"line1\nline2\r\nbare\rcr\n",
    b"\r" * 1000,
    b"\n" * 600,
    b"a" * 511 + b"\n" + b"b",          # LF at the end of block 1 -> CR ends block 1
    b"a" * 511 + b"\r" + b"c",          # CR at the end of block 1 -> NUL starts block 2
])
def test_netascii_download_and_upload_round_trip_across_block_boundaries(text):
    pair, got = download(text, mode="netascii", dally=None)
    assert got == text
    pair = Pair(client_write("n", io.BytesIO(text), S, mode="netascii")).run()
    assert pair.uploads["n"].getvalue() == text


def test_netascii_wire_bytes_use_cr_lf():
    pair, _ = download(b"a\nb", mode="netascii", dally=None)
    data = [p for src, p in pair.log if isinstance(p, Data)]
    assert data[0].data == b"a\r\nb"


# -- loss, duplication, timers ------------------------------------------------------------------


def _server(data, blksize=512, window=1, timeout=1.0, max_retries=5):
    req = Request(tftp.RRQ, "f", "octet")
    params = opt.Negotiated(blksize=blksize, windowsize=window)
    s = server_read(req, io.BytesIO(data), C, params, timeout=timeout, max_retries=max_retries)
    return s, s.start(0)


def test_sending_lost_data_is_resent_only_after_the_timeout():
    s, out = _server(b"z" * 1500)
    assert pkts(out) == [(Data(1, b"z" * 512), C)]
    assert s.next_deadline() == 1 * NS_PER_S
    assert s.on_timer(NS_PER_S - 1) == []
    assert pkts(s.on_timer(NS_PER_S)) == [(Data(1, b"z" * 512), C)]
    assert s.stats.retransmissions == 1


def test_sending_backoff_doubles_then_gives_up_with_error():
    s, _ = _server(b"z" * 10, max_retries=3)
    times = []
    while not s.closed:
        t = s.next_deadline()
        times.append(t)
        out = s.on_timer(t)
    assert times == [1 * NS_PER_S, 3 * NS_PER_S, 7 * NS_PER_S, 15 * NS_PER_S]
    assert s.state is State.FAILED and s.error.code == 0 and s.error_sent
    assert pkts(out)[0][0].code == tftp.ERR_UNDEFINED


def test_sending_duplicate_ack_sends_no_extra_data():
    # RFC 1123 4.2.3.1: the Sorcerer's Apprentice fix.
    s, _ = _server(b"z" * 2000)
    assert pkts(s.receive(Ack(1).encode(), C, 10)) == [(Data(2, b"z" * 512), C)]
    assert s.receive(Ack(1).encode(), C, 20) == []
    assert s.receive(Ack(1).encode(), C, 30) == []
    assert pkts(s.receive(Ack(2).encode(), C, 40)) == [(Data(3, b"z" * 512), C)]


def test_sending_ack_resets_backoff():
    s, _ = _server(b"z" * 2000)
    s.on_timer(NS_PER_S)
    s.receive(Ack(1).encode(), C, NS_PER_S + 5)
    assert s.next_deadline() == 2 * NS_PER_S + 5


def test_receiving_lost_ack_duplicate_data_is_reacked():
    sink = io.BytesIO()
    c = client_read("f", sink, S, dally=None)
    c.start(0)
    assert pkts(c.receive(Data(1, b"q" * 512).encode(), T, 1)) == [(Ack(1), T)]
    # our ACK 1 was lost; the server times out and sends DATA 1 again
    assert pkts(c.receive(Data(1, b"q" * 512).encode(), T, 2)) == [(Ack(1), T)]
    assert sink.getvalue() == b"q" * 512          # written once


def test_receiving_lost_data_reacks_on_timeout():
    c = client_read("f", io.BytesIO(), S, dally=None)
    c.start(0)
    c.receive(Data(1, b"q" * 512).encode(), T, 100)
    assert pkts(c.on_timer(100 + NS_PER_S)) == [(Ack(1), T)]


def test_requested_no_reply_resends_request_to_well_known_port():
    c = client_read("f", io.BytesIO(), S)
    first = c.start(0)
    assert c.on_timer(NS_PER_S) == first


def test_wrong_tid_gets_error_5_and_transfer_continues():
    sink = io.BytesIO()
    c = client_read("f", sink, S, dally=None)
    c.start(0)
    c.receive(Data(1, b"q" * 512).encode(), T, 1)
    stranger = ("10.0.0.1", 50002)
    out = pkts(c.receive(Data(2, b"evil").encode(), stranger, 2))
    assert out == [(Error(5, "Unknown transfer ID"), stranger)]
    assert c.state is State.RECEIVING
    c.receive(Data(2, b"ok").encode(), T, 3)
    assert sink.getvalue() == b"q" * 512 + b"ok" and c.state is State.DONE


def test_requested_reply_from_other_host_gets_error_5():
    c = client_read("f", io.BytesIO(), S)
    c.start(0)
    out = pkts(c.receive(Data(1, b"x").encode(), ("10.9.9.9", 69), 1))
    assert out[0][0].code == tftp.ERR_UNKNOWN_TID and c.state is State.REQUESTED


def test_dallying_final_data_repeated_is_reacked_then_done():
    c = client_read("f", io.BytesIO(), S, dally=2.0)
    c.start(0)
    assert pkts(c.receive(Data(1, b"end").encode(), T, 10)) == [(Ack(1), T)]
    assert c.state is State.DALLYING and c.finished
    assert pkts(c.receive(Data(1, b"end").encode(), T, 20)) == [(Ack(1), T)]
    assert c.next_deadline() == 10 + 2 * NS_PER_S
    c.on_timer(10 + 2 * NS_PER_S)
    assert c.state is State.DONE


def test_receiving_peer_error_fails_without_answer():
    c = client_read("f", io.BytesIO(), S)
    c.start(0)
    assert c.receive(Error(1, "File not found").encode(), T, 5) == []
    assert c.state is State.FAILED and c.error == Error(1, "File not found")
    assert not c.error_sent


def test_receiving_oversized_block_is_illegal():
    c = client_read("f", io.BytesIO(), S)
    c.start(0)
    out = pkts(c.receive(Data(1, b"x" * 513).encode(), T, 5))
    assert out[0][0].code == tftp.ERR_ILLEGAL and c.state is State.FAILED


def test_receiving_malformed_packet_sends_error_4():
    c = client_read("f", io.BytesIO(), S)
    c.start(0)
    c.receive(Data(1, b"x" * 512).encode(), T, 1)
    out = pkts(c.receive(b"\x00\x05\x00\x01no-terminator", T, 2))
    assert out[0][0].code == tftp.ERR_ILLEGAL


def test_windowed_receiver_acks_gap_once():
    c = client_read("f", io.BytesIO(), S, options=(("windowsize", "4"),), dally=None)
    c.start(0)
    c.receive(OAck((("windowsize", "4"),)).encode(), T, 1)
    assert c.receive(Data(1, b"a" * 512).encode(), T, 2) == []
    assert pkts(c.receive(Data(3, b"c" * 512).encode(), T, 3)) == [(Ack(1), T)]   # 2 lost
    assert c.receive(Data(4, b"d" * 512).encode(), T, 4) == []                     # once only


def test_windowed_sender_ack_inside_window_goes_back():
    s, out = _server(b"w" * 512 * 6, window=4)
    assert [p.block for p, _ in pkts(out)] == [1, 2, 3, 4]
    out = pkts(s.receive(Ack(2).encode(), C, 10))
    assert [p.block for p, _ in out] == [3, 4, 5, 6]


def test_server_write_over_size_limit_is_error_3():
    req = Request(tftp.WRQ, "big", "octet")
    s = server_write(req, io.BytesIO(), C, opt.Negotiated(), max_bytes=600)
    assert pkts(s.start(0)) == [(Ack(0), C)]
    s.receive(Data(1, b"x" * 512).encode(), C, 1)
    out = pkts(s.receive(Data(2, b"x" * 512).encode(), C, 2))
    assert out[0][0].code == tftp.ERR_DISK_FULL and s.state is State.FAILED


def test_oack_sent_lost_is_resent_on_timeout():
    req = Request(tftp.RRQ, "f", "octet", (("blksize", "1024"),))
    params = opt.negotiate(req, file_size=10)
    s = server_read(req, io.BytesIO(b"0123456789"), C, params)
    first = s.start(0)
    assert pkts(first) == [(OAck((("blksize", "1024"),)), C)]
    assert s.on_timer(NS_PER_S) == first
    assert pkts(s.receive(Ack(0).encode(), C, NS_PER_S + 1)) == [(Data(1, b"0123456789"), C)]


def test_oack_sent_client_refuses_with_error_8():
    req = Request(tftp.RRQ, "f", "octet", (("blksize", "1024"),))
    s = server_read(req, io.BytesIO(b"x"), C, opt.negotiate(req, file_size=1))
    s.start(0)
    s.receive(Error(8, "no").encode(), C, 1)
    assert s.state is State.FAILED and s.error.code == 8


# -- client option checks ---------------------------------------------------------------------


def test_requested_unrequested_option_in_oack_is_error_8():
    c = client_read("f", io.BytesIO(), S, options=(("blksize", "1024"),))
    c.start(0)
    out = pkts(c.receive(OAck((("windowsize", "4"),)).encode(), T, 1))
    assert out == [(Error(8, "unrequested option windowsize in OACK"), T)]
    assert c.state is State.FAILED


def test_requested_oack_without_any_request_options_is_error_8():
    c = client_read("f", io.BytesIO(), S)
    c.start(0)
    out = pkts(c.receive(OAck((("blksize", "512"),)).encode(), T, 1))
    assert out[0][0].code == tftp.ERR_OPTIONS


def test_requested_oack_blksize_above_request_is_error_8():
    c = client_read("f", io.BytesIO(), S, options=(("blksize", "1024"),))
    c.start(0)
    out = pkts(c.receive(OAck((("blksize", "2048"),)).encode(), T, 1))
    assert out[0][0].code == tftp.ERR_OPTIONS


def test_requested_error_8_falls_back_to_plain_request():
    sink = io.BytesIO()
    c = client_read("f", sink, S, options=(("blksize", "1024"),), dally=None)
    c.start(0)
    out = pkts(c.receive(Error(8, "no options").encode(), T, 1))
    assert out == [(Request(tftp.RRQ, "f", "octet"), S)]
    c.receive(Data(1, b"plain").encode(), ("10.0.0.1", 50009), 2)
    assert sink.getvalue() == b"plain" and c.state is State.DONE


def test_requested_error_8_without_fallback_fails():
    c = client_read("f", io.BytesIO(), S, options=(("blksize", "1024"),), fallback=False)
    c.start(0)
    c.receive(Error(8, "no options").encode(), T, 1)
    assert c.state is State.FAILED


def test_requested_negotiated_timeout_sets_retransmission_timer():
    c = client_read("f", io.BytesIO(), S, options=(("timeout", "3"),))
    c.start(0)
    c.receive(OAck((("timeout", "3"),)).encode(), T, 10)
    assert c.next_deadline() == 10 + 3 * NS_PER_S


# -- times go through parse_time -------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda **kw: client_read("f", io.BytesIO(), S, **kw),
    lambda **kw: client_write("f", io.BytesIO(b"x"), S, **{k: v for k, v in kw.items()
                                                           if k != "dally"}),
    lambda **kw: server_read(Request(tftp.RRQ, "f", "octet"), io.BytesIO(b"x"), C,
                             opt.Negotiated(), **{k: v for k, v in kw.items() if k != "dally"}),
    lambda **kw: server_write(Request(tftp.WRQ, "f", "octet"), io.BytesIO(), C,
                              opt.Negotiated(), **kw),
], ids=["client_read", "client_write", "server_read", "server_write"])
def test_every_factory_takes_times_as_strings_or_seconds(make):
    # Bug: ``int(timeout * SECOND)`` with timeout="2s" repeated the string 10**9 times (2 GB)
    # before int() refused it. Times now go through parse_time, like every public time.
    assert make(timeout="2s", dally="500ms").rto_ns == 2 * NS_PER_S
    assert make(timeout=0.25, dally=1).rto_ns == NS_PER_S // 4
    with pytest.raises(ValueError, match="unknown time unit"):
        make(timeout="2 parsecs")


def test_dally_given_as_a_string_lingers_that_long():
    c = client_read("f", io.BytesIO(), S, dally="300ms")
    c.start(0)
    c.receive(Data(1, b"end").encode(), T, 10)
    assert c.state is State.DALLYING and c.next_deadline() == 10 + 300_000_000


# -- server option policy (options.negotiate) -----------------------------------------------------


def _neg(options, opcode=tftp.RRQ, mode="octet", **kw):
    return opt.negotiate(Request(opcode, "f", mode, options), **kw)


@pytest.mark.parametrize("value, acked", [
    ("7", None), ("8", "8"), ("512", "512"), ("65464", "1468"), ("65465", None),
    ("abc", None), ("", None), ("-8", None), ("+8", None), ("\u00b2", None),
])
def test_negotiate_blksize_edges(value, acked):
    n = _neg((("blksize", value),), file_size=10, max_blksize=1468)
    assert n.oack == ((("blksize", acked),) if acked else ())


@pytest.mark.parametrize("value, acked", [("0", None), ("1", "1"), ("255", "255"),
                                          ("256", None)])
def test_negotiate_timeout_edges(value, acked):
    n = _neg((("timeout", value),), file_size=10)
    assert n.oack == ((("timeout", acked),) if acked else ())


@pytest.mark.parametrize("value, acked", [("0", None), ("1", "1"), ("16", "16"),
                                          ("65535", "64"), ("65536", None)])
def test_negotiate_windowsize_edges(value, acked):
    n = _neg((("windowsize", value),), file_size=10)
    assert n.oack == ((("windowsize", acked),) if acked else ())


def test_negotiate_tsize_rrq_answers_size_but_never_zero():
    assert _neg((("tsize", "0"),), file_size=1234).oack == (("tsize", "1234"),)
    assert _neg((("tsize", "0"),), file_size=0).oack == ()


def test_negotiate_tsize_left_out_in_netascii():
    assert _neg((("tsize", "0"),), mode="netascii", file_size=99).oack == ()


def test_negotiate_tsize_wrq_over_limit_is_error_3():
    with pytest.raises(opt.OptionError) as info:
        _neg((("tsize", "1000"),), opcode=tftp.WRQ, max_file_size=999)
    assert info.value.code == tftp.ERR_DISK_FULL
    assert _neg((("tsize", "999"),), opcode=tftp.WRQ, max_file_size=999).oack == (("tsize", "999"),)


def test_negotiate_unknown_options_dropped_and_order_kept():
    n = _neg((("tsize", "0"), ("foo", "1"), ("BLKSIZE", "1024")), file_size=5)
    assert n.oack == (("tsize", "5"), ("BLKSIZE", "1024"))


def test_negotiate_duplicate_option_is_error_4():
    with pytest.raises(opt.OptionError) as info:
        _neg((("blksize", "1024"), ("BlkSize", "512")), file_size=5)
    assert info.value.code == tftp.ERR_ILLEGAL
