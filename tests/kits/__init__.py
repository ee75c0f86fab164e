"""Helpers shared by the tests, imported one way: ``from tests.kits.<kit> import ...``.

* ``l2``: raw layer-2 test nodes and hand-built Ethernet frames (devices, net, trace tests).
* ``stack``: small IP topologies (a pair, a switched LAN, three subnets) and decoded frames.
* ``tcp``: two sans-I/O TCP cores over a fake lossy link.
* ``topo``: the text of a valid topology file, and the example topologies' directory.
* ``labs``: small sizes for each lab, and the tshark check of a lab's captures.
* ``tools``: ``require_tool(name)``, an external tool or a skip.
* ``tftp``: a raw TFTP client for attacking the real-socket server.
* ``netns``: network namespaces and veth pairs the tests create (root only).
* ``userland``: small networks and program files for unmodified programs.

``tests/`` is a package rooted at the repository (tests/conftest.py is imported as
``tests.conftest``, which puts the root on ``sys.path``), so no test edits ``sys.path``.
"""
