"""An exception inside a control is its error, an assertion its finding: in every report, across xdist.

A tiny run of three controls (asserting, pytest.fail, ZeroDivisionError) is recorded the way
xdist carries reports to its controller; conformance.json, SARIF, the gate's summary, JUnit
and pytest's own terminal must all say failed, failed, error.
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

from _pytest.reports import TestReport

from fixtures.gate import sarif, summary, threshold
from fixtures.reports.report import ControlReport
from tests.suite_runner import ROOT

CONTROLS = '''
import pytest

def _meta(control_id):
    return [("control_id", control_id), ("control_title", control_id), ("severity", "high"), ("reference", "seed")]

@pytest.mark.control("HEALTH-002")
def test_asserts(record_property):
    for name, value in _meta("HEALTH-002"):
        record_property(name, value)
    assert 1 == 2, "rabbitmq#1: running without a healthcheck"

@pytest.mark.control("CRED-001")
def test_fails(record_property):
    for name, value in _meta("CRED-001"):
        record_property(name, value)
    pytest.fail("guest logged in", pytrace=False)

@pytest.mark.control("SCALE-001")
def test_divides(record_property):
    for name, value in _meta("SCALE-001"):
        record_property(name, value)
    shares = {}
    return 1 / len(shares)
'''
# The controller's reports, serialised as xdist carries them from its workers.
RECORDER = '''
import json

import pytest

RECORDED = []


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    RECORDED.append(config)


def pytest_runtest_logreport(report):
    config = RECORDED[0]
    RECORDED.append(config.hook.pytest_report_to_serializable(config=config, report=report))


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):
        with open("recorded.json", "w") as out:
            json.dump(RECORDED[1:], out, default=str)  # xdist adds its worker object: not ours to keep
'''


def _recorded_run(tmp_path):
    (tmp_path / "test_three_controls.py").write_text(CONTROLS)
    (tmp_path / "conftest.py").write_text(RECORDER)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    control: a conformance control\n")
    junit = tmp_path / "junit.xml"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:locust", "-p", "no:cacheprovider", "-p", "fixtures.reports.outcomes",
         "-rA", f"--junitxml={junit}", "test_three_controls.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    reports = [TestReport._from_json(data) for data in json.loads((tmp_path / "recorded.json").read_text())]
    return result, reports, ET.parse(junit).getroot()


def test_an_exception_in_a_control_is_its_error_in_every_report(tmp_path):
    result, reports, junit = _recorded_run(tmp_path)

    control_report = ControlReport()
    for report in reports:
        control_report.add(report)
    document = {"stack": {}, "controls": control_report.finish()}
    statuses = {e["id"]: (e["status"], e["message"]) for e in document["controls"]}
    assert statuses == {"HEALTH-002": ("failed", "rabbitmq#1: running without a healthcheck"),
                        "CRED-001": ("failed", "guest logged in"),
                        "SCALE-001": ("error", "ZeroDivisionError: division by zero")}

    # The gate counts the error as a finding, as it counts the failures.
    document["gate"] = threshold.verdict(document["controls"], "low", False)
    assert sorted(document["gate"]["findings"]) == ["CRED-001", "HEALTH-002", "SCALE-001"]
    lines = [text for text, _ in summary.lines(document, {})]
    assert "controls (3): 2 failed, 1 error, 0 waived, 0 passed, 0 not applicable" in lines
    assert any(line.startswith("  SCALE-001 [high] ZeroDivisionError") and line.endswith("(error)") for line in lines)
    log = sarif.build(document, [str(ROOT / "stack/docker-compose.yml")], [], ROOT)
    results = {r["ruleId"]: r for r in log["runs"][0]["results"]}
    assert results["SCALE-001"]["properties"]["status"] == "error"
    assert results["SCALE-001"]["message"]["text"].startswith("not judged (the control errored): ZeroDivisionError")
    assert results["HEALTH-002"]["properties"]["status"] == "failed"

    cases = {case.get("name"): case for case in junit.iter("testcase")}
    assert [child.tag for child in cases["test_divides"] if child.tag in ("failure", "error")] == ["error"]
    assert [child.tag for child in cases["test_asserts"] if child.tag in ("failure", "error")] == ["failure"]
    assert [child.tag for child in cases["test_fails"] if child.tag in ("failure", "error")] == ["failure"]
    suite = next(junit.iter("testsuite"))
    assert (suite.get("failures"), suite.get("errors")) == ("2", "1")

    # pytest's own terminal: the exception is an ERROR, the findings FAILED.
    assert "= 2 failed, 1 error in " in result.stdout, result.stdout[-2000:]
    assert "ERROR test_three_controls.py::test_divides" in result.stdout
    assert "FAILED test_three_controls.py::test_asserts" in result.stdout
