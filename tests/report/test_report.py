"""The HTML report from synthetic results directories: sections, numbers, escaping, errors, determinism."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from report_builder import ResultsDir, distribution, full, latency, limits, measurement

from testbed.report import ResultsInvalid, ResultsNotFound, load_results, write_report
from testbed.report.fmt import limits_text
from testbed.report.group import group, offload_rows, section_of
from testbed.report.load import Limits
from testbed.report.plots import MAX_POINTS, cdf_points, thin
from testbed.report.sections import MAX_CURVES

SECTION_IDS = ("topology", "latency", "link", "offload", "ledger", "integrity", "other", "tests")
SVG_NS = {"svg": "http://www.w3.org/2000/svg"}


def render(results: ResultsDir) -> str:
    return write_report(results.write()).read_text()


def sections_in(page: str) -> set[str]:
    return set(re.findall(r'<section id="([a-z]+)">', page))


def section_html(page: str, ident: str) -> str:
    match = re.search(rf'<section id="{ident}">.*?</section>', page, re.S)
    assert match, f"no section {ident}"
    return match.group(0)


def rows(fragment: str) -> list[list[str]]:
    """Table body rows as lists of cell texts (tags stripped)."""
    body = re.findall(r"<tbody>(.*?)</tbody>", fragment, re.S)
    return [[re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for part in body for row in re.findall(r"<tr>(.*?)</tr>", part, re.S)]


def svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", page, re.S)]


def curve_vertices(page: str, gid: str) -> list[tuple[float, float]]:
    """The display coordinates of the line matplotlib drew with ``gid``."""
    for svg in svgs(page):
        group = svg.find(f".//svg:g[@id='{gid}']", SVG_NS)
        if group is not None:
            path = group.find(".//svg:path", SVG_NS)
            assert path is not None
            numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.attrib["d"])]
            return list(zip(numbers[::2], numbers[1::2], strict=True))
    raise AssertionError(f"no curve {gid}")


def test_every_section_present_for_full_results(tmp_path: Path) -> None:
    page = render(full(tmp_path))
    assert sections_in(page) == set(SECTION_IDS)
    for ident in SECTION_IDS:
        assert f'href="#{ident}"' in page


def test_no_tests_gives_only_the_header(tmp_path: Path) -> None:
    page = render(ResultsDir(tmp_path))
    assert sections_in(page) == set()
    assert "0 tests" in page and "<nav>" not in page


@pytest.mark.parametrize(("ident", "m"), [
    ("latency", latency("ecg1", "lte")),
    ("link", measurement("link.x", 5.0, section="link", labels={"link": "a-b", "direction": "up", "configured": 4})),
    ("ledger", measurement("ledger.tps", 5.0, unit="tx/s", section="ledger")),
    ("integrity", measurement("integrity.chain", 1, unit="bool", section="integrity")),
    ("offload", measurement("offload.upload", 5.0, section="offload",
                            labels={"profile": "lte", "load": 2, "term": "upload"})),
    ("other", measurement("misc.x", 5.0, section="nonsense")),
])
def test_a_section_appears_only_with_its_data(tmp_path: Path, ident: str, m: dict[str, Any]) -> None:
    page = render(ResultsDir(tmp_path).test("t.py::t", m))
    assert sections_in(page) == {ident, "tests"}


@pytest.mark.parametrize("m", [
    measurement("latency.noprofile", 5.0, section="latency", labels={"device": "ecg1"},
                distribution=distribution()),
    measurement("latency.scalar", 5.0, section="latency", labels={"device": "ecg1", "profile": "lte"}),
    measurement("link.noconf", 5.0, section="link", labels={"link": "a-b", "direction": "up", "configured": "x"}),
    measurement("integrity.notbool", 1, unit="ms", section="integrity"),
    measurement("offload.badterm", 5.0, section="offload", labels={"profile": "lte", "load": 2, "term": "nap"}),
])
def test_misshapen_measurements_fall_back_to_the_generic_table(tmp_path: Path, m: dict[str, Any]) -> None:
    page = render(ResultsDir(tmp_path).test("t.py::t", m))
    assert sections_in(page) == {"other", "tests"}
    assert [r[1] for r in rows(section_html(page, "other"))] == [m["name"]]


def test_every_measurement_appears_somewhere(tmp_path: Path) -> None:
    results = full(tmp_path)
    page = render(results)
    for test in results.tests:
        for m in test["measurements"]:
            assert f">{m['name']}<" in page


def test_header_counts_and_failed_messages(tmp_path: Path) -> None:
    page = render(full(tmp_path).test("t.py::t_err", outcome="error", message="fixture <rig> broke", marginal=True))
    header = re.search(r"<header>.*?</header>", page, re.S)
    assert header
    text = header.group(0)
    for count in ("8 tests", "5 passed", "1 failed", "1 skipped", "1 error", "1 marginal"):
        assert count in text
    assert "AssertionError: tamper not detected" in text
    assert "fixture &lt;rig&gt; broke" in text
    assert "needs a modem" not in text  # a skip is not a failure


def test_labels_names_and_messages_are_escaped(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script>"
    results = ResultsDir(tmp_path).test(
        f"t.py::t[{evil}]",
        latency(evil, evil, description=evil),
        measurement(evil, 1.0, unit=evil, section="ledger", description=evil),
        measurement("m$x$", 2.0, section="ledger", labels={evil: evil}),
        measurement("other", 3.0, labels={evil: evil}),
        outcome="failed", message=evil)
    page = render(results)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    svgs(page)  # the SVGs are still well-formed XML


def test_latency_cdf_from_a_known_series(tmp_path: Path) -> None:
    results = ResultsDir(tmp_path)
    values = [float((i * 37) % 100 + 1) for i in range(100)]  # 1..100, shuffled
    series = results.series(values, [i * 0.01 for i in range(100)])
    page = render(results.test("t.py::t", latency("ecg1", "lte", series=series,
                                                  distribution=distribution(100, 1.0, 100.0, p50=50.5, p99=99.01))))
    xs, ys = cdf_points(values)
    assert list(xs) == [float(v) for v in range(1, 101)]
    assert list(ys) == pytest.approx([i / 100 for i in range(1, 101)])
    vertices = curve_vertices(page, "latency-0-cdf-curve-0")
    assert len(vertices) == 100
    assert all(b[0] > a[0] and b[1] < a[1] for a, b in zip(vertices, vertices[1:], strict=False))  # up and right
    table = rows(section_html(page, "latency"))
    assert table[0][:6] == ["ecg1", "100", "50.5", "—", "99.01", "100"]
    assert "latency-0-time-curve-0" in page


def test_latency_without_series_draws_percentile_steps(tmp_path: Path) -> None:
    page = render(ResultsDir(tmp_path).test("t.py::t", latency("spo2", "wifi")))
    # min, p50, p90, p99, max as steps: 5 points, each step adds a corner
    assert len(curve_vertices(page, "latency-0-cdf-curve-0")) == 9
    assert "spo2 (percentiles)" in page
    assert "latency-0-time" not in page


def test_latency_one_cdf_per_profile(tmp_path: Path) -> None:
    page = render(ResultsDir(tmp_path).test("t.py::a", latency("ecg1", "lte"), latency("ecg1", "5g"))
                  .test("t.py::b", latency("ecg1", "lte")))
    assert "Profile lte" in page and "Profile 5g" in page
    assert [r[0] for r in rows(section_html(page, "latency"))] == ["ecg1 #1", "ecg1 #2", "ecg1"]


def test_plots_cap_their_curves_but_tables_list_all(tmp_path: Path) -> None:
    page = render(ResultsDir(tmp_path).test("t.py::t", *(latency(f"dev{i:02d}", "lte") for i in range(MAX_CURVES + 1))))
    assert f"The plot shows the first {MAX_CURVES} of {MAX_CURVES + 1} curves" in page
    assert f"latency-0-cdf-curve-{MAX_CURVES - 1}" in page and f"latency-0-cdf-curve-{MAX_CURVES}" not in page
    assert len(rows(section_html(page, "latency"))) == MAX_CURVES + 1


def test_ledger_chart_needs_two_values(tmp_path: Path) -> None:
    one = render(ResultsDir(tmp_path / "a").test("t.py::t", measurement("ledger.tps", 5.0, section="ledger"),
                                                 measurement("ledger.lag", None, section="ledger")))
    assert "<svg" not in one and ">ledger.lag<" in one
    two = render(ResultsDir(tmp_path / "b").test("t.py::t", measurement("ledger.tps", 5.0, section="ledger"),
                                                 measurement("ledger.lag", 2.0, section="ledger")))
    assert "<svg" in two


def test_long_series_are_thinned_but_keep_extremes() -> None:
    values = [float(i % 50) for i in range(10_000)]
    values[7777] = 1e6
    t, v = thin(range(10_000), values)
    assert len(v) <= MAX_POINTS and 1e6 in v and 0.0 in v
    assert list(t) == sorted(t)
    t, v = thin([0.0, 1.0, 2.0], [1.0, float("nan"), 3.0])
    assert list(v) == [1.0, 3.0] and list(t) == [0.0, 2.0]


def test_offload_relative_error(tmp_path: Path) -> None:
    page = render(full(tmp_path))
    table = {r[1]: r for r in rows(section_html(page, "offload"))}
    assert table["upload"][2:5] == ["12", "10", "+20.0 %"]
    assert table["queue"][2:5] == ["8", "10", "-20.0 %"]
    assert table["compute"][4] == "—"  # predicted 0: no relative error
    assert table["total"][4] == "+62.5 %"
    assert list(table) == ["upload", "queue", "compute", "download", "total", "local"]


def test_offload_rows_sort_by_profile_then_load(tmp_path: Path) -> None:
    def m(profile: str, load: float | str, term: str, value: float, predicted: float | None) -> dict[str, Any]:
        labels: dict[str, Any] = {"profile": profile, "load": load, "term": term}
        if predicted is not None:
            labels["predicted"] = predicted
        return measurement(f"offload.{term}", value, section="offload", labels=labels)

    root = (ResultsDir(tmp_path).test("t.py::a", m("5g", 8, "compute", 3.0, None), m("5g", 1, "local", 9.0, 9.0))
            .test("t.py::b", m("5g", 1, "upload", 3.0, 2.0), m("lte", "2", "upload", 1.0, 1.0)).write())
    sorted_rows = offload_rows(group(load_results(root)).sections["offload"])
    assert [(r.profile, r.load, r.term) for r in sorted_rows] == [
        ("5g", 1.0, "upload"), ("5g", 1.0, "local"), ("5g", 8.0, "compute"), ("lte", 2.0, "upload")]
    assert sorted_rows[0].relative_error == pytest.approx(0.5)
    assert sorted_rows[2].relative_error is None


def test_link_table_difference(tmp_path: Path) -> None:
    table = rows(section_html(render(full(tmp_path)), "link"))
    assert [r[3:7] for r in table] == [["40", "42", "2", "ms"], ["10", "9", "-1", "Mbit/s"]]


def test_integrity_verdicts_grouped_by_test(tmp_path: Path) -> None:
    fragment = section_html(render(full(tmp_path)), "integrity")
    assert '<span class="badge o-pass" title="outcome: pass">holds</span>' in fragment
    assert '<span class="badge o-fail" title="outcome: fail">BROKEN</span>' in fragment
    assert [r[0] for r in rows(fragment)] == ["tests/e2e/test_integrity.py::test_chain", ""]


def test_limits_and_outcome_colours(tmp_path: Path) -> None:
    page = render(ResultsDir(tmp_path).test("t.py::t", *(
        measurement(f"m.{o}", 45.0, outcome=o, limits=limits(high=50, marginal_high=40))
        for o in ("pass", "marginal", "fail", "unset"))))
    assert "≤ 50 ms (marginal &gt; 40)" in page
    for o in ("pass", "marginal", "fail", "unset"):
        assert f'<span class="badge o-{o}">{o}</span>' in page
    assert re.search(r"\.o-marginal\{background:#[0-9a-f]{6}\}", page)


@pytest.mark.parametrize(("lim", "unit", "text"), [
    (Limits(None, 50, None, 40), "ms", "≤ 50 ms (marginal > 40)"),
    (Limits(10, 50, 15, 40), "ms", "≥ 10 and ≤ 50 ms (marginal < 15 or > 40)"),
    (Limits(1, None, None, None), "bool", "≥ 1"),
    (Limits(None, None, None, None), "ms", "—"),
    (None, "ms", "—"),
])
def test_limits_text(lim: Limits | None, unit: str, text: str) -> None:
    assert limits_text(lim, unit) == text


def test_topology_drawn_by_graphviz(tmp_path: Path) -> None:
    fragment = section_html(render(ResultsDir(tmp_path).topology()), "topology")
    assert 'src="data:image/svg+xml;base64,' in fragment
    assert "ab" * 32 in fragment and "topologies/ward.yaml" in fragment


def test_topology_without_graphviz_shows_dot_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    fragment = section_html(render(ResultsDir(tmp_path / "r").topology()), "topology")
    assert "Graphviz is not installed" in fragment
    assert "<pre>graph &quot;ward&quot; {" in fragment
    assert "data:image" not in fragment


def test_topology_with_broken_dot_says_why(tmp_path: Path) -> None:
    fragment = section_html(render(ResultsDir(tmp_path).topology(dot="graph { a -- ")), "topology")
    assert "`dot -Tsvg` failed" in fragment and "<pre>graph { a -- </pre>" in fragment


def test_page_is_self_contained(tmp_path: Path) -> None:
    page = render(full(tmp_path))
    assert not re.search(r"""(src|href)=["'](?!#|data:)""", page)
    assert "<link" not in page and "<script" not in page and "@import" not in page


