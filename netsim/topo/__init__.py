"""Topology: the networkx view of a network, automatic static routes, drawings, YAML files.

    net.graph                      # netsim.topo.graph.to_graph(net)
    net.auto_routes()              # netsim.topo.routes.auto_routes(net)
    net.draw("topo.png")           # netsim.topo.drawing.draw(net, path)
    Network.from_file("topo.yaml") # netsim.topo.yamlfile.load_topology(path, Network)

networkx and matplotlib stay at this edge: nothing on the per-frame path imports them, and the
names below are imported on first use.
"""

from __future__ import annotations

from .._lazy import lazy_exports

__all__ = ["TopologyError", "TopologySpec", "PlannedRoute", "to_graph", "auto_routes",
           "plan_routes", "load_topology", "parse_topology", "draw", "run_topology_file"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "._yaml": ("TopologyError",),
    ".drawing": ("draw",),
    ".graph": ("to_graph",),
    ".routes": ("PlannedRoute", "auto_routes", "plan_routes"),
    ".runner": ("run_topology_file",),
    ".yamlfile": ("TopologySpec", "load_topology", "parse_topology"),
})
