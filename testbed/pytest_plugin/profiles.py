"""``@pytest.mark.profile(...)``: run a test with the rig's access links shaped by a named profile.

The access links are where the profiles of the seed's scenarios differ (the radio leg: a
link through a modem, else a link with a sensor at one end); core and WAN links keep what
the topology says. The links' previous shaping is restored after the test, so tests do not
leak profiles into each other.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from ..backends.emulated import EmulatedRig
from ..topology import Impairment, Topology, access


@dataclass(frozen=True)
class ActiveProfile:
    """The profile a test runs under: its name, the links it shapes, and what it does per direction."""

    name: str
    links: tuple[str, ...]
    up: Impairment
    down: Impairment


def profile_directions(topo: Topology, name: str) -> tuple[Impairment, Impairment]:
    try:
        return access.profile_directions(topo, name)
    except KeyError as exc:
        raise pytest.UsageError(f"@pytest.mark.profile({name!r}): {exc.args[0]}") from None


def profile_names(item_or_metafunc_marker: pytest.Mark) -> list[str]:
    names = [str(a) for a in item_or_metafunc_marker.args]
    if not names:
        raise pytest.UsageError("@pytest.mark.profile needs at least one profile name")
    return names


def applied(rig: EmulatedRig, name: str, links: Sequence[str] | None) -> Iterator[ActiveProfile]:
    """Shape ``links`` (default: the access links) with profile ``name``; restore them afterwards."""
    topo = rig.topology
    if topo is None:
        raise pytest.UsageError("@pytest.mark.profile needs a rig brought up by this plugin (its topology is known)")
    chosen = list(links) if links is not None else access.access_links(topo)
    if not chosen:
        raise pytest.UsageError(f"@pytest.mark.profile({name!r}): topology {topo.name} has no access links "
                                "(none through a modem or with a sensor end); name them with links=[...]")
    up, down = profile_directions(topo, name)
    before = {link: rig.intended(link) for link in chosen}
    try:
        for link in chosen:
            rig.set_shaping(link, {"up": up, "down": down})
        yield ActiveProfile(name, tuple(chosen), up, down)
    finally:
        for link, wanted in before.items():
            rig.set_shaping(link, wanted)
