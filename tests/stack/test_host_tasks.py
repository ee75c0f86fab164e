"""host.spawn passes what threading.Thread passes; host.spawn_with_host passes the host first.

A mix-up fails at the call site, with a message that names the function and the other form.
"""

from __future__ import annotations

import pytest

from tests.kits.stack import pair


def handle(host, conn):
    return host.name, conn


def serve(sock):
    return sock


def test_spawn_calls_fn_with_only_the_given_arguments_like_threading_thread():
    net, h1, _ = pair()
    task = h1.spawn(serve, "a socket", at="1ms", name="worker")
    net.run()
    assert task.result == "a socket"
    assert task.name == "worker"


def test_spawn_with_host_calls_fn_with_the_host_first_at_the_given_time():
    net, h1, _ = pair()
    seen = []
    task = h1.spawn_with_host(lambda h, x: seen.append((h.name, x, h.now)) or x, 7, at="2ms")
    net.run()
    assert task.result == 7
    assert seen == [("h1", 7, 2_000_000)]


def test_keyword_arguments_reach_fn_in_both_forms():
    net, h1, _ = pair()
    a = h1.spawn(lambda x, *, scale: x * scale, 3, scale=2)
    b = h1.spawn_with_host(lambda h, x, *, scale: (h.name, x * scale), 3, scale=5)
    net.run()
    assert (a.result, b.result) == (6, ("h1", 15))


@pytest.mark.parametrize("method, fn, message", [
    ("spawn", handle,
     "h1.spawn(handle, conn): handle() takes 2 positional arguments (host, conn) but spawn "
     "passes only (conn); use h1.spawn_with_host(handle, conn) to pass the host first"),
    ("spawn_with_host", serve,
     "h1.spawn_with_host(serve, sock): serve() takes 1 positional argument (sock) but "
     "spawn_with_host passes (host, sock); use h1.spawn(serve, sock) to call it without the "
     "host"),
], ids=["spawn-of-a-host-function", "spawn_with_host-of-a-thread-function"])
def test_the_wrong_form_raises_at_the_call_site_and_names_the_right_one(method, fn, message):
    net, h1, _ = pair()
    with pytest.raises(TypeError) as info:
        getattr(h1, method)(fn, object())
    assert str(info.value) == message
    assert net.blocked_tasks() == []  # nothing was started


def test_a_program_without_arguments_started_with_spawn_says_no_arguments_are_passed():
    _, h1, _ = pair()

    def client(host):
        return host

    with pytest.raises(TypeError, match=r"^h1\.spawn\(client\): client\(\) takes 1 positional "
                       r"argument \(host\) but spawn passes no arguments; use "
                       r"h1\.spawn_with_host\(client\) to pass the host first$"):
        h1.spawn(client)


def test_arguments_neither_form_accepts_are_reported_with_python_s_reason():
    _, h1, _ = pair()
    with pytest.raises(TypeError) as info:
        h1.spawn(serve, 1, 2, 3)
    text = str(info.value)
    assert text.startswith("h1.spawn(serve, 1, 2, 3): serve() cannot take what spawn passes: ")
    assert "too many positional arguments" in text


def test_the_task_still_fails_loudly_when_fn_raises_a_type_error_inside():
    net, h1, _ = pair()

    def buggy(host):
        return len(5)  # a TypeError of the program's own, not of the spawn call

    h1.spawn_with_host(buggy)
    with pytest.raises(TypeError, match="has no len"):
        net.run()


def test_start_is_gone():
    _, h1, _ = pair()
    assert not hasattr(h1, "start")
