"""Exercise ``tftp-client``: a TFTP downloader (RFC 1350), the seed's struct-built program.

The program is started as ``python PROGRAM.py SERVER FILE`` on h1 (10.0.0.1), in an empty
working directory, and must fetch FILE from the TFTP server at SERVER (port 69) into a file
of that name in its working directory, then exit. The server on h2 (10.0.0.2) is netsim's
reference server (:class:`~netsim.grade.tftp_peers.RefServer`): it answers from a new port
(its transfer ID), retransmits after 1 s, and in some scenarios duplicates, delays or
impersonates on purpose.
"""

from __future__ import annotations

import random
from typing import Any

from ..wire import tftp
from .battery import FAIL, PASS, Bench, Item, Run, exit_summary
from .tftp_peers import Mischief, RefServer
from .tftp_view import View, compare

NAME = "tftp-client"
SUMMARY = "a TFTP downloader (RFC 1350): sizes, rollover, loss, duplicates, TIDs, errors"
USAGE = "python PROGRAM.py SERVER FILE   (writes FILE into its working directory)"

CLIENT, SERVER = "10.0.0.1", "10.0.0.2"
SIZES = (0, 511, 512, 513, 1_000_000)
BIG = 32 * 2**20 + 1000          # 65,538 blocks: numbers 65535 -> 0 -> 1 -> 2
MISSING = "no-such-file.bin"


def _file(size: int) -> tuple[str, bytes]:
    return f"file-{size}.bin", random.Random(size).randbytes(size)


def _is(op: int, block: int | None = None):
    def predicate(frame: bytes) -> bool:
        off = 14 + (frame[14] & 0x0F) * 4 + 8 if len(frame) > 34 and frame[23] == 17 else None
        if off is None or len(frame) < off + 4:
            return False
        return ((frame[off] << 8) | frame[off + 1]) == op and \
            (block is None or ((frame[off + 2] << 8) | frame[off + 3]) == block)
    return predicate


def transfer(bench: Bench, size: int, *, plan: Mischief | None = None, loss: float = 0.0,
             drops: tuple = (), limit: str = "120s", keep=None, name: str | None = None) -> Run:
    """h1 runs the program against the reference server on h2 for one file of ``size``."""
    h1, h2 = bench.lan(2)
    if loss:
        bench.links["h1"].loss = loss
    for predicate in drops:
        bench.links["h1"].drop_when(predicate, count=1, reason="lost on purpose",
                                    direction=h1.interfaces[0])
    fname, data = _file(size)
    server = RefServer(h2, {fname: data}, plan).start()
    asked = name or fname
    proc = bench.start(h1, [SERVER, asked], keep=keep)
    log = server.log
    run = bench.run(limit, done=lambda: proc.done and bool(log["transfers"] or log["refused"]))
    same, why = compare(bench.workdir / fname, data)
    left = (bench.workdir / asked).exists()
    run.data.update(same=same, why=why, size=size, name=asked, server=log, left_file=left)
    return run


def _rollover_keep(p: Any) -> bool:
    """Keep the start, the blocks around the rollover and the end of the 32 MB transfer."""
    if p.proto != "udp" or len(p.data) < 4 or p.data[1] not in (3, 4):
        return True
    block = (p.data[2] << 8) | p.data[3]
    last_data = p.data[1] == 3 and p.size - 4 < 512
    return block <= 4 or block >= 65532 or last_data


