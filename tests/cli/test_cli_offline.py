"""CLI behaviour that needs no root and touches no network namespace.

validate, schema, graph, `up --dry-run`, usage errors and "no rig" errors, each run as
``python -m testbed`` in a subprocess with a private $TESTBED_RUN_DIR.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from cli_support import TOPOLOGIES, WARD, Cli, link_names, rig_namespaces, unique_rig_name, ward_topology

SHIPPED = sorted(TOPOLOGIES.glob("*.yaml"))
COMMANDS = ["validate", "up", "status", "exec", "down", "clean", "schema", "graph"]
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<rest>.*)$")

TYPO_KEY = """\
name: typo
addressing:
  pool: 10.20.0.0/16
nodes:
  a: {role: sensor}
  b: {role: cloud, descripton: typo here}
links:
  - {endpoints: [a, b]}
"""

DANGLING_NODE = """\
name: dangling
addressing:
  pool: 10.20.0.0/16
nodes:
  a: {role: sensor}
  b: {role: cloud}
links:
  - {endpoints: [a, b]}
  - {endpoints: [a, ghost]}
"""

# Both problems of the two files above in one document.
TYPO_AND_DANGLING = """\
name: broken
addressing:
  pool: 10.20.0.0/16
nodes:
  a: {role: sensor}
  b: {role: cloud, descripton: typo here}
links:
  - {endpoints: [a, b]}
  - {endpoints: [a, ghost]}
