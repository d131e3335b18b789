"""Baseline transitions, the severity threshold and the exit status, on recorded conformance.json files.

tests/data/gate/: a static run of the reference platform (every static control passed) and
one with two config mutants (CONFIG-002 medium and CONFIG-010 high failed).
"""

import copy
import json
from pathlib import Path

import pytest

from fixtures.errors import HarnessError
from fixtures.gate import baseline, threshold

RECORDED = Path(__file__).resolve().parent.parent / "data" / "gate"
REFERENCE = RECORDED / "reference-static.json"
MUTANTS = RECORDED / "two-config-mutants-static.json"


def _controls(path: Path) -> list[dict]:
    return copy.deepcopy(json.loads(path.read_text())["controls"])


def _by_id(entries: list[dict]) -> dict[str, dict]:
    return {e["id"]: e for e in entries}


def test_failures_that_were_not_there_before_are_new():
    entries = _controls(MUTANTS)
    account = baseline.compare(entries, baseline.load(str(REFERENCE)), "reference.json")
    changes = {e["id"]: e["change"] for e in entries if e["change"] != "unchanged"}
    assert changes == {"CONFIG-002": "new failure", "CONFIG-010": "new failure"}
    assert account["counts"] == {"new failure": 2, "fixed": 0, "still failing": 0, "unchanged": len(entries) - 2}
    assert _by_id(entries)["CONFIG-002"]["previous_status"] == "passed"


def test_failures_that_went_away_are_fixed_and_the_rest_still_failing():
    entries = _controls(REFERENCE)
    _by_id(entries)["CONFIG-010"].update(status="failed", message="still")
    baseline.compare(entries, baseline.load(str(MUTANTS)), "mutants.json")
    assert {e["id"]: e["change"] for e in entries if e["change"] != "unchanged"} == {
        "CONFIG-002": "fixed", "CONFIG-010": "still failing"}


def test_a_waived_failure_is_compared_by_what_it_observed():
    before = _controls(MUTANTS)
    _by_id(before)["CONFIG-002"].update(status="waived", raw_status="failed")
    previous = {e["id"]: e.get("raw_status") or e["status"] for e in before}
    entries = _controls(MUTANTS)
    _by_id(entries)["CONFIG-002"].update(status="waived", raw_status="failed")
    baseline.compare(entries, previous, "before.json")
    assert _by_id(entries)["CONFIG-002"]["change"] == "still failing"


def test_controls_the_baseline_judged_and_this_run_did_not_are_listed_apart():
    entries = [e for e in _controls(MUTANTS) if e["id"].startswith("CONFIG")]
    account = baseline.compare(entries, baseline.load(str(REFERENCE)), "reference.json")
    assert "HEALTH-001" in account["not_in_this_run"] and account["counts"]["fixed"] == 0


@pytest.mark.parametrize("content, message", [(None, "not found"), ("{not json", "is not a conformance.json"),
                                              ('{"controls": [{"status": "passed"}]}', "is not a conformance.json")])
def test_a_baseline_that_is_not_a_report_is_bad_input(tmp_path, content, message):
    path = tmp_path / "previous.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(HarnessError, match=message):
        baseline.load(str(path))


def test_the_threshold_counts_findings_at_or_above_it_and_lists_the_rest():
    entries = _controls(MUTANTS)  # CONFIG-002 medium, CONFIG-010 high
    assert threshold.verdict(entries, "low", False)["findings"] == ["CONFIG-002", "CONFIG-010"]
    high = threshold.verdict(entries, "high", False)
    assert (high["findings"], high["below_threshold"], high["exit_code"]) == (["CONFIG-010"], ["CONFIG-002"], 1)
    critical = threshold.verdict(entries, "critical", False)
    assert critical["verdict"] == "conformant" and critical["exit_code"] == 0
    assert critical["below_threshold"] == ["CONFIG-002", "CONFIG-010"]


def test_an_error_is_a_finding_and_a_waived_failure_is_not():
    entries = _controls(MUTANTS)
    _by_id(entries)["CONFIG-002"].update(status="waived", raw_status="failed")
    _by_id(entries)["HEALTH-001"].update(status="error")
    assert threshold.verdict(entries, "low", False)["findings"] == ["CONFIG-010", "HEALTH-001"]


def test_fail_on_new_counts_new_failures_and_expired_waivers_only():
    entries = _controls(MUTANTS)
    previous = baseline.load(str(MUTANTS))
    previous["CONFIG-002"] = "passed"
    baseline.compare(entries, previous, "before.json")  # CONFIG-002 new, CONFIG-010 still failing
    verdict = threshold.verdict(entries, "low", True)
    assert (verdict["findings"], verdict["not_new"]) == (["CONFIG-002"], ["CONFIG-010"])
    _by_id(entries)["CONFIG-010"]["waivers"] = [{"control": "CONFIG-010", "expired": True}]
    assert threshold.verdict(entries, "low", True)["findings"] == ["CONFIG-002", "CONFIG-010"]


@pytest.mark.parametrize("pytest_status, gate_exit, expected", [
    (1, 0, 0),  # failed test cases, all waived or below the threshold
    (0, 0, 0), (1, 1, 1),
    (2, 0, 2), (3, 0, 3), (4, 0, 4), (5, 0, 5),  # interrupted, internal error, usage error, nothing collected
])
def test_the_exit_status_is_the_gates_where_pytest_only_judged_tests(pytest_status, gate_exit, expected):
    assert threshold.exit_status(pytest_status, {"exit_code": gate_exit}) == expected
    assert threshold.exit_status(pytest_status, None) == pytest_status


def test_a_run_pytest_did_not_finish_is_incomplete_with_pytests_code():
    verdict = threshold.verdict(_controls(REFERENCE), "low", False, pytest_status=2)
    assert (verdict["verdict"], verdict["exit_code"], verdict["incomplete"]) == ("incomplete", 2, "interrupted")
    assert threshold.exit_status(2, verdict) == 2
