"""TFTP codec: golden vectors, round trips, errors, netascii, scapy cross-check, fuzz."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.wire import tftp
from netsim.wire.errors import DecodeError
from netsim.wire.tftp import (
    ACK,
    DATA,
    ERROR,
    OACK,
    RRQ,
    WRQ,
    Ack,
    Data,
    Error,
    OAck,
    Request,
    Unknown,
    decode,
    netascii_decode,
    netascii_encode,
)

RRQ_BLKSIZE = bytes.fromhex(
    "0001"                    # opcode 1 = RRQ
    "626f6f742e696d6700"      # filename "boot.img" NUL
    "6f6374657400"            # mode "octet" NUL
    "626c6b73697a6500"        # option name "blksize" NUL
    "3134363800"              # option value "1468" NUL
)


def test_golden_rrq_with_blksize_decodes_field_by_field():
    value = decode(RRQ_BLKSIZE)
    assert value == Request(RRQ, "boot.img", "octet", (("blksize", "1468"),))
    assert value.encode() == RRQ_BLKSIZE
    assert value.summary() == "Read Request, File: boot.img, Transfer type: octet, blksize=1468"


def test_golden_wrq_plain():
    raw = bytes.fromhex("0002") + b"a\0netascii\0"  # WRQ, "a" NUL, "netascii" NUL
    assert decode(raw) == Request(WRQ, "a", "netascii")
    assert decode(raw).summary() == "Write Request, File: a, Transfer type: netascii"


def test_golden_data_ack_error_oack():
    data = bytes.fromhex("0003" "0001") + b"hello"   # DATA, block 1, 5 data bytes
    ack = bytes.fromhex("0004" "ffff")               # ACK, block 65535
    err = bytes.fromhex("0005" "0001") + b"nope\0"   # ERROR, code 1, "nope" NUL
    oack = bytes.fromhex("0006") + b"blksize\x001468\0"
    assert decode(data) == Data(1, b"hello") and Data(1, b"hello").encode() == data
    assert decode(ack) == Ack(65535) and Ack(65535).encode() == ack
    assert decode(err) == Error(1, "nope") and Error(1, "nope").encode() == err
    assert decode(oack) == OAck((("blksize", "1468"),)) and decode(oack).encode() == oack
    assert decode(data).summary() == "Data Packet, Block: 1"
    assert decode(ack).summary() == "Acknowledgement, Block: 65535"
    assert decode(err).summary() == "Error Code, Code: File not found, Message: nope"
    assert decode(oack).summary() == "Option Acknowledgement, blksize=1468"


def test_empty_data_block_is_valid():
    assert decode(b"\x00\x03\x00\x07") == Data(7, b"")


def test_unknown_opcode_is_data_not_error():
    value = decode(b"\x00\x09abc")
    assert value == Unknown(9, b"abc")
    assert value.encode() == b"\x00\x09abc"


def test_non_ascii_filename_decodes_as_latin1_and_round_trips():
    raw = b"\x00\x01caf\xc3\xa9\0octet\0"
    value = decode(raw)
    assert value.filename == "caf\xc3\xa9"
    assert value.encode() == raw


def test_error_with_trailing_padding_is_tolerated():
    assert decode(b"\x00\x05\x00\x02no\0\0\0") == Error(2, "no")


@pytest.mark.parametrize(
    "raw, field, offset",
    [
        (b"", "opcode", 0),
        (b"\x00", "opcode", 0),
        (b"\x00\x03\x00", "block", 2),
        (b"\x00\x04", "block", 2),
        (b"\x00\x05\x00", "code", 2),
        (b"\x00\x05\x00\x01oops", "message", 4),
        (b"\x00\x01file", "filename", 2),
        (b"\x00\x01file\0", "mode", 7),
        (b"\x00\x01file\0octet", "filename", 7),
        (b"\x00\x01f\0octet\0blksize\0", "options", 10),
        (b"\x00\x06blksize\0", "options", 2),
        (b"\x00\x06blksize\x00512", "options", 10),
    ],
)
def test_malformed_packets_raise_decode_error_naming_field(raw, field, offset):
    with pytest.raises(DecodeError) as info:
        decode(raw)
    assert info.value.layer == "TFTP"
    assert info.value.field == field
    assert info.value.offset == offset


def test_error_names_cover_codes_0_to_8():
    assert [Error(c).name for c in range(9)][8] == "Option negotiation failed"
    assert Error(42).name == "Unknown (42)"
    assert all(c in tftp.ERROR_NAMES for c in range(9))


def test_replace_and_repr():
    a = Ack(1)
    assert a.replace(block=2) == Ack(2)
    assert "block=1" in repr(a)


# -- netascii ---------------------------------------------------------------------------------


def test_netascii_encode_lf_and_cr():
    assert netascii_encode(b"a\nb\rc") == b"a\r\nb\r\0c"


def test_netascii_decode_whole():
    assert netascii_decode(b"a\r\nb\r\0c") == (b"a\nb\rc", False)


def test_netascii_cr_on_last_byte_of_block_then_lf():
    out1, pending = netascii_decode(b"line\r")
    assert (out1, pending) == (b"line", True)
    assert netascii_decode(b"\nnext", pending) == (b"\nnext", False)


def test_netascii_cr_on_last_byte_of_block_then_nul():
    _, pending = netascii_decode(b"x\r")
    assert netascii_decode(b"\0y", pending) == (b"\ry", False)


def test_netascii_split_cr_followed_by_crlf():
    _, pending = netascii_decode(b"\r")
    assert netascii_decode(b"\r\n", pending) == (b"\r\n", False)


def test_netascii_pending_cr_survives_an_empty_block():
    assert netascii_decode(b"", True) == (b"", True)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=6))
def test_netascii_round_trip_across_any_block_cuts(data, cuts):
    wire = netascii_encode(data)
    points = sorted({min(c, len(wire)) for c in cuts} | {0, len(wire)})
    out, pending = [], False
    for a, b in zip(points, points[1:]):
        chunk, pending = netascii_decode(wire[a:b], pending)
        out.append(chunk)
    assert not pending
    assert b"".join(out) == data


# -- round trips, scapy cross-check, fuzz -------------------------------------------------------

_text = st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=20)
_opts = st.lists(st.tuples(_text, _text), max_size=4).map(tuple)
values = st.one_of(
    st.builds(Request, st.sampled_from([RRQ, WRQ]), _text, _text, _opts),
    st.builds(Data, st.integers(0, 65535), st.binary(max_size=600)),
    st.builds(Ack, st.integers(0, 65535)),
    st.builds(Error, st.integers(0, 65535), _text),
    st.builds(OAck, _opts),
    st.builds(Unknown, st.integers(7, 65535), st.binary(max_size=40)),
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_round_trip_every_value(value):
    assert decode(value.encode()) == value


def _scapy_build(value):
    from scapy.layers import tftp as s

    def opts(options):
        return s.TFTP_Options(options=[s.TFTP_Option(oname=n.encode("latin-1"),
                                                     value=v.encode("latin-1")) for n, v in options])

    if isinstance(value, Request):
        cls = s.TFTP_RRQ if value.opcode == RRQ else s.TFTP_WRQ
        pkt = s.TFTP() / cls(filename=value.filename.encode("latin-1"),
                             mode=value.mode.encode("latin-1"))
        return pkt / opts(value.options) if value.options else pkt
    if isinstance(value, Data):
        return s.TFTP() / s.TFTP_DATA(block=value.block) / value.data
    if isinstance(value, Ack):
        return s.TFTP() / s.TFTP_ACK(block=value.block)
    if isinstance(value, Error):
        return s.TFTP() / s.TFTP_ERROR(errorcode=value.code, errormsg=value.message.encode("latin-1"))
    return s.TFTP() / s.TFTP_OACK() / opts(value.options)


_nonempty = st.text(st.characters(min_codepoint=1, max_codepoint=255), min_size=1, max_size=20)
_sopts = st.lists(st.tuples(_nonempty, _nonempty), max_size=4).map(tuple)
scapy_values = st.one_of(
    st.builds(Request, st.sampled_from([RRQ, WRQ]), _nonempty, _nonempty, _sopts),
    st.builds(Data, st.integers(0, 65535), st.binary(max_size=600)),
    st.builds(Ack, st.integers(0, 65535)),
    st.builds(Error, st.integers(0, 65535), _text),
    st.builds(OAck, _sopts.filter(bool)),
)


@settings(max_examples=200, deadline=None)
@given(scapy_values)
def test_our_bytes_equal_scapys_bytes(value):
    from scapy.all import raw

    assert value.encode() == raw(_scapy_build(value))


@settings(max_examples=200, deadline=None)
@given(scapy_values)
def test_we_decode_what_scapy_builds_and_scapy_reads_what_we_build(value):
    from scapy.all import raw
    from scapy.layers import tftp as s

    assert decode(raw(_scapy_build(value))) == value
    parsed = s.TFTP(value.encode())
    assert parsed.op == {Request: value.opcode if isinstance(value, Request) else 0, Data: DATA,
                         Ack: ACK, Error: ERROR, OAck: OACK}[type(value)]
    if isinstance(value, (Data, Ack)):
        assert parsed.payload.block == value.block


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_fuzz_random_bytes_only_ever_raise_decode_error(raw):
    try:
        decode(raw)
    except DecodeError:
        pass


@settings(max_examples=200, deadline=None)
@given(values, st.integers(0, 600), st.integers(0, 255))
def test_fuzz_mutated_packets_only_ever_raise_decode_error(value, pos, byte):
    raw = bytearray(value.encode())
    if raw:
        raw[pos % len(raw)] = byte
        raw = raw[: 1 + pos % (len(raw) + 1)]
    try:
        decode(bytes(raw))
    except DecodeError:
        pass
