"""Every wrong input costs one line on stderr and exit status 2, never a traceback.

The corpus runs the real command, ``python -m netsim.cli``, in a subprocess per invocation
(several at once, to stay fast). Part of it is written by hand (the mistakes students make, the
YAML files that used to mislead); the rest is derived from the labs' parameter declarations:
for every parameter of every lab, a value of the wrong type and a value outside the range, so
a new lab, or a new parameter, is covered without touching this file. Every other derived
value (the other bound, other wrong types) goes through the same command in this process,
with click's runner, which costs milliseconds instead of a Python start-up each.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

import labs
from labs.params import FLOAT, INT, RATE, TEXT, TIME, Param
from netsim.cli import main

REPO = Path(__file__).resolve().parent.parent
NOT_UTF8 = os.fsdecode(b"caf\xe9")  # a Latin-1 argument: not text to a UTF-8 program


def wrong_type(p: Param) -> list[str]:
    """Values of the wrong kind for ``p``: not a number, not a time, not one of the choices."""
    if p.choices:
        return ["", "nonesuch-" + p.choices[0]]
    values = {INT: ["2.5", "abc"], FLOAT: ["abc", "nan"], TIME: ["abc", "5 parsecs"],
              RATE: ["fast"], TEXT: [NOT_UTF8]}[p.kind]
    return [*values, ""] if p.many else values


def out_of_range(p: Param) -> list[str]:
    """Values just outside ``p``'s range: one below its minimum, one above its maximum."""
    if p.choices:
        return []
    low, high = p.bounds()  # numbers: nanoseconds, bit/s, bytes of text, or the value
    below = above = None
    if p.kind is TEXT:
        below = "" if low else None
        above = "x" * (int(high) + 1) if high is not None else None
    elif p.kind in (TIME, RATE):
        unit = "ns" if p.kind is TIME else "bps"
        if low is not None:
            below = f"{int(low) - 1}{unit}" if low > 0 else f"-1{unit}"
        above = f"{int(high) + 1}{unit}" if high is not None else None
    else:
        if low is not None:
            below = str(low if p.min_open else low - 1)
        above = str(high + 1) if high is not None else None
        if p.kind is INT:
            below, above = (None if v is None else str(int(float(v))) for v in (below, above))
    bad = [v for v in (below, above) if v is not None]
    if p.many:  # a good value first: every item of a list is checked, not only the first
        bad = [f"{p.default[0]},{v}" if v else v for v in bad]
    return bad


def derived_cases(first_only: bool = False) -> list[tuple[str, list[str], str]]:
    """(id, argv, words the message must hold) for every parameter of every lab.

    Args:
        first_only: one wrong-type and one out-of-range value per parameter, not all.
    """
    cases = []
    for name in labs.LABS:
        mod = labs.load(name)
        for p in mod.PARAMS.values():
            for why, values in (("type", wrong_type(p)), ("range", out_of_range(p))):
                assert values or p.choices, f"{name} {p.flag}: nothing out of range to test"
                for v in values[:1] if first_only else values:
                    cases.append((f"{name} {p.flag} {why} {v[:12]!r}", ["lab", name, p.flag, v],
                                  f"{p.flag} must be"))
    return cases


def test_every_parameter_of_every_lab_gets_a_wrong_type_and_an_out_of_range_value():
    ids = [c[0] for c in derived_cases()]
    for name in labs.LABS:
        for p in labs.load(name).PARAMS.values():
            mine = [i for i in ids if i.startswith(f"{name} {p.flag} ")]
            assert any(" type " in i for i in mine), (name, p.flag)
            assert any(" range " in i for i in mine) or p.choices, (name, p.flag)


def test_the_derived_values_are_refused_from_python_too():
    """The same declarations check a lab called from Python: a ParamError naming the keyword."""
    for name in labs.LABS:
        mod = labs.load(name)
        for p in mod.PARAMS.values():
            for v in wrong_type(p) + out_of_range(p):
                with pytest.raises(labs.ParamError, match=rf"^{p.name} must be "):
                    mod.run(**{p.name: v}, out="/nonexistent-never-made", progress=False)


