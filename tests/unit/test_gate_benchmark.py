"""The gate benchmark's figures (benchmarks/gate_benchmark.py), from a recorded junit.xml and timeline."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from fixtures.paths import ROOT

_spec = importlib.util.spec_from_file_location("gate_benchmark", ROOT / "benchmarks" / "gate_benchmark.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

DATA = ROOT / "tests" / "data" / "benchmark"


@pytest.fixture
def cases():
    return bench.junit_cases(DATA / "junit.xml")


def test_cases_are_counted_by_chapter_prefix_with_their_outcomes(cases):
    assert [c["chapter"] for c in cases] == ["HEALTH", "HEALTH", "HEALTH", "SCALE", "SCALE", "KUBE", "CONFIG"]
    assert bench.outcomes(cases) == {"passed": 4, "failed": 1, "error": 1, "skipped": 1}
    # A case with no control id (a helper test, a collection error) still counts, under its module.
    assert cases[-1]["control"] == "test_config::test_collection_helper"


def test_a_chapter_is_the_sum_of_its_cases_and_its_share_of_all_cases(cases):
    chapters = {c["chapter"]: c for c in bench.chapter_seconds(cases)}
    assert chapters["HEALTH"] == {"chapter": "HEALTH", "cases": 3, "seconds": 141.25, "share": 0.47}
    assert chapters["SCALE"]["seconds"] == 159.0
    assert [c["chapter"] for c in bench.chapter_seconds(cases)] == ["SCALE", "HEALTH", "CONFIG", "KUBE"]
    assert sum(c["share"] for c in chapters.values()) == pytest.approx(1.0, abs=1e-3)


def test_the_slowest_controls_sum_their_parametrized_cases(cases):
    assert bench.slowest_controls(cases, count=3) == [
        {"control": "HEALTH-010", "seconds": 141.0},
        {"control": "SCALE-003", "seconds": 84.0},
        {"control": "SCALE-004", "seconds": 75.0},
    ]


def test_the_ratio_is_the_suite_wall_over_bare_up_and_down(cases):
    bare = {"up_s": 32.0, "down_s": 8.0, "total_s": 40.0}
    document = bench.figures(bare, {"wall_s": 480.0, "exit_code": 1}, cases, None)
    assert document["ratio"] == 12.0
    assert document["suite"]["case_seconds"] == 300.5
    assert document["suite"]["cases"]["failed"] == 1
    assert bench.figures({**bare, "total_s": 0}, {"wall_s": 480.0}, cases, None)["ratio"] is None


def test_the_timeline_phases_are_read_with_their_requests_and_lengths():
    phases = bench.read_timeline(DATA / "timeline.json")
    assert phases == [
        {"name": "steady", "seconds": 30.5, "requests": 3050, "needed": 300, "failures": 0, "p95_ms": 41.7,
         "note": ""},
        {"name": "scale-out", "seconds": 40.0, "requests": 4100, "needed": 300, "failures": 3, "p95_ms": 88,
         "note": ""},
        {"name": "replica-lost", "seconds": None, "requests": 1200, "needed": None, "failures": None,
         "p95_ms": None, "note": ""},
        {"name": "scale-in", "seconds": None, "requests": None, "needed": None, "failures": None, "p95_ms": None,
         "note": "scale-out failed: replicas did not start"},
    ]


def test_a_bare_list_of_phases_is_a_timeline_too(tmp_path):
    path = tmp_path / "timeline.json"
    path.write_text(json.dumps([{"name": "steady", "start": 1, "end": 11, "requests": 900}]))
    assert bench.read_timeline(path)[0]["seconds"] == 10.0


def test_a_timeline_absent_or_left_by_an_earlier_run_is_none(tmp_path):
    assert bench.read_timeline(tmp_path / "timeline.json") is None
    stale = tmp_path / "stale.json"
    stale.write_text("[]")
    os.utime(stale, (1_000_000, 1_000_000))
    assert bench.read_timeline(stale, since=2_000_000) is None


def test_the_harness_times_come_from_its_progress_lines():
    output = "platform: ...\nstack: up and healthy in 47s\n....\nstack: torn down in 12s, 1 leftover object(s)\n"
    assert bench.harness_times(output) == {"bring_up_s": 47.0, "tear_down_s": 12.0}
    assert bench.harness_times("") == {"bring_up_s": None, "tear_down_s": None}


def test_the_table_names_each_figure_and_says_when_no_timeline_was_recorded(cases):
    bare = {"up_s": 32.0, "down_s": 8.0, "total_s": 40.0}
    suite = {"label": "pytest suites/ -n auto", "wall_s": 480.0, "exit_code": 1,
             "bring_up_s": 47.0, "tear_down_s": None}
    table = bench.render(bench.figures(bare, suite, cases, None))
    assert "ratio suite / bare" in table and "12.00 x" in table
    assert "HEALTH-010" in table and "no load timeline recorded" in table
    assert "pytest suites/ -n auto" in table and "bring-up 47 s and teardown - s" in table
    with_timeline = bench.render(bench.figures(bare, suite, cases, bench.read_timeline(DATA / "timeline.json")))
    assert "no load timeline recorded" not in with_timeline
    assert any(line.split()[:5] == ["scale-out", "40.0", "4100", "300", "3"] for line in with_timeline.splitlines())
    assert any(line.split()[:1] == ["scale-in"] and line.endswith("not start") for line in with_timeline.splitlines())


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "benchmarks").glob("*.py")))
def test_every_benchmark_module_imports(module):
    # In a process of its own: locust's import patches the standard library (gevent).
    code = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='imported')"
    result = subprocess.run([sys.executable, "-c", code, str(ROOT / "benchmarks" / module)],
                            check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-1500:]


def test_a_case_is_charged_its_own_time_not_its_wait_for_the_stack_lock(tmp_path):
    recorded = (DATA / "junit.xml").read_text().replace(
        '<property name="control_id" value="HEALTH-001" />',
        '<property name="control_id" value="HEALTH-001" /><property name="stack_lock_wait_s" value="0.20" />')
    (tmp_path / "junit.xml").write_text(recorded)
    waited = {c["control"]: c["seconds"] for c in bench.junit_cases(tmp_path / "junit.xml")}
    assert waited["HEALTH-001"] == pytest.approx(0.05)
    assert waited["SCALE-003"] == 84.0  # no wait recorded: its whole time
