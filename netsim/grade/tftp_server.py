"""Exercise ``tftp-server``: a TFTP server (RFC 1350), the mirror image of ``tftp-client``.

The program is started as ``python PROGRAM.py 69`` on h2 (10.0.0.2), in a working directory
holding the files to serve, and must serve them over TFTP on UDP port 69 (downloads). netsim's
reference clients on h1 (10.0.0.1, :class:`~netsim.grade.tftp_peers.RefClient`) behave like
the real tools: tftp-hpa's lock-step client without options, curl's options (``tsize 0``,
``blksize 512`` or ``--tftp-blksize 1024``, ``timeout 6``), and an RFC 7440 client asking for
a window of 4 blocks; in some scenarios they or the network misbehave on purpose.

Options are optional (RFC 2347: a server may ignore them and answer DATA 1): a server that
ignores them gets "--" (not applicable) for blksize, tsize, timeout and windowsize, never a
failure; one that acknowledges an option is graded on doing what it acknowledged.
"""

from __future__ import annotations

import random
from typing import Any

from ..wire import tftp
from .battery import FAIL, NA, PASS, Bench, Item, Run, ended_early
from .tftp_client import BIG, SIZES, _bytes, _is, _rollover_keep
from .tftp_peers import Mischief, RefClient
from .tftp_view import View

NAME = "tftp-server"
SUMMARY = "a TFTP server (RFC 1350, options 2347-2349, windows 7440) against real tool behaviours"
USAGE = "python PROGRAM.py 69   (serves the files of its working directory)"

CLIENT, SERVER = "10.0.0.1", "10.0.0.2"
CURL = (("tsize", "0"), ("blksize", "512"), ("timeout", "6"))          # curl 7.88's RRQ
CURL_1024 = (("tsize", "0"), ("blksize", "1024"), ("timeout", "6"))    # --tftp-blksize 1024
WINDOWED = (("blksize", "512"), ("windowsize", "4"))                   # an RFC 7440 client
MISSING = "no-such-file.bin"


def _file(size: int) -> tuple[str, bytes]:
    return f"file-{size}.bin", random.Random(size + 7).randbytes(size)


def _why(got: bytes | None, want: bytes, client: RefClient) -> tuple[bool, str]:
    if got is None:
        return False, f"the client's download failed: {client.error}"
    if got == want:
        return True, f"{len(got):,} bytes identical"
    first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    return False, f"the client got {len(got):,} bytes of {len(want):,}, differing from byte {first:,}"


def transfer(bench: Bench, size: int, *, options: tuple = (), plan: Mischief | None = None,
             loss: float = 0.0, drops: tuple = (), client_timeout: float = 1.0,
             limit: str = "180s", keep=None, then: str | None = None) -> Run:
    """The program serves on h2; one reference client on h1 downloads a file of ``size``
    (``then``: first ask for that missing name, then for the file)."""
    h1, h2 = bench.lan(2)
    if loss:
        bench.links["h2"].loss = loss
    for predicate in drops:
        bench.links["h2"].drop_when(predicate, count=1, reason="lost on purpose",
                                    direction=h2.interfaces[0])
    fname, data = _file(size)
    (bench.workdir / fname).write_bytes(data)
    bench.start(h2, ["69"], keep=keep)
    clients = []
    if then is not None:
        clients.append(RefClient(h1, SERVER, then, timeout=client_timeout).start(at=0.01))
    main = RefClient(h1, SERVER, fname, options, plan, timeout=client_timeout)
    clients.append(main.start(at=0.01 if then is None else 2.0))
    run = bench.run(limit, done=lambda: all(c.done for c in clients))
    same, why = _why(main.data, data, main)
    run.data.update(client=main, clients=clients, same=same, why=why, size=size, name=fname)
    return run


