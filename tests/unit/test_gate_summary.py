"""The terminal summary and the report page's gate sections, on a recorded failing run."""

import copy
import json
from pathlib import Path

from fixtures.reports import html_report
from fixtures.gate import baseline, summary, threshold

RECORDED = Path(__file__).resolve().parent.parent / "data" / "gate"


def _document(fail_on="low") -> dict:
    document = copy.deepcopy(json.loads((RECORDED / "two-config-mutants-static.json").read_text()))
    entry = next(e for e in document["controls"] if e["id"] == "CONFIG-002")
    entry.update(status="waived", raw_status="failed", waivers=[
        {"control": "CONFIG-002", "justification": "restarted by the host's systemd unit", "expires": "2027-03-31",
         "owner": "platform-team"}])
    document["waivers"] = {"file": "waivers.yml", "applied": 1, "expired": [], "unused": [
        {"control": "CONFIG-003", "justification": "old", "expires": "2020-01-01", "expired": True}]}
    document["baseline"] = baseline.compare(document["controls"],
                                            baseline.load(str(RECORDED / "reference-static.json")), "previous.json")
    document["gate"] = threshold.verdict(document["controls"], fail_on, False)
    return document


def _text(document, reports=None) -> list[str]:
    return [text for text, _ in summary.lines(document, reports or {})]


def test_the_summary_leads_with_the_verdict_and_counts_every_status():
    lines = _text(_document(), {"JSON": Path("reports/conformance.json")})
    assert lines[0] == "verdict: NOT CONFORMANT (exit 1): 1 control(s) failing at or above --fail-on low"
    assert lines[1] == "controls (69): 1 failed, 0 error, 1 waived, 9 passed, 0 not applicable, 58 skipped"
    assert "  CONFIG-010 [high] non-edge services publish ports: rabbitmq" in lines
    waived = next(line for line in lines if line.startswith("  CONFIG-002"))
    assert "restarted by the host's systemd unit (platform-team, until 2027-03-31)" in waived
    assert any(line.startswith("unused waivers") and "CONFIG-003" in line and "expired" in line for line in lines)
    assert "changes since previous.json: 2 new failure, 0 fixed, 0 still failing, 67 unchanged" in lines
    assert "reports: reports/conformance.json" in lines
    assert lines[-1] == summary.CASES_VS_CONTROLS


def test_failures_below_the_threshold_are_listed_apart_and_the_run_is_conformant():
    lines = _text(_document(fail_on="critical"))
    assert lines[0].startswith("verdict: CONFORMANT (exit 0): no finding counts: all below --fail-on critical")
    below = lines.index("failing below --fail-on critical (listed, not failing the run):")
    assert lines[below + 1].startswith("  CONFIG-010 [high]")


def test_the_page_shows_the_gate_changes_and_waivers(tmp_path):
    document = _document(fail_on="critical")
    page = html_report.render(document, tmp_path)
    assert '<div class="verdict passed">PASSED</div>' in page  # the gate's verdict, not "any failure"
    assert page.index("Changes since previous.json") < page.index("Compose configuration")
    assert '<tr class="waived" id="CONFIG-002">' in page
    assert "restarted by the host&#x27;s systemd unit (platform-team, until 2027-03-31)" in page
    assert "Unused waivers (1)" in page and "1 failing below the threshold" in page
