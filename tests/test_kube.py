"""The KUBE chapter: passes on the reference manifests, fails each mutant's control alone, judges seed 004.

No cluster and no Docker: every run here takes seconds. The mutants are judged in this
process (tests/kube_chapter.py); whole runs of `pytest suites/ --target manifests` prove
the options, the reports and the bad-input path.
"""

import xml.etree.ElementTree as ET

import pytest

from fixtures.kube.manifests import load
from tests.kube_chapter import CONTROLS, judge
from tests.mutant_catalogue import KUBE_MUTANTS
from tests.suite_runner import MUTANTS_DIR, ROOT, run_suite

REFERENCE = ROOT / "k8s"
SEED_004 = ROOT / "tests" / "data" / "kube" / "seed-004"


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("ERROR: conformance:")]


def test_the_reference_manifests_pass_every_kube_control():
    results = judge(load([REFERENCE]))
    assert {status for status, _ in results.values()} == {"passed"}, results


@pytest.mark.parametrize("mutant", KUBE_MUTANTS, ids=lambda m: m.name)
def test_each_mutant_fails_its_control_and_no_other(mutant):
    manifests = load([REFERENCE, *(MUTANTS_DIR / patch for patch in mutant.overrides)])
    results = judge(manifests)
    failing = {control_id: message for control_id, (status, message) in results.items() if status != "passed"}
    assert sorted(failing) == sorted(mutant.must_fail), failing


def test_a_manifests_run_passes_the_reference_and_reports_it(reports_dir):
    result = run_suite(reports_dir, "--target", "manifests", "--manifests", "k8s/", timeout_s=120)
    assert result.returncode == 0, result.output[-3000:]
    statuses = {c["id"]: c["status"] for c in result.report["controls"]}
    kube = {i: s for i, s in statuses.items() if i.startswith("KUBE-")}
    assert sorted(kube) == sorted(CONTROLS) and set(kube.values()) == {"passed"}, kube
    assert {s for i, s in statuses.items() if i not in kube} == {"not_applicable"}
    others = [c for c in result.report["controls"] if not c["id"].startswith("KUBE-")]
    # A parametrized control's message names its first case: "case: reason".
    assert all(c["message"].endswith("--target manifests judges Kubernetes manifests only") for c in others)
    stack = result.report["stack"]
    assert stack["target"] == "manifests" and stack["manifests"] == ["k8s"], stack
    assert "k8s/api-gateway.yaml" in stack["files"]
    junit = ET.parse(reports_dir / "junit.xml")
    assert set(kube) <= {p.get("value") for p in junit.iter("property") if p.get("name") == "control_id"}
    page = (reports_dir / "report.html").read_text()
    assert f"Kubernetes manifests (KUBE, {len(CONTROLS)})" in page and all(f'id="{i}"' in page for i in kube)
    assert "Network reachability from the NetworkPolicies" in page


def test_a_mutant_layered_with_a_second_manifests_option_fails_its_control(reports_dir):
    patch = "tests/mutants/kube/edge-reaches-postgres.yaml"
    result = run_suite(reports_dir, "--target", "manifests", "--manifests", "k8s", "--manifests", patch,
                       "suites/test_kube.py", timeout_s=120)
    assert result.returncode == 1, result.output[-3000:]
    assert sorted(result.failing()) == ["KUBE-015"], result.failing()
    assert "nginx (edge) reaches StatefulSet/orders-platform/postgres (event_store) on 5432" \
        in result.failing()["KUBE-015"]
    matrix = (reports_dir / "network-matrix.md").read_text()
    assert "| Deployment/orders-platform/nginx (edge) | ✗ open |" in matrix


def test_seed_004s_deployment_fails_what_it_leaves_out_and_passes_what_it_sets(reports_dir):
    result = run_suite(reports_dir, "--target", "manifests", "--manifests", str(SEED_004), "suites/test_kube.py",
                       timeout_s=120)
    assert result.returncode == 1, result.output[-3000:]
    statuses = {c["id"]: c["status"] for c in result.report["controls"]}
    # What the seed sets: probes on /health with distinct timing, the rollout numbers, the history.
    set_by_the_seed = ("KUBE-001", "KUBE-002", "KUBE-003", "KUBE-004", "KUBE-005")
    # What it leaves out: replicas and a budget, resources, a securityContext, a pinned image,
    # a seccomp profile, `automountServiceAccountToken: false`.
    left_out = ("KUBE-006", "KUBE-007", "KUBE-008", "KUBE-009", "KUBE-010", "KUBE-011", "KUBE-012", "KUBE-014",
                "KUBE-017", "KUBE-018")
    assert {c: statuses[c] for c in set_by_the_seed} == {c: "passed" for c in set_by_the_seed}, statuses
    assert {c: statuses[c] for c in left_out} == {c: "failed" for c in left_out}, statuses
    assert statuses["KUBE-015"] == "not_applicable"  # the snippets declare no data service
    assert statuses["KUBE-013"] == statuses["KUBE-016"] == "passed"  # no secret, no host access
    assert "empacts/api:latest" in result.failing()["KUBE-014"]


def test_invalid_manifests_are_bad_input_one_line_each(tmp_path, reports_dir):
    (tmp_path / "broken.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: typo}\nspec:\n  selector: {matchLabels: {a: b}}\n"
        "  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers:\n"
        "        - {name: c, image: 'i:1', livenesProbe: {}}\n"
        "---\napiVersion: apps/v2\nkind: Deployment\nmetadata: {name: future}\nspec: {}\n"
        "---\n- not an object\n"
        "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: custom}\n")
    result = run_suite(reports_dir, "--target", "manifests", "--manifests", str(tmp_path), timeout_s=120)
    assert result.returncode == 4, result.output[-3000:]
    lines = _error_lines(result.output)
    assert len(lines) == 3, lines
    assert any("#1: Deployment/typo does not match" in line and "'livenesProbe' was unexpected" in line for line in lines)
    assert any("#2: Deployment/future: Kubernetes" in line and "has no kind Deployment in apps/v2" in line for line in lines)
    assert any("#3: not a Kubernetes object" in line for line in lines)
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["--target", "manifests", "--manifests", "no/such/dir"], "manifests no/such/dir not found (--manifests)"),
    (["--manifests", "k8s"], "--manifests judges Kubernetes manifests: add --target manifests"),
], ids=["missing-directory", "manifests-without-target"])
def test_bad_manifests_options_get_one_line_and_exit_4(args, message, reports_dir):
    result = run_suite(reports_dir, *args, timeout_s=60)
    assert result.returncode == 4, result.output[-1500:]
    assert any(message in line for line in _error_lines(result.output)), result.output[-1500:]


def test_kube_controls_are_not_applicable_to_a_compose_model(reports_dir):
    result = run_suite(reports_dir, "--target", "static", "suites/test_kube.py", timeout_s=120)
    assert result.returncode == 0, result.output[-3000:]
    messages = {c["id"]: (c["status"], c["message"]) for c in result.report["controls"]}
    reason = "KUBE controls judge Kubernetes manifests: run with --target manifests --manifests DIR"
    assert messages == {i: ("not_applicable", reason) for i in CONTROLS}