SCENARIOS = {
    **{f"size-{n}": (f"a file of {n:,} bytes", lambda b, n=n: transfer(b, n)) for n in SIZES},
    "rollover": (f"a file of {BIG:,} bytes: block numbers wrap after 65535",
                 lambda b: transfer(b, BIG, limit="900s", keep=_rollover_keep)),
    "loss": ("50,000 bytes over a cable losing 10 % of frames; the first request lost",
             lambda b: transfer(b, 50_000, loss=0.10, drops=(_is(tftp.RRQ),), limit="300s")),
    "lost-ack": ("3,000 bytes; the program's first ACK 3 lost",
                 lambda b: transfer(b, 3000, drops=(_is(tftp.ACK, 3),))),
    "duplicate": ("3,000 bytes; DATA 2 and the last DATA 6 delivered twice",
                  lambda b: transfer(b, 3000, plan=Mischief(duplicate={2, 6}))),
    "reorder": ("4,000 bytes; old copies of DATA 2 and 5 arrive after DATA 4 and 7",
                lambda b: transfer(b, 4000, plan=Mischief(stale={2: 4, 5: 7}))),
    "wrong-tid": ("3,000 bytes; a stranger's DATA 3 from another port comes first",
                  lambda b: transfer(b, 3000, plan=Mischief(stranger={3}))),
    "missing": ("a request for a file the server does not have",
                lambda b: transfer(b, 10, name=MISSING, limit="60s")),
}

SIZE_RUNS = tuple(f"size-{n}" for n in SIZES)


# -- judges -------------------------------------------------------------------------------------

def _view(run: Run) -> View:
    return View(run, CLIENT)