def test_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    root = full(tmp_path).write()
    first = write_report(root, tmp_path / "a.html").read_bytes()
    second = write_report(root, tmp_path / "b.html").read_bytes()
    assert first == second
    ids = re.findall(rb'\bid="([^"]+)"', first)
    assert len(ids) == len(set(ids)), "inline SVGs must not share ids"
    references = set(re.findall(rb'(?:url\(#|href="#)([^")]+)', first))
    assert references and references <= set(ids)


def test_out_overrides_destination(tmp_path: Path) -> None:
    root = ResultsDir(tmp_path / "r").write()
    out = tmp_path / "elsewhere.html"
    assert write_report(root, out) == out
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert not (root / "report.html").exists()


# ---- invalid input: the message names file and JSON path, and nothing is written ----


def mutate(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set ``doc`` at a path like ``tests[1].measurements[0].unit``; value ``...`` deletes it."""
    *parents, last = re.findall(r"\w+|\[\d+\]", path)
    target: Any = doc
    for part in parents:
        target = target[int(part[1:-1])] if part.startswith("[") else target[part]
    key: Any = int(last[1:-1]) if last.startswith("[") else last
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return doc


@pytest.mark.parametrize(("path", "value", "message"), [
    ("format", "testbed-results/2", 'format: expected "testbed-results/1", got "testbed-results/2"'),
    ("tests[1].measurements[0].unit", 5, "tests[1].measurements[0].unit: expected a string, got 5"),
    ("tests[0].measurements[1].distribution.count", 1.5,
     "tests[0].measurements[1].distribution.count: expected a whole number, got 1.5"),
    ("tests[0].outcome", "crashed", "tests[0].outcome: expected one of passed, failed, skipped, error"),
    ("tests[3].marginal", "no", 'tests[3].marginal: expected true or false, got "no"'),
    ("tests[2].measurements[0].labels", ["x"], "tests[2].measurements[0].labels: expected an object, got a list"),
    ("tests[2].measurements[0].labels.section", None,
     "tests[2].measurements[0].labels.section: expected a string or a number, got null"),
    ("tests[0].topology", "clinic", 'tests[0].topology: "clinic" is not a key of topologies'),
    ("tests[4].measurements[2].limits", {"low": 1}, "tests[4].measurements[2].limits.high: missing"),
    ("host.in_vm", ..., "host.in_vm: missing"),
    ("topologies.ward.nodes", "10", 'topologies.ward.nodes: expected a whole number, got "10"'),
    ("tests[0].measurements[0].series", "series/9999.json",
     "tests[0].measurements[0].series: series file "),
    ("tests[0].measurements[0].series", "../../etc/passwd",
     'tests[0].measurements[0].series: "../../etc/passwd" is not a path inside the results directory'),
    ("tests", {}, "tests: expected a list, got an object"),
])
def test_invalid_field_names_file_and_path(tmp_path: Path, path: str, value: Any, message: str) -> None:
    results = full(tmp_path / "out")
    root = results.write(mutate(results.document(), path, value))
    with pytest.raises(ResultsInvalid) as caught:
        write_report(root)
    assert str(caught.value).startswith(f"{root / 'results.json'}: {message}")
    assert not (root / "report.html").exists()
    assert [p.name for p in root.iterdir() if p.name.endswith(".tmp")] == []


def test_missing_series_file_is_named(tmp_path: Path) -> None:
    results = full(tmp_path)
    root = results.write()
    (root / "series" / "0001.json").unlink()
    with pytest.raises(ResultsInvalid, match=r"tests\[0\]\.measurements\[0\]\.series: series file .*0001.json not "):
        write_report(root)


def test_bad_series_content_names_the_series_file(tmp_path: Path) -> None:
    results = ResultsDir(tmp_path)
    relative = results.series([1.0, 2.0, 3.0])
    (tmp_path / relative).write_text(json.dumps({"name": "x", "unit": "ms", "t_s": None, "values": [1, 2, "3"]}))
    with pytest.raises(ResultsInvalid) as caught:
        write_report(results.test("t.py::t", latency("ecg1", "lte", series=relative)).write())
    assert str(caught.value) == f'{tmp_path / relative}: values[2]: expected a number, got "3"'


def test_series_time_axis_must_match_values(tmp_path: Path) -> None:
    results = ResultsDir(tmp_path)
    relative = results.series([1.0, 2.0, 3.0], [0.0, 0.1])
    with pytest.raises(ResultsInvalid, match=r"0001\.json: t_s: has 2 entries but values has 3"):
        write_report(results.test("t.py::t", latency("ecg1", "lte", series=relative)).write())


def test_bad_json_is_named(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text('{"format": ')
    with pytest.raises(ResultsInvalid, match=rf"^{re.escape(str(tmp_path / 'results.json'))}: not valid JSON"):
        write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_missing_directory_and_missing_results_file(tmp_path: Path) -> None:
    with pytest.raises(ResultsNotFound, match="no such results directory"):
        write_report(tmp_path / "nope")
    with pytest.raises(ResultsNotFound, match=r"results\.json: not found"):
        write_report(tmp_path)


def test_section_of_ignores_non_string_section_labels(tmp_path: Path) -> None:
    results = load_results(ResultsDir(tmp_path).test("t.py::t", measurement("x", 1.0, labels={"section": 3}))
                           .write())
    assert section_of(results.tests[0].measurements[0]) is None
