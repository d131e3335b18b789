"""Every control fails on a stack broken in exactly its way (DESIGN.md §7)."""

import re

import pytest

from tests.mutant_catalogue import MUTANT_RUNS
from tests.suite_runner import MUTANTS_DIR, ROOT, objects_of_ours, run_suite

CONTROL_DECORATOR = re.compile(r'@control\(\s*"([A-Z]+-\d{3})"')


def _control_files() -> dict[str, str]:
    """control id -> the suites/ file (chapter) that defines it."""
    return {m: f"suites/{path.name}" for path in (ROOT / "suites").glob("test_*.py")
            for m in CONTROL_DECORATOR.findall(path.read_text())}


def _suite_control_ids() -> set[str]:
    return set(_control_files())


def _control_functions() -> dict[str, str]:
    """control id -> the name of the test function under its @control decorator."""
    found, pending = {}, None
    for path in (ROOT / "suites").glob("test_*.py"):
        for line in path.read_text().splitlines():
            if decorator := CONTROL_DECORATOR.search(line):
                pending = decorator.group(1)
            elif pending and (function := re.match(r"def (\w+)", line)):
                found[pending], pending = function.group(1), None
    return found


def _selection_of(run) -> list[str]:
    # A live mutant is judged by the controls it must fail, in their chapters: the others
    # (backup round trips, scaling under load, freezing every service) would only add
    # minutes to every bring-up and assert nothing here.
    files, functions = _control_files(), _control_functions()
    return [*sorted({files[control_id] for control_id in run.must_fail}),
            "-k", " or ".join(functions[control_id] for control_id in run.must_fail)]


def test_every_control_has_a_mutant():
    proven = {control_id for run in MUTANT_RUNS for control_id in run.must_fail}
    assert _suite_control_ids() - proven == set(), "controls with no mutant proving them"


def test_every_mutant_file_is_used():
    used = {f for run in MUTANT_RUNS for f in run.overrides}
    on_disk = {str(p.relative_to(MUTANTS_DIR)) for p in MUTANTS_DIR.rglob("*.yml")}
    assert on_disk - used == set()


def _override_args(run) -> list[str]:
    return [arg for f in run.overrides for arg in ("--stack-override", str(MUTANTS_DIR / f))]


@pytest.mark.parametrize("run", [r for r in MUTANT_RUNS if not r.live], ids=lambda r: r.name)
def test_static_mutant_fails_its_controls(run, reports_dir):
    result = run_suite(reports_dir, "--target", "static", *_override_args(run), timeout_s=120)
    assert result.returncode == 1, result.output[-2000:]
    assert sorted(result.failing()) == sorted(run.must_fail), result.failing()
    assert {c: result.status_of(c) for c in run.must_fail} == {c: "failed" for c in run.must_fail}


@pytest.mark.bringup
@pytest.mark.parametrize("run", [r for r in MUTANT_RUNS if r.live], ids=lambda r: r.name)
def test_live_mutant_fails_its_controls(run, reports_dir):
    result = run_suite(reports_dir, "-n", "2", *_override_args(run), *_selection_of(run))
    statuses = {c: result.status_of(c) for c in run.must_fail}
    assert statuses == {c: "failed" for c in run.must_fail}, f"{statuses}\n{result.output[-3000:]}"
    messages = result.failing()
    unsaid = [f"{c}: {words!r}" for c, words in run.must_say if words not in messages.get(c, "")]
    assert not unsaid, f"failures that do not name their mutant: {unsaid}\n{messages}"
    assert result.returncode == 1
    assert objects_of_ours(result.project) == []


@pytest.mark.bringup
def test_a_stack_without_a_broker_healthcheck_fails_the_full_run(reports_dir):
    # HEALTH-010 freezes every service in turn: minutes that assert nothing here.
    result = run_suite(reports_dir, "-n", "2", "--stack-override", str(MUTANTS_DIR / "health/rabbitmq-healthcheck-disabled.yml"),
                       "suites/test_health.py", "suites/test_config.py",
                       "-k", f"not {_control_functions()['HEALTH-010']}")
    assert result.returncode != 0
    assert result.status_of("HEALTH-001") == "failed"
    assert objects_of_ours(result.project) == []
