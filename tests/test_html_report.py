"""The HTML report renders in a real browser and a failing control is visible on it.

Recorded data (tests/data/html_report/): a run where CRED-005 failed, a network matrix with
one mismatch, and a Locust history with per-replica shares. Debian's chromium loads the page
headless; a probe script added to a copy of the page reports what the browser laid out.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.reports import html_report

RECORDED = Path(__file__).resolve().parent / "data" / "html_report"
# Runs after layout, in the browser: what a person looking at the first screen would see.
_PROBE = """<script>
const failing = document.querySelector('tr.failed[data-control="CRED-005"]');
const rect = failing ? failing.getBoundingClientRect() : null;
document.body.setAttribute('data-probe', JSON.stringify({
  failing_top: rect && rect.top, failing_height: rect && rect.height, viewport: window.innerHeight,
  failing_colour: failing && getComputedStyle(failing.querySelector('.status')).backgroundColor,
  verdict: document.querySelector('.verdict').textContent,
  chart_lines: [...document.querySelectorAll('svg polyline')].filter(p => p.getTotalLength() > 0).length,
  share_bars: document.querySelectorAll('svg rect').length,
  matrix_mismatches: document.querySelectorAll('td.bad').length,
  anchored: document.querySelectorAll('tr[id]').length,
}));
</script>"""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium not installed: `make setup` installs Debian's chromium", pytrace=False)
    return found


@pytest.fixture
def rendered(tmp_path) -> Path:
    reports = tmp_path / "reports"
    shutil.copytree(RECORDED, reports)
    document = json.loads((reports / "conformance.json").read_text())
    return html_report.write(document, reports)


def _browser_probe(page: Path, tmp_path: Path, probe: str = _PROBE) -> dict:
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text().replace("</body>", probe + "</body>"))
    result = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = re.search(r"data-probe=\"([^\"]*)\"", result.stdout)
    assert found, f"the probe did not run in chromium:\n{result.stdout[:1000]}"
    return json.loads(found.group(1).replace("&quot;", '"'))


def test_a_failing_control_is_visible_on_the_first_screen(rendered, tmp_path):
    probe = _browser_probe(rendered, tmp_path)
    assert probe["verdict"] == "FAILED"
    assert probe["failing_height"] > 0 and 0 <= probe["failing_top"] < probe["viewport"], probe
    assert probe["failing_colour"] == "rgb(198, 40, 40)", probe  # the red status cell


def test_the_page_draws_the_matrix_and_the_load_charts(rendered, tmp_path):
    probe = _browser_probe(rendered, tmp_path)
    assert probe["anchored"] == 5, probe  # every control once in its chapter
    assert probe["matrix_mismatches"] == 1, probe
    assert probe["chart_lines"] == 4, probe  # requests/s, failures/s, p50, p95
    assert probe["share_bars"] == 3, probe  # one bar per gateway replica


def test_run_metadata_and_messages_are_on_the_page(rendered):
    text = rendered.read_text()
    assert "conformance/nginx:df1f4f01d58f21b9" in text
    assert "Redis answered &#x27;+PONG&#x27; to a client without a password" in text
    assert "<script" not in text  # self-contained and inert: CI artefact viewers show it as is


def test_load_results_of_an_earlier_run_are_left_out(tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(RECORDED, reports)
    document = json.loads((reports / "conformance.json").read_text())
    later = max(p.stat().st_mtime for p in (reports / "load").iterdir()) + 60
    assert "<polyline" not in html_report.render(document, reports, since=later)


def test_rebuilding_without_a_run_is_one_clear_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "fixtures.reports.html_report", str(tmp_path)], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"html_report: {tmp_path / 'conformance.json'} not found: run the suite first (pytest suites/)"]


def test_the_load_timeline_lists_its_phases_with_the_requests_each_judged(tmp_path):
    reports = tmp_path / "reports"
    shutil.copytree(RECORDED, reports)
    history = next((reports / "load").glob("*_stats_history.csv"))
    shutil.copyfile(history, reports / "load" / "timeline_stats_history.csv")
    window = {"start": 100.0, "end": 110.5, "requests": 1283, "failures": 0, "p95_ms": 344.7}
    (reports / "load" / "timeline.json").write_text(json.dumps({"phases": [
        {"name": "steady", "did": "", "needed": 300, "window": window},
        {"name": "scale-out", "error": "docker compose up failed", "needed": 300, "window": {**window, "requests": 40}},
        {"name": "scale-in", "not_run": 'the "scale-out" phase left the stack broken', "window": None},
    ]}))
    page = html_report.render(json.loads((reports / "conformance.json").read_text()), reports)
    assert "<td>steady</td><td>—</td><td>10.5</td><td>1283</td><td>0</td><td>345</td><td>300</td>" in page
    assert "<td>scale-out</td><td>docker compose up failed</td>" in page
    assert "<td>scale-in</td><td>the &quot;scale-out&quot; phase left the stack broken</td><td colspan=\"4\">—</td>" in page


# What the timeline chart shows once laid out: its phases as bands with their names, and a line per series.
_TIMELINE_PROBE = """<script>
const chart = document.querySelector('svg.timeline');
const box = chart ? chart.getBoundingClientRect() : null;
document.body.setAttribute('data-probe', JSON.stringify({
  width: box && box.width,
  phases: [...document.querySelectorAll('svg.timeline g.phase')].map(g => [g.dataset.phase,
    Math.round(g.querySelector('rect').getBBox().width)]),
  drawn: [...document.querySelectorAll('svg.timeline polyline.series')].filter(p => p.getTotalLength() > 0)
    .map(p => p.dataset.series),
  serving: [...document.querySelectorAll('svg.timeline g.phase text')].map(t => t.textContent),
}));
</script>"""


def test_the_load_timeline_is_drawn_with_its_phases_and_the_replicas_serving(tmp_path):
    """Per-request records over 60 s, in release phases: a band per phase with its name and the
    replicas that answered in its window, and the four series drawn over the same axis."""
    reports = tmp_path / "reports"
    shutil.copytree(RECORDED, reports)
    load = reports / "load"
    shutil.copyfile(next(load.glob("*_stats_history.csv")), load / "timeline_stats_history.csv")
    t0 = 1_800_000_000.0
    rows = ["start,response_ms,name,status,failed,error,replica,request_id"]
    for i in range(60 * 20):  # 20 requests a second; replica r3 joins at 20 s, r1 leaves at 40 s
        t = t0 + i / 20
        replicas = [r for r, (joined, left) in {"r1": (0, 40), "r2": (0, 60), "r3": (20, 60)}.items()
                    if joined <= t - t0 < left]
        failed = 30 <= t - t0 < 31 and i % 4 == 0
        rows.append(f"{t:.3f},{100 + i % 50},GET /orders,{502 if failed else 200},{int(failed)},"
                    f"{'GET answered 502' if failed else ''},{'' if failed else replicas[i % len(replicas)]},id-{i}")
    (load / "timeline_requests.csv").write_text("\n".join(rows) + "\n")

    def phase(name: str, start: float, end: float, shares: dict) -> dict:
        return {"name": name, "did": f"{name} done", "start": t0 + start, "end": t0 + end,
                "window": {"start": t0 + start, "end": t0 + end, "requests": 1, "failures": 0, "p95_ms": 1,
                           "shares": shares}}

    (load / "timeline.json").write_text(json.dumps({"phases": [
        phase("steady", 0, 15, {"r1": 150, "r2": 150}),
        phase("rolling-update", 16, 45, {"r1": 200, "r2": 200, "r3": 150, "(no answer)": 5}),
        phase("shutdown", 46, 60, {"r2": 140, "r3": 140}),
    ]}))
    page = html_report.write(json.loads((reports / "conformance.json").read_text()), reports)
    assert "<script" not in page.read_text()
    probe = _browser_probe(page, tmp_path, _TIMELINE_PROBE)
    assert probe["width"] > 1000, probe
    assert [name for name, _ in probe["phases"]] == ["steady", "rolling-update", "shutdown"], probe
    assert all(width > 100 for _, width in probe["phases"]), probe  # each band spans its seconds
    assert probe["drawn"] == ["requests/s", "failures/s", "p95 ms", "replicas serving"], probe
    assert probe["serving"] == ["steady", "2 replicas", "rolling-update", "3 replicas", "shutdown", "2 replicas"], probe
    series = html_report._per_second(load / "timeline_requests.csv")
    assert {v for _, v in series["replicas serving"]} == {2, 3} and max(v for _, v in series["failures/s"]) == 5
