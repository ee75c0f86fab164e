"""What is not simulated fails loudly, naming the feature; never the real network."""

from __future__ import annotations

import sys

import pytest

from netsim.userland import NotVirtualisedError, NotVirtualisedImportError
from tests.kits.userland import lan, program, run_alone


@pytest.mark.parametrize("module, words", [
    ("subprocess", "cannot start real programs"),
    ("ssl", "does not simulate TLS"),
    ("asyncio", "asyncio event loop is not virtualised"),
    ("multiprocessing.shared_memory", "only multiprocessing, multiprocessing.pool"),
])
def test_refused_imports_name_the_module(tmp_path, module, words):
    net, (h1,) = lan(1)
    h1.run_program(program(tmp_path, "imp.py", f"import {module}\n"), check=True)
    with pytest.raises(NotVirtualisedImportError) as err:
        net.run()
    assert err.value.feature == module and words in str(err.value)
    assert isinstance(err.value, ImportError)


def test_stdlib_code_that_treats_ssl_as_optional_carries_on(tmp_path):
    p = run_alone(tmp_path, """
        import urllib.request, http.client
        print(hasattr(http.client, "HTTPSConnection"), urllib.request._have_ssl)
        try:
            urllib.request.urlopen("https://10.0.0.9/")
        except Exception as e:
            print(type(e).__name__, e)
    """)
    assert p.stdout_text == "False False\nURLError <urlopen error unknown url type: https>\n"


@pytest.mark.parametrize("call, feature", [
    ("os.system('ls')", "os.system"),
    ("os.fork()", "os.fork"),
    ("socket.socketpair()", "socket.socketpair"),
])
def test_refused_calls_name_the_function(tmp_path, call, feature):
    net, (h1,) = lan(1)
    h1.run_program(program(tmp_path, "call.py", f"import os, socket\n{call}\n"), check=True)
    with pytest.raises(NotVirtualisedError) as err:
        net.run()
    assert err.value.feature == feature


def test_a_real_module_reaching_for_the_real_network_is_stopped(tmp_path):
    # smtplib is not loaded fresh: it imported the real socket module. Its connect() must not
    # leave the simulation.
    net, (h1,) = lan(1)
    h1.run_program(program(tmp_path, "mail.py", """
        import smtplib
        smtplib.SMTP("10.0.0.9", 25, timeout=1)
    """), check=True)
    with pytest.raises(NotVirtualisedError) as err:
        net.run()
    assert "real name resolution (getaddrinfo) from module 'smtplib'" in str(err.value) or \
        "a real socket" in str(err.value)
    assert "smtplib" in err.value.feature


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the time.sleep audit event is new in 3.12")
def test_a_real_module_sleeping_in_wall_clock_time_is_stopped(tmp_path):
    net, (h1,) = lan(1)
    h1.run_program(program(tmp_path, "sched_it.py", """
        import sched
        s = sched.scheduler()          # its delay function is the real time.sleep
        s.enter(5, 1, print, ("late",))
        s.run()
    """), check=True)
    with pytest.raises(NotVirtualisedError) as err:
        net.run()
    assert err.value.feature == "the real time.sleep (wall-clock time) from module 'sched'"


def test_outside_programs_the_real_machine_is_untouched():
    import socket
    import time
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:   # the guard does not interfere
        s.bind(("127.0.0.1", 0))
    time.sleep(0)
