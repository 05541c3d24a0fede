"""The topology model: what a topology file says, as typed, frozen dataclasses.

Field names map one to one onto YAML keys (``snake_case`` here, ``kebab-case`` there); the
field metadata's ``doc`` is what ``testbed schema`` shows in an editor. After
:func:`testbed.topology.load_topology` every link carries its resolved name, interface names
and addresses, so later code never re-derives them.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .strict import doc
from .units import Duration, IPv4Interface, IPv4Network, Percent, Rate, UnitError

Role = Literal["sensor", "modem", "edge", "cloud", "router"]
Direction = Literal["up", "down"]
Distribution = Literal["normal", "pareto", "paretonormal", "uniform"]

#: Node names become interface names on their peers (``<peer>`` or ``<peer>-<n>``), and Linux
#: interface names hold at most 15 characters; 12 leaves room for ``-NN``.
NODE_NAME_MAX = 12
NODE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")
RIG_NAME_MAX = 24
RIG_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")
IFNAME_MAX = 15
IFNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
RESERVED_IFNAMES = frozenset({"lo", "all", "default"})


def name_problem(name: str, what: str, pattern: re.Pattern[str], limit: int) -> str | None:
    """Why ``name`` cannot be a ``what`` name (rig, node), or None when it can."""
    if not pattern.match(name):
        return (f"{what} name {name!r} must start with a lowercase letter and hold only lowercase letters, "
                "digits and '-'")
    if len(name) > limit:
        why = " (it becomes an interface name on its peers, and Linux allows 15 characters)" if what == "node" else ""
        return f"{what} name {name!r} is {len(name)} characters; at most {limit}{why}"
    return None


def rig_name_problem(name: str) -> str | None:
    """Rig names become namespace names and run-directory names: the same rule everywhere."""
    return name_problem(name, "rig", RIG_NAME_RE, RIG_NAME_MAX)


@dataclass(frozen=True)
class GilbertElliott:
    """Gilbert-Elliott loss model (netem ``loss gemodel p r 1-h 1-k``)."""

    p: Percent = field(metadata=doc("probability of moving from the good to the bad state"))
    r: Percent | None = field(default=None, metadata=doc("probability of moving from the bad back to the good state"))
    bad_loss: Percent | None = field(default=None, metadata=doc("loss probability in the bad state (netem 1-h)"))
    good_loss: Percent | None = field(default=None, metadata=doc("loss probability in the good state (netem 1-k)"))


@dataclass(frozen=True)
class Slot:
    """netem ``slot``: packets leave in bursts, as on a scheduled radio MAC."""

    min: Duration = field(metadata=doc("shortest gap between slots"))
    max: Duration | None = field(default=None, metadata=doc("longest gap between slots (random in [min, max])"))
    packets: int | None = field(default=None, metadata=doc("most packets released per slot"))
    bytes: int | None = field(default=None, metadata=doc("most bytes released per slot"))


@dataclass(frozen=True)
class Impairment:
    """What one direction of a link does to packets (netem parameters, all optional)."""

    delay: Duration | None = field(default=None, metadata=doc("one-way added delay"))
    jitter: Duration | None = field(default=None, metadata=doc("delay variation; needs delay"))
    delay_correlation: Percent | None = field(default=None, metadata=doc("correlation of successive delays"))
    distribution: Distribution | None = field(
        default=None, metadata=doc("shape of the jitter; netem's own default is uniform, so say which")
    )
    loss: Percent | None = field(default=None, metadata=doc("random (independent) loss"))
    loss_correlation: Percent | None = field(default=None, metadata=doc("correlation of successive losses"))
    gemodel: GilbertElliott | None = field(default=None, metadata=doc("bursty loss; instead of loss"))
    duplicate: Percent | None = field(default=None, metadata=doc("packets sent twice"))
    duplicate_correlation: Percent | None = None
    corrupt: Percent | None = field(default=None, metadata=doc("packets with a flipped bit"))
    corrupt_correlation: Percent | None = None
    reorder: Percent | None = field(
        default=None, metadata=doc("packets sent at once, ahead of delayed ones; needs delay"))
    reorder_correlation: Percent | None = None
    reorder_gap: int | None = field(default=None, metadata=doc("every n-th packet is reordered; needs reorder"))
    rate: Rate | None = field(default=None, metadata=doc("link rate, such as 100mbit"))
    packet_overhead: int | None = field(
        default=None, metadata=doc("bytes added (or removed, if negative) per packet for rate"))
    limit: int | None = field(default=None, metadata=doc("queue length in packets; set it when rate x delay is large"))
    ecn: bool | None = field(default=None, metadata=doc("mark ECN instead of dropping; needs a loss model"))
    slot: Slot | None = None

    def merged(self, other: Impairment | None) -> Impairment:
        """This impairment with every field that ``other`` sets taken from ``other``."""
        if other is None:
            return self
        changes = {f.name: getattr(other, f.name) for f in dataclasses.fields(other)
                   if getattr(other, f.name) is not None}
        return dataclasses.replace(self, **changes)

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in dataclasses.fields(self))

    def as_dict(self) -> dict[str, Any]:
        """Set fields only, in YAML spelling, with units written out."""
        result: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                result[f.name.replace("_", "-")] = _plain(value)
        return result


@dataclass(frozen=True)
class Profile:
    """A named set of impairments; ``both`` applies to each direction, ``up``/``down`` override it."""

    name: str = field(metadata={"key": True})
    description: str | None = None
    sources: list[str] = field(default_factory=list, metadata=doc("where the values come from: papers, standards"))
    extends: str | None = field(default=None, metadata=doc("another profile this one starts from"))
    both: Impairment | None = field(default=None, metadata=doc("impairments for both directions"))
    up: Impairment | None = field(default=None, metadata=doc("uplink: first endpoint to second"))
    down: Impairment | None = field(default=None, metadata=doc("downlink: second endpoint to first"))


@dataclass(frozen=True)
class Node:
    """A host of the rig: a network namespace when emulated, a real box on a rig."""

    name: str = field(metadata={"key": True})
    role: Role = field(metadata=doc("what the node stands for"))
    description: str | None = None
    forwarding: bool | None = field(
        default=None, metadata=doc("route packets between links; default: on for nodes with two or more links")
    )
    labels: dict[str, str] = field(default_factory=dict, metadata=doc("free-form tags, passed to inventories"))
    cpu: float | None = field(default=None, metadata=doc(
        "CPU quota for the node's processes, in CPUs (0.25 = a quarter of one core): a Pi-class device"))
    serial: str | None = field(default=None, metadata=doc(
        "modems only: the real modem's AT port as a pyserial URL (/dev/serial/by-id/..., rfc2217://pi:3333); "
        "without it an emulated rig runs the modem emulator"))


@dataclass(frozen=True)
class Endpoint:
    """One end of a link: ``node`` or ``node:interface``."""

    node: str
    interface: str | None = None

    SCHEMA: ClassVar[dict[str, Any]] = {
        "type": "string",
        "pattern": r"^[^:\s]+(:[^:\s]+)?$",
        "description": "a node name, optionally with the interface name inside it: edge or edge:eth0",
    }

    @classmethod
    def parse(cls, value: object) -> Endpoint:
        if not isinstance(value, str) or not value.strip():
            raise UnitError(f"expected an endpoint such as 'edge' or 'edge:eth0', got {value!r}")
        node, sep, interface = value.partition(":")
        if sep and (not node or not interface or ":" in interface):
            raise UnitError(f"expected an endpoint such as 'edge' or 'edge:eth0', got {value!r}")
        return cls(node, interface or None)

    def __str__(self) -> str:
        return f"{self.node}:{self.interface}" if self.interface else self.node


@dataclass(frozen=True)
class Link:
    """A point-to-point link (a veth pair when emulated), shaped per direction."""

    endpoints: tuple[Endpoint, Endpoint] = field(metadata=doc("the two ends; 'up' is from the first to the second"))
    name: str | None = field(default=None, metadata=doc("name used by commands; default <a>-<b>"))
    via: str | None = field(default=None, metadata=doc("the modem node whose radio carries this link"))
    addresses: tuple[IPv4Interface, IPv4Interface] | None = field(
        default=None, metadata=doc("explicit addresses of the two ends; default: the next subnet of the pool")
    )
    mtu: int | None = None
    profile: str | None = field(default=None, metadata=doc("named profile for both directions"))
    both: Impairment | None = field(default=None, metadata=doc("overrides for both directions"))
    up: Impairment | None = field(default=None, metadata=doc("overrides for the uplink (first to second endpoint)"))
    down: Impairment | None = field(default=None, metadata=doc("overrides for the downlink (second to first endpoint)"))

    @property
    def nodes(self) -> tuple[str, str]:
        return self.endpoints[0].node, self.endpoints[1].node

    def peer_of(self, node: str) -> str:
        a, b = self.nodes
        return b if node == a else a


@dataclass(frozen=True)
class Handover:
    """A handover: the link drops every packet for ``blackout``, then takes on a new profile."""

    blackout: Duration = field(metadata=doc("how long nothing gets through (measured HO execution: 30-100 ms)"))
    profile: str | None = field(default=None, metadata=doc("profile after the handover; default: as before"))


@dataclass(frozen=True)
class Trace:
    """A throughput trace that drives the link's rate over time."""

    file: str = field(metadata=doc("trace file, relative to the topology file"))
    format: Literal["lumos5g", "mahimahi"] = field(
        metadata=doc("lumos5g: 'seconds mbps' per line; mahimahi: one ms timestamp per 1500-byte delivery"))
    window: Duration | None = field(default=None, metadata=doc("mahimahi: averaging window for each rate (100ms)"))


