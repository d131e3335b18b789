"""conformance.json aggregation, from recorded pytest reports."""

import json

from _pytest.reports import TestReport

from fixtures.reports.report import ControlReport

PROPS = [("control_id", "HEALTH-002"), ("control_title", "Healthy."), ("severity", "high"), ("reference", "seed 003")]


def _report(nodeid, when, outcome, longrepr=None, props=PROPS):
    return TestReport(nodeid, ("suites/test_health.py", 1, "x"), {}, outcome, longrepr, when, user_properties=props)


def test_a_parametrized_control_fails_if_any_case_fails(tmp_path):
    report = ControlReport()
    report.add(_report("suites/test_health.py::test_x[a]", "call", "passed"))
    report.add(_report("suites/test_health.py::test_x[b]", "call", "failed", longrepr="AssertionError: redis unhealthy"))
    report.add(_report("suites/test_health.py::test_x[c]", "call", "passed"))
    (entry,) = report.finish()
    assert entry["status"] == "failed"
    assert entry["message"].startswith("test_x[b]: ")


def test_a_setup_failure_is_an_error_and_a_skip_keeps_its_reason():
    report = ControlReport()
    report.add(_report("suites/test_health.py::test_x", "setup", "failed", longrepr="stack did not come up"))
    skip_props = [("control_id", "HEALTH-003")] + PROPS[1:]
    report.add(_report("suites/test_health.py::test_y", "setup", "skipped",
                       longrepr=("f.py", 1, "Skipped: live control"), props=skip_props))
    statuses = {e["id"]: (e["status"], e["message"]) for e in report.finish()}
    assert statuses["HEALTH-002"][0] == "error"
    assert statuses["HEALTH-003"] == ("skipped", "live control")


def test_all_cases_passing_says_how_many():
    report = ControlReport()
    for case in "ab":
        report.add(_report(f"suites/test_health.py::test_x[{case}]", "setup", "passed"))
        report.add(_report(f"suites/test_health.py::test_x[{case}]", "call", "passed"))
    (entry,) = report.finish()
    assert (entry["status"], entry["message"]) == ("passed", "2 cases passed")


def test_secrets_are_redacted_from_the_written_report(tmp_path):
    report = ControlReport()
    report.add(_report("suites/test_health.py::test_x", "call", "failed", longrepr="login s3cr3t-value refused"))
    document = report.write(tmp_path / "conformance.json", {"project": "p", "files": []}, ["s3cr3t-value"])
    text = (tmp_path / "conformance.json").read_text()
    assert "s3cr3t-value" not in text and "***" in text
    assert json.loads(text)["controls"][0]["status"] == document["controls"][0]["status"] == "failed"


def test_a_case_that_cannot_apply_does_not_hide_the_cases_that_passed():
    report = ControlReport()
    report.add(_report("suites/test_credentials.py::test_x[redis]", "call", "passed"))
    report.add(_report("suites/test_credentials.py::test_x[grafana]", "setup", "skipped",
                       longrepr=("f.py", 1, "Skipped: the stack has no grafana service")))
    (entry,) = report.finish()
    assert entry["status"] == "passed"
    assert "not applicable: test_x[grafana]: the stack has no grafana service" in entry["message"]


def test_what_a_control_observed_is_its_message_when_it_passes_and_follows_a_failure():
    report = ControlReport()
    observed = PROPS + [("observed", "frontend→postgres:5432 ✓ closed")]
    report.add(_report("suites/test_network.py::test_x", "call", "passed", props=observed))
    failing = [("control_id", "HEALTH-003")] + PROPS[1:] + [("observed", "database→postgres:5432 ✓ open")]
    report.add(_report("suites/test_network.py::test_y", "call", "failed", longrepr="the edge reaches it",
                       props=failing))
    messages = {e["id"]: e["message"] for e in report.finish()}
    assert messages["HEALTH-002"] == "frontend→postgres:5432 ✓ closed"
    assert messages["HEALTH-003"] == "the edge reaches it; observed: database→postgres:5432 ✓ open"


def test_a_control_that_cannot_apply_is_not_applicable_with_its_reason():
    report = ControlReport()
    report.add(_report("suites/test_credentials.py::test_x", "setup", "skipped",
                       longrepr=("f.py", 1, "Skipped: not applicable: the platform has no broker")))
    (entry,) = report.finish()
    assert (entry["status"], entry["message"]) == ("not_applicable", "the platform has no broker")


def test_the_case_a_crashed_worker_was_running_is_an_error_of_its_control():
    report = ControlReport()
    crashed = TestReport("suites/test_health.py::test_every_container_is_running_and_healthy", ("suites/test_health.py", None, "x"),
                         {}, "failed", "worker 'gw0' crashed while running 'suites/test_health.py::...'", "???")
    report.add(crashed)
    (entry,) = report.finish()
    assert (entry["id"], entry["status"]) == ("HEALTH-002", "error")
    assert "crashed" in entry["message"]


def test_a_long_message_keeps_every_offender():
    """Sentry's CONFIG-001 names 57 services: the JSON keeps all of them (SARIF locates each one it names)."""
    message = "limits missing: " + ", ".join(f"service-{i}: memory" for i in range(57)) + ", service-56: cpus"
    report = ControlReport()
    report.add(_report("suites/test_config.py::test_x", "call", "failed", longrepr=f"AssertionError: {message}"))
    (entry,) = report.finish()
    assert entry["message"].endswith(message) and len(message) > 1000