YAML_GOOD = """\
nodes:
  h1: {kind: host, ip: 10.0.0.1/24}
  h2: {kind: host, ip: 10.0.0.2/24}
links:
  - {a: h1, b: h2}
"""


def yaml_cases() -> list[tuple[str, str, str]]:
    """(id, file text, words) of topology files that must be refused with one clear line."""
    link = "  - {a: h1, b: h2}\n"
    return [
        ("target dave", YAML_GOOD + "programs:\n  - {host: h1, run: ping, target: dave}\n",
         "no node named 'dave'"),
        ("switch on a hub", "nodes:\n  h1: {kind: host}\n  h2: {kind: host}\n  s1: {kind: switch}\n"
         "  hub1: {kind: hub}\nlinks:\n  - {a: h1, b: s1}\n  - {a: h2, b: hub1, bandwidth: 10Mbps}\n"
         "  - {a: s1, b: hub1}\n", "collision domain runs at 10Mbps"),
        ("5000 [", "nodes: " + "[" * 5000 + "\n", "nested too deeply"),
        ("5000 {", "nodes: " + "{a: " * 5000 + "\n", "nested too deeply"),
        ("bandwidth 1e300", YAML_GOOD.replace(link, "  - {a: h1, b: h2, bandwidth: 1e300}\n"),
         "bandwidth must be at least 1bps and at most 400Gbps"),
        ("bandwidth 1e400", YAML_GOOD.replace(link, "  - {a: h1, b: h2, bandwidth: 1e400}\n"),
         "bandwidth"),
        ("delay 1e20 s", YAML_GOOD.replace(link, "  - {a: h1, b: h2, delay: 1e20s}\n"),
         "delay must be at least 0s and at most 100s"),
        ("mtu 1e11", YAML_GOOD.replace(link, "  - {a: h1, b: h2, mtu: 100000000000}\n"),
         "mtu must be at least 68 and at most 65535"),
        ("queue 0", YAML_GOOD.replace(link, "  - {a: h1, b: h2, queue: 0}\n"), "queue must be"),
        ("duration 1e9 s", "duration: 1e9s\n" + YAML_GOOD, "duration must be more than 0s"),
        ("duration 0", "duration: 0s\n" + YAML_GOOD, "duration must be more than 0s"),
        ("ping count 1e9", YAML_GOOD + "programs:\n  - {host: h1, run: ping, target: h2, "
         "count: 1000000000}\n", "count must be at least 1 and at most 100000"),
        ("timeout 0", YAML_GOOD + "programs:\n  - {host: h1, run: udp_send, target: h2, port: 9,"
         " timeout: 0s}\n", "timeout must be more than 0s"),
        ("capture h9", YAML_GOOD + "capture: [h9-eth0]\n", "no node or interface named 'h9-eth0'"),
        ("capture eth5", YAML_GOOD + "capture: [h1-eth5]\n", "h1 has h1-eth0"),
        ("empty file", "", "the file is empty"),
        ("not yaml", "nodes: {h1: [}\n", "malformed YAML"),
    ]


