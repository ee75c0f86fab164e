"""Topology: the networkx view of a network, automatic static routes, drawings, YAML files.

    net.graph                      # netsim.topo.graph.to_graph(net)
    net.auto_routes()              # netsim.topo.routes.auto_routes(net)
    net.draw("topo.png")           # netsim.topo.draw.draw(net, path)
    Network.from_file("topo.yaml") # netsim.topo.yamlfile.load_topology(path)

networkx and matplotlib stay at this edge: nothing on the per-frame path imports them.
"""

from __future__ import annotations

from ._yaml import TopologyError
from .graph import to_graph
from .routes import PlannedRoute, auto_routes, plan_routes
from .yamlfile import TopologySpec, load_topology, parse_topology

__all__ = ["TopologyError", "TopologySpec", "PlannedRoute", "to_graph", "auto_routes",
           "plan_routes", "load_topology", "parse_topology", "draw", "run_topology_file"]


def draw(net, path):
    """Draw ``net`` to a PNG or SVG file (see :func:`netsim.topo.draw.draw`)."""
    from .draw import draw as _draw
    return _draw(net, path)


def run_topology_file(path, out_dir="captures", duration=None, **network_kwargs):
    """Build, run and capture a topology file (see :func:`netsim.topo.runner.run_topology_file`)."""
    from .runner import run_topology_file as _run
    return _run(path, out_dir, duration, **network_kwargs)
