"""Where a gate run's time goes, from one run: the platform's own bring-up beside the full suite.

    python benchmarks/gate_benchmark.py [--stack-file FILE] [--workers auto] [--reports-dir DIR] [-- PYTEST_ARGS]
    make benchmark

In order, on the machine it runs on:

1. builds what the stack's images need, so no timing below includes a build;
2. the bare floor: `docker compose up --wait`, then `down -v`, of the same files with the
   same secrets, ports, TLS pair and environment the harness gives compose (prepared by the
   compose target's own prepare, run by its own compose door), and nothing else: no
   port-forward, no control;
3. the full suite, `pytest suites/ -n auto`, and its wall time;
4. from that run's junit.xml, the seconds of each chapter (the sum of its test cases' times,
   fixture setup and teardown included) and the slowest controls; from its progress lines,
   the harness's own bring-up and teardown;
5. the load timeline's phases with the requests each judged, when the run recorded one
   (<reports-dir>/load/timeline.json, or --timeline);
6. the ratio suite wall / bare up+down.

Prints a table and writes the same figures to reports/benchmark.json (--json). Figures, not
assertions: machines here are noisy, so compare ratios from one run, not seconds across
runs. `--workers 0` times the suite without xdist; `--cold-build` also times a cold and a
warm image build, in a throwaway image repository that no run uses. Everything the bare
bring-up starts is removed on every path, Ctrl-C included; the suite tears its own down.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.engine import images
from fixtures.engine.docker_objects import (
    RUN_LABEL,
    connect_docker,
    remove_project_objects,
)
from fixtures.errors import HarnessError
from fixtures.paths import REPORTS_DIR
from fixtures.targets.compose import ComposeTarget

# Where the suite's load timeline is written, under its reports directory (fixtures/labs/).
TIMELINE_FILE = Path("load") / "timeline.json"
TOP_CONTROLS = 10
HEARTBEAT_S = 60
# The harness's own progress lines worth echoing while the suite runs, and the two it times itself.
ECHOED = ("stack:", "images:", "platform:", "conformance:")
HARNESS_TIMES = {"bring_up_s": re.compile(r"stack: up and healthy in (\d+(?:\.\d+)?)s"),
                 "tear_down_s": re.compile(r"stack: torn down in (\d+(?:\.\d+)?)s")}
# The cold build uses its own repository name so it never removes images a run is using.
COLD_BUILD_REPOSITORY = "conformance-benchmark"


# --- figures from a run's records (no Docker: tests/unit/test_gate_benchmark.py) ---

def junit_cases(path: Path) -> list[dict]:
    """One entry per test case: control id, chapter, seconds (less its wait for the stack lock), outcome."""
    cases = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        control = properties.get("control_id") or ""
        module = (case.get("classname") or "").split(".")[-1]
        chapter = control.split("-")[0] if control else module.removeprefix("test_").upper() or "?"
        outcome = next((tag for tag in ("failure", "error", "skipped") if case.find(tag) is not None), "passed")
        # A case's time includes its wait for the stack lock (disruptive controls hold it alone):
        # that wait is another control's time, not this one's.
        waited = float(properties.get("stack_lock_wait_s") or 0)
        cases.append({"control": control or f"{module}::{case.get('name')}", "chapter": chapter,
                      "seconds": max(float(case.get("time") or 0) - waited, 0.0), "outcome": outcome})
    return cases


def chapter_seconds(cases: list[dict]) -> list[dict]:
    """Seconds per chapter (the sum of its cases), slowest first, with its share of all cases' seconds."""
    total = sum(c["seconds"] for c in cases) or 1.0
    chapters: dict[str, dict] = {}
    for case in cases:
        entry = chapters.setdefault(case["chapter"], {"chapter": case["chapter"], "cases": 0, "seconds": 0.0})
        entry["cases"] += 1
        entry["seconds"] += case["seconds"]
    for entry in chapters.values():
        entry["seconds"] = round(entry["seconds"], 2)
        entry["share"] = round(entry["seconds"] / total, 4)
    return sorted(chapters.values(), key=lambda e: (-e["seconds"], e["chapter"]))


