"""The docker-bench-security side by side (benchmarks/cis_docker_bench.py), on recorded output."""

import importlib.util

from fixtures.reports import catalogue
from fixtures.paths import ROOT

_spec = importlib.util.spec_from_file_location("cis_docker_bench", ROOT / "benchmarks" / "cis_docker_bench.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

# Recorded from docker-bench-security (ff26d67) against the reference platform, plain output (-b).
RECORDED = """\
[INFO] 5 - Container Runtime
[PASS] 5.1 - Ensure swarm mode is not Enabled, if not needed (Automated)
[WARN] 5.2 - Ensure that, if applicable, an AppArmor Profile is enabled (Automated)
[WARN]      * No AppArmorProfile Found: conformance-16414-nginx-1
[PASS] 5.3 - Ensure that, if applicable, SELinux security options are set (Automated)
[WARN] 5.9 - Ensure that only needed ports are open on the container (Manual)
[WARN]      * Port in use: 54493 in conformance-16414-nginx-1
0
[INFO] 5.19 - Ensure that the default ulimit is overwritten at runtime if needed (Manual)
[INFO]       * Container no default ulimit override: conformance-16414-nginx-1
"""


def _report(status: str = "passed", overrides: dict | None = None) -> dict:
    """conformance.json as a run of every control would write it."""
    return {"controls": [{"id": c[1], "reference": c[4], "status": (overrides or {}).get(c[1], status), "message": ""}
                         for c in catalogue._controls()]}


def test_checks_and_their_details_are_read():
    checks = bench.parse_docker_bench(RECORDED)
    assert list(checks) == ["5.1", "5.2", "5.3", "5.9", "5.19"]
    assert checks["5.2"]["verdict"] == "WARN"
    assert checks["5.2"]["details"] == ["No AppArmorProfile Found: conformance-16414-nginx-1"]


def test_every_section_5_check_has_a_control_or_a_reason_none_applies():
    checks = {f"5.{n}": {"verdict": "PASS", "title": f"check {n}", "details": []} for n in range(1, 33)}
    rows, _ = bench.side_by_side(checks, _report())
    assert [r["cis"] for r in rows if r["category"] == "missing"] == []
    assert len(rows) == 32


def test_a_warn_is_reported_only_by_a_failing_or_not_applicable_control():
    checks = bench.parse_docker_bench(RECORDED)
    _, unreported = bench.side_by_side(checks, _report())
    assert [line.split()[0] for line in unreported] == ["5.2"]  # 5.9 is judged, 5.19 only INFO
    _, unreported = bench.side_by_side(checks, _report(overrides={"RUNTIME-014": "not_applicable"}))
    assert unreported == []
