"""Waivers: the file's own mistakes are bad input; waived, expired and unused on recorded reports."""

import datetime

import pytest
from _pytest.reports import TestReport

from fixtures.errors import HarnessError
from fixtures.gate import registry, waivers
from fixtures.reports.report import ControlReport

KNOWN = set(registry.by_id())
SERVICES = ["api-gateway", "nginx", "order-service", "postgres", "rabbitmq", "redis"]
TODAY = datetime.date(2026, 6, 1)


def _file(tmp_path, text: str) -> str:
    path = tmp_path / "waivers.yml"
    path.write_text(text)
    return str(path)


def _waiver(**fields) -> str:
    entry = {"control": "CONFIG-002", "justification": "restarted by systemd", "expires": "2027-03-31", **fields}
    return "- " + "\n  ".join(f"{k}: {v}" for k, v in entry.items() if v is not None) + "\n"


def test_a_well_formed_file_loads(tmp_path):
    (waiver,) = waivers.load(_file(tmp_path, _waiver(owner="platform-team")), KNOWN)
    assert waiver.control == "CONFIG-002" and waiver.expires == datetime.date(2027, 3, 31)
    assert waiver.owner == "platform-team" and waiver.number == 1


@pytest.mark.parametrize("text, message", [
    (_waiver(control="CONFIG-099"), "entry 1: unknown control CONFIG-099"),
    (_waiver(justification=None), "entry 1: justification is missing"),
    (_waiver(justification='""'), "entry 1: justification is missing"),
    (_waiver(expires=None), "entry 1: expires is missing"),
    (_waiver(expires="31/03/2027"), "entry 1: expires '31/03/2027' is not a date in the form YYYY-MM-DD"),
    (_waiver(expires="2027-02-30"), "day is out of range for month: expires must be a real date"),
    (_waiver(expires="\"2027-02-30\""), "is not a date in the form YYYY-MM-DD"),
    (_waiver(expires="2027-03-31T10:00:00"), "is not a date in the form YYYY-MM-DD"),
    (_waiver(expiry="2027-03-31"), "entry 1: unknown key expiry"),
    ("- control: CONFIG-002\n  justification: [unclosed\n", "not valid YAML at line 3"),
    ("control: CONFIG-002\n", "expected a list of waivers"),
    ("- CONFIG-002\n", "entry 1: expected a mapping"),
], ids=["unknown-control", "no-justification", "empty-justification", "no-expiry", "wrong-date-form",
        "impossible-date", "impossible-quoted-date", "a-timestamp", "misspelt-key", "bad-yaml", "not-a-list", "not-a-mapping"])
def test_mistakes_in_the_file_are_named(tmp_path, text, message):
    with pytest.raises(HarnessError) as raised:
        waivers.load(_file(tmp_path, text), KNOWN)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_file_and_an_unknown_service_are_named(tmp_path):
    with pytest.raises(HarnessError, match=r"waiver file .*nowhere.yml not found \(--waivers\)"):
        waivers.load(str(tmp_path / "nowhere.yml"), KNOWN)
    loaded = waivers.load(_file(tmp_path, _waiver(service="importer")), KNOWN)
    with pytest.raises(HarnessError, match="entry 1: service importer is not in the stack"):
        waivers.check_services(loaded, SERVICES, "w.yml")


def _report(cases: dict[str, tuple[str, str]], control_id="CONFIG-002", severity="medium") -> ControlReport:
    """A ControlReport fed the pytest reports of one control's cases: {case: (outcome, message)}."""
    props = [("control_id", control_id), ("control_title", "A restart policy."), ("severity", severity),
             ("reference", "CIS 5.15")]
    report = ControlReport()
    for case, (outcome, message) in cases.items():
        report.add(TestReport(f"suites/test_config.py::{case}", ("suites/test_config.py", 1, case), {}, outcome,
                              message if outcome == "failed" else None, "call",
                              user_properties=props))
    return report


