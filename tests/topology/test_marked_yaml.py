"""YAML with marks: 1-based positions, duplicate keys, syntax errors, merges, safe tags, aliases."""

from __future__ import annotations

import textwrap

import pytest

from testbed.topology.marked_yaml import Mark, MarkedYAMLError, load_marked


def y(text: str) -> str:
    return textwrap.dedent(text)


# --- values and marks --------------------------------------------------------------------------


def test_values_are_plain_python_with_safe_load_scalars():
    data, _ = load_marked(y("""\
        name: rig
        count: 3
        ratio: 0.5
        enabled: true
        nothing: null
        list: [a, 1]
        """))
    assert data == {"name": "rig", "count": 3, "ratio": 0.5, "enabled": True, "nothing": None, "list": ["a", 1]}


def test_marks_are_one_based_line_and_column_of_values_and_keys():
    _, loc = load_marked(y("""\
        name: rig
        nodes:
          edge:
            role: edge
        links:
          - endpoints: [a, b]
        """))
    assert loc.value(()) == Mark(1, 1)
    assert loc.key(("name",)) == Mark(1, 1)
    assert loc.value(("name",)) == Mark(1, 7)
    assert loc.key(("nodes", "edge")) == Mark(3, 3)
    assert loc.value(("nodes", "edge")) == Mark(4, 5)
    assert loc.key(("nodes", "edge", "role")) == Mark(4, 5)
    assert loc.value(("nodes", "edge", "role")) == Mark(4, 11)
    assert loc.value(("links", 0)) == Mark(6, 5)
    assert loc.value(("links", 0, "endpoints")) == Mark(6, 16)
    assert loc.value(("links", 0, "endpoints", 1)) == Mark(6, 20)


def test_value_mark_falls_back_to_nearest_ancestor():
    _, loc = load_marked(y("""\
        top:
          inner: {a: 1}
        """))
    assert loc.value(("top", "inner", "missing", 3)) == Mark(2, 10)
    assert loc.value(("nowhere",)) == Mark(1, 1)


def test_key_mark_falls_back_to_value_mark_for_sequence_items():
    _, loc = load_marked(y("""\
        items:
          - x
          - y
        """))
    assert loc.key(("items", 1)) == Mark(3, 5)


def test_empty_document_gives_none_and_no_marks():
    data, loc = load_marked("")
    assert data is None
    assert loc.values == {} and loc.keys == {}
    assert loc.value(("anything",)) is None


def test_comment_only_document_is_empty():
    data, _ = load_marked("# nothing here\n")
    assert data is None


def test_number_keys_become_strings():
    data, _ = load_marked("1: a\n1.5: c\n")
    assert data == {"1": "a", "1.5": "c"}


@pytest.mark.parametrize("key", ["on", "no", "true", "~"])
def test_keys_that_yaml_reads_as_booleans_or_null_are_refused_with_a_quoting_hint(key):
    with pytest.raises(MarkedYAMLError) as info:
        load_marked(f"nodes:\n  {key}: x\n")
    assert f"quote it: '{key}'" in info.value.message
    assert info.value.mark == Mark(2, 3)


def test_mapping_as_key_is_refused_with_mark():
    with pytest.raises(MarkedYAMLError) as info:
        load_marked("ok: 1\n? {a: 1}\n: 2\n")
    assert "a mapping key must be a plain scalar" in info.value.message
    assert info.value.mark == Mark(2, 3)


# --- duplicate keys ----------------------------------------------------------------------------


def test_duplicate_top_level_key_is_an_error_naming_both_lines():
    with pytest.raises(MarkedYAMLError) as info:
        load_marked(y("""\
            name: a
            nodes: {}
            name: b
            """))
    assert info.value.message == "duplicate key 'name' (first given at line 1)"
    assert info.value.mark == Mark(3, 1)
    assert info.value.path == ("name",)


def test_duplicate_nested_key_points_at_the_second_key():
    with pytest.raises(MarkedYAMLError) as info:
        load_marked(y("""\
            nodes:
              edge:
                role: edge
              modem:
                role: modem
              edge:
                role: cloud
            """))
    assert info.value.message == "duplicate key 'edge' (first given at line 2)"
    assert info.value.mark == Mark(6, 3)
    assert info.value.path == ("nodes", "edge")


def test_duplicate_key_in_flow_mapping_inside_a_list_is_an_error():
    with pytest.raises(MarkedYAMLError) as info:
        load_marked(y("""\
            links:
              - {name: x, via: m,
                 name: y}
            """))
    assert "duplicate key 'name' (first given at line 2)" in info.value.message
    assert info.value.mark == Mark(3, 6)
    assert info.value.path == ("links", 0, "name")


def test_keys_that_stringify_equal_are_duplicates():
    with pytest.raises(MarkedYAMLError, match=r"duplicate key '1' \(first given at line 1\)"):
        load_marked("1: a\n'1': b\n")


# --- syntax errors -----------------------------------------------------------------------------


def test_unclosed_flow_sequence_is_a_syntax_error_with_mark():
    with pytest.raises(MarkedYAMLError) as info:
        load_marked("a: 1\nb: [1, 2\n")
    assert info.value.message.startswith("not valid YAML: ")
    assert "did not find expected ',' or ']'" in info.value.message
    assert "while parsing a flow sequence" in info.value.message
    assert info.value.mark == Mark(3, 1)


def test_bad_indentation_is_a_syntax_error_with_mark():
    with pytest.raises(MarkedYAMLError) as info:
        load_marked("a: 1\n b: 2\n")
    assert info.value.message == "not valid YAML: mapping values are not allowed in this context"
    assert info.value.mark == Mark(2, 3)


