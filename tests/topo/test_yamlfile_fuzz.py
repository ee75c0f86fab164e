"""Whatever the text, checking a topology raises TopologyError with a line, or succeeds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.topo import TopologyError, parse_topology
from tests.kits.topo import VALID

N_LINES = VALID.count("\n") + 1
PIECES = st.sampled_from([":", "{", "}", "[", "]", "-", ",", " ", "\n", "x", "h9", "1", "0.5",
                          "10.0.9.1/24", "switch", "hub", "true", "null", "&a", "*a", "!!str",
                          "'", '"', "#", "kind", "a", "b", "5 parsecs"])


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(VALID)), st.integers(0, 12), st.lists(PIECES, max_size=4))
def test_mutated_file_gives_a_topology_error_or_a_spec(start, cut, pieces):
    text = VALID[:start] + "".join(pieces) + VALID[start + cut:]
    try:
        parse_topology(text, "t.yaml")
    except TopologyError as err:
        assert err.line is None or 1 <= err.line <= text.count("\n") + 2, str(err)
        assert str(err).startswith("t.yaml:")
