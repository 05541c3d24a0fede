"""The access links of a topology and what a named profile does on them.

Why one place: the radio leg is where the seed's scenarios differ (a link through a modem,
else a link with a sensor at one end), so both the pytest plugin's ``profile`` marker and
the demo re-shape exactly these links with a library or topology profile.
"""

from __future__ import annotations

from .library import library_profiles
from .model import Impairment, Topology


def access_links(topo: Topology) -> list[str]:
    """Links through a modem; when there are none, links with a sensor at one end."""
    through_modems = [link.name for link in topo.links if link.via and link.name]
    if through_modems:
        return through_modems
    return [link.name for link in topo.links
            if link.name and any(topo.nodes[n].role == "sensor" for n in link.nodes)]


def profile_directions(topo: Topology, name: str) -> tuple[Impairment, Impairment]:
    """A topology or library profile's (up, down) impairments; KeyError naming the known ones."""
    profiles = {**library_profiles(), **topo.profiles}
    if name not in profiles:
        raise KeyError(f"no profile {name!r} in {topo.source or topo.name} or the library; "
                       f"known: {', '.join(sorted(profiles))}")
    merged = Topology(name=topo.name, profiles=profiles)
    return merged.profile_impairment(name, "up"), merged.profile_impairment(name, "down")
