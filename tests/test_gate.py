"""The gate on real static runs of the suite: waivers, threshold, SARIF, baseline, selection, exit codes.

Static runs (--target static, or a selection of static controls) judge the compose model
only: a few seconds each, nothing brought up.
"""

import json
import re
from pathlib import Path

import pytest

from fixtures.gate import registry

from tests.suite_runner import MUTANTS_DIR, ROOT, assert_nothing_left, run_suite
from tests.unit.test_sarif import assert_valid_sarif

RESTART = MUTANTS_DIR / "config/order-service-never-restarts.yml"  # CONFIG-002, medium
PUBLISHED = MUTANTS_DIR / "config/rabbitmq-management-published.yml"  # CONFIG-010, high


def _static(reports_dir: Path, *args: str):
    return run_suite(reports_dir, "--target", "static", *args, timeout_s=120)


def _waivers(tmp_path, expires: str, **extra) -> str:
    path = tmp_path / "waivers.yml"
    fields = "".join(f"  {k}: {v}\n" for k, v in extra.items())
    path.write_text(f"- control: CONFIG-002\n  justification: the legacy importer is restarted by the host's systemd unit\n"
                    f"  expires: {expires}\n  owner: platform-team\n{fields}"
                    f"- control: CONFIG-003\n  justification: images are pinned by digest upstream\n  expires: 2099-01-01\n")
    return str(path)


def _entry(run, control_id: str) -> dict:
    return next(c for c in run.report["controls"] if c["id"] == control_id)


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("ERROR:")]


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line == text)


def test_a_waived_failure_passes_the_gate_and_stays_visible(tmp_path, reports_dir):
    run = _static(reports_dir, "--stack-override", str(RESTART), "--waivers", _waivers(tmp_path, "2099-03-31"))
    assert run.returncode == 0, run.output[-3000:]
    entry = _entry(run, "CONFIG-002")
    assert (entry["status"], entry["raw_status"]) == ("waived", "failed")
    assert entry["message"] == "no restart policy: order-service (no)"
    assert entry["waivers"][0]["justification"] == "the legacy importer is restarted by the host's systemd unit"
    assert [w["control"] for w in run.report["waivers"]["unused"]] == ["CONFIG-003"]
    page = (reports_dir / "report.html").read_text()
    assert '<tr class="waived" id="CONFIG-002">' in page
    assert "the legacy importer is restarted by the host&#x27;s systemd unit (platform-team, until 2099-03-31)" in page
    log = json.loads((reports_dir / "conformance.sarif").read_text())
    assert_valid_sarif(log)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "CONFIG-002" and result["suppressions"][0]["status"] == "accepted"
    assert "systemd unit" in result["suppressions"][0]["justification"]
    assert "verdict: CONFORMANT (exit 0): no failing control (1 waived)" in run.output
    assert re.search(r"\b1 failed, \d+ passed", run.output)  # pytest's cases: the waived one still failed


def test_an_expired_waiver_fails_the_control(tmp_path, reports_dir):
    run = _static(reports_dir, "--stack-override", str(RESTART), "--waivers", _waivers(tmp_path, "2024-03-31"))
    assert run.returncode == 1, run.output[-3000:]
    entry = _entry(run, "CONFIG-002")
    assert entry["status"] == "failed"
    assert entry["message"] == "waiver expired on 2024-03-31: no restart policy: order-service (no)"
    assert "waiver expired on 2024-03-31" in run.output


@pytest.mark.parametrize("text, message", [
    ("- control: CONFIG-099\n  justification: x\n  expires: 2099-01-01\n", "entry 1: unknown control CONFIG-099"),
    ("- control: CONFIG-002\n  expires: 2099-01-01\n", "entry 1: justification is missing"),
    ("- control: CONFIG-002\n  justification: x\n", "entry 1: expires is missing"),
    ("- control: CONFIG-002\n  justification: x\n  expires: 31.03.2099\n", "is not a date in the form YYYY-MM-DD"),
    ("- control: CONFIG-002\n  justification: [x\n", "not valid YAML"),
    ("- control: CONFIG-002\n  justification: x\n  expires: 2099-01-01\n  service: importer\n",
     "entry 1: service importer is not in the stack"),
], ids=["unknown-control", "no-justification", "no-expiry", "wrong-date-form", "bad-yaml", "unknown-service"])
def test_a_mistake_in_the_waiver_file_is_bad_input(tmp_path, reports_dir, text, message):
    path = tmp_path / "waivers.yml"
    path.write_text(text)
    run = _static(reports_dir, "--waivers", str(path))
    assert run.returncode == 4, run.output[-2000:]
    (line,) = _error_lines(run.output)
    assert line.startswith(f"ERROR: conformance: waiver file {path}") and message in line, line
    assert "Traceback" not in run.output


