"""What an emulated rig is made of in the kernel, computed from a topology before touching it.

The plan is plain data: namespace names, veth pairs with the interface index and MAC each
end will have, addresses, permanent neighbours, routes and forwarding. The emulated backend
applies it over netlink; :func:`ip_batch` renders the very same plan as ``ip -batch`` input,
which is both the ``testbed up --dry-run`` output and the floor the bring-up bench compares
against.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass, field

from ..errors import BadArgument
from ..shaping.shaper import DIRECTIONS, LinkEnd
from ..topology import Impairment, Topology
from ..topology.model import rig_name_problem
from ..topology.routing import DEFAULT, Route, compute_routes

NETNS_PREFIX = "tb-"
TAG_PREFIX = "testbed/"
FIRST_INDEX = 100  # above the fallback tunnel devices a new namespace may already hold


def check_rig_name(rig: str) -> str:
    """``rig`` when it is a valid rig name; it ends up in namespace and run-directory names."""
    problem = rig_name_problem(rig)
    if problem:
        raise BadArgument(problem)
    return rig


def netns_name(rig: str, node: str) -> str:
    return f"{NETNS_PREFIX}{rig}-{node}"


def ownership_tag(rig: str, node: str, run_id: str) -> str:
    """Written as the ifalias of the namespace's loopback: how ``clean`` knows a namespace is ours."""
    return f"{TAG_PREFIX}{rig}/{node}/{run_id}"


def link_tag(rig: str, link: str, run_id: str) -> str:
    """Written as the ifalias of both ends of a link's veth pair, so `ip link` says which link it is."""
    return f"{TAG_PREFIX}{rig}/link:{link}/{run_id}"


def parse_tag(alias: str | None) -> tuple[str, str, str] | None:
    """(rig, node, run id) from an ownership tag, or None when it is not one of ours."""
    if not alias or not alias.startswith(TAG_PREFIX):
        return None
    parts = alias[len(TAG_PREFIX):].split("/")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def link_mac(rig: str, link: str, side: int) -> str:
    """A locally administered unicast MAC for one end of a link, stable for the rig and link.

    Fixed addresses let both ends carry a permanent neighbour entry for each other from the
    start: a 5G bearer has no ARP, and a shaped link must not add a resolution round trip to
    the first packet nor let packets queued during one overtake later ones.
    """
    digest = hashlib.sha256(f"{rig}/{link}/{side}".encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:4], side))


@dataclass(frozen=True)
class InterfacePlan:
    name: str
    index: int
    address: ipaddress.IPv4Interface
    link: str
    mac: str
    peer: ipaddress.IPv4Address  # the other end's address and MAC: a permanent neighbour
    peer_mac: str


@dataclass(frozen=True)
class NamespacePlan:
    node: str
    role: str
    netns: str
    forwarding: bool
    interfaces: tuple[InterfacePlan, ...]
    routes: tuple[Route, ...]

    def interface(self, name: str) -> InterfacePlan:
        return next(i for i in self.interfaces if i.name == name)


@dataclass(frozen=True)
class VethPlan:
    link: str
    a: str  # node names
    b: str
    a_ifname: str
    b_ifname: str
    a_index: int
    b_index: int
    mtu: int | None
    a_mac: str
    b_mac: str


@dataclass(frozen=True)
class RigPlan:
    rig: str
    namespaces: tuple[NamespacePlan, ...]
    veths: tuple[VethPlan, ...]
    topology: Topology = field(compare=False)

    def namespace(self, node: str) -> NamespacePlan:
        return next(ns for ns in self.namespaces if ns.node == node)


def plan_rig(topo: Topology, rig: str | None = None) -> RigPlan:
    """The kernel objects for ``topo``; ``rig`` overrides the topology's name."""
    rig = check_rig_name(rig or topo.name)
    routes = compute_routes(topo)
    next_index = {node: FIRST_INDEX for node in topo.nodes}
    interfaces: dict[str, list[InterfacePlan]] = {node: [] for node in topo.nodes}
    veths = []
    for link in topo.links:
        assert link.addresses is not None and link.name is not None
        indices, macs = [], [link_mac(rig, link.name, side) for side in (0, 1)]
        for side, (end, address) in enumerate(zip(link.endpoints, link.addresses, strict=True)):
            index = next_index[end.node]
            next_index[end.node] += 1
            assert end.interface is not None
            interfaces[end.node].append(InterfacePlan(end.interface, index, address, link.name, macs[side],
                                                      link.addresses[1 - side].ip, macs[1 - side]))
            indices.append(index)
        (a, b), (ea, eb) = link.nodes, link.endpoints
        assert ea.interface is not None and eb.interface is not None
        veths.append(VethPlan(link.name, a, b, ea.interface, eb.interface, indices[0], indices[1], link.mtu,
                              macs[0], macs[1]))
    namespaces = tuple(
        NamespacePlan(
            node=name,
            role=node.role,
            netns=netns_name(rig, name),
            forwarding=topo.forwards(name),
            interfaces=tuple(interfaces[name]),
            routes=tuple(routes[name]),
        )
        for name, node in topo.nodes.items()
    )
    return RigPlan(rig, namespaces, tuple(veths), topo)


def ip_batch(plan: RigPlan, run_id: str = "dry-run") -> tuple[list[str], dict[str, list[str]]]:
    """The plan as ``ip -batch`` lines: one list for the host, one per namespace.

    Forwarding is a sysctl, which ``ip`` cannot set; it is left out here and noted in the
    dry-run output instead.
    """
    host = [f"netns add {ns.netns}" for ns in plan.namespaces]
    by_node = {ns.node: ns for ns in plan.namespaces}
    for v in plan.veths:
        mtu = f" mtu {v.mtu}" if v.mtu else ""
        host.append(
            f"link add name {v.a_ifname} index {v.a_index} address {v.a_mac}{mtu} netns {by_node[v.a].netns} "
            f"type veth peer name {v.b_ifname} index {v.b_index} address {v.b_mac}{mtu} netns {by_node[v.b].netns}"
        )
    per_ns: dict[str, list[str]] = {}
    for ns in plan.namespaces:
        lines = [f"link set dev lo alias {ownership_tag(plan.rig, ns.node, run_id)}", "link set dev lo up"]
        for iface in ns.interfaces:
            lines.append(f"address add {iface.address} dev {iface.name}")
            lines.append(f"link set dev {iface.name} up alias {link_tag(plan.rig, iface.link, run_id)}")
            lines.append(f"neigh add {iface.peer} lladdr {iface.peer_mac} dev {iface.name} nud permanent")
        for route in ns.routes:
            dst = "default" if route.dst == DEFAULT else str(route.dst)
            lines.append(f"route add {dst} via {route.gateway} dev {route.dev}")
        per_ns[ns.netns] = lines
    return host, per_ns


def shaped_ends(plan: RigPlan) -> list[tuple[LinkEnd, Impairment]]:
    """The sending end and impairment of every link direction that the topology shapes."""
    topo = plan.topology
    result = []
    for link, veth in zip(topo.links, plan.veths, strict=True):
        ends = {"up": (plan.namespace(veth.a).netns, veth.a_ifname),
                "down": (plan.namespace(veth.b).netns, veth.b_ifname)}
        for direction in DIRECTIONS:
            imp = topo.impairment(link, direction)
            if not imp.is_empty():
                netns, ifname = ends[direction]
                result.append((LinkEnd(veth.link, direction, netns, ifname), imp))
    return result