"""


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based (line, column) of the first occurrence of ``needle`` in ``text``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in text")


def located_lines(stderr: str) -> list[re.Match[str]]:
    return [m for m in map(LOCATED.match, stderr.splitlines()) if m]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- help and version ------------------------------------------------------------------------


def test_help_lists_all_eight_commands_and_the_exit_code_table(cli: Cli) -> None:
    result = cli("--help")
    assert result.returncode == 0, result.stderr
    commands_section = result.stdout.split("Commands:", 1)[1]
    listed = {line.split()[0] for line in commands_section.splitlines()
              if line.startswith("  ") and not line.startswith("   ") and line.strip()}
    assert set(COMMANDS) <= listed, listed
    text = " ".join(result.stdout.split())
    for code, meaning in [(0, "ok"), (1, "failed"), (2, "usage"), (3, "invalid topology"),
                          (4, "host unsuitable"), (5, "no such rig or node"), (6, "rig exists or is busy")]:
        assert f"{code} {meaning}" in text, f"exit code {code} ({meaning}) missing from --help"


def test_short_help_option_is_the_same_as_long(cli: Cli) -> None:
    assert cli("-h").stdout == cli("--help").stdout


def test_version_prints_program_name_and_the_package_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.returncode == 0
    pyproject = (WARD.parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert result.stdout.strip() == f"testbed, version {version}"


# --- validate ------------------------------------------------------------------------------


@pytest.mark.parametrize("topology", SHIPPED, ids=[p.name for p in SHIPPED])
def test_validate_accepts_shipped_topology_and_reports_node_and_link_counts(cli: Cli, topology: Path) -> None:
    data = yaml.safe_load(topology.read_text(encoding="utf-8"))
    result = cli("validate", topology)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (f"{topology}: ok, rig {data['name']!r}: "
                                     f"{len(data['nodes'])} nodes, {len(data['links'])} links")
    assert result.stderr == ""


def test_validate_quiet_prints_nothing_for_valid_files(cli: Cli) -> None:
    result = cli("validate", "--quiet", WARD)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_validate_reports_typo_key_at_its_file_line_and_column(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "typo.yaml", TYPO_KEY)
    result = cli("validate", path)
    assert result.returncode == 3
    assert result.stdout == ""
    problems = located_lines(result.stderr)
    assert len(problems) == 1, result.stderr
    line, col = position(TYPO_KEY, "descripton")
    assert problems[0].group("file", "line", "col") == (str(path), str(line), str(col))
    assert "descripton" in problems[0]["rest"] and "did you mean 'description'" in problems[0]["rest"]
    assert "testbed: 1 of 1 file invalid" in result.stderr


def test_validate_reports_dangling_node_at_its_file_line_and_column(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "dangling.yaml", DANGLING_NODE)
    result = cli("validate", path)
    assert result.returncode == 3
    problems = located_lines(result.stderr)
    assert len(problems) == 1, result.stderr
    line, col = position(DANGLING_NODE, "ghost")
    assert problems[0].group("file", "line", "col") == (str(path), str(line), str(col))
    assert "'ghost'" in problems[0]["rest"]


def test_validate_reports_every_type_problem_of_a_file_in_one_run(cli: Cli, tmp_path: Path) -> None:
    text = TYPO_KEY.replace("role: sensor", "role: sensr")
    path = write(tmp_path, "two.yaml", text)
    result = cli("validate", path)
    assert result.returncode == 3
    found = {(int(m["line"]), int(m["col"])) for m in located_lines(result.stderr)}
    assert found == {position(text, "sensr"), position(text, "descripton")}, result.stderr


def test_validate_reports_every_reference_problem_of_a_file_in_one_run(cli: Cli, tmp_path: Path) -> None:
    text = DANGLING_NODE.replace("{endpoints: [a, b]}", "{endpoints: [a, b], via: modem9}")
    path = write(tmp_path, "tworef.yaml", text)
    result = cli("validate", path)
    assert result.returncode == 3
    found = {(int(m["line"]), int(m["col"])) for m in located_lines(result.stderr)}
    assert found == {position(text, "modem9"), position(text, "ghost")}, result.stderr


def test_validate_reports_both_typo_key_and_dangling_node_in_one_file(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", TYPO_AND_DANGLING)
    result = cli("validate", path)
    assert result.returncode == 3
    found = {(m["file"], int(m["line"]), int(m["col"])) for m in located_lines(result.stderr)}
    expected = {(str(path), *position(TYPO_AND_DANGLING, "descripton")),
                (str(path), *position(TYPO_AND_DANGLING, "ghost"))}
    assert found == expected, result.stderr


def test_validate_of_several_files_reports_bad_one_and_still_reports_good_one_ok(cli: Cli, tmp_path: Path) -> None:
    bad = write(tmp_path, "typo.yaml", TYPO_KEY)
    result = cli("validate", bad, WARD)  # the bad file first: validation must go on after it
    assert result.returncode == 3
    assert result.stdout.strip() == f"{WARD}: ok, rig 'ward': 10 nodes, 6 links"
    assert [m["file"] for m in located_lines(result.stderr)] == [str(bad)]
    assert "testbed: 1 of 2 files invalid" in result.stderr


def test_validate_of_missing_file_exits_3_naming_the_file(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = cli("validate", missing)
    assert result.returncode == 3
    assert f"{missing}: no such file" in result.stderr
    assert result.stdout == ""


def test_validate_of_non_mapping_document_exits_3(cli: Cli, tmp_path: Path) -> None:
    result = cli("validate", write(tmp_path, "list.yaml", "- just\n- a list\n"))
    assert result.returncode == 3
    assert located_lines(result.stderr), result.stderr


# --- schema --------------------------------------------------------------------------------


def test_schema_prints_a_valid_draft_2020_12_json_schema(cli: Cli) -> None:
    result = cli("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_accepts_shipped_topologies_and_rejects_typo_key(cli: Cli) -> None:
    validator = jsonschema.Draft202012Validator(json.loads(cli("schema").stdout))
    for topology in SHIPPED:
        errors = list(validator.iter_errors(yaml.safe_load(topology.read_text(encoding="utf-8"))))
        assert not errors, f"{topology.name}: {errors[0].message}"
    errors = list(validator.iter_errors(yaml.safe_load(TYPO_KEY)))
    assert any("descripton" in e.message for e in errors), [e.message for e in errors]


def test_schema_output_option_writes_the_same_schema_to_the_file(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "topology.schema.json"
    result = cli("schema", "-o", target)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8") == cli("schema").stdout
    jsonschema.Draft202012Validator.check_schema(json.loads(target.read_text(encoding="utf-8")))


# --- graph ---------------------------------------------------------------------------------


def test_graph_dot_names_every_ward_node_and_link(cli: Cli) -> None:
    topo = ward_topology()
    result = cli("graph", WARD)
    assert result.returncode == 0, result.stderr
    dot = result.stdout
    assert dot.startswith('graph "ward" {') and dot.rstrip().endswith("}")
    for node in topo["nodes"]:
        assert re.search(rf'^\s*"{node}" \[', dot, re.M), f"node {node} not declared"
    for link, spec in zip(link_names(topo), topo["links"], strict=True):
        a, b = (str(e).split(":")[0] for e in spec["endpoints"])
        assert re.search(rf'"{a}" -- "{b}" \[label="{link}\\n', dot), f"link {link} not drawn"


def test_graph_mermaid_starts_with_graph_lr_and_names_nodes_and_links(cli: Cli) -> None:
    topo = ward_topology()
    result = cli("graph", "-f", "mermaid", WARD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "graph LR"
    for node in topo["nodes"]:
        assert f"n_{node}" in result.stdout
    for link in link_names(topo):
        assert f'"{link}<br/>' in result.stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` is not installed")
def test_graph_dot_output_is_accepted_by_graphviz(cli: Cli) -> None:
    dot = cli("graph", WARD).stdout
    svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=30)
    assert svg.returncode == 0, svg.stderr
    assert "<svg" in svg.stdout
    topo = ward_topology()
    via_edges = sum(1 for link in topo["links"] if link.get("via"))
    assert svg.stdout.count('class="node"') == len(topo["nodes"])
    assert svg.stdout.count('class="edge"') == len(topo["links"]) + via_edges


def test_graph_of_invalid_topology_exits_3(cli: Cli, tmp_path: Path) -> None:
    result = cli("graph", write(tmp_path, "dangling.yaml", DANGLING_NODE))
    assert result.returncode == 3
    assert "ghost" in result.stderr and result.stdout == ""


# --- up --dry-run --------------------------------------------------------------------------


def dry_run_sections(stdout: str) -> dict[str, list[str]]:
    """'host' and each namespace's lines of `up --dry-run` output."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in stdout.splitlines():
        if line.startswith("# host namespace"):
            current = sections.setdefault("host", [])
        elif line.startswith("# ip -n "):
            current = sections.setdefault(line.split()[3], [])
        elif line.strip():
            assert current is not None, f"line before any section: {line!r}"
            current.append(line)
    return sections


