"""Checks that span fields: names, references between parts, impairment consistency.

Type errors are caught by the converter; what is left is what needs the whole document:
a link naming a node that does not exist, a ``via`` that is not a modem, a profile chain that
loops. Each problem names the value path so the loader can point at file:line:column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .marked_yaml import Path
from .model import (
    IFNAME_MAX,
    IFNAME_RE,
    NODE_NAME_MAX,
    NODE_NAME_RE,
    RESERVED_IFNAMES,
    RIG_NAME_MAX,
    RIG_NAME_RE,
    Direction,
    Impairment,
    Topology,
    name_problem,
)
from .strict import Problem, did_you_mean


def check_topology(topo: Topology, library: Iterable[str] = ()) -> list[Problem]:
    """Cross-field problems; ``library`` names the shipped profiles, for "did you mean"."""
    known_profiles = sorted(set(topo.profiles) | set(library))
    problems: list[Problem] = []
    problems += _check_name(topo.name, ("name",), "rig", RIG_NAME_RE, RIG_NAME_MAX)
    for name in topo.nodes:
        problems += _check_name(name, ("nodes", name), "node", NODE_NAME_RE, NODE_NAME_MAX, at_key=True)
        node = topo.nodes[name]
        if node is not None and node.serial is not None and node.role not in (None, "modem"):
            problems.append(Problem(("nodes", name, "serial"), f"serial is for modem nodes; {name!r} is a {node.role}"))
        if node is not None and node.cpu is not None and not 0.01 <= node.cpu <= 64:
            problems.append(Problem(("nodes", name, "cpu"), f"cpu is a share of CPUs from 0.01 to 64, got {node.cpu}"))
        if name in RESERVED_IFNAMES:
            problems.append(Problem(("nodes", name), f"node name {name!r} is reserved: it would become an "
                                    "interface name on the node's peers", at_key=True))
    problems += _unique(check_profiles(topo))
    problems += _check_links(topo, known_profiles)
    if topo.addressing.prefix is not None and topo.addressing.prefix not in (30, 31):
        problems.append(Problem(("addressing", "prefix"),
                                f"link subnets are /30 or /31, got /{topo.addressing.prefix}"))
    return problems


def _check_name(name: str | None, path: Path, what: str, pattern: re.Pattern[str], limit: int,
                at_key: bool = False) -> list[Problem]:
    problem = name_problem(name, what, pattern, limit) if name is not None else None
    return [Problem(path, problem, at_key)] if problem else []


def check_profiles(topo: Topology) -> list[Problem]:
    problems: list[Problem] = []
    for name, profile in topo.profiles.items():
        path: Path = ("profiles", name)
        if profile is None:
            continue
        if profile.extends is not None and profile.extends not in topo.profiles:
            problems.append(Problem(path + ("extends",), f"no profile named {profile.extends!r}"
                                    f"{did_you_mean(profile.extends, topo.profiles)}"))
            continue
        seen = [name]
        current = profile.extends
        looped = False
        while current in topo.profiles and topo.profiles[current] is not None:
            if current in seen:
                loop = " -> ".join(seen + [current])
                problems.append(Problem(path + ("extends",), f"profiles extend each other in a loop: {loop}"))
                looped = True
                break
            seen.append(current)
            current = topo.profiles[current].extends
        if not looped and (current is None or current in topo.profiles):
            for direction in DIRECTIONS:
                found = _new_rules(topo.profile_impairment(name, direction),
                                   topo.profile_impairment(profile.extends, direction))
                blocks = [(path + (direction,), getattr(profile, direction)), (path + ("both",), profile.both)]
                problems += _locate(found, blocks, path + ("extends",))
    return problems


def _new_rules(effective: Impairment, inherited: Impairment) -> list[tuple[Path, str]]:
    """Broken rules of ``effective`` that ``inherited`` does not already break (and report)."""
    already = impairment_rules(inherited) if not inherited.is_empty() else []
    return [rule for rule in impairment_rules(effective) if rule not in already]


DIRECTIONS: tuple[Direction, Direction] = ("up", "down")


def impairment_rules(imp: Impairment) -> list[tuple[Path, str]]:
    """netem's own rules over an effective impairment: (field path, message) for each broken one."""
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
    found: list[tuple[Path, str]] = [((field,), f"{field} needs {required}")
                                     for field, value, required, present in needs
                                     if value is not None and present is None]
    if imp.jitter is not None and imp.jitter.us == 0:
        found.append((("jitter",), "a jitter of 0 is no jitter: leave jitter out"))
    elif imp.jitter is not None and imp.delay is not None and imp.delay.us == 0:
        found.append((("jitter",), "jitter needs a delay above 0: netem varies each packet's delay around it"))
    if imp.loss is not None and imp.gemodel is not None:
        found.append((("gemodel",), "give either loss or gemodel, not both"))
        found.append((("loss",), "give either loss or gemodel, not both"))
    if imp.ecn and imp.loss is None and imp.gemodel is None:
        found.append((("ecn",), "ecn marks instead of dropping, so it needs loss or gemodel"))
    if imp.reorder_gap is not None and imp.reorder_gap < 1:
        found.append((("reorder-gap",), f"reorder-gap must be 1 or more, got {imp.reorder_gap}"))
    if imp.limit is not None and imp.limit < 1:
        found.append((("limit",), f"limit must be 1 packet or more, got {imp.limit}"))
    slot = imp.slot
    if slot is not None and slot.min is not None and slot.max is not None and slot.max < slot.min:
        found.append((("slot", "max"), f"slot max {slot.max} is below min {slot.min}"))
    return found