def hand_cases(tmp: Path) -> list[tuple[str, list, str]]:
    """(id, argv, words): the inputs of the issue, and their neighbours (files: write_files)."""
    good, a_file = tmp / "good.yaml", tmp / "plain.txt"
    cases = [
        ("load 0", ["lab", "hub-vs-switch", "--load", "0"], "--load must be"),
        ("load -1", ["lab", "hub-vs-switch", "--load", "-1"], "(got -1)"),
        ("hosts 0", ["lab", "hub-vs-switch", "--hosts", "0"], "--hosts must be"),
        ("hosts 1", ["lab", "hub-vs-switch", "--hosts", "1"], "from 2 to 254"),
        ("hosts 2.5", ["lab", "hub-vs-switch", "--hosts", "2.5"], "(got 2.5)"),
        ("hosts empty", ["lab", "hub-vs-switch", "--hosts", ""], "(got '')"),
        ("hosts missing", ["lab", "hub-vs-switch", "--hosts"], "--hosts"),
        ("payload 99999", ["lab", "hub-vs-switch", "--payload", "99999"], "from 12 to 1472"),
        ("payload -5", ["lab", "hub-vs-switch", "--payload", "-5"], "(got -5)"),
        ("size -1", ["lab", "tftp-transfer", "--size", "-1"], "--size must be"),
        ("blksize 4", ["lab", "tftp-transfer", "--blksize", "4"], "from 8 to 65464"),
        ("blksize 70000", ["lab", "tftp-transfer", "--blksize", "70000"], "from 8 to 65464"),
        ("windowsize 0", ["lab", "tftp-transfer", "--windowsize", "0"], "from 1 to 65535"),
        ("sweep 0", ["lab", "concurrent-server", "--sweep", "0"], "--sweep must be"),
        ("switch hosts 500", ["lab", "switch-learning", "--hosts", "500"], "from 3 to 254"),
        ("port 70000", ["lab", "sockets-basics", "--port", "70000"], "from 1 to 65535"),
        ("unknown parameter", ["lab", "udp-broadcast", "--host", "3"], "did you mean --hosts?"),
        ("unknown lab", ["lab", "udp-broadcasts"], "no lab named 'udp-broadcasts'"),
        ("no lab", ["lab"], "name a lab"),
        ("stray argument", ["lab", "hub-vs-switch", "4"], "takes only --name value"),
        ("jobs 0", ["lab", "hub-vs-switch", "--jobs", "0"], "--jobs must be"),
        ("jobs x", ["lab", "hub-vs-switch", "--jobs", "x"], "--jobs must be"),
        ("out under a file", ["lab", "router-subnets", "--out", str(a_file / "out")],
         "cannot create the folder"),
        ("limit -1", ["show", str(a_file), "--limit", "-1"], "--limit must be an integer >= 1"),
        ("limit 0", ["show", str(a_file), "--limit", "0"], "--limit must be"),
        ("limit abc", ["show", str(a_file), "--limit", "abc"], "--limit must be"),
        ("show missing", ["show", str(tmp / "nope.pcapng")], "does not exist"),
        ("show not a capture", ["show", str(a_file)], str(a_file)),
        ("ladder not a capture", ["ladder", str(a_file)], str(a_file)),
        ("ladder png under a file", ["ladder", str(a_file), "--png", str(a_file / "x.png")],
         "--png"),
        ("ladder svg under a file", ["ladder", str(a_file), "--svg", str(a_file / "x.svg")],
         "--svg"),
        ("run duration abc", ["run", str(good), "--duration", "abc"], "--duration must be"),
        ("run duration -5s", ["run", str(good), "--duration", "-5s"], "(got -5s)"),
        ("run duration 0", ["run", str(good), "--duration", "0"], "--duration must be"),
        ("run duration 2 days", ["run", str(good), "--duration", "172800s"], "<= 86400s"),
        ("run missing file", ["run", str(tmp / "nope.yaml")], "does not exist"),
        ("run capture-on h9", ["run", str(good), "--capture-on", "h9-eth0"], "h9-eth0"),
        ("run capture-on empty item", ["run", str(good), "--capture-on", "h1-eth0,,"],
         "--capture-on"),
        ("tftp get port abc", ["tftp", "get", "127.0.0.1:abc", "f"], "HOST:PORT"),
        ("tftp get port 0", ["tftp", "get", "127.0.0.1:0", "f"], "from 1 to 65535"),
        ("tftp get port 70000", ["tftp", "get", "127.0.0.1:70000", "f"], "from 1 to 65535"),
        ("tftp get no host", ["tftp", "get", ":69", "f"], "HOST:PORT"),
        ("tftp put port abc", ["tftp", "put", "127.0.0.1:abc", str(a_file)], "HOST:PORT"),
        ("tftp get blksize 4", ["tftp", "get", "127.0.0.1", "f", "--blksize", "4"], "--blksize"),
        ("unknown command", ["lap", "hub-vs-switch"], "lap"),
        ("unknown option", ["show", str(a_file), "--limt", "3"], "did you mean --limit?"),
    ]
    for i, (name, _text, words) in enumerate(yaml_cases()):
        cases.append((f"yaml {name}", ["run", str(tmp / f"bad{i}.yaml")], words))
    return cases


