"""Where a TFTP session starts: the factories pass the initial state to Session, which checks
it against the table (RFC 1350 section 4, RFC 2347: a server answers with DATA 1, ACK 0 or an
OACK; a client has just sent its request)."""

from __future__ import annotations

import io

import pytest

from netsim.apps.tftp import options as opt
from netsim.apps.tftp.session import (
    INITIAL,
    TRANSITIONS,
    ProtocolError,
    Session,
    State,
    client_read,
    client_write,
    server_read,
    server_write,
)
from netsim.wire.tftp import RRQ, WRQ, Request

C = ("10.0.0.2", 40000)
S = ("10.0.0.1", 69)


def _params(opcode: int, options=()):
    return opt.negotiate(Request(opcode, "f", "octet", tuple(options)), file_size=10)


def test_factories_start_in_the_state_their_first_packet_implies():
    assert client_read("f", io.BytesIO(), S).state is State.REQUESTED
    assert client_write("f", io.BytesIO(b"x"), S).state is State.REQUESTED
    assert server_read(Request(RRQ, "f", "octet"), io.BytesIO(b"x"), C,
                       _params(RRQ)).state is State.SENDING
    assert server_read(Request(RRQ, "f", "octet", (("blksize", "1024"),)), io.BytesIO(b"x"), C,
                       _params(RRQ, (("blksize", "1024"),))).state is State.OACK_SENT
    assert server_write(Request(WRQ, "f", "octet"), io.BytesIO(), C,
                        _params(WRQ)).state is State.RECEIVING


def test_every_initial_state_is_in_the_transition_table():
    for starts in INITIAL.values():
        assert starts <= TRANSITIONS.keys()


@pytest.mark.parametrize("is_client,is_sender,state", [
    (True, False, State.RECEIVING),     # a client has sent nothing but its request
    (False, False, State.SENDING),      # a WRQ server receives
    (False, True, State.DONE),
    (False, True, "BOGUS"),
])
def test_session_refuses_a_start_outside_the_table(is_client, is_sender, state):
    with pytest.raises(ProtocolError, match="cannot start in"):
        Session(state=state, is_client=is_client, is_sender=is_sender, filename="f",
                mode="octet", peer=S, timeout_ns=1, max_retries=1, dally_ns=None)
