"""Whole `--target manifests` runs on the shapes public sets use: judged and located, or refused with one line each.

No cluster and no Docker. What each shape reads as is proven in process
(tests/unit/test_kube_reading.py); these runs prove the exit codes, the run's first lines
and that conformance.json and SARIF place each KUBE finding at its object's file and line.
"""

import json

from tests.suite_runner import run_suite
from tests.unit.test_sarif import assert_valid_sarif

SHAPES = "tests/data/kube/shapes"
UNRENDERED = "tests/data/kube/unrendered"


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("ERROR: conformance:")]


def test_the_shapes_kubectl_applies_are_judged_and_each_finding_is_located_at_its_object(reports_dir):
    result = run_suite(reports_dir, "--target", "manifests", "--manifests", SHAPES, "suites/test_kube.py", timeout_s=120)
    assert result.returncode == 1, result.output[-3000:]
    assert "manifests: not read: 1 file(s) that are not *.yaml, *.yml or *.json" in result.output
    assert "manifests: 12 objects in 5 files (tests/data/kube/shapes) valid for Kubernetes" in result.output
    entries = {c["id"]: c for c in result.report["controls"]}
    unpinned = {o["ref"]: (o["file"], o["line"]) for o in entries["KUBE-014"]["objects"]}
    assert unpinned == {"Deployment/monitoring/api": ("tests/data/kube/shapes/api.json", 1),
                        "PodTemplate/monitoring/batch-worker": ("tests/data/kube/shapes/legacy.yaml", 20)}
    unprobed = {o["ref"] for o in entries["KUBE-001"]["objects"]}
    assert "ReplicationController/monitoring/frontend" in unprobed and "Job/monitoring/migrate-" not in unprobed
    no_resources = {o["ref"]: o["message"] for o in entries["KUBE-008"]["objects"]}
    assert no_resources["Job/monitoring/migrate-"] == "Job/monitoring/migrate- container migrate: requests.cpu, " \
                                                      "requests.memory, limits.cpu, limits.memory"
    log = json.loads((reports_dir / "conformance.sarif").read_text())
    assert_valid_sarif(log)
    results = [r for r in log["runs"][0]["results"] if r["ruleId"] == "KUBE-014"]
    where = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
              r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results}
    assert where == {("tests/data/kube/shapes/api.json", 1), ("tests/data/kube/shapes/legacy.yaml", 20)}
    assert {r["message"]["text"] for r in results} == {
        "images not pinned: Deployment/monitoring/api container api (example/api:latest)",
        "PodTemplate/monitoring/batch-worker container worker (example/worker)"}
    assert len({r["partialFingerprints"]["conformanceControl/v1"] for r in results}) == 2


def test_unrendered_input_is_bad_input_one_line_each_with_the_command_that_renders_it(reports_dir):
    result = run_suite(reports_dir, "--target", "manifests", "--manifests", f"{UNRENDERED}/chart",
                       "--manifests", f"{UNRENDERED}/quoted-template.yaml", "suites/test_kube.py", timeout_s=120)
    assert result.returncode == 4, result.output[-3000:]
    lines = _error_lines(result.output)
    assert len(lines) == 2 and all("render it first: helm template RELEASE" in line for line in lines), lines
    assert "Traceback" not in result.output


def test_an_input_with_no_object_is_bad_input_not_conformant(reports_dir):
    result = run_suite(reports_dir, "--target", "manifests", "--manifests", f"{UNRENDERED}/no-objects",
                       "suites/test_kube.py", timeout_s=120)
    assert result.returncode == 4, result.output[-3000:]
    assert _error_lines(result.output) == [
        "ERROR: conformance: no Kubernetes object in tests/data/kube/unrendered/no-objects: nothing to judge (--manifests)"]