def slowest_controls(cases: list[dict], count: int = TOP_CONTROLS) -> list[dict]:
    """The controls that took longest, their parametrized cases summed."""
    seconds: dict[str, float] = {}
    for case in cases:
        seconds[case["control"]] = seconds.get(case["control"], 0.0) + case["seconds"]
    ranked = sorted(seconds.items(), key=lambda item: (-item[1], item[0]))[:count]
    return [{"control": control, "seconds": round(value, 2)} for control, value in ranked]


def outcomes(cases: list[dict]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for case in cases:
        counts["failed" if case["outcome"] == "failure" else case["outcome"]] += 1
    return counts


def _moment(value) -> float | None:
    """Seconds from a timeline's start or end: a number, or an ISO 8601 time."""
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def read_timeline(path: Path, since: float = 0.0) -> list[dict] | None:
    """The phases of a load timeline written at or after `since` (epoch seconds); None when there is none.

    Read loosely: a list of phases or {"phases": [...]} (fixtures/labs/timeline.py writes the
    latter), each with name, start, end, requests, failures, p95_ms, the requests its window
    needed, and why it was not run or failed, where known.
    """
    if not path.is_file() or path.stat().st_mtime < since:
        return None
    document = json.loads(path.read_text())
    phases = document.get("phases", []) if isinstance(document, dict) else document
    rows = []
    for phase in phases:
        start, end = _moment(phase.get("start")), _moment(phase.get("end"))
        note = phase.get("not_run") or phase.get("error") or ""
        rows.append({"name": str(phase.get("name", "?")),
                     "seconds": round(end - start, 1) if start is not None and end is not None and not note else None,
                     "requests": phase.get("requests"), "needed": phase.get("needed"),
                     "failures": phase.get("failures"), "p95_ms": phase.get("p95_ms"), "note": note})
    return rows


def harness_times(output: str) -> dict[str, float | None]:
    """The suite's own bring-up and teardown seconds, from its progress lines."""
    found = {key: pattern.search(output) for key, pattern in HARNESS_TIMES.items()}
    return {key: float(match.group(1)) if match else None for key, match in found.items()}


def figures(bare: dict, suite: dict, cases: list[dict], timeline: list[dict] | None) -> dict:
    """The document reports/benchmark.json holds and the table prints."""
    return {
        "bare": bare,
        "suite": {**suite, "cases": outcomes(cases), "case_seconds": round(sum(c["seconds"] for c in cases), 2)},
        "ratio": round(suite["wall_s"] / bare["total_s"], 2) if bare.get("total_s") else None,
        "chapters": chapter_seconds(cases),
        "slowest_controls": slowest_controls(cases),
        "timeline": timeline,
    }


def _or_dash(value, pattern: str = "{}") -> str:
    return "-" if value is None else pattern.format(value)


def render(document: dict) -> str:
    bare, suite, run = document["bare"], document["suite"], document.get("run", {})
    harness = (f"; of it, its own bring-up {_or_dash(suite.get('bring_up_s'), '{:.0f}')} s and teardown "
               f"{_or_dash(suite.get('tear_down_s'), '{:.0f}')} s")
    cases = ", ".join(f"{count} {name}" for name, count in suite["cases"].items() if count)
    lines = [
        (f"gate benchmark: {', '.join(run.get('stack_files', []))}, {run.get('cpus', '?')} CPUs, "
         f"{run.get('measured_at', '')}"),
        "",
        f"  {'bare compose up --wait':<36} {bare['up_s']:8.1f} s",
        f"  {'bare compose down -v':<36} {bare['down_s']:8.1f} s",
        f"  {'bare up + down':<36} {bare['total_s']:8.1f} s",
        (f"  {suite.get('label', 'suite'):<36} {suite['wall_s']:8.1f} s   "
         f"(exit {suite.get('exit_code', '?')}{harness})"),
        f"  {'ratio suite / bare':<36} {_or_dash(document['ratio'], '{:8.2f}')} x",
        "",
        f"  {'chapter':<10} {'cases':>5} {'seconds':>9} {'share':>7}",
    ]
    lines += [f"  {c['chapter']:<10} {c['cases']:>5} {c['seconds']:>9.1f} {100 * c['share']:>6.1f}%"
              for c in document["chapters"]]
    lines += [(f"  {'all':<10} {sum(c['cases'] for c in document['chapters']):>5} {suite['case_seconds']:>9.1f}"
               f"          ({cases}; cases overlap across workers, so they add up to more than the wall)"),
              "", "  slowest controls"]
    lines += [f"  {c['control']:<24} {c['seconds']:8.1f} s" for c in document["slowest_controls"]]
    lines.append("")
    if document["timeline"] is None:
        lines.append("  no load timeline recorded")
    else:
        lines.append(f"  {'load phase':<16} {'seconds':>8} {'requests':>9} {'needed':>7} {'failures':>9} {'p95 ms':>7}")
        lines += [f"  {p['name']:<16} {_or_dash(p['seconds'], '{:8.1f}'):>8} {_or_dash(p['requests']):>9} "
                  f"{_or_dash(p.get('needed')):>7} {_or_dash(p['failures']):>9} {_or_dash(p['p95_ms'], '{:.0f}'):>7}"
                  f"{'  ' + p['note'] if p.get('note') else ''}" for p in document["timeline"]]
    return "\n".join(lines)


# --- measuring (Docker) ---

class Progress:
    """Progress lines with the seconds since the benchmark started."""

    def __init__(self):
        self.started = time.monotonic()

    def __call__(self, line: str) -> None:
        print(f"[{time.monotonic() - self.started:5.0f}s] {line}", flush=True)


def _raise_interrupt(signum, frame):
    # SIGTERM (a CI job cancelled) takes Ctrl-C's road, so the bare stack is removed.
    raise KeyboardInterrupt(f"signal {signum}")


def _ignoring_signals(action) -> None:
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        action()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _session(stack_file: str | None, up_timeout: int, progress: Progress) -> ComposeTarget:
    """The harness's own preparation (secrets, ports, TLS pair, compose door), as a compose run has it."""
    options = SimpleNamespace(project=None, stack_file=stack_file, stack_override=[],
                              platform=None, keep_stack=False, up_timeout=up_timeout)
    return ComposeTarget(options, progress)


def _ensure_images(client, model: dict, project: str, progress: Progress) -> None:
    images.ensure_stack_images(client, progress)
    images.build_declared_images(client, model, project, {RUN_LABEL: project}, progress)


def bare_floor(stack_file: str | None, up_timeout: int, progress: Progress) -> dict:
    """Seconds of `compose up --wait` and `compose down -v`, the images built beforehand."""
    session = _session(stack_file, up_timeout, progress)
    client = connect_docker()
    went_down = False

    def remove() -> None:
        if session.info is not None:
            if not went_down:
                try:
                    session.compose.down()
                except HarnessError as exc:
                    progress(f"bench: {exc}; removing by label")
            remove_project_objects(client, session.info.project)
        if session.run_dir is not None:
            shutil.rmtree(session.run_dir, ignore_errors=True)

    try:
        info = session.prepare()
        _ensure_images(client, info.model, info.project, progress)
        progress(f"bench: bare compose up --wait of {info.project}")
        started = time.monotonic()
        session.compose.up(up_timeout)
        up = time.monotonic() - started
        progress(f"bench: bare up in {up:.1f}s; compose down -v")
        started = time.monotonic()
        session.compose.down()
        went_down = True
        down = time.monotonic() - started
        progress(f"bench: bare down in {down:.1f}s")
    finally:
        _ignoring_signals(remove)
    return {"up_s": round(up, 2), "down_s": round(down, 2), "total_s": round(up + down, 2)}


def run_suite(command: list[str], log: Path, progress: Progress) -> tuple[float, int, str]:
    """Wall seconds, exit code and output of the suite; on Ctrl-C it finishes its own teardown first."""
    stop = threading.Event()
    started = time.monotonic()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_S):
            progress(f"bench: suite running, {time.monotonic() - started:.0f}s")

    threading.Thread(target=heartbeat, daemon=True).start()
    output: list[str] = []
    # A session of its own: it gets exactly one Ctrl-C, ours passed on to its whole group
    # (controller, xdist workers, compose), as a terminal delivers it, whatever reached us.
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)

    def drain() -> None:
        for line in process.stdout:
            output.append(line)
            if line.startswith(ECHOED):
                progress(f"suite: {line.rstrip()}")
        process.wait()

    try:
        drain()
    except KeyboardInterrupt:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        progress("bench: interrupted; waiting for the suite's own teardown")
        _ignoring_signals(drain)  # reading on, so its teardown never blocks on a full pipe
        raise
    finally:
        stop.set()
        log.write_text("".join(output))
    return time.monotonic() - started, process.returncode, "".join(output)


