"""The hop path between two nodes, each link with the direction it is crossed in.

Why here: expectations are built from it (configured delay along the path, as the latency
suite and the demo compare against), and it must be the path the rig's routes take:
shortest by hop count, ties by file order, never through a node that does not forward
(the same rule as routing.py).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

from .model import Direction, Impairment, Link, Topology

#: what a link does in one direction: Topology.impairment (as configured) or EmulatedRig.impairment (as set now)
Shaping = Callable[[Link, Direction], Impairment]


def hops(topo: Topology, src: str, dst: str) -> list[tuple[Link, Direction]]:
    """Links from ``src`` to ``dst`` in order; "up" when crossed from a link's first endpoint."""
    previous: dict[str, tuple[str, Link]] = {}
    queue = deque([src])
    while queue:
        node = queue.popleft()
        if node != src and not topo.forwards(node):
            continue
        for link in topo.links_of(node):
            peer = link.peer_of(node)
            if peer != src and peer not in previous:
                previous[peer] = (node, link)
                queue.append(peer)
    if dst != src and dst not in previous:
        raise LookupError(f"no path from {src} to {dst} in topology {topo.name}")
    path: list[tuple[Link, Direction]] = []
    node = dst
    while node != src:
        before, link = previous[node]
        path.append((link, "up" if link.nodes[0] == before else "down"))
        node = before
    return list(reversed(path))


def along(topo: Topology, src: str, dst: str, shaping: Shaping | None = None) -> list[Impairment]:
    """What each link from ``src`` to ``dst`` does in the direction it is crossed, per ``shaping``
    (default: as the topology configures it)."""
    of = shaping or topo.impairment
    return [of(link, d) for link, d in hops(topo, src, dst)]


def one_way_delay_us(topo: Topology, src: str, dst: str, shaping: Shaping | None = None) -> float:
    """The delay configured from ``src`` to ``dst`` along the path (no jitter), per ``shaping``."""
    return sum(imp.delay.us for imp in along(topo, src, dst, shaping) if imp.delay)


def one_way_jitter_us(topo: Topology, src: str, dst: str, shaping: Shaping | None = None) -> float:
    """The spread of the delay from ``src`` to ``dst``: the links' jitters added as independent
    deviations (root of the sum of squares), what a floor below the mean delay must allow."""
    return math.sqrt(sum(imp.jitter.us ** 2 for imp in along(topo, src, dst, shaping) if imp.jitter))
