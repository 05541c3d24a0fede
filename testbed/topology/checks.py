"""Checks that span fields: names, references between parts, impairment consistency.

Type errors are caught by the converter; what is left is what needs the whole document:
a link naming a node that does not exist, a ``via`` that is not a modem, a profile chain that
loops. Each problem names the value path so the loader can point at file:line:column.
"""

from __future__ import annotations

from .marked_yaml import Path
from .model import (
    IFNAME_MAX,
    IFNAME_RE,
    NODE_NAME_MAX,
    NODE_NAME_RE,
    RESERVED_IFNAMES,
    RIG_NAME_MAX,
    RIG_NAME_RE,
    Impairment,
    Topology,
)
from .strict import Problem, did_you_mean


def check_topology(topo: Topology) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_name(topo.name, ("name",), "rig", RIG_NAME_RE, RIG_NAME_MAX)
    for name in topo.nodes:
        problems += _check_name(name, ("nodes", name), "node", NODE_NAME_RE, NODE_NAME_MAX, at_key=True)
    problems += _check_profiles(topo)
    problems += _check_links(topo)
    if topo.addressing.prefix not in (30, 31):
        problems.append(Problem(("addressing", "prefix"),
                                f"link subnets are /30 or /31, got /{topo.addressing.prefix}"))
    return problems


def _check_name(name: str, path: Path, what: str, pattern, limit: int, at_key: bool = False) -> list[Problem]:
    if not pattern.match(name):
        return [Problem(path, f"{what} name {name!r} must start with a lowercase letter and hold only "
                              "lowercase letters, digits and '-'", at_key)]
    if len(name) > limit:
        why = " (it becomes an interface name on its peers, and Linux allows 15 characters)" if what == "node" else ""
        return [Problem(path, f"{what} name {name!r} is {len(name)} characters; at most {limit}{why}", at_key)]
    return []


def _check_profiles(topo: Topology) -> list[Problem]:
    problems: list[Problem] = []
    for name, profile in topo.profiles.items():
        path: Path = ("profiles", name)
        if profile.extends is not None and profile.extends not in topo.profiles:
            problems.append(Problem(path + ("extends",), f"no profile named {profile.extends!r}"
                                    f"{did_you_mean(profile.extends, topo.profiles)}"))
        seen = [name]
        current = profile.extends
        while current in topo.profiles:
            if current in seen:
                loop = " -> ".join(seen + [current])
                problems.append(Problem(path + ("extends",), f"profiles extend each other in a loop: {loop}"))
                break
            seen.append(current)
            current = topo.profiles[current].extends
        for direction in ("both", "up", "down"):
            problems += check_impairment(getattr(profile, direction), path + (direction,))
    return problems


def check_impairment(imp: Impairment | None, path: Path) -> list[Problem]:
    """netem's own rules, checked before any kernel sees them."""
    if imp is None:
        return []
    needs = [
        ("jitter", imp.jitter, "delay", imp.delay),
        ("distribution", imp.distribution, "jitter", imp.jitter),
        ("delay-correlation", imp.delay_correlation, "jitter", imp.jitter),
        ("reorder", imp.reorder, "delay", imp.delay),
        ("reorder-gap", imp.reorder_gap, "reorder", imp.reorder),
        ("reorder-correlation", imp.reorder_correlation, "reorder", imp.reorder),
        ("loss-correlation", imp.loss_correlation, "loss", imp.loss),
        ("duplicate-correlation", imp.duplicate_correlation, "duplicate", imp.duplicate),
        ("corrupt-correlation", imp.corrupt_correlation, "corrupt", imp.corrupt),
        ("packet-overhead", imp.packet_overhead, "rate", imp.rate),
    ]
    problems = [
        Problem(path + (field,), f"{field} needs {required} in the same block")
        for field, value, required, present in needs
        if value is not None and present is None
    ]
    if imp.loss is not None and imp.gemodel is not None:
        problems.append(Problem(path + ("gemodel",), "give either loss or gemodel, not both"))
    if imp.ecn and imp.loss is None and imp.gemodel is None:
        problems.append(Problem(path + ("ecn",), "ecn marks instead of dropping, so it needs loss or gemodel"))
    if imp.reorder_gap is not None and imp.reorder_gap < 1:
        problems.append(Problem(path + ("reorder-gap",), f"reorder-gap must be 1 or more, got {imp.reorder_gap}"))
    if imp.limit is not None and imp.limit < 1:
        problems.append(Problem(path + ("limit",), f"limit must be 1 packet or more, got {imp.limit}"))
    if imp.slot is not None and imp.slot.max is not None and imp.slot.max < imp.slot.min:
        problems.append(Problem(path + ("slot", "max"), f"slot max {imp.slot.max} is below min {imp.slot.min}"))
    return problems


def _check_links(topo: Topology) -> list[Problem]:
    problems: list[Problem] = []
    names: dict[str, int] = {}
    for i, link in enumerate(topo.links):
        path: Path = ("links", i)
        for j, end in enumerate(link.endpoints):
            if end.node not in topo.nodes:
                problems.append(Problem(path + ("endpoints", j), f"no node named {end.node!r}"
                                        f"{did_you_mean(end.node, topo.nodes)}"))
            if end.interface is not None:
                problems += _check_ifname(end.interface, path + ("endpoints", j))
        if link.nodes[0] == link.nodes[1]:
            problems.append(Problem(path + ("endpoints",), f"both ends are on node {link.nodes[0]!r}"))
        if link.via is not None:
            via = topo.nodes.get(link.via)
            if via is None:
                problems.append(Problem(path + ("via",),
                                        f"no node named {link.via!r}{did_you_mean(link.via, topo.nodes)}"))
            elif via.role != "modem":
                problems.append(Problem(path + ("via",), f"via names node {link.via!r}, whose role is "
                                        f"{via.role!r}; a link goes via a node of role 'modem'"))
            elif link.via in link.nodes:
                problems.append(Problem(path + ("via",), f"modem {link.via!r} is an endpoint of this link; "
                                        "via names the modem that carries a link between two other nodes"))
        if link.profile is not None and link.profile not in topo.profiles:
            problems.append(Problem(path + ("profile",), f"no profile named {link.profile!r}"
                                    f"{did_you_mean(link.profile, topo.profiles)}"))
        if link.name is not None:
            if not IFNAME_RE.match(link.name):
                problems.append(Problem(path + ("name",), f"link name {link.name!r} may hold only letters, digits, "
                                        "'-', '_' and '.'"))
            if link.name in names:
                problems.append(Problem(path + ("name",),
                                        f"link name {link.name!r} is already used by links[{names[link.name]}]"))
            names.setdefault(link.name, i)
        if link.mtu is not None and not 68 <= link.mtu <= 65535:
            problems.append(Problem(path + ("mtu",), f"mtu must be between 68 and 65535, got {link.mtu}"))
        for direction in ("both", "up", "down"):
            problems += check_impairment(getattr(link, direction), path + (direction,))
    return problems


def _check_ifname(name: str, path: Path) -> list[Problem]:
    if len(name) > IFNAME_MAX:
        return [Problem(path, f"interface name {name!r} is {len(name)} characters; Linux allows {IFNAME_MAX}")]
    if not IFNAME_RE.match(name):
        return [Problem(path, f"interface name {name!r} may hold only letters, digits, '-', '_' and '.'")]
    if name in RESERVED_IFNAMES:
        return [Problem(path, f"interface name {name!r} is reserved by the kernel")]
    return []