def cold_build(progress: Progress) -> dict:
    """A cold and a warm build of every image, in a repository of its own, removed afterwards."""
    command = [sys.executable, "-m", "fixtures.engine.images"]
    env = {**os.environ, "CONFORMANCE_IMAGE_REPOSITORY": COLD_BUILD_REPOSITORY}
    seconds = {}
    try:
        for label in ("cold", "warm"):
            progress(f"bench: image build, {label}")
            started = time.monotonic()
            result = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise HarnessError(f"image build ({label}) failed: {result.stderr.strip()[-300:]}")
            seconds[f"{label}_s"] = round(time.monotonic() - started, 2)
    finally:
        client = connect_docker()
        for image in client.images.list(name=f"{COLD_BUILD_REPOSITORY}/*"):
            for tag in image.tags:
                client.images.remove(tag, force=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack-file", default=None, metavar="PATH",
                        help="compose file (default: the reference platform, stack/docker-compose.yml)")
    parser.add_argument("--workers", default="auto", help="pytest-xdist workers for the suite (-n; default auto)")
    parser.add_argument("--reports-dir", default=str(REPORTS_DIR), metavar="DIR",
                        help="the suite's reports directory (default reports/)")
    parser.add_argument("--timeline", default=None, metavar="FILE",
                        help=f"the run's load timeline (default <reports-dir>/{TIMELINE_FILE})")
    parser.add_argument("--json", default=str(REPORTS_DIR / "benchmark.json"), metavar="FILE",
                        help="where the figures go (default reports/benchmark.json)")
    parser.add_argument("--up-timeout", type=int, default=240, metavar="SECONDS", help="bring-up bound (default 240)")
    parser.add_argument("--cold-build", action="store_true", help="also time a cold and a warm image build")
    parser.add_argument("pytest_args", nargs="*", metavar="-- PYTEST_ARGS",
                        help="more options for the suite, after --; a selection (--controls) measures that selection")
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, _raise_interrupt)
    # Started as a background job (SIGINT ignored), Ctrl-C-like signals must still interrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    progress = Progress()
    reports = Path(options.reports_dir).resolve()
    reports.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pytest", "suites/", "-q", "-n", options.workers, "--reports-dir", str(reports)]
    if options.stack_file:
        command += ["--stack-file", str(Path(options.stack_file).resolve())]
    command += options.pytest_args
    try:
        run = {"measured_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
               "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
               "stack_files": [options.stack_file or "stack/docker-compose.yml"]}
        builds = cold_build(progress) if options.cold_build else None
        bare = bare_floor(options.stack_file, options.up_timeout, progress)
        progress(f"bench: {' '.join(command[2:])} (output in {reports / 'benchmark-suite.log'})")
        suite_started = time.time()
        wall, exit_code, output = run_suite(command, reports / "benchmark-suite.log", progress)
        if exit_code not in (0, 1):
            raise HarnessError(f"the suite ended with exit {exit_code}, no figures: see {reports / 'benchmark-suite.log'}")
        junit = reports / "junit.xml"
        if not junit.is_file() or junit.stat().st_mtime < suite_started:
            raise HarnessError(f"the suite wrote no {junit}: see {reports / 'benchmark-suite.log'}")
        timeline = read_timeline(Path(options.timeline) if options.timeline else reports / TIMELINE_FILE,
                                 since=suite_started)
        suite = {"label": f"pytest suites/ -n {options.workers}{' ...' if options.pytest_args else ''}",
                 "command": ["pytest", *command[3:]], "wall_s": round(wall, 2), "exit_code": exit_code,
                 **harness_times(output)}
        document = {"run": run, **figures(bare, suite, junit_cases(junit), timeline)}
        if builds:
            document["image_build"] = builds
    except KeyboardInterrupt:
        print("gate_benchmark: interrupted; what it started is removed", file=sys.stderr)
        return 130
    except HarnessError as exc:
        print(f"gate_benchmark: {exc}", file=sys.stderr)
        return 2
    print()
    print(render(document))
    if builds:
        print(f"\n  image build: cold {builds['cold_s']:.1f} s, warm {builds['warm_s']:.1f} s")
    Path(options.json).parent.mkdir(parents=True, exist_ok=True)
    Path(options.json).write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nfigures: {options.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