def judge_rrq(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["size-513"]
    v = _view(run)
    reqs = [t for t in v.out if t.p.dport == 69]
    if not reqs:
        return FAIL, [f"{run.label}: the program sent nothing to port 69", exit_summary(run)]
    t = reqs[0]
    req = t.decoded()
    if not isinstance(req, tftp.Request) or req.opcode != tftp.RRQ:
        return FAIL, [f"{v.at(t)}: the first packet to port 69 is not a read request "
                      f"({t.p.data[:20]!r})"]
    ok = req.filename == run.data["name"] and req.mode.lower() == "octet"
    text = (f"{v.at(t)}: RRQ {req.filename!r} mode {req.mode!r} to {t.p.dst}:69"
            + (f" with options {dict(req.options)}" if req.options else ""))
    if req.filename != run.data["name"]:
        text += f" (the file asked for was {run.data['name']!r})"
    if req.mode.lower() != "octet":
        text += " (a binary file needs octet mode: netascii changes line ends)"
    return (PASS if ok else FAIL), [text]


def judge_intact(runs: dict[str, Run]) -> tuple[str, list[str]]:
    bad = [r for n, r in runs.items() if n in SIZE_RUNS and not r.data["same"]]
    if not bad:
        sizes = ", ".join(f"{runs[n].data['size']:,}" for n in SIZE_RUNS)
        return PASS, [f"{sizes} bytes: each file on disk identical to the server's"]
    return FAIL, [f"{r.data['size']:,} bytes ({r.label}): {r.data['why']}" for r in bad]


def _final(run: Run) -> tuple[bool, str]:
    v = _view(run)
    datas = v.by_block(v.received(tftp.DATA))
    if not datas:
        return False, f"{run.label}: no DATA arrived; {exit_summary(run)}"
    last = max(datas)
    copies = datas[last]
    if copies[0].n >= 512:
        return False, (f"{run.label}: the transfer stopped after block {last} "
                       f"({v.frames(copies[:1])}); {exit_summary(run)}")
    acks = [a for a in v.after(copies[0], v.sent(tftp.ACK)) if a.block == last]
    transfers = run.data["server"]["transfers"]
    failure = transfers[0][1] if transfers and transfers[0][1] else None
    if not acks:
        gave_up = f" and gave up ({failure})" if failure else ""
        return False, (f"{run.label}: the last DATA {copies[0].wire} ({_bytes(copies[0].n)}, "
                       f"{v.frames(copies[:1])}) was never ACKed; the server sent it "
                       f"{len(copies)} times ({v.frames(copies)}){gave_up}")
    if not run.proc.done:
        return False, (f"{run.label}: DATA {copies[0].wire} ACKed ({v.frames(acks[:1])}), "
                       f"but {exit_summary(run)}")
    return True, (f"{run.label}: DATA {copies[0].wire} ({_bytes(copies[0].n)}, "
                  f"{v.frames(copies[:1])}) -> ACK {acks[0].wire} ({v.frames(acks[:1])}); "
                  f"exited {run.proc.exitcode} at {run.ended_s:.3f} s")


def _bytes(n: int) -> str:
    return f"{n:,} byte{'s' if n != 1 else ''}"


def judge_final_ack(runs: dict[str, Run]) -> tuple[str, list[str]]:
    found = [_final(runs[n]) for n in SIZE_RUNS]
    bad = [text for ok, text in found if not ok]
    if bad:
        return FAIL, bad
    return PASS, [found[3][1], "likewise for the other sizes (the empty DATA 2 of the "
                  "512-byte file and the 64-byte DATA 1954 of 1,000,000 bytes included)"]


def judge_rollover(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["rollover"]
    v = _view(run)
    datas = v.by_block(v.received(tftp.DATA))
    acks = v.by_block(v.sent(tftp.ACK))
    timing = f"{run.virtual_s:.2f} s of virtual time, {run.wall_s:.1f} s of real time"
    wrap = datas.get(65536)
    if not wrap:
        top = max(datas) if datas else 0
        return FAIL, [f"{run.label}: the transfer never reached block 65,536 (it stopped at "
                      f"block {top:,}); {exit_summary(run)}"]
    if 65536 not in acks:
        return FAIL, [f"{v.at(wrap[0])}: DATA 0 (block 65,536, after 65535) was never "
                      f"ACKed; the server sent it {len(wrap)} times ({v.frames(wrap)}); "
                      f"{exit_summary(run)}"]
    if not run.data["same"]:
        return FAIL, [f"{v.at(wrap[0])}: DATA 0 -> ACK 0 ({v.frames(acks[65536][:1])}), but "
                      f"{run.data['why']}", timing]
    return PASS, [f"{v.at(wrap[0])}: DATA 0 (block 65,536) -> ACK 0 "
                  f"({v.frames(acks[65536][:1])}); {run.data['why']}", timing]


def _retransmissions(v: View) -> list[Any]:
    """Packets the program sent that repeat its previous one (its timeouts)."""
    out, prev = [], None
    for t in v.out:
        if prev is not None and t.p.data == prev.p.data and t.p.dport == prev.p.dport:
            out.append(t)
        prev = t
    return out


def judge_loss(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["loss"]
    v = _view(run)
    lost_out = [p for p in run.pkts if p.lost]
    again = _retransmissions(v)
    reqs = [t for t in v.out if t.p.dport == 69]
    facts = (f"{len(lost_out)} of the program's {len(v.out)} packets were lost on the cable "
             f"(the first RRQ on purpose), and some of the server's; the program repeated a "
             f"packet {len(again)} times")
    if len(reqs) < 2:
        return FAIL, [f"{run.label}: the first RRQ ({v.frames(reqs[:1]) if reqs else 'none'}) "
                      f"was lost and the program never sent another: {exit_summary(run)}"]
    first = reqs[1].p.t - reqs[0].p.t
    detail = f"RRQ again after {first / 1e9:.2f} s ({v.frames(reqs[1:2])})"
    if not run.data["same"]:
        return FAIL, [facts, detail, f"{run.data['why']}; {exit_summary(run)}"]
    return PASS, [facts, f"{detail}; {run.data['why']} after {run.virtual_s:.1f} s"]


def judge_lost_ack(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["lost-ack"]
    v = _view(run)
    acks3 = [t for t in v.sent(tftp.ACK) if t.block == 3]
    data3 = [t for t in v.received(tftp.DATA) if t.block == 3]
    if not acks3:
        return FAIL, [f"{run.label}: the program never ACKed block 3; {exit_summary(run)}"]
    lost = acks3[0]
    if len(data3) >= 2:
        lines = [f"{run.label}: ACK 3 ({v.frames([lost])}) was lost; the server sent DATA 3 again "
                 f"({v.frames(data3[1:2])}, {(data3[1].p.t - data3[0].p.t) / 1e9:.2f} s later)"]
        again = v.after(data3[1], acks3)
        if not again:
            return FAIL, lines + [f"no ACK 3 followed: the transfer stalled; {exit_summary(run)}"]
        lines[0] += f" and the program answered ACK 3 ({v.frames(again[:1])})"
    elif len(acks3) >= 2:
        lines = [f"{run.label}: ACK 3 ({v.frames([lost])}) was lost; the program sent it again "
                 "by itself "
                 f"({v.frames(acks3[1:2])})"]
    else:
        return FAIL, [f"{run.label}: ACK 3 ({v.frames([lost])}) was lost and never sent again; "
                      f"{exit_summary(run)}"]
    if not run.data["same"]:
        return FAIL, lines + [run.data["why"]]
    return PASS, lines + [run.data["why"]]


def _copies(v: View) -> list[str]:
    datas = v.by_block(v.received(tftp.DATA))
    return [f"DATA {c[0].wire} x{len(c)} ({v.frames(c)})" for _b, c in sorted(datas.items())
            if len(c) > 1]


def judge_duplicate(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["duplicate"]
    v = _view(run)
    lines = [f"{run.label}: " + (", ".join(_copies(v)) or "no duplicate arrived")]
    return (PASS if run.data["same"] else FAIL), lines + [run.data["why"]]


def judge_reorder(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["reorder"]
    v = _view(run)
    late = [t for t in v.received(tftp.DATA) if any(
        x.block > t.block for x in v.received(tftp.DATA) if x.i < t.i)]
    text = ", ".join(f"an old DATA {t.wire} in {t.p.ref()}" for t in late) or "nothing late"
    lines = [f"{run.label}: {text}", run.data["why"]]
    ok = run.data["same"] and run.proc.done
    if not run.proc.done:
        lines.append(exit_summary(run))
    return (PASS if ok else FAIL), lines


def _sas(run: Run) -> list[str]:
    v = _view(run)
    datas = v.by_block(v.received(tftp.DATA))
    acks = v.by_block(v.sent(tftp.ACK))
    bad = []
    for block, sent in sorted(acks.items()):
        got = len(datas.get(block, []))
        if len(sent) > got:
            bad.append(f"{run.label}: block {block}: {got} DATA ({v.frames(datas.get(block, []))})"
                       f", {len(sent)} ACKs ({v.frames(sent)})")
    return bad


def judge_sas(runs: dict[str, Run]) -> tuple[str, list[str]]:
    bad = _sas(runs["duplicate"]) + _sas(runs["size-1000000"])
    for name in ("duplicate", "size-1000000"):
        if not _view(runs[name]).received(tftp.DATA):
            bad.append(f"{runs[name].label}: no DATA arrived, so nothing to judge; "
                       f"{exit_summary(runs[name])}")
    if bad:
        return FAIL, bad[:4] + ["(each extra ACK makes a pre-1123 server send its DATA again: "
                                "the traffic doubles for the rest of the transfer)"]
    counts = []
    for name in ("size-1000000", "duplicate"):
        v = _view(runs[name])
        counts.append(f"{name}: {len(v.received(tftp.DATA))} DATA received, "
                      f"{len(v.sent(tftp.ACK))} ACKs sent")
    return PASS, ["; ".join(counts) + ": never more than one ACK per DATA"]


def judge_tid(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["size-513"]
    v = _view(run)
    datas = v.received(tftp.DATA)
    if not datas:
        return FAIL, [f"{run.label}: no DATA arrived; {exit_summary(run)}"]
    tid = datas[0].p.sport
    acks = v.sent(tftp.ACK)
    wrong = [a for a in acks if a.p.dport != tid]
    if not acks:
        return FAIL, [f"{run.label}: the program sent no ACK; {exit_summary(run)}"]
    if wrong:
        return FAIL, [f"DATA 1 came from port {tid} ({v.frames(datas[:1])}), but "
                      f"{wrong[0].name} ({v.frames(wrong[:1])}) went to port "
                      f"{wrong[0].p.dport}: the server's transfer ID is the port of its reply"]
    return PASS, [f"{run.label}: DATA 1 came from port {tid}, not 69 ({v.frames(datas[:1])}); "
                  f"every ACK went to port {tid} ({v.frames(acks)})"]


def judge_wrong_tid(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["wrong-tid"]
    v = _view(run)
    log = run.data["server"]
    sent = log.get("stranger_sent")
    if not sent:
        return FAIL, [f"{run.label}: the transfer never reached block 3; {exit_summary(run)}"]
    port = sent[0][1]
    fake = [t for t in v.received(tftp.DATA) if t.p.sport == port]
    to_stranger = [t for t in v.out if t.p.dport == port]
    errors = [t for t in to_stranger if t.op == tftp.ERROR and t.p.data[2:4] == b"\x00\x05"]
    lines = [f"{v.at(fake[0]) if fake else run.label}: a DATA 3 from port {port}, not the "
             f"transfer's {log.get('tid')}"]
    ok = True
    if errors:
        lines[0] += f" -> ERROR 5 to port {port} ({v.frames(errors[:1])})"
    else:
        ok = False
        other = f": the program sent it {to_stranger[0].name} ({v.frames(to_stranger[:1])})" \
            if to_stranger else ": the program sent it nothing (ERROR 5 expected)"
        lines[0] += other
    if any(t.op == tftp.ACK for t in to_stranger):
        ok = False
    if not run.data["same"]:
        ok = False
        lines.append(f"the transfer was disturbed: {run.data['why']}")
    else:
        lines.append(f"the real DATA 3 was ACKed and {run.data['why']}")
    return (PASS if ok else FAIL), lines


def judge_error(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["missing"]
    v = _view(run)
    errors = v.received(tftp.ERROR)
    if not errors:
        return FAIL, [f"{run.label}: no ERROR arrived (did the program ask?); {exit_summary(run)}"]
    err = errors[0]
    msg = err.decoded()
    answered = v.after(err, v.out)
    lines = [f"{v.at(err)}: ERROR {getattr(msg, 'code', '?')} "
             f"{getattr(msg, 'message', '')!r} from port {err.p.sport}"]
    ok = True
    if answered:
        ok = False
        lines.append(f"the program answered it with {answered[0].name} "
                     f"({v.frames(answered[:1])}): an ERROR is never acknowledged")
    if not run.proc.done:
        ok = False
        lines.append(exit_summary(run))
    else:
        lines.append(f"the program sent nothing more and exited {run.proc.exitcode} at "
                     f"{run.ended_s:.3f} s")
    if run.data["left_file"]:
        lines.append(f"(it left an empty {MISSING} behind: better to open the file once "
                     "DATA 1 arrives)")
    return (PASS if ok else FAIL), lines


ITEMS = [
    Item("rrq", "sends a read request (RRQ) in octet mode to port 69", "RFC 1350 §5",
         ("size-513",), judge_rrq),
    Item("tid", "ACKs go to the server's new port, its transfer ID", "RFC 1350 §4",
         ("size-513",), judge_tid),
    Item("intact", "files of 0, 511, 512, 513 and 1,000,000 bytes arrive intact",
         "RFC 1350 §6", SIZE_RUNS, judge_intact),
    Item("final-ack", "ACKs every block, the final short one too, then ends", "RFC 1350 §6",
         SIZE_RUNS, judge_final_ack),
    Item("rollover", "block numbers roll over after 65535 (a file over 32 MB)",
         "RFC 1350 §5", ("rollover",), judge_rollover),
    Item("loss", "survives 10 % loss: sends again after a timeout", "RFC 1350 §2",
         ("loss",), judge_loss),
    Item("lost-ack", "ACKs a repeated DATA again when its ACK was lost", "RFC 1350 §2",
         ("lost-ack",), judge_lost_ack),
    Item("duplicate", "a duplicated DATA is not written twice", "RFC 1350 §2",
         ("duplicate",), judge_duplicate),
    Item("reorder", "an old DATA arriving late is ignored", "RFC 1350 §2",
         ("reorder",), judge_reorder),
    Item("sas", "no Sorcerer's Apprentice: at most one ACK per DATA received",
         "RFC 1123 §4.2.3.1", ("duplicate", "size-1000000"), judge_sas),
    Item("wrong-tid", "a packet from a wrong TID gets ERROR 5; the transfer goes on",
         "RFC 1350 §4", ("wrong-tid",), judge_wrong_tid),
    Item("error", "stops at ERROR 1 (file not found) without answering it", "RFC 1350 §7",
         ("missing",), judge_error),
]