SCENARIOS = {
    **{f"size-{n}": (f"a file of {n:,} bytes, lock-step without options (as tftp-hpa)",
                     lambda b, n=n: transfer(b, n)) for n in SIZES},
    "rollover": (f"a file of {BIG:,} bytes: block numbers wrap after 65535",
                 lambda b: transfer(b, BIG, limit="900s", keep=_rollover_keep)),
    "loss": ("50,000 bytes over a cable losing 10 % of frames",
             lambda b: transfer(b, 50_000, loss=0.10, limit="300s")),
    "lost-data": ("3,000 bytes; the server's first DATA 3 lost; the client repeats only after 5 s",
                  lambda b: transfer(b, 3000, drops=(_is(tftp.DATA, 3),), client_timeout=5.0)),
    "dup-ack": ("4,000 bytes; ACK 2 and ACK 4 delivered twice, an old ACK 1 late",
                lambda b: transfer(b, 4000, plan=Mischief(duplicate={2, 4}, stale={1: 3}))),
    "wrong-tid": ("3,000 bytes; a stranger's ACK 3 from another port comes first",
                  lambda b: transfer(b, 3000, plan=Mischief(stranger={3}))),
    "missing": ("a request for a missing file, then one for 513 bytes",
                lambda b: transfer(b, 513, then=MISSING)),
    "curl": ("100,000 bytes asked as curl does: tsize 0, blksize 512, timeout 6",
             lambda b: transfer(b, 100_000, options=CURL)),
    "curl-1024": ("100,000 bytes with curl --tftp-blksize 1024",
                  lambda b: transfer(b, 100_000, options=CURL_1024)),
    "windowed": ("20,000 bytes asked with windowsize 4 (RFC 7440)",
                 lambda b: transfer(b, 20_000, options=WINDOWED)),
}
SIZE_RUNS = tuple(f"size-{n}" for n in SIZES)


def _view(run: Run) -> View:
    return View(run, SERVER)


def _oack(run: Run) -> tuple[Any, dict[str, str]]:
    """The server's OACK and its options (lower-case names), or (None, {})."""
    v = _view(run)
    oacks = v.sent(6)
    if not oacks:
        return None, {}
    pkt = oacks[0].decoded()
    return oacks[0], ({n.lower(): val for n, val in pkt.options} if pkt is not None else {})


# -- judges -------------------------------------------------------------------------------------