def _applied(report: ControlReport, loaded, today=TODAY):
    entries = report.finish()
    account = waivers.apply(entries, report.cases, loaded, today, SERVICES)
    return entries[0], account


def test_a_waived_failure_keeps_its_raw_status_and_message_beside_the_waiver(tmp_path):
    loaded = waivers.load(_file(tmp_path, _waiver(owner="platform-team")), KNOWN)
    entry, account = _applied(_report({"test_x": ("failed", "no restart policy: order-service (no)")}), loaded)
    assert entry["status"] == "waived" and entry["raw_status"] == "failed"
    assert entry["message"] == "no restart policy: order-service (no)"
    assert entry["waivers"] == [{"control": "CONFIG-002", "justification": "restarted by systemd",
                                 "expires": "2027-03-31", "owner": "platform-team"}]
    assert account == {"applied": 1, "expired": [], "unused": []}


def test_a_waiver_holds_through_its_expiry_day_and_then_the_control_fails(tmp_path):
    loaded = waivers.load(_file(tmp_path, _waiver()), KNOWN)
    failing = {"test_x": ("failed", "no restart policy: order-service (no)")}
    assert _applied(_report(failing), loaded, datetime.date(2027, 3, 31))[0]["status"] == "waived"
    entry, account = _applied(_report(failing), loaded, datetime.date(2027, 4, 1))
    assert entry["status"] == "failed" and "raw_status" not in entry
    assert entry["message"] == "waiver expired on 2027-03-31: no restart policy: order-service (no)"
    assert entry["waivers"][0]["expired"] is True
    assert [w["control"] for w in account["expired"]] == ["CONFIG-002"] and account["unused"] == []


def test_a_waiver_for_a_passing_control_is_unused(tmp_path):
    loaded = waivers.load(_file(tmp_path, _waiver() + _waiver(control="CONFIG-003", expires="2020-01-01")), KNOWN)
    entry, account = _applied(_report({"test_x": ("passed", "")}), loaded)
    assert entry["status"] == "passed" and "waivers" not in entry
    assert [(w["control"], w.get("expired", False)) for w in account["unused"]] == [("CONFIG-002", False),
                                                                                   ("CONFIG-003", True)]


def test_a_service_waiver_waives_only_failures_that_name_no_other_service(tmp_path):
    loaded = waivers.load(_file(tmp_path, _waiver(service="order-service")), KNOWN)
    only_it = _applied(_report({"test_x": ("failed", "no restart policy: order-service (no)")}), loaded)[0]
    assert only_it["status"] == "waived"
    two = _applied(_report({"test_x": ("failed", "no restart policy: order-service (no), redis (unset)")}), loaded)
    assert two[0]["status"] == "failed" and two[1]["unused"][0]["service"] == "order-service"
    # A volume named after a service is not the service.
    named = waivers.services_named("postgres-data on tmpfs; api-gateway-2 down; [redis]", SERVICES)
    assert named == {"api-gateway", "redis"}


def test_a_case_waiver_waives_that_case_only(tmp_path):
    loaded = waivers.load(_file(tmp_path, _waiver(control="CRED-004", case="redis")), KNOWN)
    one = {"test_x[redis]": ("failed", "accepted redis123"), "test_x[postgres]": ("passed", "")}
    assert _applied(_report(one, "CRED-004", "critical"), loaded)[0]["status"] == "waived"
    both = {**one, "test_x[postgres]": ("failed", "accepted postgres/postgres")}
    assert _applied(_report(both, "CRED-004", "critical"), loaded)[0]["status"] == "failed"


def test_an_error_is_never_waived(tmp_path):
    loaded = waivers.load(_file(tmp_path, _waiver()), KNOWN)
    report = ControlReport()
    props = [("control_id", "CONFIG-002"), ("control_title", "t"), ("severity", "medium"), ("reference", "r")]
    report.add(TestReport("suites/test_config.py::test_x", ("f", 1, "x"), {}, "failed", "boom", "setup",
                          user_properties=props))
    entry, account = _applied(report, loaded)
    assert entry["status"] == "error" and len(account["unused"]) == 1