@pytest.mark.parametrize("args, message", [
    (["--fail-on", "severe"], "--fail-on severe is not one of critical, high, medium, low"),
    (["--min-severity", "hgh"], "--min-severity hgh is not one of critical, high, medium, low"),
    (["--fail-on-new"], "--fail-on-new needs --baseline"),
    (["--baseline", "no/such/conformance.json"], "baseline no/such/conformance.json not found (--baseline)"),
    (["--controls", "CONFIG,NET-999"], "--controls NET-999: no such control id or chapter"),
], ids=["fail-on", "min-severity", "fail-on-new-alone", "baseline-missing", "unknown-control"])
def test_bad_gate_options_are_bad_input(reports_dir, args, message):
    run = run_suite(reports_dir, *args, timeout_s=60)
    assert run.returncode == 4, run.output[-2000:]
    (line,) = _error_lines(run.output)
    assert line.startswith("ERROR: conformance: ") and message in line, line
    assert_nothing_left(run)


def test_failures_below_the_threshold_are_listed_and_do_not_fail_the_run(reports_dir):
    run = _static(reports_dir, "--stack-override", str(PUBLISHED), "--fail-on", "critical")
    assert run.returncode == 0, run.output[-3000:]
    assert run.failing() == {"CONFIG-010": "non-edge services publish ports: rabbitmq"}
    assert run.report["gate"]["below_threshold"] == ["CONFIG-010"]
    listed = run.output[run.output.index("failing below --fail-on critical"):]
    assert listed.splitlines()[1].startswith("  CONFIG-010 [high] non-edge services publish ports: rabbitmq")
    # At its own severity it counts.
    assert _static(reports_dir, "--stack-override", str(PUBLISHED), "--fail-on", "high").returncode == 1


def test_the_sarif_of_a_failing_run_is_valid_and_points_at_the_compose_lines(reports_dir):
    run = _static(reports_dir, "--stack-override", str(RESTART), "--stack-override", str(PUBLISHED))
    assert run.returncode == 1
    log = json.loads((reports_dir / "conformance.sarif").read_text())
    assert_valid_sarif(log)
    where = {r["ruleId"]: [(loc["physicalLocation"]["artifactLocation"]["uri"],
                            loc["physicalLocation"]["region"]["startLine"]) for loc in r["locations"]]
             for r in log["runs"][0]["results"]}
    assert where == {
        "CONFIG-002": [("tests/mutants/config/order-service-never-restarts.yml", _line_of(RESTART, "  order-service:"))],
        "CONFIG-010": [("tests/mutants/config/rabbitmq-management-published.yml", _line_of(PUBLISHED, "  rabbitmq:"))],
    }
    assert log["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"] == ROOT.as_uri() + "/"


def test_a_baseline_names_new_fixed_and_still_failing_controls(tmp_path):
    before = _static(tmp_path / "before", "--stack-override", str(RESTART))
    previous = str(before.reports_dir / "conformance.json")
    after = _static(tmp_path / "after", "--stack-override", str(PUBLISHED), "--baseline", previous)
    assert after.returncode == 1
    changes = {c["id"]: c["change"] for c in after.report["controls"] if c["change"] != "unchanged"}
    assert changes == {"CONFIG-002": "fixed", "CONFIG-010": "new failure"}
    assert f"changes since {previous}: 1 new failure, 1 fixed, 0 still failing" in after.output
    assert "Changes since" in (after.reports_dir / "report.html").read_text()
    # Only new failures count with --fail-on-new: CONFIG-010 is new against `before`, not against `after`.
    assert _static(tmp_path / "new", "--stack-override", str(PUBLISHED), "--baseline", previous,
                   "--fail-on-new").returncode == 1
    again = _static(tmp_path / "again", "--stack-override", str(PUBLISHED),
                    "--baseline", str(after.reports_dir / "conformance.json"), "--fail-on-new")
    assert again.returncode == 0, again.output[-3000:]
    assert again.status_of("CONFIG-010") == "failed" and _entry(again, "CONFIG-010")["change"] == "still failing"


def test_a_static_selection_brings_nothing_up_and_says_what_ran(reports_dir):
    # The default target, compose: one live control selected would bring the stack up.
    run = run_suite(reports_dir, "--controls", "CONFIG,HEALTH-001", "--min-severity", "high",
                    "--stack-override", str(PUBLISHED), timeout_s=120)
    assert run.returncode == 1, run.output[-3000:]
    assert "stack: every selected control is static: nothing brought up" in run.output
    assert "stack: bringing up" not in run.output
    judged = {c["id"]: c["severity"] for c in run.report["controls"]}
    high_config = sorted(c.id for c in registry.controls() if c.prefix == "CONFIG" and c.severity in ("critical", "high"))
    assert sorted(judged) == high_config + ["HEALTH-001"]
    assert set(judged.values()) == {"critical", "high"}
    assert run.failing() == {"CONFIG-010": "non-edge services publish ports: rabbitmq"}
    selection = run.report["selection"]
    assert (selection["controls"], selection["min_severity"], selection["stack_brought_up"]) == (
        ["CONFIG", "HEALTH-001"], "high", False)
    assert_nothing_left(run)
    assert re.search(r"\d+ deselected", run.output)
