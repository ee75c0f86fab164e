"""netsim.stack.counters: a sparse dict of counters reads exactly as ``dict.fromkeys(names, 0)``.

Every check runs the same steps on a :class:`Counters` and on the plain dict it replaced, and
compares what each reader sees: the order of iteration, values, equality, repr, copies, JSON.
"""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from netsim import Network
from netsim.stack.counters import Counters
from netsim.stack.host import _COUNTERS, HostCounters

NAMES = ("frames_rx", "ip_rx", "udp_rx", "udp_tx", "no_route")


class Five(Counters, names=NAMES):
    __slots__ = ()


def pair():
    return Five(), dict.fromkeys(NAMES, 0)


def readers(c) -> list:
    """What a program can read of a mapping, as plain values."""
    return [list(c), list(reversed(c)), len(c), list(c.keys()), list(c.values()),
            list(c.items()), repr(c), str(c), f"{c}", dict(c), {**c}, c.copy(), copy.copy(c),
            copy.deepcopy(c), pickle.loads(pickle.dumps(c)), json.dumps(c),
            json.dumps(c, indent=1), json.dumps({"n": c}), json.dumps(c, sort_keys=True),
            sorted(c), set(c), [k in c for k in (*NAMES, "other")],
            [c.get(k) for k in (*NAMES, "other")], c.get("other", -1), c | {"x": 1},
            {"x": 1} | c, list(zip(c, c.values())), sum(c.values())]


STEPS = {
    "untouched": [],
    "one increment": [("inc", "udp_rx")],
    "increments out of order": [("inc", "no_route"), ("inc", "ip_rx"), ("add", "ip_rx", 5),
                                ("inc", "frames_rx")],
    "a caller's own name": [("inc", "udp_tx"), ("set", "mine", 7), ("inc", "ip_rx"),
                            ("set", "also", 1)],
    "assignment of a declared name": [("set", "udp_tx", 3)],
    "delete then read": [("inc", "udp_rx"), ("del", "ip_rx")],
    "pop and setdefault": [("pop", "udp_tx"), ("setdefault", "z", 2), ("setdefault", "ip_rx", 9)],
    "update and |=": [("update", {"udp_rx": 4, "new": 1}), ("ior", {"frames_rx": 2})],
    "clear": [("inc", "udp_rx"), ("clear",)],
    "popitem": [("inc", "udp_rx"), ("popitem",)],
}


def apply(c, step) -> object:
    """Run one step; its result, or the type of the exception it raised."""
    try:
        return _apply(c, step)
    except Exception as exc:  # noqa: BLE001 - compared with what the plain dict raised
        return type(exc)


def _apply(c, step) -> object:
    op, *args = step
    if op == "inc":
        c[args[0]] += 1
    elif op == "add":
        c[args[0]] += args[1]
    elif op == "set":
        c[args[0]] = args[1]
    elif op == "del":
        del c[args[0]]
    elif op == "pop":
        return c.pop(args[0])
    elif op == "setdefault":
        return c.setdefault(args[0], args[1])
    elif op == "update":
        c.update(args[0])
    elif op == "ior":
        c |= args[0]
    elif op == "clear":
        c.clear()
    elif op == "popitem":
        return c.popitem()
    return None


@pytest.mark.parametrize("steps", list(STEPS.values()), ids=list(STEPS))
def test_every_reader_sees_what_the_plain_dict_shows(steps):
    c, d = pair()
    for step in steps:
        assert apply(c, step) == apply(d, step)
    assert c == d and d == c and not (c != d) and not (d != c)
    assert readers(c) == readers(d)
    # and again once reading has filled it
    for step in steps:
        assert apply(c, step) == apply(d, step)
    assert readers(c) == readers(d)


@pytest.mark.parametrize("steps", list(STEPS.values()), ids=list(STEPS))
def test_item_reads_and_errors_match_the_plain_dict(steps):
    c, d = pair()
    for step in steps:
        apply(c, step)
        apply(d, step)
        for name in (*NAMES, "mine", "other"):
            if name in d:
                assert c[name] == d[name]
            else:
                with pytest.raises(KeyError):
                    c[name]
                with pytest.raises(KeyError):
                    c[name] += 1


def test_an_unknown_name_is_a_key_error_before_and_after_filling():
    c = Five()
    with pytest.raises(KeyError, match="udp_rxx"):
        c["udp_rxx"] += 1
    list(c)
    with pytest.raises(KeyError, match="udp_rxx"):
        c["udp_rxx"]


def test_only_moved_counters_are_stored_until_read():
    c = Five()
    c["udp_rx"] += 1
    c["udp_rx"] += 1
    # the first name is always stored, so C code checking the size first (json) asks for items
    assert dict(dict.items(c)) == {"frames_rx": 0, "udp_rx": 2}
    assert list(c) == list(NAMES)


def test_copies_and_pickles_are_plain_dicts_as_before():
    c = Five()
    c["ip_rx"] += 3
    for other in (c.copy(), copy.copy(c), copy.deepcopy(c), pickle.loads(pickle.dumps(c)),
                  dict(c), c | {}):
        assert type(other) is dict
        assert other == dict.fromkeys(NAMES, 0) | {"ip_rx": 3}
    assert Five.fromkeys(["a"], 1) == {"a": 1} and type(Five.fromkeys(["a"])) is dict


def test_a_host_lists_every_counter_in_order_with_zeros():
    net = Network(seed=1, trace=False)
    a, b = net.add_host("a"), net.add_host("b")
    net.link(a, b)
    a.set_ip("10.0.0.1/24")
    b.set_ip("10.0.0.2/24")
    assert isinstance(a.counters, HostCounters) and isinstance(a.counters, dict)
    assert list(a.stats())[:len(_COUNTERS)] == list(_COUNTERS)
    assert a.stats() == {**dict.fromkeys(_COUNTERS, 0), "reassembly_timeouts": 0,
                         "reassembly_oversize": 0, "arp_entries": 0}
    assert a.ping("10.0.0.2", count=2).received == 2
    stats = a.stats()
    assert list(stats)[:len(_COUNTERS)] == list(_COUNTERS)
    assert stats["icmp_rx"] == 2 and stats["arp_requests_sent"] == 1 and stats["udp_rx"] == 0
    assert a.counters == {k: stats[k] for k in _COUNTERS}
