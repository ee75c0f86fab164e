"""A client dallying after its final ACK cannot be failed by what arrives.

Found by the containment fuzzer (tests/stack/test_containment_fuzz.py): a malformed packet or
an ERROR reaching a client in DALLYING tried the illegal transition DALLYING -> FAILED and
raised ``ProtocolError`` out of the client's task, so out of ``net.run()``. The transfer is
complete then; only a repeated final DATA matters (it is ACKed again).
"""

from __future__ import annotations

import io

import pytest

from netsim.apps.tftp.session import State, client_read
from netsim.sim.units import NS_PER_S as SECOND
from netsim.wire.tftp import Ack, Data, Error, decode

S = ("10.0.0.1", 69)
T = ("10.0.0.1", 50001)


def dallying() -> tuple[object, io.BytesIO]:
    sink = io.BytesIO()
    session = client_read("f", sink, S, dally=1.0)
    session.start(0)
    (ack, _), = session.receive(Data(1, b"short").encode(), T, 10)   # one block: the last
    assert decode(ack) == Ack(1) and session.state is State.DALLYING
    return session, sink


@pytest.mark.parametrize("payload", [b"\x00\x05\x00", b"\x00\x03", b"\xff\xff garbage",
                                     Error(0, "too late").encode(), Ack(7).encode()],
                         ids=["truncated error", "truncated data", "unknown opcode", "error",
                              "stray ack"])
def test_dallying_receives_garbage_or_an_error_and_stays_finished(payload: bytes) -> None:
    session, sink = dallying()
    assert session.receive(payload, T, 20) == []
    assert session.state is State.DALLYING and session.error is None
    assert session.on_timer(10 + SECOND) == [] and session.state is State.DONE
    assert sink.getvalue() == b"short"


def test_dallying_receives_the_final_data_again_and_acks_it_again() -> None:
    session, _ = dallying()
    (ack, dest), = session.receive(Data(1, b"short").encode(), T, 20)
    assert decode(ack) == Ack(1) and dest == T
