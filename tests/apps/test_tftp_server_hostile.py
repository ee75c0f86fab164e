"""The real-socket TFTP server against hostile clients (issue 10): short and broken packets,
huge requests, absurd options, traversal, FIFOs and devices, UTF-8 names, clients that vanish,
200 requests at once and a storm of mutated packets. After every attack a normal download
must still succeed, from a fresh client."""

from __future__ import annotations

import os
import random
import selectors
import socket
import stat

import pytest

from netsim.apps.tftp.os_driver import TftpServer
from netsim.wire import tftp
from netsim.wire.tftp import Ack, Data, Error, OAck
from tests.kits.tftp import HELLO, Raw, healthy, request, wait_until

X_BIN = bytes(range(256)) * 5          # 1280 bytes: three blocks of 512


@pytest.fixture
def root(tmp_path):
    d = tmp_path / "root"
    d.mkdir()
    (d / "hello.txt").write_bytes(HELLO)
    (d / "sub").mkdir()
    (d / "sub" / "x.bin").write_bytes(X_BIN)
    (d / "empty.bin").write_bytes(b"")
    (tmp_path / "secret").write_bytes(b"secret")
    os.symlink(tmp_path / "secret", d / "escape")
    os.symlink("loop", d / "loop")
    return d


@pytest.fixture
def server(root):
    # Short timers so that abandoned transfers are cleaned up within a second.
    with TftpServer(root, port=0, allow_write=True, max_file_size=100_000, timeout=0.1,
                    max_retries=2, dally=0.2) as srv:
        yield srv
        healthy(srv)


def replies(raw: Raw, wait: float = 0.3) -> list:
    """Every datagram that comes back until ``wait`` seconds pass in silence."""
    out = []
    while True:
        try:
            out.append(raw.reply(wait))
        except TimeoutError:
            return out


# -- malformed requests -----------------------------------------------------------------------


def short_packets() -> list[bytes]:
    out = [b""] + [bytes([b]) for b in range(256)]
    for op in (*range(0, 9), 0x00FF, 0xFFFF):
        two = op.to_bytes(2, "big")
        out += [two, two + b"\0", two + b"x", two + b"\xff"]
    return out


def test_packets_of_0_to_3_bytes_get_error_4_or_silence(server):
    packets = short_packets()
    got = []
    with Raw(server.address) as raw:
        for i in range(0, len(packets), 50):      # in batches: no socket buffer overflows
            for p in packets[i:i + 50]:
                raw.send(p)
            got += replies(raw, 0.2)
    answered = [p for p in packets if p[:2] != b"\x00\x05"]     # an ERROR is never answered
    assert len(got) == len(answered)
    assert all(isinstance(r, Error) and r.code == tftp.ERR_ILLEGAL for r in got)


@pytest.mark.parametrize("payload", [
    b"\x00\x01hello.txt",                                  # name without its NUL
    b"\x00\x01hello.txt\x00",                              # no mode
    b"\x00\x01hello.txt\x00octet",                         # mode without its NUL
    b"\x00\x01hello.txt\x00octet\x00blksize",              # option name without NUL
    b"\x00\x01hello.txt\x00octet\x00blksize\x00",          # option without value
    b"\x00\x01hello.txt\x00octet\x00blksize\x001024",      # value without NUL
    b"\x00\x02new.bin\x00oct",                             # WRQ, mode cut short
    b"\x00\x01\x00\x00",                                   # empty name and mode
    b"\x00\x01\x00octet\x00",                              # empty name
])
def test_unterminated_or_missing_strings_get_error_4(server, payload):
    with Raw(server.address) as raw:
        reply = raw.ask(payload)
    assert isinstance(reply, Error) and reply.code in (tftp.ERR_ILLEGAL, tftp.ERR_ACCESS)


def test_64k_request_and_1000_options_are_refused(server):
    with Raw(server.address) as raw:
        big = raw.ask(request(tftp.RRQ, b"a" * 65_000))
        full = raw.ask(b"\x00\x01" + os.urandom(65_505))        # the largest UDP datagram
        opts = tuple((b"o%d" % i, b"%d" % i) for i in range(1000))
        many = raw.ask(request(tftp.RRQ, b"hello.txt", options=opts))
        dup = raw.ask(request(tftp.RRQ, b"hello.txt", options=((b"blksize", b"512"),) * 40))
    assert all(isinstance(r, Error) and r.code == tftp.ERR_ILLEGAL for r in (big, full, many, dup))