def test_tab_indentation_is_a_syntax_error_with_mark():
    with pytest.raises(MarkedYAMLError) as info:
        load_marked("a:\n\tb: 1\n")
    assert info.value.message.startswith("not valid YAML: ")
    assert info.value.mark == Mark(2, 1)


def test_second_document_is_refused():
    with pytest.raises(MarkedYAMLError) as info:
        load_marked("a: 1\n---\nb: 2\n")
    assert "expected a single document" in info.value.message
    assert info.value.mark == Mark(2, 1)


def test_undefined_alias_is_a_syntax_error_with_mark():
    with pytest.raises(MarkedYAMLError) as info:
        load_marked("a: 1\nb: *nowhere\n")
    assert "found undefined alias" in info.value.message
    assert info.value.mark == Mark(2, 4)


def test_control_character_is_refused_without_a_mark():
    with pytest.raises(MarkedYAMLError) as info:
        load_marked('a: "\x07"\n')
    assert "not valid YAML" in info.value.message
    assert "control characters are not allowed" in info.value.message


# --- merge keys and aliases --------------------------------------------------------------------


def test_merge_key_copies_keys_and_explicit_keys_win():
    data, _ = load_marked(y("""\
        base: &base
          role: edge
          forwarding: true
        node:
          <<: *base
          role: cloud
        """))
    assert data["node"] == {"role": "cloud", "forwarding": True}
    assert data["base"] == {"role": "edge", "forwarding": True}


def test_merge_key_with_explicit_key_before_it_still_lets_explicit_win():
    data, _ = load_marked(y("""\
        base: &base {role: edge, labels: {a: b}}
        node:
          role: cloud
          <<: *base
        """))
    assert data["node"] == {"role": "cloud", "labels": {"a": "b"}}


def test_merge_key_list_gives_earlier_mappings_precedence():
    data, _ = load_marked(y("""\
        one: &one {x: 1, y: 1}
        two: &two {y: 2, z: 2}
        m:
          <<: [*one, *two]
          x: 9
        """))
    assert data["m"] == {"x": 9, "y": 1, "z": 2}


def test_merge_key_with_a_scalar_is_refused_with_mark():
    with pytest.raises(MarkedYAMLError) as info:
        load_marked(y("""\
            a: 1
            m:
              <<: 5
            """))
    assert info.value.message == "a merge key (<<) takes a mapping or a list of mappings"
    assert info.value.mark == Mark(3, 7)


def test_merged_keys_are_not_reported_as_duplicates():
    data, _ = load_marked(y("""\
        base: &b {x: 1}
        m:
          <<: *b
          x: 2
        """))
    assert data["m"] == {"x": 2}


def test_value_written_before_merge_key_is_marked_where_it_is_written():
    _, loc = load_marked(y("""\
        base: &b
          delay: 10ms
        m:
          delay: 10
          <<: *b
        """))
    assert loc.value(("m", "delay")) == Mark(4, 10)


def test_value_merged_in_is_marked_at_the_anchor():
    _, loc = load_marked(y("""\
        base: &b
          delay: 10ms
          loss: 1%
        m:
          <<: *b
          delay: 20ms
        """))
    assert loc.value(("m", "loss")) == Mark(3, 9)


def test_value_overriding_a_merge_key_is_marked_where_it_is_written():
    _, loc = load_marked(y("""\
        base: &b
          delay: 10ms
        m:
          <<: *b
          delay: 10
        """))
    assert loc.value(("m", "delay")) == Mark(5, 10)


def test_alias_gives_an_equal_value():
    data, _ = load_marked(y("""\
        a: &x {k: [1, 2]}
        b: *x
        """))
    assert data["b"] == {"k": [1, 2]}


@pytest.mark.timeout(5)
def test_recursive_sequence_alias_is_refused_without_hanging():
    with pytest.raises(MarkedYAMLError) as info:
        load_marked("a: &x [1, *x]\n")
    assert info.value.message == "recursive alias: a value may not contain itself"
    assert info.value.mark == Mark(1, 4)


@pytest.mark.timeout(5)
def test_recursive_mapping_alias_is_refused_without_hanging():
    with pytest.raises(MarkedYAMLError, match="recursive alias"):
        load_marked(y("""\
            a: &x
              b:
                c: *x
            """))


@pytest.mark.timeout(5)
def test_mapping_merging_itself_is_refused_or_loaded_without_crashing():
    try:
        data, _ = load_marked("a: &x {b: 1, <<: *x}\n")
    except MarkedYAMLError as exc:
        assert "recursive" in exc.message
    else:
        assert data == {"a": {"b": 1}}


# --- tags: safe_load semantics -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/name:os.system ''\n",
        "a: !!python/object/new:os.system ''\n",
        "a: !!python/str hello\n",
        "a: !custom value\n",
    ],
)
def test_python_and_unknown_tags_on_scalars_are_refused(text):
    with pytest.raises(MarkedYAMLError) as info:
        load_marked(text)
    assert "could not determine a constructor for the tag" in info.value.message
    assert info.value.mark == Mark(1, 4)


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object:os.system\n  x: 1\n",
        "a: !!python/object/apply:os.system ['echo hi']\n",
        "a: !!python/object/new:os.system {args: ['echo hi']}\n",
    ],
)
def test_python_object_tags_on_collections_are_refused(text):
    with pytest.raises(MarkedYAMLError, match="is not allowed: topology files are plain YAML"):
        load_marked(text)


def test_standard_safe_scalar_tags_still_work():
    data, _ = load_marked("a: !!str 5\nb: !!int '7'\n")
    assert data == {"a": "5", "b": 7}
