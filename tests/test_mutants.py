"""Every control fails on a stack broken in exactly its way: each mutant (tests/mutant_catalogue.py) breaks one thing."""

import time

import docker
import pytest

from fixtures.engine.engine_facts import read_engine_facts
from fixtures.gate import registry
from tests.mutant_catalogue import KUBE_MUTANTS, MUTANT_RUNS
from tests.suite_runner import MUTANTS_DIR, ROOT, assert_nothing_left, run_suite

def _suite_control_ids() -> set[str]:
    return {c.id for c in registry.controls()}


def _selection_of(run) -> list[str]:
    # A live mutant is judged by the controls it proves alone: the others (backup round trips,
    # scaling under load, freezing every service) would only add a minute or more to every bring-up.
    return ["--controls", ",".join(run.proves)]


def test_every_control_has_a_mutant():
    proven = {control_id for run in MUTANT_RUNS for control_id in run.proves}
    proven |= {control_id for run in KUBE_MUTANTS for control_id in run.must_fail}
    assert _suite_control_ids() - proven == set(), "controls with no mutant proving them"


def test_every_mutant_file_is_used():
    used = {f for run in MUTANT_RUNS + KUBE_MUTANTS for f in run.overrides}
    on_disk = {str(p.relative_to(MUTANTS_DIR)) for p in [*MUTANTS_DIR.rglob("*.yml"), *MUTANTS_DIR.glob("kube/*.yaml")]}
    assert on_disk - used == set()


def _override_args(run) -> list[str]:
    stack = ["--stack-file", str(ROOT / run.stack_file)] if run.stack_file else []
    stack += ["--target", run.target] if run.target else []
    return stack + [arg for f in run.overrides for arg in ("--stack-override", str(MUTANTS_DIR / f))]


@pytest.mark.parametrize("run", [r for r in MUTANT_RUNS if not r.live], ids=lambda r: r.name)
def test_static_mutant_fails_its_controls(run, reports_dir):
    result = run_suite(reports_dir, "--target", "static", *run.args, *_override_args(run), timeout_s=120)
    assert result.returncode == 1, result.output[-2000:]
    assert sorted(result.failing()) == sorted(run.must_fail), result.failing()
    assert {c: result.status_of(c) for c in run.must_fail} == {c: "failed" for c in run.must_fail}
    messages = result.failing()
    unsaid = [f"{c}: {words!r}" for c, words in run.must_say if words not in messages.get(c, "")]
    assert not unsaid, f"failures that do not name their mutant: {unsaid}\n{messages}"


@pytest.mark.bringup
@pytest.mark.parametrize("run", [pytest.param(r, marks=[pytest.mark.swarm] if r.target == "swarm" else [])
                                 for r in MUTANT_RUNS if r.live], ids=lambda r: r.name)
def test_live_mutant_fails_its_controls(run, reports_dir):
    result = run_suite(reports_dir, "-n", "2", *_override_args(run), *_selection_of(run))
    facts = read_engine_facts(docker.from_env())
    expected = {c: "failed" for c in run.must_fail}
    expected |= {c: "failed" if facts.supports(lsm) else "not_applicable" for c, lsm in run.host_confined}
    statuses = {c: result.status_of(c) for c in expected}
    assert statuses == expected, f"{statuses}\n{result.output[-3000:]}"
    messages = result.failing()
    unsaid = [f"{c}: {words!r}" for c, words in run.must_say if words not in messages.get(c, "")]
    assert not unsaid, f"failures that do not name their mutant: {unsaid}\n{messages}"
    assert result.returncode == 1
    assert_nothing_left(result)


@pytest.mark.bringup
def test_a_stack_compose_held_back_is_said_once(reports_dir):
    """RabbitMQ without a healthcheck: its dependants wait on `service_healthy` and stay created.

    The whole suite: one finding says so (HEALTH-002, naming the container and why), every
    other live control is an error naming HEALTH-002, the static controls still judge the
    model (HEALTH-001 fails for the mutant), and the run lasts about the bring-up.
    """
    started = time.monotonic()
    result = run_suite(reports_dir, "-n", "2", "--stack-override", str(MUTANTS_DIR / "health/rabbitmq-healthcheck-disabled.yml"),
                       timeout_s=600)
    elapsed = time.monotonic() - started
    print(f"held-back stack: whole suite in {elapsed:.0f}s wall, {result.report['duration_s']}s in the controls")
    assert result.returncode == 1, result.output[-3000:]
    entries = {c["id"]: c for c in result.report["controls"]}
    health = entries["HEALTH-002"]
    assert health["status"] == "failed" and "rabbitmq-1 runs without a healthcheck" in health["message"], health
    assert "api-gateway ×3, nginx, order-service ×2 never started" in health["message"], health["message"]
    controls = registry.controls()
    live = [c.id for c in controls if c.live and c.id != "HEALTH-002" and entries[c.id]["status"] != "not_applicable"]
    unnamed = {i: f"{entries[i]['status']}: {entries[i]['message'][:200]}" for i in live
               if entries[i]["status"] != "error" or "(see HEALTH-002)" not in entries[i]["message"]}
    assert live and not unnamed, unnamed
    assert {i for i, c in entries.items() if c["status"] == "failed"} == {"HEALTH-001", "HEALTH-002"}
    static = [c.id for c in controls if not c.live and c.id in entries and c.id != "HEALTH-001"]
    assert static and {entries[i]["status"] for i in static} <= {"passed", "not_applicable"}
    # Bring-up to compose giving up, the controls' setups, teardown: no control waits out a timeout.
    assert elapsed < 150, f"{elapsed:.0f}s"
    assert_nothing_left(result)