def test_many_unknown_options_within_512_bytes_are_ignored(server):
    opts = tuple((b"x%d" % i, b"y") for i in range(60))
    with Raw(server.address) as raw:
        data, oack = raw.download(b"hello.txt", opts)
    assert data == HELLO and oack is None          # RFC 2347: unknown options are dropped


def test_modes_other_than_octet_and_netascii_are_refused(server):
    with Raw(server.address) as raw:
        codes = [raw.ask(request(tftp.RRQ, b"hello.txt", mode)).code
                 for mode in (b"mail", b"MAIL", b"", b"octet\xff", b"binary")]
    assert codes == [tftp.ERR_ILLEGAL] * 5


# -- option edges (RFC 2347-2349, 7440) -------------------------------------------------------


@pytest.mark.parametrize("option, value, answer", [
    (b"blksize", b"7", None), (b"blksize", b"8", b"8"), (b"blksize", b"65464", b"65464"),
    (b"blksize", b"65465", None), (b"blksize", b"0", None), (b"blksize", b"-1", None),
    (b"blksize", b"", None), (b"blksize", b"abc", None), (b"blksize", b" 512", None),
    (b"blksize", b"512 ", None), (b"blksize", b"1e3", None), (b"blksize", b"9" * 30, None),
    (b"blksize", "٥١٢".encode(), None), (b"BLKSIZE", b"1024", b"1024"),
    (b"windowsize", b"0", None), (b"windowsize", b"1", b"1"), (b"windowsize", b"65535", b"64"),
    (b"windowsize", b"65536", None), (b"windowsize", b"-1", None),
    (b"tsize", b"0", b"1280"), (b"tsize", b"1", b"1280"), (b"tsize", b"-1", None),
    (b"tsize", b"99999999999999999999", b"1280"), (b"tsize", b"x", None),
    (b"timeout", b"0", None), (b"timeout", b"1", b"1"), (b"timeout", b"255", b"255"),
    (b"timeout", b"256", None),
])
def test_download_option_edges(server, option, value, answer):
    with Raw(server.address) as raw:
        data, oack = raw.download(b"sub/x.bin", ((option, value),))
    assert data == X_BIN
    if answer is None:
        assert oack is None
    else:
        assert oack is not None and oack.options == ((option.decode(), answer.decode()),)


def test_tsize_of_an_empty_file_is_left_out(server):
    with Raw(server.address) as raw:
        data, oack = raw.download(b"empty.bin", ((b"tsize", b"0"),))
    assert data == b"" and oack is None            # curl takes "tsize 0" for an error


@pytest.mark.parametrize("value, code", [(b"100001", tftp.ERR_DISK_FULL),
                                         (b"99999999999999999999", tftp.ERR_DISK_FULL)])
def test_upload_tsize_above_the_limit_is_refused(server, root, value, code):
    with Raw(server.address) as raw:
        reply = raw.ask(request(tftp.WRQ, b"big.bin", options=((b"tsize", value),)))
    assert isinstance(reply, Error) and reply.code == code
    assert not (root / "big.bin").exists()


def test_smallest_block_size_upload_and_download(server, root):
    with Raw(server.address) as raw:
        assert isinstance(raw.upload(b"tiny.bin", X_BIN[:100], ((b"blksize", b"8"),), 8), Ack)
    assert (root / "tiny.bin").read_bytes() == X_BIN[:100]
    with Raw(server.address) as raw:
        assert raw.download(b"tiny.bin", ((b"blksize", b"8"),))[0] == X_BIN[:100]


def test_oversized_data_block_ends_the_upload_with_error_4(server, root):
    with Raw(server.address) as raw:
        assert isinstance(raw.ask(request(tftp.WRQ, b"over.bin")), Ack)
        raw.send(Data(1, b"x" * 600).encode(), raw.tid)
        reply = raw.reply()
    assert isinstance(reply, Error) and reply.code == tftp.ERR_ILLEGAL
    assert wait_until(lambda: not server._transfers)
    assert not (root / "over.bin").exists()


# -- names ------------------------------------------------------------------------------------


