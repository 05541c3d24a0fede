"""Static routes for every node: shortest path by hop count, ties broken by file order.

A node with a single link gets one default route through its peer. A node with more links
gets a route to every subnet it is not on, through the first hop of the shortest path. Paths
never cross a node that does not forward, so ``forwarding: false`` really cuts traffic.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass

from .model import Link, Topology

DEFAULT = ipaddress.IPv4Network("0.0.0.0/0")


@dataclass(frozen=True, order=True)
class Route:
    """``dst`` reached through ``gateway`` out of interface ``dev``."""

    dst: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address
    dev: str

    def __str__(self) -> str:
        dst = "default" if self.dst == DEFAULT else str(self.dst)
        return f"{dst} via {self.gateway} dev {self.dev}"


def compute_routes(topo: Topology) -> dict[str, list[Route]]:
    """Routes per node name; every link must already be resolved (addresses, interfaces)."""
    adjacency: dict[str, list[tuple[str, Link]]] = {name: [] for name in topo.nodes}
    for link in topo.links:
        a, b = link.nodes
        adjacency[a].append((b, link))
        adjacency[b].append((a, link))
    routes: dict[str, list[Route]] = {}
    for node in topo.nodes:
        neighbours = adjacency[node]
        if len(neighbours) == 1:
            peer, link = neighbours[0]
            routes[node] = [Route(DEFAULT, _address_of(link, peer), _ifname_of(link, node))]
            continue
        first_hop, hops = _bfs(topo, adjacency, node)
        table: list[Route] = []
        for link in topo.links:
            if node in link.nodes:
                continue
            reachable = [(hops[end], i) for i, end in enumerate(link.nodes) if end in hops]
            if not reachable:
                continue
            _, nearest = min(reachable)
            peer, via_link = first_hop[link.nodes[nearest]]
            assert link.addresses is not None
            table.append(Route(link.addresses[0].network, _address_of(via_link, peer), _ifname_of(via_link, node)))
        routes[node] = table
    return routes


def _bfs(topo: Topology, adjacency: dict[str, list[tuple[str, Link]]], start: str
         ) -> tuple[dict[str, tuple[str, Link]], dict[str, int]]:
    """For each reachable node: the first hop (neighbour, link) from ``start``, and the hop count."""
    hops = {start: 0}
    first_hop: dict[str, tuple[str, Link]] = {}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if current != start and not topo.forwards(current):
            continue
        for peer, link in adjacency[current]:
            if peer in hops:
                continue
            hops[peer] = hops[current] + 1
            first_hop[peer] = (peer, link) if current == start else first_hop[current]
            queue.append(peer)
    return first_hop, hops


def _address_of(link: Link, node: str) -> ipaddress.IPv4Address:
    assert link.addresses is not None
    return link.addresses[link.nodes.index(node)].ip


def _ifname_of(link: Link, node: str) -> str:
    interface = link.endpoints[link.nodes.index(node)].interface
    assert interface is not None
    return interface
