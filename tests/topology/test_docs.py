"""The topology format documented in topologies/README.md is one the loader accepts."""

from __future__ import annotations

import re
from pathlib import Path

from testbed.topology import parse_topology

README = Path(__file__).resolve().parents[2] / "topologies" / "README.md"


def test_the_format_example_in_the_readme_loads() -> None:
    block = re.search(r"## The format\n\n```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block is not None, "topologies/README.md lost its format example"
    topo = parse_topology(block.group(1), "topologies/README.md")
    assert topo.nodes["pi1"].cpu == 0.25 and topo.nodes["m2"].serial == "rfc2217://pi2:3333"
    assert [link.name for link in topo.links] == ["ecg1-gnb", "backhaul"]