TRAVERSALS = [
    b"../secret", b"sub/../../secret", b"..", b".", b"/", b"//", b"/etc/passwd",
    b"//etc/passwd", b"/../../etc/passwd", b"..\\secret", b"sub\\..\\..\\secret", b"escape",
    b"escape/", b"sub/./../../secret", b"a\x01b", b"\x7f", b"\x1b[2J", b"loop",
    b"\xc0\xae\xc0\xae/secret", b"%2e%2e/secret", b"~/secret", b"sub/../..",
]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_traversal_forms_never_leave_the_root(server, root, name):
    with Raw(server.address) as raw:
        got = raw.ask(request(tftp.RRQ, name))
    with Raw(server.address) as raw:
        put = raw.upload(name + b".new", b"evil")
    assert isinstance(got, Error) and got.code in (tftp.ERR_NOT_FOUND, tftp.ERR_ACCESS), got
    if isinstance(put, Ack):               # a harmless literal name ("...new") in the root
        assert os.path.realpath(root / os.fsdecode(name + b".new")).startswith(str(root))
    else:
        assert put.code in (tftp.ERR_NOT_FOUND, tftp.ERR_ACCESS), put
    assert (root.parent / "secret").read_bytes() == b"secret"
    assert sorted(os.listdir(root.parent)) == ["root", "secret"]


def test_absolute_name_of_the_root_itself_is_refused(server, root):
    with Raw(server.address) as raw:
        reply = raw.ask(request(tftp.RRQ, os.fsencode(os.path.realpath(root))))
    assert isinstance(reply, Error) and reply.code == tftp.ERR_ACCESS


def test_utf8_names_are_bytes_end_to_end(server, root):
    (root / "café.txt").write_bytes(b"coffee")
    with Raw(server.address) as raw:
        assert raw.download("café.txt".encode())[0] == b"coffee"
    for name in ("naïve.txt".encode(), b"caf\xe9.bin", b"a\\b.txt", "日本語.bin".encode()):
        with Raw(server.address) as raw:
            assert isinstance(raw.upload(name, b"data " + name), Ack)
        assert name in os.listdir(os.fsencode(root))             # stored exactly as sent
        with Raw(server.address) as raw:
            assert raw.download(name)[0] == b"data " + name
    assert not (root / "a").exists()                  # the backslash was not made a separator


def test_latin1_name_is_not_found_as_utf8(server, root):
    (root / "café.txt").write_bytes(b"coffee")
    with Raw(server.address) as raw:
        reply = raw.ask(request(tftp.RRQ, b"caf\xe9.txt"))       # other bytes: another name
    assert isinstance(reply, Error) and reply.code == tftp.ERR_NOT_FOUND


# -- special files ----------------------------------------------------------------------------


def test_fifo_is_refused_without_blocking_the_server(server, root):
    os.mkfifo(root / "fifo")
    with Raw(server.address, wait=1.0) as raw:
        got = raw.ask(request(tftp.RRQ, b"fifo"), wait=1.0)
        put = raw.ask(request(tftp.WRQ, b"fifo"), wait=1.0)
    assert isinstance(got, Error) and got.code == tftp.ERR_ACCESS
    assert isinstance(put, Error) and put.code == tftp.ERR_ACCESS
    assert stat.S_ISFIFO(os.lstat(root / "fifo").st_mode)


def test_fifo_with_overwrite_allowed_is_refused_too(root):
    os.mkfifo(root / "fifo")
    with TftpServer(root, port=0, allow_write=True, allow_overwrite=True) as srv:
        with Raw(srv.address, wait=1.0) as raw:
            put = raw.ask(request(tftp.WRQ, b"fifo"), wait=1.0)
        healthy(srv)
    assert isinstance(put, Error) and put.code == tftp.ERR_ACCESS


