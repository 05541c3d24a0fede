"""The CLI run by an ordinary user (uid 65534 via setpriv): refused where root is needed, fine elsewhere.

Marked ``root`` because switching to another user needs root; the commands themselves run
unprivileged and create nothing.
"""

from __future__ import annotations

import pytest
from cli_support import Cli, rig_namespaces, unique_rig_name

pytestmark = pytest.mark.root


def test_up_as_non_root_exits_4_saying_root_is_needed(cli: Cli, nobody: list[str], world_readable_ward) -> None:
    rig = unique_rig_name()
    result = cli("up", "--rig", rig, world_readable_ward, prefix=nobody, cwd="/")
    assert result.returncode == 4, (result.stdout, result.stderr)
    assert "root" in result.stderr
    assert result.stdout == ""
    assert rig_namespaces(rig) == set()
    assert not (cli.run_dir / "rigs" / rig).exists()


@pytest.mark.parametrize("args", [
    ["down", "--rig", "nosuch"],
    ["clean", "--rig", "nosuch"],
    ["exec", "--rig", "nosuch", "ecg1", "--", "true"],
], ids=lambda a: a[0])
def test_commands_that_manage_namespaces_exit_4_as_non_root(cli: Cli, nobody: list[str], args: list[str]) -> None:
    result = cli(*args, prefix=nobody, cwd="/")
    assert result.returncode == 4, (result.stdout, result.stderr)
    assert "root" in result.stderr


def test_validate_works_as_non_root(cli: Cli, nobody: list[str], world_readable_ward) -> None:
    result = cli("validate", world_readable_ward, prefix=nobody, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{world_readable_ward}: ok, rig 'ward': 10 nodes, 6 links"


def test_up_dry_run_works_as_non_root(cli: Cli, nobody: list[str], world_readable_ward) -> None:
    rig = unique_rig_name()
    result = cli("up", "--dry-run", "--rig", rig, world_readable_ward, prefix=nobody, cwd="/")
    assert result.returncode == 0, result.stderr
    assert f"netns add tb-{rig}-ecg1" in result.stdout
    assert rig_namespaces(rig) == set()
