"""Checkov beside the KUBE chapter (benchmarks/checkov_kube.py), on recorded verdicts."""

import importlib.util

from tests.suite_runner import ROOT

_spec = importlib.util.spec_from_file_location("checkov_kube", ROOT / "benchmarks" / "checkov_kube.py")
checkov_kube = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checkov_kube)
Finding = checkov_kube.Finding


def test_every_set_the_findings_name_exists():
    assert all(checkov_kube.set_path(f.set).is_dir() for f in checkov_kube.FINDINGS)


def test_our_cell_reads_the_finding_not_what_was_judged():
    finding = Finding("s", "defaults", "KUBE-004", "defaults-api", named=False)
    judged_only = {"KUBE-004": ("failed", "Deployment/a maxUnavailable is 100%; observed: Deployment/defaults-api judged")}
    assert checkov_kube._ours_cell(finding, judged_only) == ("KUBE-004 fails, not naming it", True)
    named = {"KUBE-004": ("failed", "Deployment/defaults-api maxSurge is 3")}
    assert checkov_kube._ours_cell(finding, named) == ("KUBE-004 names it", False)


def test_checkov_cells_say_failed_no_check_or_not_run():
    finding = Finding("s", "hostPID", "KUBE-016", "hostPID", True, "CKV_K8S_17", "DaemonSet.ns.agent")
    assert checkov_kube._checkov_cell(finding, {("CKV_K8S_17", "DaemonSet.ns.agent"): "FAILED"}) == "CKV_K8S_17 failed"
    assert checkov_kube._checkov_cell(finding, None) == "not run"
    assert checkov_kube._checkov_cell(Finding("s", "x", "KUBE-006", "x", True), {}) == "no check"


def test_the_table_fails_when_an_expectation_of_ours_does_not_hold():
    findings = (Finding("s", "one replica", "KUBE-006", "runs 1 replica", True),)
    checkov_kube.FINDINGS, saved = findings, checkov_kube.FINDINGS
    try:
        held = checkov_kube.table({"s": ({"KUBE-006": ("failed", "api runs 1 replica(s)")}, None, 1.0, 0.0)}, False)
        missed = checkov_kube.table({"s": ({"KUBE-006": ("passed", "")}, None, 1.0, 0.0)}, False)
    finally:
        checkov_kube.FINDINGS = saved
    assert held[1] and "| s | one replica | yes | KUBE-006 names it | not run |" in held[0]
    assert not missed[1] and "KUBE-006 passed ✗" in missed[0]
