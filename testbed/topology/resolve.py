"""Fill in what a topology leaves implicit: link names, interface names, link addresses.

Resolution is deterministic (file order decides every tie), so the same file always gives
the same rig. Explicit values win; derived ones step around them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterator
from pathlib import Path as FsPath

from .marked_yaml import Path
from .model import Endpoint, Link, Topology
from .strict import Problem, did_you_mean
from .units import IPv4Interface, IPv4Network


def resolve(topo: Topology) -> tuple[Topology, list[Problem]]:
    problems: list[Problem] = []
    links = _name_links(topo.links)
    links, ifname_problems = _name_interfaces(links)
    problems += ifname_problems
    links, address_problems = _address_links(links, topo.addressing.pool, topo.addressing.prefix)
    problems += address_problems
    resolved = dataclasses.replace(topo, links=links)
    problems += _check_timeline(resolved)
    return resolved, problems


def _check_timeline(topo: Topology) -> list[Problem]:
    """Timeline events refer to links by their resolved names, so they are checked here."""
    problems: list[Problem] = []
    names = [link.name for link in topo.links if link.name]
    for i, event in enumerate(topo.timeline):
        path: Path = ("timeline", i)
        if event.link not in names:
            problems.append(Problem(path + ("link",), f"no link named {event.link!r}{did_you_mean(event.link, names)}"))
        actions = [name for name in ("set", "handover", "trace") if getattr(event, name) is not None]
        if len(actions) != 1:
            got = " and ".join(actions) if actions else "none"
            problems.append(Problem(path, f"an event does exactly one of set, handover or trace; this one: {got}"))
        elif event.at is None and not event.trace:
            problems.append(Problem(path, f"missing required field 'at' (when the {actions[0]} happens)"))
        if event.handover and event.handover.profile and event.handover.profile not in topo.profiles:
            from .library import library_profiles

            known = set(topo.profiles) | set(library_profiles())
            problems.append(Problem(path + ("handover", "profile"), f"no profile named {event.handover.profile!r}"
                                    f"{did_you_mean(event.handover.profile, known)}"))
        if event.trace and topo.source:
            trace = (FsPath(topo.source).parent / event.trace.file)
            if not trace.is_file():
                problems.append(Problem(path + ("trace", "file"), f"no trace file {str(trace)!r}"))
    return problems


def _name_links(links: list[Link]) -> list[Link]:
    taken = {link.name for link in links if link.name}
    result = []
    for link in links:
        if link.name is None:
            base = f"{link.nodes[0]}-{link.nodes[1]}"
            name, n = base, 2
            while name in taken:
                name, n = f"{base}-{n}", n + 1
            taken.add(name)
            link = dataclasses.replace(link, name=name)
        result.append(link)
    return result


def _name_interfaces(links: list[Link]) -> tuple[list[Link], list[Problem]]:
    problems: list[Problem] = []
    used: dict[str, dict[str, Path]] = {}
    for i, link in enumerate(links):
        for j, end in enumerate(link.endpoints):
            if end.interface is None:
                continue
            seen = used.setdefault(end.node, {})
            if end.interface in seen:
                problems.append(Problem(("links", i, "endpoints", j), f"node {end.node!r} already has an interface "
                                        f"{end.interface!r} (links[{seen[end.interface][1]}])"))
            seen.setdefault(end.interface, ("links", i, "endpoints", j))
    result = []
    for i, link in enumerate(links):
        ends = []
        for j, end in enumerate(link.endpoints):
            if end.interface is None:
                seen = used.setdefault(end.node, {})
                peer = link.peer_of(end.node)
                name, n = peer, 2
                while name in seen:
                    name, n = f"{peer}-{n}", n + 1
                seen[name] = ("links", i, "endpoints", j)
                end = Endpoint(end.node, name)
            ends.append(end)
        result.append(dataclasses.replace(link, endpoints=(ends[0], ends[1])))
    return result, problems


def _address_links(links: list[Link], pool: IPv4Network, prefix: int) -> tuple[list[Link], list[Problem]]:
    problems: list[Problem] = []
    claimed: list[tuple[ipaddress.IPv4Network, int]] = []
    for i, link in enumerate(links):
        if link.addresses is None:
            continue
        problems += _check_pair(link.addresses, ("links", i, "addresses"))
        net = link.addresses[0].network
        for other_net, other in claimed:
            if net.overlaps(other_net):
                problems.append(Problem(("links", i, "addresses"), f"subnet {net} overlaps {other_net} of "
                                        f"links[{other}] ({links[other].name})"))
                break
        claimed.append((net, i))
    free = _subnets(pool, prefix, [net for net, _ in claimed])
    result = []
    for link in links:
        if link.addresses is None:
            subnet = next(free, None)
            if subnet is None:
                count = sum(1 for lk in links if lk.addresses is None)
                problems.append(Problem(("addressing", "pool"), f"pool {pool} has too few free /{prefix} subnets for "
                                        f"the {count} links without addresses; give a larger pool"))
                return links, problems
            hosts = list(subnet) if prefix == 31 else list(subnet.hosts())
            link = dataclasses.replace(link, addresses=(IPv4Interface(f"{hosts[0]}/{prefix}"),
                                                        IPv4Interface(f"{hosts[1]}/{prefix}")))
        result.append(link)
    return result, problems


def _check_pair(pair: tuple[IPv4Interface, IPv4Interface], path: Path) -> list[Problem]:
    a, b = pair
    if a.network != b.network:
        return [Problem(path, f"{a} and {b} are not in one subnet ({a.network} vs {b.network})")]
    if a.ip == b.ip:
        return [Problem(path, f"both ends have the address {a.ip}")]
    net = a.network
    if net.prefixlen > 31:
        return [Problem(path, f"a /{net.prefixlen} subnet has no room for two ends")]
    if net.prefixlen <= 30:
        for j, end in enumerate(pair):
            if end.ip in (net.network_address, net.broadcast_address):
                kind = "network" if end.ip == net.network_address else "broadcast"
                return [Problem(path + (j,), f"{end.ip} is the {kind} address of {net}")]
    return []


def _subnets(pool: IPv4Network, prefix: int, claimed: list[ipaddress.IPv4Network]) -> Iterator[ipaddress.IPv4Network]:
    if prefix < pool.prefixlen:
        return
    for subnet in pool.subnets(new_prefix=prefix):
        if not any(subnet.overlaps(c) for c in claimed):
            yield subnet
