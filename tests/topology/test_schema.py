"""The JSON Schema generated from the model: valid draft 2020-12, fits the shipped topologies,
and agrees with the loader on what it refuses."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from testbed.errors import TopologyInvalid
from testbed.topology import parse_topology
from testbed.topology.model import Topology
from testbed.topology.strict import json_schema

SCHEMA_ID = "https://testbed.invalid/schemas/topology.schema.json"
TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"
TOPOLOGY_FILES = sorted(TOPOLOGIES.glob("*.yaml"))


@pytest.fixture(scope="module")
def schema() -> dict:
    return json_schema(Topology, "testbed topology", SCHEMA_ID)


@pytest.fixture(scope="module")
def validator(schema) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema)


GOOD = textwrap.dedent("""\
    name: rig
    description: every field once
    addressing: {pool: 10.20.0.0/16, prefix: 30}
    profiles:
      base:
        description: radio
        both: {delay: 10ms, jitter: 1ms, delay-correlation: 25%, distribution: normal, limit: 1000}
        up: {rate: 40mbit, packet-overhead: 14}
        down: {loss: 0.5%, ecn: true}
      bursty:
        down:
          gemodel: {p: 1%, r: 10%, bad-loss: 100%, good-loss: 0}
          ecn: true
      worse:
        extends: base
        both: {loss: 1%, loss-correlation: 25%, duplicate: 0.1, duplicate-correlation: 5,
               corrupt: 0.01%, corrupt-correlation: 1%}
    nodes:
      ue: {role: sensor, description: ECG, labels: {ward: "3"}}
      m1: {role: modem}
      gw: {role: router, forwarding: true}
      edge: {role: edge}
      cloud: {role: cloud, forwarding: false}
    links:
      - endpoints: ["ue:wwan0", gw]
        via: m1
        profile: worse
        mtu: 1400
      - endpoints: [gw, edge]
        name: backhaul
        addresses: [192.168.0.1/30, 192.168.0.2/30]
        up:
          delay: 5ms
          reorder: 5%
          reorder-correlation: 10%
          reorder-gap: 5
          slot: {min: 1ms, max: 2ms, packets: 10, bytes: 1500}
      - endpoints: [edge, cloud]
        both: {rate: 1gbit}
        down: ~
    """)


def schema_errors(validator, text: str) -> list[str]:
    """Every message, including those under anyOf branches (an optional block is 'X or null')."""
    messages: list[str] = []

    def flatten(errors):
        for error in errors:
            messages.append(error.message)
            flatten(error.context or [])

    flatten(validator.iter_errors(yaml.safe_load(text)))
    return messages


def loader_problems(text: str) -> list[str]:
    try:
        parse_topology(text, "t.yaml")
    except TopologyInvalid as exc:
        return exc.problems
    return []


# --- the schema itself -------------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_root_is_the_topology_with_its_id_and_title(schema):
    assert schema["$id"] == SCHEMA_ID
    assert schema["title"] == "testbed topology"
    assert schema["type"] == "object"
    assert schema["required"] == ["name"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"name", "description", "addressing", "profiles", "nodes", "links",
                                          "timeline"}


def test_schema_has_one_def_per_nested_dataclass_and_every_ref_resolves(schema):
    assert set(schema["$defs"]) == {"Addressing", "GilbertElliott", "Handover", "Impairment", "Link", "Node",
                                   "Profile", "Slot", "TimelineEvent", "Trace"}
    refs = []

    def collect(value):
        if isinstance(value, dict):
            if "$ref" in value:
                refs.append(value["$ref"])
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(schema)
    assert refs
    for ref in refs:
        assert ref.startswith("#/$defs/")
        assert ref.removeprefix("#/$defs/") in schema["$defs"], ref


def test_schema_uses_yaml_spelling_and_leaves_out_key_and_internal_fields(schema):
    defs = schema["$defs"]
    assert "delay-correlation" in defs["Impairment"]["properties"]
    assert "delay_correlation" not in defs["Impairment"]["properties"]
    assert "bad-loss" in defs["GilbertElliott"]["properties"]
    assert "name" not in defs["Node"]["properties"]
    assert "name" not in defs["Profile"]["properties"]
    assert "source" not in schema["properties"]
    assert defs["Node"]["required"] == ["role"]
    assert defs["Link"]["required"] == ["endpoints"]


def test_schema_carries_descriptions_and_scalar_defaults(schema):
    addressing = schema["$defs"]["Addressing"]["properties"]
    assert addressing["prefix"]["default"] == 30
    assert addressing["prefix"]["description"].startswith("prefix length")
    assert schema["$defs"]["Node"]["properties"]["role"]["description"] == "what the node stands for"
    assert schema["$defs"]["Node"]["properties"]["role"]["enum"] == ["sensor", "modem", "edge", "cloud", "router"]


def test_rich_document_is_accepted_by_schema_and_loader(validator):
    assert schema_errors(validator, GOOD) == []
    assert loader_problems(GOOD) == []


# --- shipped topologies ------------------------------------------------------------------------


@pytest.mark.skipif(not TOPOLOGY_FILES, reason="topologies/ has no *.yaml files yet (another developer is adding them)")
@pytest.mark.parametrize("path", TOPOLOGY_FILES or [None], ids=[p.name for p in TOPOLOGY_FILES] or ["none"])
def test_shipped_topology_validates_against_the_schema(validator, path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []


# --- agreement: what the schema refuses, the loader refuses too --------------------------------


def _with(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


UNKNOWN_KEYS = {
    "top level": ("description: every field once\n", "description: every field once\ncolour: blue\n"),
    "node": ("  m1: {role: modem}\n", "  m1: {role: modem, imei: '1234'}\n"),
    "addressing": ("prefix: 30}", "prefix: 30, gateway: 10.20.0.1}"),
    "profile": ("    extends: base\n", "    extends: base\n    extend: base\n"),
    "profile impairment": ("packet-overhead: 14}", "packet-overhead: 14, burst: 3}"),
    "link": ("    mtu: 1400\n", "    mtu: 1400\n    speed: 1gbit\n"),
    "link impairment": ("      delay: 5ms\n", "      delay: 5ms\n      dealy: 6ms\n"),
    "gemodel": ("good-loss: 0}", "good-loss: 0, h: 1}"),
    "slot": ("bytes: 1500}", "bytes: 1500, gap: 1ms}"),
}


@pytest.mark.parametrize("where", list(UNKNOWN_KEYS))
def test_unknown_key_is_rejected_by_both_schema_and_loader(validator, where):
    text = _with(GOOD, *UNKNOWN_KEYS[where])
    errors = schema_errors(validator, text)
    assert any("Additional properties are not allowed" in e for e in errors), errors
    problems = loader_problems(text)
    assert len(problems) == 1, problems
    assert "unknown field" in problems[0]


INVALID_VALUES = {
    "role enum": ("  m1: {role: modem}\n", "  m1: {role: modme}\n", "expected one of"),
    "distribution enum": ("distribution: normal", "distribution: gaussian", "expected one of"),
    "role as bool": ("  m1: {role: modem}\n", "  m1: {role: true}\n", "expected one of"),
    "missing role": ("  m1: {role: modem}\n", "  m1: {description: no role}\n", "missing required field 'role'"),
    "missing name": ("name: rig\n", "", "missing required field 'name'"),
    "three endpoints": ("[gw, edge]", "[gw, edge, cloud]", "exactly 2 items"),
    "bare number delay": ("delay: 5ms", "delay: 5", "has no unit"),
    "bytes per second rate": ("rate: 40mbit", "rate: 40mbps", "ambiguous"),
    "percent above 100": ("duplicate: 0.1,", "duplicate: 101,", "between 0 and 100"),
    "mtu as bool": ("mtu: 1400", "mtu: yes", "expected an integer"),
    "forwarding as string": ("forwarding: true", "forwarding: 'on'", "expected true or false"),
    "labels as list": ('labels: {ward: "3"}', "labels: [ward]", "expected a mapping"),
    "endpoints as string": ("[gw, edge]", "'gw edge'", "expected a list"),
    "address without prefix": ("192.168.0.1/30,", "192.168.0.1,", "prefix length"),
}


@pytest.mark.parametrize("case", list(INVALID_VALUES))
def test_invalid_value_is_rejected_by_both_schema_and_loader(validator, case):
    old, new, words = INVALID_VALUES[case]
    text = _with(GOOD, old, new)
    assert schema_errors(validator, text) != []
    problems = loader_problems(text)
    assert len(problems) == 1, problems
    assert words in problems[0]


def test_schema_enum_lists_exactly_the_choices_the_loader_accepts(schema):
    enum = schema["$defs"]["Impairment"]["properties"]["distribution"]["anyOf"][0]["enum"]
    assert enum == ["normal", "pareto", "paretonormal", "uniform"]
    for choice in enum:
        text = _with(GOOD, "distribution: normal", f"distribution: {choice}")
        assert loader_problems(text) == []


def test_schema_is_plain_data_and_generation_is_repeatable(schema):
    again = json_schema(Topology, "testbed topology", SCHEMA_ID)
    assert again == schema