@dataclass(frozen=True)
class TimelineEvent:
    """Something that happens to a link at a time after the timeline starts."""

    link: str = field(metadata=doc("link name"))
    at: Duration | None = field(default=None, metadata=doc("when, from the start of the timeline (traces: 0)"))
    direction: Direction | None = field(default=None, metadata=doc("up or down; default both"))
    set: Impairment | None = field(default=None, metadata=doc("fields to change (merged over the current ones)"))
    handover: Handover | None = None
    trace: Trace | None = None


@dataclass(frozen=True)
class Addressing:
    """Where link addresses come from when a link does not give them."""

    pool: IPv4Network = field(
        default_factory=lambda: IPv4Network("10.100.0.0/16"), metadata=doc("pool that link subnets are cut from")
    )
    prefix: int = field(default=30, metadata=doc("prefix length of each link subnet (30 or 31)"))


@dataclass(frozen=True)
class Topology:
    """A whole rig: nodes, the links between them, named profiles and the address plan."""

    name: str = field(metadata=doc("rig name; namespaces are called tb-<name>-<node>"))
    description: str | None = None
    addressing: Addressing = field(default_factory=Addressing)
    profiles: dict[str, Profile] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict, metadata=doc("nodes by name"))
    links: list[Link] = field(default_factory=list)
    timeline: list[TimelineEvent] = field(default_factory=list, metadata=doc("scheduled link changes"))
    source: str | None = field(default=None, compare=False, metadata={"internal": True})

    def link(self, name: str) -> Link:
        for link in self.links:
            if link.name == name:
                return link
        raise KeyError(name)

    def links_of(self, node: str) -> list[Link]:
        return [link for link in self.links if node in link.nodes]

    def forwards(self, node: str) -> bool:
        """Whether the node routes between its links (explicit, or two or more links)."""
        explicit = self.nodes[node].forwarding
        return explicit if explicit is not None else len(self.links_of(node)) >= 2

    def impairment(self, link: Link, direction: Direction) -> Impairment:
        """The effective impairment of one direction: profile chain, then the link's overrides."""
        return self.profile_impairment(link.profile, direction).merged(link.both).merged(getattr(link, direction))

    def profile_impairment(self, name: str | None, direction: Direction) -> Impairment:
        """What a profile (with everything it extends) does to one direction."""
        result = Impairment()
        for profile in self._profile_chain(name):
            result = result.merged(profile.both).merged(getattr(profile, direction))
        return result

    def _profile_chain(self, name: str | None) -> list[Profile]:
        chain: list[Profile] = []
        while name is not None and self.profiles.get(name) is not None and len(chain) <= len(self.profiles):
            chain.append(self.profiles[name])
            name = self.profiles[name].extends
        return list(reversed(chain))


def _plain(value: Any) -> Any:
    if isinstance(value, (Duration, Percent, Rate)):
        return str(value)
    if dataclasses.is_dataclass(value):
        return {f.name.replace("_", "-"): _plain(getattr(value, f.name))
                for f in dataclasses.fields(value) if getattr(value, f.name) is not None}
    return value