def write_files(tmp: Path) -> None:
    """The files the hand-written cases name."""
    (tmp / "good.yaml").write_text(YAML_GOOD)
    (tmp / "plain.txt").write_text("not a capture and not a folder\n")
    for i, (_name, text, _words) in enumerate(yaml_cases()):
        (tmp / f"bad{i}.yaml").write_text(text)


def run_netsim(argv: list, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="100", PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "netsim.cli", *argv], capture_output=True,
                          text=True, errors="replace", timeout=120, env=env, cwd=cwd)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, tuple[list, str, subprocess.CompletedProcess]]:
    """Every case run once, several subprocesses at a time (each is a Python start-up)."""
    tmp = tmp_path_factory.mktemp("bad-input")
    write_files(tmp)
    cases = hand_cases(tmp) + derived_cases(first_only=True)
    ids = [c[0] for c in cases]
    assert len(set(ids)) == len(ids), "case ids must be unique"
    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 1)) as pool:
        procs = list(pool.map(lambda c: run_netsim(c[1], tmp), cases))
    return {c[0]: (c[1], c[2], proc) for c, proc in zip(cases, procs)}


def test_the_corpus_has_at_least_100_wrong_invocations(corpus):
    assert len(corpus) >= 100


CASE_IDS = [c[0] for c in hand_cases(Path("/unused"))] + \
    [c[0] for c in derived_cases(first_only=True)]


@pytest.mark.parametrize("case", CASE_IDS)
def test_wrong_input_is_one_line_and_exit_status_2(corpus, case):
    argv, words, proc = corpus[case]
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"netsim {argv}: {len(lines)} lines on stderr:\n{proc.stderr}"
    assert proc.returncode == 2, f"netsim {argv}: exit {proc.returncode}: {proc.stderr}"
    assert lines[0].startswith("Error: ") and words in lines[0], lines[0]


@pytest.mark.parametrize(("case", "argv", "words"), derived_cases(), ids=[c[0] for c in derived_cases()])
def test_every_derived_value_is_refused_in_one_line(case, argv, words):
    result = CliRunner().invoke(main, argv, env={"COLUMNS": "100"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and words in lines[0], result.stderr


def test_a_new_lab_gets_its_bad_input_cases_for_free(monkeypatch, tmp_path):
    """Declaring a parameter is all it takes: the cases are derived, and all refused."""
    import types

    from labs.params import checked, declare
    mod = types.ModuleType("labs_fake")
    mod.NAME, mod.TITLE, mod.SUMMARY = "fake", "Fake", "a lab made up by this test"
    mod.PARAMS = declare(Param("rounds", int, 3, min=1, max=9, help="rounds"),
                         Param("pause", TIME, "1s", min="1ms", max="5s", help="pause"),
                         Param("ratios", float, [0.5], many=True, min=0, max=1, help="ratios"))
    ran = []

    def run(rounds=3, pause="1s", ratios=None, out=None, jobs=None, progress=True):
        ran.append(rounds)
        return labs.LabResult("fake", "Fake", {"rounds": rounds})

    mod.run = checked(mod.PARAMS)(run)
    monkeypatch.setitem(sys.modules, "labs_fake", mod)
    monkeypatch.setitem(labs.LABS, "fake", "labs_fake")
    cases = [c for c in derived_cases() if c[1][1] == "fake"]
    assert {c[1][2] for c in cases} == {"--rounds", "--pause", "--ratios"}
    assert len(cases) >= 6
    for _case, argv, words in cases:
        result = CliRunner().invoke(main, argv)
        assert result.exit_code == 2 and words in result.stderr, (argv, result.stderr)
    assert ran == []  # refused before the lab started
    result = CliRunner().invoke(main, ["lab", "fake", "--rounds", "9", "--out", str(tmp_path)])
    assert ran == [9] and result.exit_code == 0, result.output