def test_up_dry_run_prints_the_plan_and_creates_no_namespace(cli: Cli) -> None:
    topo = ward_topology()
    rig = unique_rig_name()
    result = cli("up", "--dry-run", "--rig", rig, WARD)
    assert result.returncode == 0, result.stderr
    assert not rig_namespaces(rig), "a dry run created namespaces"
    assert not (cli.run_dir / "rigs" / rig).exists(), "a dry run wrote rig state"

    sections = dry_run_sections(result.stdout)
    host = sections.pop("host")
    for node in topo["nodes"]:
        assert f"netns add tb-{rig}-{node}" in host
    assert set(sections) == {f"tb-{rig}-{node}" for node in topo["nodes"]}
    veths = [line for line in host if line.startswith("link add ") and " type veth peer " in line]
    assert len(veths) == len(topo["links"])
    addresses = [line for lines in sections.values() for line in lines if line.startswith("address add ")]
    assert len(addresses) == 2 * len(topo["links"])
    # explicit addresses of ward.yaml's edge-cloud link, on the interfaces it names
    assert "address add 10.99.0.1/30 dev wan" in sections[f"tb-{rig}-edge"]
    assert "address add 10.99.0.2/30 dev edge" in sections[f"tb-{rig}-cloud"]
    assert "route add default via 10.99.0.1 dev edge" in sections[f"tb-{rig}-cloud"]
    # every end knows its peer's MAC from the start (no ARP round trip over a shaped link)
    macs = [mac for line in veths for mac in re.findall(r"name \S+ index \d+ address (\S+)", line)]
    assert len(set(macs)) == len(macs) == 2 * len(veths)
    neighbours = [line for lines in sections.values() for line in lines if line.startswith("neigh add ")]
    assert len(neighbours) == 2 * len(topo["links"])
    assert all(line.endswith(" nud permanent") for line in neighbours)
    cloud_end = re.search(r"peer name edge index \d+ address (\S+) netns tb-\S+-cloud", "\n".join(veths))
    assert cloud_end
    assert f"neigh add 10.99.0.2 lladdr {cloud_end[1]} dev wan nud permanent" in sections[f"tb-{rig}-edge"]
    for node, spec in topo["nodes"].items():
        if spec["role"] == "sensor":
            assert any(line.startswith("route add default via ") for line in sections[f"tb-{rig}-{node}"]), node
    assert "ip_forward=1" in result.stdout


def test_up_dry_run_without_rig_uses_the_topology_name(cli: Cli) -> None:
    result = cli("up", "--dry-run", WARD)
    assert result.returncode == 0, result.stderr
    assert "netns add tb-ward-ecg1" in result.stdout


@pytest.mark.parametrize("bad_name", ["..", "Bad/Name"])
def test_up_refuses_a_rig_name_that_is_not_a_valid_rig_name(cli: Cli, bad_name: str) -> None:
    result = cli("up", "--dry-run", "--rig", bad_name, WARD)
    assert result.returncode in (2, 3), result.stdout[:200]
    assert f"netns add tb-{bad_name}-" not in result.stdout


# --- usage errors and missing rigs ----------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--bogus"],
    ["nosuchcommand"],
    ["validate"],
    ["validate", "--bogus", str(WARD)],
    ["up"],
    ["graph"],
    ["graph", "-f", "png", str(WARD)],
    ["status", "--bogus"],
    ["schema", "extra"],
    ["exec"],
    ["exec", "ecg1"],
], ids=lambda a: " ".join(a).replace(str(WARD), "ward.yaml") or "-")
def test_usage_errors_exit_2_with_usage_on_stderr(cli: Cli, args: list[str]) -> None:
    result = cli(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Error:" in result.stderr
    assert result.stdout == ""


def test_status_with_no_rig_up_exits_5_with_a_message(cli: Cli) -> None:
    result = cli("status")
    assert result.returncode == 5
    assert "no rig is up" in result.stderr
    assert result.stdout == ""


def test_status_of_unknown_rig_exits_5_naming_it(cli: Cli) -> None:
    result = cli("status", "--rig", "nosuch")
    assert result.returncode == 5
    assert "'nosuch'" in result.stderr


def test_status_honours_testbed_rig_env_for_unknown_rig(cli: Cli) -> None:
    result = cli("status", env={"TESTBED_RIG": "envrig"})
    assert result.returncode == 5
    assert "'envrig'" in result.stderr