def _locate(found: list[tuple[Path, str]], blocks: list[tuple[Path, Impairment | None]],
            fallback: Path) -> list[Problem]:
    """Point each broken rule at the block (of this link or profile) that sets the field, else at
    the reference to the profile it came through."""
    problems: list[Problem] = []
    located: set[str] = set()
    for field_path, message in found:
        if message in located:
            continue  # a rule between two fields: one report, at the first that this block sets
        attr = str(field_path[0]).replace("-", "_")
        for block_path, block in blocks:
            if block is not None and getattr(block, attr) is not None:
                problems.append(Problem(block_path + field_path, message))
                located.add(message)
                break
    for _, message in found:
        if message not in located:
            problems.append(Problem(fallback, f"{message} (once merged with its profiles)"))
            located.add(message)
    return problems


def _check_links(topo: Topology, known_profiles: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    names: dict[str, int] = {}
    for i, link in enumerate(topo.links):
        path: Path = ("links", i)
        if link is None:
            continue
        ends = [end for end in (link.endpoints or ()) if end is not None]
        for j, end in enumerate(link.endpoints or ()):
            if end is None:
                continue
            if end.node not in topo.nodes:
                problems.append(Problem(path + ("endpoints", j), f"no node named {end.node!r}"
                                        f"{did_you_mean(end.node, topo.nodes)}"))
            if end.interface is not None:
                problems += _check_ifname(end.interface, path + ("endpoints", j))
        if len(ends) == 2 and link.nodes[0] == link.nodes[1]:
            problems.append(Problem(path + ("endpoints",), f"both ends are on node {link.nodes[0]!r}"))
        if link.via is not None:
            via = topo.nodes.get(link.via)
            if link.via not in topo.nodes:
                problems.append(Problem(path + ("via",),
                                        f"no node named {link.via!r}{did_you_mean(link.via, topo.nodes)}"))
            elif via is None or via.role is None:
                pass  # the node's own problem is reported where it is
            elif via.role != "modem":
                problems.append(Problem(path + ("via",), f"via names node {link.via!r}, whose role is "
                                        f"{via.role!r}; a link goes via a node of role 'modem'"))
            elif link.via in {end.node for end in ends}:
                problems.append(Problem(path + ("via",), f"modem {link.via!r} is an endpoint of this link; "
                                        "via names the modem that carries a link between two other nodes"))
        if link.profile is not None and link.profile not in topo.profiles:
            problems.append(Problem(path + ("profile",), f"no profile named {link.profile!r}"
                                    f"{did_you_mean(link.profile, known_profiles)}"))
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
        if link.profile is None or link.profile in topo.profiles:
            for direction in DIRECTIONS:
                found = _new_rules(topo.impairment(link, direction), topo.profile_impairment(link.profile, direction))
                blocks = [(path + (direction,), getattr(link, direction)), (path + ("both",), link.both)]
                problems += _locate(found, blocks, path + ("profile",) if link.profile else path)
    return _unique(problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    """A rule broken in ``both`` shows in each direction; say it once."""
    return list(dict.fromkeys(problems))


def _check_ifname(name: str, path: Path) -> list[Problem]:
    if len(name) > IFNAME_MAX:
        return [Problem(path, f"interface name {name!r} is {len(name)} characters; Linux allows {IFNAME_MAX}")]
    if not IFNAME_RE.match(name):
        return [Problem(path, f"interface name {name!r} may hold only letters, digits, '-', '_' and '.'")]
    if name in RESERVED_IFNAMES:
        return [Problem(path, f"interface name {name!r} is reserved by the kernel")]
    return []