def judge_tid(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["size-513"]
    v = _view(run)
    req = [t for t in v.inn if t.p.dport == 69]
    replies = [t for t in v.out if t.p.dport == (req[0].p.sport if req else -1)]
    if not req or not replies:
        return FAIL, [f"{run.label}: the request got no answer{ended_early(run)}"]
    port = replies[0].p.sport
    others = {t.p.sport for t in replies if t.op == tftp.DATA} - {port}
    line = (f"{run.label}: RRQ to port 69 ({v.frames(req[:1])}) answered with "
            f"{replies[0].name} from port {port} ({v.frames(replies[:1])})")
    if port == 69:
        return FAIL, [line + ": the answer must come from a new port, the server's transfer "
                      "ID, so port 69 stays free for other requests"]
    if others:
        return FAIL, [line + f", but later DATA came from port(s) {sorted(others)}"]
    return PASS, [line + "; every DATA from that port"]


def judge_intact(runs: dict[str, Run]) -> tuple[str, list[str]]:
    bad = [r for n, r in runs.items() if n in SIZE_RUNS and not r.data["same"]]
    if not bad:
        return PASS, [", ".join(f"{runs[n].data['size']:,}" for n in SIZE_RUNS)
                      + " bytes: each download identical to the file"]
    return FAIL, [f"{r.data['size']:,} bytes ({r.label}): {r.data['why']}"
                  + ended_early(r) for r in bad]


def _ending(run: Run) -> tuple[bool, str]:
    v = _view(run)
    datas = v.by_block(v.sent(tftp.DATA))
    if not datas:
        return False, f"{run.label}: no DATA was sent{ended_early(run)}"
    last = max(datas)
    first = datas[last][0]
    if first.n >= 512:
        return False, (f"{run.label}: the last DATA sent, {first.name} ({v.frames([first])}), "
                       f"has {_bytes(first.n)}; a transfer ends only with a block shorter than "
                       f"512 (an empty one if the size is a multiple of 512)")
    return True, f"{run.label}: {first.name} ({_bytes(first.n)}, {v.frames([first])})"


def judge_ending(runs: dict[str, Run]) -> tuple[str, list[str]]:
    found = [_ending(runs[n]) for n in SIZE_RUNS]
    bad = [text for ok, text in found if not ok]
    if bad:
        return FAIL, bad
    return PASS, [found[2][1] + " after DATA 1 (512 bytes)", found[0][1] + " for the empty file"]


def judge_rollover(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["rollover"]
    v = _view(run)
    datas = v.by_block(v.sent(tftp.DATA))
    timing = f"{run.virtual_s:.2f} s of virtual time, {run.wall_s:.1f} s of real time"
    wrap = datas.get(65536)
    if not wrap:
        top = max(datas) if datas else 0
        return FAIL, [f"{run.label}: the server never sent block 65,536 (it stopped at block "
                      f"{top:,}); {run.data['why']}{ended_early(run)}"]
    line = f"{v.at(wrap[0])}: DATA 0 (block 65,536) after DATA 65535"
    if not run.data["same"]:
        return FAIL, [line, run.data["why"], timing]
    return PASS, [line + f"; {run.data['why']}", timing]


def judge_timer(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["lost-data"]
    v = _view(run)
    data3 = [t for t in v.sent(tftp.DATA) if t.block == 3]
    acks2 = [t for t in v.received(tftp.ACK) if t.block == 2]
    if not data3:
        return FAIL, [f"{run.label}: the server never sent DATA 3{ended_early(run)}"]
    lost = data3[0]
    if len(data3) < 2:
        return FAIL, [f"{run.label}: DATA 3 ({v.frames([lost])}) was lost and never sent again; "
                      f"{run.data['why']}"]
    again = data3[1]
    delay = (again.p.t - lost.p.t) / 1e9
    repeat = [a for a in acks2[1:] if a.i < again.i]
    if repeat:
        return FAIL, [f"{run.label}: DATA 3 ({v.frames([lost])}) was lost; it went again "
                      f"{delay:.2f} s later "
                      f"({v.frames([again])}) only after the client repeated ACK 2 "
                      f"({v.frames(repeat[:1])}): the server has no timer of its own and "
                      "answers duplicate ACKs instead"]
    return PASS, [f"{run.label}: DATA 3 ({v.frames([lost])}) was lost; the server sent it "
                  "again after "
                  f"{delay:.2f} s ({v.frames([again])}), on its own timer (the client waits "
                  f"5 s); {run.data['why']}"]


def judge_loss(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["loss"]
    v = _view(run)
    lost = [p for p in run.pkts if p.lost]
    datas = v.sent(tftp.DATA)
    again = len(datas) - len(v.by_block(datas))
    line = (f"{len(lost)} of the server's {len(v.out)} packets were lost on its cable, and some "
            f"of the client's; {again} DATA sent again")
    if not run.data["same"]:
        return FAIL, [line, run.data["why"] + ended_early(run)]
    return PASS, [line, f"{run.data['why']} after {run.virtual_s:.1f} s"]


def judge_sas(runs: dict[str, Run]) -> tuple[str, list[str]]:
    lines, ok = [], True
    for name in ("dup-ack", "size-1000000"):
        run = runs[name]
        v = _view(run)
        datas = v.by_block(v.sent(tftp.DATA))
        twice = {b: c for b, c in datas.items() if len(c) > 1}
        if not datas:
            ok = False
            lines.append(f"{run.label}: no DATA was sent{ended_early(run)}")
        elif twice:
            ok = False
            block, copies = min(twice.items())
            before = [a for a in v.received(tftp.ACK) if a.i < copies[1].i]
            cause = f", right after {before[-1].name} ({v.frames(before[-1:])})" if before else ""
            lines.append(f"{run.label}: DATA {copies[0].wire} sent {len(copies)} times "
                         f"({v.frames(copies)}){cause}; {len(twice)} blocks sent twice in all")
        elif name == "dup-ack":
            acks = v.by_block(v.received(tftp.ACK))
            dups = ", ".join(f"ACK {c[0].wire} x{len(c)} ({v.frames(c)})"
                             for _b, c in sorted(acks.items()) if len(c) > 1)
            lines.append(f"{run.label}: {dups}; still each DATA sent once")
        else:
            lines.append(f"{run.label}: {len(datas)} blocks, each sent once")
    return (PASS if ok else FAIL), lines


def judge_wrong_tid(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["wrong-tid"]
    v = _view(run)
    sent = run.data["client"].log.get("stranger_sent")
    if not sent:
        return FAIL, [f"{run.label}: the transfer never reached ACK 3; {run.data['why']}"]
    port = sent[0][1]
    fake = [t for t in v.inn if t.p.sport == port]
    to_stranger = [t for t in v.out if t.p.dport == port]
    errors = [t for t in to_stranger if t.op == tftp.ERROR and t.p.data[2:4] == b"\x00\x05"]
    head = f"{v.at(fake[0]) if fake else run.label}: an ACK 3 from port {port}, not the client's"
    ok = bool(errors) and not any(t.op == tftp.DATA for t in to_stranger) and run.data["same"]
    if errors:
        head += f" -> ERROR 5 to port {port} ({v.frames(errors[:1])})"
    elif to_stranger:
        head += f": the server sent it {to_stranger[0].name} ({v.frames(to_stranger[:1])})"
    else:
        head += ": the server sent it nothing (ERROR 5 expected)"
    return (PASS if ok else FAIL), [head, f"the transfer: {run.data['why']}"]


def judge_error(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["missing"]
    v = _view(run)
    first = run.data["clients"][0]
    errors = v.sent(tftp.ERROR)
    if not errors:
        what = first.error or "no answer"
        return FAIL, [f"{run.label}: the request for {MISSING!r} got no ERROR ({what})"
                      f"{ended_early(run)}"]
    pkt = errors[0].decoded()
    code = getattr(pkt, "code", None)
    line = f"{v.at(errors[0])}: ERROR {code} {getattr(pkt, 'message', '')!r} for {MISSING!r}"
    lines = [line, f"then the 513-byte file: {run.data['why']}"]
    if code != tftp.ERR_NOT_FOUND:
        return FAIL, [line + " (a missing file is ERROR 1, File not found)"] + lines[1:]
    return (PASS if run.data["same"] else FAIL), lines


def _client_failed(run: Run) -> str | None:
    client = run.data["client"]
    if client.data is None:
        return f"{run.label}: the client's download failed: {client.error}{ended_early(run)}"
    if not run.data["same"]:
        return f"{run.label}: {run.data['why']}"
    return None


def judge_options(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["curl"]
    v = _view(run)
    oack, opts = _oack(run)
    failed = _client_failed(run)
    if failed:
        return FAIL, [failed]
    if oack is None:
        first = v.sent(tftp.DATA)[:1]
        return PASS, [f"{run.label}: options ignored, DATA 1 answered the request "
                      f"({v.frames(first)}), as RFC 2347 allows; {run.data['why']}"]
    return PASS, [f"{v.at(oack)}: OACK {opts}; {run.data['why']}"]


def judge_blksize(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["curl-1024"]
    v = _view(run)
    oack, opts = _oack(run)
    failed = _client_failed(run)
    datas = v.by_block(v.sent(tftp.DATA))
    sizes = {c[0].n for b, c in datas.items() if b != max(datas, default=0)}
    if "blksize" not in opts:
        if failed:
            return FAIL, [failed]
        return NA, [f"{run.label}: blksize not acknowledged; blocks of {sorted(sizes)} bytes"]
    want = int(opts["blksize"]) if opts["blksize"].isdigit() else -1
    line = f"{v.at(oack)}: OACK blksize={opts['blksize']} (asked: 1024)"
    if failed:
        return FAIL, [line, failed]
    if sizes != {want}:
        return FAIL, [line, f"but the DATA blocks carried {sorted(sizes)} bytes"]
    return PASS, [line + f"; every DATA but the last carried {want} bytes; {run.data['why']}"]


def judge_tsize(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["curl"]
    oack, opts = _oack(run)
    if "tsize" not in opts:
        return NA, [f"{run.label}: tsize not acknowledged"]
    line = f"{run.at(oack.p)}: OACK tsize={opts['tsize']}"
    if opts["tsize"] != str(run.data["size"]):
        return FAIL, [line + f", but the file has {run.data['size']:,} bytes (the client "
                      "sends tsize 0 and the server answers the size)"]
    return PASS, [line + ", the file's size"]


def judge_timeout(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["curl"]
    oack, opts = _oack(run)
    if "timeout" not in opts:
        return NA, [f"{run.label}: timeout not acknowledged"]
    line = f"{run.at(oack.p)}: OACK timeout={opts['timeout']}"
    if opts["timeout"] != "6":
        return FAIL, [line + " (asked: 6; the server may accept it or leave it out, not "
                      "change it)"]
    return PASS, [line + " (asked: 6)"]


def judge_windowsize(runs: dict[str, Run]) -> tuple[str, list[str]]:
    run = runs["windowed"]
    v = _view(run)
    oack, opts = _oack(run)
    failed = _client_failed(run)
    if "windowsize" not in opts:
        if failed:
            return FAIL, [failed]
        return NA, [f"{run.label}: windowsize not acknowledged: lock-step"]
    w = int(opts["windowsize"]) if opts["windowsize"].isdigit() else 0
    line = f"{v.at(oack)}: OACK windowsize={opts['windowsize']} (asked: 4)"
    if not 1 <= w <= 4:
        return FAIL, [line + ": the server may lower the window, never raise it"]
    if failed:
        return FAIL, [line, failed]
    # Between two ACKs the server must send w new blocks (fewer only at the end).
    datas = v.sent(tftp.DATA)
    last = max(t.block for t in datas)
    burst: list[Any] = []
    bursts = []
    for t in sorted(v.sent(tftp.DATA) + v.received(tftp.ACK), key=lambda x: x.i):
        if t.op == tftp.ACK:
            if burst:
                bursts.append(burst)
            burst = []
        else:
            burst.append(t)
    if burst:
        bursts.append(burst)
    short = [b for b in bursts if len({t.block for t in b}) < w and b[-1].block != last]
    if short:
        b = short[0]
        return FAIL, [line, f"but only {len({t.block for t in b})} block(s) before the next "
                      f"ACK ({v.frames(b)})"]
    first = bursts[0] if bursts else []
    return PASS, [line + f"; DATA {first[0].wire}-{first[-1].wire} ({v.frames(first)}) before "
                  f"the first ACK; {run.data['why']}"]


ITEMS = [
    Item("tid", "answers from a new port (its transfer ID), not port 69", "RFC 1350 §4",
         ("size-513",), judge_tid),
    Item("intact", "files of 0, 511, 512, 513 and 1,000,000 bytes arrive intact",
         "RFC 1350 §6", SIZE_RUNS, judge_intact),
    Item("ending", "ends each file with a short DATA (an empty one after 512 bytes)",
         "RFC 1350 §6", SIZE_RUNS, judge_ending),
    Item("rollover", "block numbers roll over after 65535 (a file over 32 MB)", "RFC 1350 §5",
         ("rollover",), judge_rollover),
    Item("timer", "sends a lost DATA again on its own timer", "RFC 1350 §2",
         ("lost-data",), judge_timer),
    Item("loss", "survives 10 % loss", "RFC 1350 §2", ("loss",), judge_loss),
    Item("sas", "no Sorcerer's Apprentice: a duplicate ACK never triggers DATA",
         "RFC 1123 §4.2.3.1", ("dup-ack", "size-1000000"), judge_sas),
    Item("wrong-tid", "a packet from a wrong TID gets ERROR 5; the transfer goes on",
         "RFC 1350 §4", ("wrong-tid",), judge_wrong_tid),
    Item("error", "ERROR 1 for a missing file, then serves on", "RFC 1350 §5, §7",
         ("missing",), judge_error),
    Item("options", "curl's options (tsize, blksize, timeout): an OACK or ignored",
         "RFC 2347", ("curl",), judge_options),
    Item("blksize", "blksize 1024, as acknowledged", "RFC 2348", ("curl-1024",), judge_blksize),
    Item("tsize", "tsize: the file's size in the OACK", "RFC 2349", ("curl",), judge_tsize),
    Item("timeout", "timeout: the client's value, unchanged", "RFC 2349", ("curl",),
         judge_timeout),
    Item("windowsize", "windowsize 4: a window of blocks per ACK", "RFC 7440",
         ("windowed",), judge_windowsize),
]
