"""The campus generator, and the shipped file that is its output."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.topology import parse_topology
from testbed.topology.generate import campus, main

SHIPPED = Path(__file__).resolve().parents[2] / "topologies" / "campus-200.yaml"


@pytest.mark.parametrize("nodes", [7, 10, 50, 100, 200, 401])
def test_campus_has_at_least_the_asked_nodes_and_loads_clean(nodes: int) -> None:
    topo = parse_topology(campus(nodes), f"campus-{nodes}")
    assert nodes <= len(topo.nodes) <= nodes + 2
    assert all(link.via is None or topo.nodes[link.via].role == "modem" for link in topo.links)
    sensors = [n for n in topo.nodes.values() if n.role == "sensor"]
    assert len(sensors) == sum(1 for link in topo.links if link.via)


def test_campus_refuses_sizes_too_small_to_be_a_campus() -> None:
    with pytest.raises(ValueError, match="at least 7"):
        campus(6)


def test_shipped_campus_file_is_exactly_the_generator_output(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--nodes", "200"])
    assert capsys.readouterr().out == SHIPPED.read_text(encoding="utf-8")
