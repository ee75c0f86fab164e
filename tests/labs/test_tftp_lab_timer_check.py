"""The tftp-transfer lab's "retransmit on timeout only" check (issue 10) tests what it says: it
fails for a timer that fires late or early, and for a DATA resent on a duplicate ACK."""

from __future__ import annotations

import re

import pytest

from netsim.apps.tftp.session import Session
from tests.kits.labs import lab_module

S = 1_000_000_000
DATA, ACK, OACK = 3, 4, 6
CHECK = ("retransmit on timeout only (RFC 1350): never sooner than the timeout, never on a "
         "duplicate (RFC 1123 4.2.3.1)")


@pytest.fixture(scope="module")
def tt():
    return lab_module("tftp-transfer")


def log_of(*events):
    """(time_ns, "tx" | "rx", opcode, block) on one socket -> the recorder's log format."""
    return [(t, 1, d, op, block) for t, d, op, block in events]


def test_audit_accepts_rfc_1350_timing(tt):
    log = log_of((0, "tx", DATA, 1), (10, "rx", ACK, 1), (10, "tx", DATA, 2),   # DATA 2 lost
                 (10 + S, "tx", DATA, 2), (20 + S, "rx", ACK, 2), (20 + S, "tx", DATA, 3),
                 (20 + 2 * S, "tx", DATA, 3), (20 + 4 * S, "tx", DATA, 3),      # 1 s, then 2 s
                 (30 + 4 * S, "rx", ACK, 3))
    audit = tt.audit_resends(log)
    assert (audit["timer"], audit["early"], audit["late"], audit["duplicate"]) == (3, 0, 0, 0)
    assert audit["gaps"] == [S, 2 * S]


@pytest.mark.parametrize("resend_at, kind", [(10 + 2 * S, "late"), (10 + S // 2, "early")])
def test_audit_flags_a_timer_off_its_deadline(tt, resend_at, kind):
    log = log_of((0, "tx", DATA, 1), (10, "rx", ACK, 1), (10, "tx", DATA, 2),
                 (resend_at, "tx", DATA, 2))
    audit = tt.audit_resends(log)
    assert audit[kind] == 1 and audit["violations"]


def test_audit_flags_a_resend_on_a_duplicate_ack_but_not_a_go_back(tt):
    log = log_of((0, "tx", DATA, 1), (0, "tx", DATA, 2), (0, "tx", DATA, 3),
                 (10, "rx", ACK, 1), (10, "tx", DATA, 2), (10, "tx", DATA, 3),   # go-back
                 (20, "rx", ACK, 1), (20, "tx", DATA, 2))                        # apprentice
    audit = tt.audit_resends(log)
    assert (audit["goback"], audit["duplicate"]) == (2, 1)


def test_audit_of_a_receiver_counts_reacks_and_its_own_timer(tt):
    log = log_of((0, "tx", 1, None), (10, "rx", OACK, None), (10, "tx", ACK, 0),
                 (20, "rx", DATA, 1), (20, "tx", ACK, 1),                         # ACK 1 lost
                 (20 + S, "tx", ACK, 1), (30 + S, "rx", DATA, 1), (30 + S, "tx", ACK, 1))
    audit = tt.audit_resends(log)
    assert (audit["timer"], audit["reack"], audit["late"], audit["early"]) == (1, 1, 0, 0)


def count(pattern, check) -> int:
    return int(re.search(pattern, check.explanation)[1])


def _run_small(tt, tmp_path):
    result = tt.run(size=30_000, loss=[0.1], blksize=[512], windowsize=[1], out=tmp_path,
                    jobs=1, progress=False)
    return {c.name: c for c in result.checks}


def test_lab_check_passes_on_the_real_code(tt, tmp_path):
    check = _run_small(tt, tmp_path)[CHECK]
    assert check.passed, check.explanation


class _OldHeuristic:
    """The socket as the old loop armed it: shortened only below half the previous wait."""

    def __init__(self, sock):
        self._sock, self._wait = sock, None

    def settimeout(self, value):
        if self._wait is None or value < self._wait * 0.5 or value > self._wait:
            self._wait = value
            self._sock.settimeout(value)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def test_lab_check_fails_when_the_timeout_stays_doubled(tt, tmp_path, monkeypatch):
    real = tt._record_sockets

    def record_old(host, kernel, log, counter):
        real(host, kernel, log, counter)
        make = host.socket
        host.socket = lambda *a, **k: _OldHeuristic(make(*a, **k))
    monkeypatch.setattr(tt, "_record_sockets", record_old)
    check = _run_small(tt, tmp_path)[CHECK]
    assert not check.passed and count(r"(\d+) later than due", check) > 0
    assert count(r"(\d+) on a duplicate", check) == 0


def test_lab_check_fails_for_the_sorcerers_apprentice(tt, tmp_path, monkeypatch):
    real = Session._on_ack

    def apprentice(self, block, now):
        if (block - self._base + 1) & 0xFFFF == 0 and self._window:     # a duplicate ACK
            return [(pkt, self.peer) for pkt in self._window]
        return real(self, block, now)
    monkeypatch.setattr(Session, "_on_ack", apprentice)
    check = _run_small(tt, tmp_path)[CHECK]
    assert not check.passed and count(r"(\d+) on a duplicate", check) > 0
