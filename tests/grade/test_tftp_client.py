"""netsim grade tftp-client: the reference downloader scores full marks; the seed's downloader
and broken variants of the reference fail exactly the items their flaw is about, with the
frames and timings that show it (RFC 1350, RFC 1123 4.2.3.1)."""

from __future__ import annotations

import pytest

from tests.kits.grade import GRADE, SEED, card, evidence, statuses, variant

REFERENCE = GRADE / "tftp_client.py"
FAST = ["rrq", "tid", "intact", "final-ack", "loss", "lost-ack", "duplicate", "reorder", "sas",
        "wrong-tid", "error"]


def test_the_reference_downloader_passes_every_item(tmp_path):
    c = card("tftp-client", REFERENCE, tmp_path, only=FAST)
    assert c.passed, c.text()
    assert set(statuses(c).values()) == {"pass"}
    # The evidence points into the captures written for the student.
    assert "wrong-tid.pcapng frame" in evidence(c, "wrong-tid") and "ERROR 5" in evidence(c, "wrong-tid")
    assert (tmp_path / "captures" / "size-513.pcapng").stat().st_size > 0
    assert "RRQ again after 1.00 s" in evidence(c, "loss")


@pytest.mark.slow
def test_the_reference_downloader_survives_block_number_rollover(tmp_path):
    c = card("tftp-client", REFERENCE, tmp_path, only=["rollover"])
    assert statuses(c) == {"rollover": "pass"}, c.text()
    assert "DATA 0 (block 65,536) -> ACK 0" in evidence(c, "rollover")
    assert "33,555,432 bytes identical" in evidence(c, "rollover")
    run = c.scenarios[0]
    assert run.left_out > 100_000 and run.frames < 40     # the capture keeps only the edges


@pytest.mark.slow
def test_a_client_that_forgets_to_wrap_block_numbers_stalls_at_65536(tmp_path):
    prog = variant(tmp_path, REFERENCE, "no_wrap.py",
                   ("if number == expect & 0xFFFF:", "if number == expect:"))
    c = card("tftp-client", prog, tmp_path, only=["rollover"])
    assert statuses(c) == {"rollover": "fail"}
    assert "DATA 0 (block 65,536, after 65535) was never ACKed" in evidence(c, "rollover")


def test_the_seeds_downloader_fails_on_loss_duplicates_and_strangers(tmp_path):
    """The lesson's program: no timeout handling, no block numbers, no TID check."""
    c = card("tftp-client", SEED / "tftp_download.py", tmp_path, only=FAST)
    got = statuses(c)
    assert {k for k, v in got.items() if v == "fail"} == {
        "loss", "lost-ack", "duplicate", "reorder", "wrong-tid"}
    assert "the first RRQ (frame 3) was lost and the program never sent another" in \
        evidence(c, "loss")
    assert "TimeoutError" in evidence(c, "loss")
    assert "the file on disk has 3,512 bytes, the server's 3,000" in evidence(c, "duplicate")
    assert "the program sent it ACK 3" in evidence(c, "wrong-tid")
    # It stops at the ERROR, but leaves an empty file behind: said, not failed.
    assert got["error"] == "pass" and "left an empty" in evidence(c, "error")
    assert not c.passed


def test_a_client_that_never_acks_the_last_block_fails_final_ack_only(tmp_path):
    prog = variant(tmp_path, REFERENCE, "no_last_ack.py", (
        "            last = struct.pack(\"!HH\", ACK, number)\n            sock.sendto(last, dest)\n",
        "            if len(packet) - 4 < BLOCK:\n                break\n"
        "            last = struct.pack(\"!HH\", ACK, number)\n            sock.sendto(last, dest)\n"))
    c = card("tftp-client", prog, tmp_path, only=["intact", "final-ack"])
    assert statuses(c) == {"intact": "pass", "final-ack": "fail"}
    text = evidence(c, "final-ack")
    assert "size-513.pcapng: the last DATA 2 (1 byte, frame 6) was never ACKed" in text
    assert "the server sent it 6 times" in text and "gave up" in text


def test_a_client_that_ignores_transfer_ids_takes_the_strangers_data(tmp_path):
    prog = variant(tmp_path, REFERENCE, "any_tid.py", (
        "        if tid is None and addr[0] == server:\n"
        "            tid = dest = addr                      # the server's transfer ID\n"
        "        elif addr != tid:\n"
        "            sock.sendto(error_packet(5, \"Unknown transfer ID\"), addr)\n"
        "            continue\n", "        tid = dest = addr\n"))
    c = card("tftp-client", prog, tmp_path, only=["tid", "wrong-tid"])
    assert statuses(c) == {"tid": "pass", "wrong-tid": "fail"}
    text = evidence(c, "wrong-tid")
    assert "a DATA 3 from port" in text and "the program sent it ACK 3" in text
    assert "the transfer was disturbed" in text and "(block 3)" in text


def test_a_client_that_acks_twice_feeds_the_sorcerers_apprentice(tmp_path):
    prog = variant(tmp_path, REFERENCE, "ack_twice.py", (
        "            sock.sendto(last, dest)\n            expect, tries = expect + 1, 0\n",
        "            sock.sendto(last, dest)\n            sock.sendto(last, dest)\n"
        "            expect, tries = expect + 1, 0\n"))
    c = card("tftp-client", prog, tmp_path, only=["intact", "sas"])
    assert statuses(c) == {"intact": "pass", "sas": "fail"}
    assert "duplicate.pcapng: block 1: 1 DATA (frame 4), 2 ACKs (frames 5, 6)" in evidence(c, "sas")


def test_a_client_that_acks_to_port_69_ignores_the_servers_transfer_id(tmp_path):
    prog = variant(tmp_path, REFERENCE, "to_69.py",
                   ("            tid = dest = addr ", "            tid = addr "))
    c = card("tftp-client", prog, tmp_path, only=["rrq", "tid"])
    assert statuses(c) == {"rrq": "pass", "tid": "fail"}
    assert "ACK 1 (frame 5) went to port 69" in evidence(c, "tid")


def test_a_program_that_crashes_is_reported_with_its_exception(tmp_path):
    prog = variant(tmp_path, REFERENCE, "crash.py",
                   ("    name = filename.encode()\n", "    name = filename.encode()\n    1 / 0\n"))
    c = card("tftp-client", prog, tmp_path, only=["rrq"])
    assert statuses(c) == {"rrq": "fail"}
    assert "ZeroDivisionError: division by zero (crash.py:" in evidence(c, "rrq")
