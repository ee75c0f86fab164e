"""netsim grade tftp-server: the reference server scores full marks (options included); a
plain RFC 1350 server on one socket fails only the transfer-ID item and is not graded on
options it ignores (RFC 2347); broken variants of the reference fail exactly their item."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kits.grade import GRADE, card, evidence, statuses, variant

REFERENCE = GRADE / "tftp_server.py"
PROGRAMS = Path(__file__).parent / "programs"
FAST = ["tid", "intact", "ending", "timer", "loss", "sas", "wrong-tid", "error", "options",
        "blksize", "tsize", "timeout", "windowsize"]


def test_the_reference_server_passes_every_item(tmp_path):
    c = card("tftp-server", REFERENCE, tmp_path, only=FAST)
    assert c.passed, c.text()
    assert set(statuses(c).values()) == {"pass"}
    assert "OACK windowsize=4 (asked: 4); DATA 1-4 (frames" in evidence(c, "windowsize")
    assert "OACK tsize=100000, the file's size" in evidence(c, "tsize")


@pytest.mark.slow
def test_the_reference_server_rolls_block_numbers_over(tmp_path):
    c = card("tftp-server", REFERENCE, tmp_path, only=["rollover"])
    assert statuses(c) == {"rollover": "pass"}, c.text()
    assert "DATA 0 (block 65,536) after DATA 65535" in evidence(c, "rollover")


def test_a_one_socket_server_fails_the_transfer_id_and_options_do_not_apply(tmp_path):
    c = card("tftp-server", PROGRAMS / "one_socket_tftpd.py", tmp_path,
             only=["tid", "intact", "options", "blksize", "tsize", "timeout", "windowsize"])
    got = statuses(c)
    assert got == {"tid": "fail", "intact": "pass", "options": "pass", "blksize": "n/a",
                   "tsize": "n/a", "timeout": "n/a", "windowsize": "n/a"}
    assert "answered with DATA 1 from port 69" in evidence(c, "tid")
    assert "options ignored, DATA 1 answered the request" in evidence(c, "options")


def test_a_server_that_answers_duplicate_acks_is_the_sorcerers_apprentice(tmp_path):
    prog = variant(tmp_path, REFERENCE, "sas.py", (
        "                # an old or duplicate ACK: ignore it (RFC 1123 4.2.3.1)\n",
        "                for p in packets:                # resend on a duplicate ACK\n"
        "                    self.sock.sendto(p, self.client)\n"))
    c = card("tftp-server", prog, tmp_path, only=["intact", "sas"])
    assert statuses(c) == {"intact": "pass", "sas": "fail"}
    assert "dup-ack.pcapng: DATA 3 sent 2 times (frames" in evidence(c, "sas")
    assert "right after ACK 2" in evidence(c, "sas")


def test_a_server_without_a_timer_waits_for_the_clients_repeat(tmp_path):
    prog = variant(tmp_path, REFERENCE, "no_timer.py", (
        "                # an old or duplicate ACK: ignore it (RFC 1123 4.2.3.1)\n",
        "                for p in packets:                # resend on a duplicate ACK\n"
        "                    self.sock.sendto(p, self.client)\n"),
        ("        self.sock.settimeout(timeout)\n", "        self.sock.settimeout(None)\n"))
    c = card("tftp-server", prog, tmp_path, only=["timer"])
    assert statuses(c) == {"timer": "fail"}
    text = evidence(c, "timer")
    assert "it went again 5.00 s later" in text and "only after the client repeated ACK 2" in text


def test_a_server_that_never_sends_the_empty_last_block(tmp_path):
    prog = variant(tmp_path, REFERENCE, "no_empty.py", (
        "        self.last = size // blksize + 1           # the final block (maybe empty)\n",
        "        self.last = max(1, -(-size // blksize))\n"))
    c = card("tftp-server", prog, tmp_path, only=["intact", "ending"])
    assert statuses(c) == {"intact": "fail", "ending": "fail"}
    assert "size-512.pcapng: the last DATA sent, DATA 1 (frame 4), has 512 bytes" in \
        evidence(c, "ending")
    assert "512 bytes (size-512.pcapng): the client's download failed" in evidence(c, "intact")


def test_a_server_that_ignores_strangers_silently_fails_wrong_tid(tmp_path):
    prog = variant(tmp_path, REFERENCE, "quiet.py", (
        "                    self.sock.sendto(error(5, \"Unknown transfer ID\"), addr)\n", ""))
    c = card("tftp-server", prog, tmp_path, only=["wrong-tid"])
    assert statuses(c) == {"wrong-tid": "fail"}
    assert "the server sent it nothing (ERROR 5 expected)" in evidence(c, "wrong-tid")


def test_a_missing_file_must_be_error_1(tmp_path):
    prog = variant(tmp_path, REFERENCE, "err0.py",
                   ('error(1, "File not found")', 'error(0, "no such file")'))
    c = card("tftp-server", prog, tmp_path, only=["error"])
    assert statuses(c) == {"error": "fail"}
    assert "ERROR 0 'no such file'" in evidence(c, "error")
    assert "(a missing file is ERROR 1, File not found)" in evidence(c, "error")


def test_an_oack_that_misreports_tsize_and_changes_the_timeout(tmp_path):
    prog = variant(tmp_path, REFERENCE, "oack.py",
                   ('granted["tsize"] = str(size)', 'granted["tsize"] = "1"'),
                   ('granted["timeout"] = options["timeout"]', 'granted["timeout"] = "5"'))
    c = card("tftp-server", prog, tmp_path, only=["options", "tsize", "timeout"])
    assert statuses(c) == {"options": "pass", "tsize": "fail", "timeout": "fail"}
    assert "OACK tsize=1, but the file has 100,000 bytes" in evidence(c, "tsize")
    assert "OACK timeout=5 (asked: 6" in evidence(c, "timeout")


def test_a_window_acknowledged_but_not_used(tmp_path):
    prog = variant(tmp_path, REFERENCE, "lockstep.py",
                   ("top = min(base + self.window - 1, self.last)", "top = base"))
    c = card("tftp-server", prog, tmp_path, only=["windowsize"])
    assert statuses(c) == {"windowsize": "fail"}
    assert "but only 1 block(s) before the next ACK" in evidence(c, "windowsize")