def test_device_node_is_refused(server, root):
    try:
        os.mknod(root / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    with Raw(server.address) as raw:
        reply = raw.ask(request(tftp.RRQ, b"null"))
    assert isinstance(reply, Error) and reply.code == tftp.ERR_ACCESS


def test_upload_to_a_directory_name_is_an_access_error(server):
    with Raw(server.address) as raw:
        reply = raw.ask(request(tftp.WRQ, b"sub"))
    assert isinstance(reply, Error) and reply.code == tftp.ERR_ACCESS


# -- clients that vanish ----------------------------------------------------------------------


def test_client_vanishing_after_rrq_is_cleaned_up(server):
    with Raw(server.address) as raw:
        assert isinstance(raw.ask(request(tftp.RRQ, b"sub/x.bin")), Data)
    assert wait_until(lambda: not server._transfers, 3)
    assert server.completed[-1][3].startswith("failed")


def test_client_vanishing_after_an_oack_is_cleaned_up(server):
    with Raw(server.address) as raw:
        assert isinstance(raw.ask(request(tftp.RRQ, b"sub/x.bin",
                                          options=((b"blksize", b"1024"),))), OAck)
    assert wait_until(lambda: not server._transfers, 3)


def test_client_vanishing_mid_upload_leaves_no_file(server, root):
    with Raw(server.address) as raw:
        assert isinstance(raw.ask(request(tftp.WRQ, b"half.bin")), Ack)
        for n in (1, 2, 3):
            raw.send(Data(n, b"x" * 512).encode(), raw.tid)
            assert raw.reply() == Ack(n)
    assert wait_until(lambda: not server._transfers, 3)
    assert sorted(os.listdir(root)) == ["empty.bin", "escape", "hello.txt", "loop", "sub"]


def test_client_sending_error_mid_transfer_is_released_at_once(server):
    with Raw(server.address) as raw:
        assert isinstance(raw.ask(request(tftp.RRQ, b"sub/x.bin")), Data)
        raw.send(Error(0, "bye").encode(), raw.tid)
    assert wait_until(lambda: not server._transfers, 0.5)


def test_malformed_packet_mid_transfer_ends_it_with_error_4(server):
    with Raw(server.address) as raw:
        assert isinstance(raw.ask(request(tftp.RRQ, b"sub/x.bin")), Data)
        raw.send(b"\x00", raw.tid)
        reply = raw.reply()
    assert isinstance(reply, Error) and reply.code == tftp.ERR_ILLEGAL


# -- many at once -----------------------------------------------------------------------------


def _many_downloads(address, count: int) -> dict[int, bytes | Error]:
    """``count`` clients ask for sub/x.bin at the same moment and run lock-step side by side."""
    sel = selectors.DefaultSelector()
    socks, got = [], {}
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
        socks.append(s)
        got[i] = b""
    for s in socks:
        s.sendto(request(tftp.RRQ, b"sub/x.bin"), address)
    done: set[int] = set()
    try:
        while len(done) < count:
            events = sel.select(3)
            assert events, f"{count - len(done)} clients got no answer"
            for key, _ in events:
                i, s = key.data, key.fileobj
                payload, tid = s.recvfrom(2000)
                pkt = tftp.decode(payload)
                if isinstance(pkt, Error):
                    got[i] = pkt
                    done.add(i)
                    continue
                got[i] += pkt.data
                s.sendto(Ack(pkt.block).encode(), tid)
                if len(pkt.data) < 512:
                    done.add(i)
    finally:
        for s in socks:
            s.close()
        sel.close()
    return got


def test_200_concurrent_downloads_all_complete(root):
    with TftpServer(root, port=0, max_sessions=256, max_per_client=256) as srv:
        got = _many_downloads(srv.address, 200)
        assert all(v == X_BIN for v in got.values())
        assert wait_until(lambda: not srv._transfers)
        healthy(srv)


def test_200_concurrent_requests_beyond_the_limits_are_each_answered(server):
    got = _many_downloads(server.address, 200)
    refused = [v for v in got.values() if isinstance(v, Error)]
    served = [v for v in got.values() if not isinstance(v, Error)]
    assert len(served) >= server.max_per_client and all(v == X_BIN for v in served)
    assert refused and all(e.code == tftp.ERR_UNDEFINED for e in refused)


# -- a storm of everything at once ------------------------------------------------------------


def _mutations(rng: random.Random) -> bytes:
    valid = [request(tftp.RRQ, b"hello.txt"), request(tftp.WRQ, b"storm.bin"),
             request(tftp.RRQ, b"sub/x.bin", options=((b"blksize", b"1024"), (b"tsize", b"0"))),
             Ack(1).encode(), Data(1, b"abc").encode(), Error(0, "x").encode(), OAck().encode()]
    kind = rng.randrange(4)
    if kind == 0:
        return rng.randbytes(rng.randrange(0, 700))
    p = bytearray(rng.choice(valid))
    if kind == 1:
        for _ in range(rng.randrange(1, 4)):
            p[rng.randrange(len(p))] = rng.randrange(256)
    elif kind == 2:
        del p[rng.randrange(len(p)):]
    else:
        p[2:2] = rng.randbytes(rng.randrange(1, 40))
    return bytes(p)


def test_storm_of_mixed_hostile_packets(server, root):
    rng = random.Random(1350)
    with Raw(server.address, wait=0.5) as victim, Raw(server.address, wait=0.5) as raw:
        # live transfers whose TIDs the storm also hits
        assert isinstance(victim.ask(request(tftp.RRQ, b"sub/x.bin")), Data)
        tids = [victim.tid]
        for i in range(3000):
            raw.send(_mutations(rng), tids[0] if i % 5 == 0 else None)
            if i % 100 == 0:
                replies(raw, 0.001)
        replies(raw, 0.1)
    assert wait_until(lambda: not server._transfers, 5)
    healthy(server)
    assert not [n for n in os.listdir(root) if n.endswith(".part")]
