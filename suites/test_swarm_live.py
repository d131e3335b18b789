"""The SWARM chapter, live: the platform deployed as a Docker Swarm stack (--target swarm).

The static SWARM controls (SWARM-0xx, suites/test_swarm.py) judge what the compose file declares
for Swarm; these judge what the deployed stack does: its tasks' environments, and (through the
target's verbs, which are Swarm's own commands) how it heals a killed task and how its update
and automatic rollback behave, under a bounded Locust load through the edge.
"""

import time

import pytest

from fixtures import secret_files
from fixtures.controls import control
from fixtures.labs.releases import BROKEN_VERSION, FAULT, NEXT_VERSION

NEEDS = ("target:swarm",)


@control("SWARM-101", severity="critical", reference="seed 002 §Secret Management (Docker secrets, Swarm mode); "
                                                     "seed 000 §Best Practices 4", needs=NEEDS)
def test_no_secret_of_the_run_is_in_any_task_environment(stack, observed):
    """No secret of the platform appears in the environment (Config.Env) of any of its Swarm tasks' containers.

    Rationale: on Swarm, secrets are Docker secrets: encrypted in the managers' Raft log, mounted
    in memory at /run/secrets/ only in the tasks that are granted them. A secret passed as an
    environment variable instead is in the service's spec, readable by `docker service inspect`
    on any manager and `docker inspect` of every task, and in every dump of the process
    environment. The run's secrets are the values the harness generated; a value is matched
    inside variables too, so a password embedded in a URL counts. Values are never printed.
    """
    environment = stack.info.compose_environment
    values = {name: value for name, value in environment.items() if value and value in stack.info.secret_values}
    assert values, "the run has no secret to look for"
    found, tasks = [], 0
    for service in stack.model.services:
        for container in stack.containers(service):
            tasks += 1
            found += [f"{service} ({container.name}): {variable} carries {name}"
                      for variable, name in secret_files.in_environment(container.attrs["Config"].get("Env") or [], values)]
    observed(f"compared the run's {len(values)} secret(s) ({', '.join(sorted(values))}) with the environment "
             f"of {tasks} task container(s)")
    assert tasks, "no task container of the stack was found"
    assert not found, f"secrets in task environments: {'; '.join(found)}"


# --- live, under load, through Swarm's own commands (the target's verbs) ------------------------
LIVE_NEEDS = ("target:swarm", "edge", "gateway", "app:orders")
HEAL_BUDGET_S = 60  # Swarm replaced a killed task within 14 s here, under load
HEAL_MAX_FAIL_RATIO = 0.01
ROLLBACK_BUDGET_S = 180  # the bad task's start period and failed probes, then the rollback (59 s measured here)
UPDATE_BUDGET_S = 300


def _gateway(platform) -> str:
    return platform.services_of("gateway")[0]


def _images(stack, service: str) -> list[str]:
    return sorted(c.attrs["Config"]["Image"] for c in stack.containers(service, include_stopped=False))


@pytest.mark.disruptive
@control("SWARM-102", severity="critical", reference="seed 001 §Health Checks; seed 004 §Rollback Strategy "
                                                     "(the orchestrator restores the declared replicas)", needs=LIVE_NEEDS)
def test_a_killed_gateway_task_is_replaced_under_load(stack, platform, target, load, observed):
    """A gateway task killed under load is replaced by Swarm (the declared replicas run again) and at most 1% of requests fail.

    Rationale: on an orchestrator a crashed replica (SIGKILL, OOM) is the orchestrator's to
    replace, not an operator's: Swarm's reconciliation starts a new task for the lost one. The
    edge must meanwhile fail over to the survivors; a restart policy of `none` or a service
    whose new task never becomes healthy leaves the platform short of a replica for good.
    """
    service = _gateway(platform)
    declared = stack.model.replicas(service)
    run = load.start("swarm-task-killed", users=10, seconds=60)
    run.under_way(3)
    killed = target.stop_replica(service, 1, "SIGKILL")
    started, running = time.monotonic(), []
    while time.monotonic() - started < HEAL_BUDGET_S:
        running = [c for c in stack.containers(service, include_stopped=False) if c.id[:12] != killed
                   and c.attrs["State"].get("Health", {}).get("Status", "healthy") == "healthy"]
        if len(running) >= declared:
            break
        time.sleep(1)
    healed_s = time.monotonic() - started
    target.edge_follows()
    result = run.stop()
    observed(f"killed task container {killed} of {service}; {len(running)}/{declared} healthy again after "
             f"{healed_s:.0f}s; load: {result.summary()}")
    assert len(running) >= declared, f"{service}: {len(running)} of {declared} tasks healthy {HEAL_BUDGET_S}s after the kill"
    assert result.requests > 0, f"no request during the load ({result.output[-300:]})"
    assert result.fail_ratio <= HEAL_MAX_FAIL_RATIO, (
        f"{100 * result.fail_ratio:.2f}% of requests failed after the kill, budget {100 * HEAL_MAX_FAIL_RATIO:.0f}% "
        f"({result.summary()})")


@pytest.mark.disruptive
@control("SWARM-103", severity="critical", reference="seed 004 §Rollback Strategy; seed 004 §Application Health",
         needs=LIVE_NEEDS)
def test_a_release_whose_healthcheck_fails_is_rolled_back_by_swarm(stack, platform, target, observed):
    """A gateway release whose healthcheck fails ends in Swarm's `rollback_completed`, every task back on the declared image, within the budget.

    Rationale: seed 004 wants a failed release rolled back automatically. On Swarm that is
    `update_config.failure_action: rollback`, and it works only when the update watches a new
    task long enough to see it fail (`monitor` at least the healthcheck's window): otherwise a
    bad release is reported `completed` and restart-loops (a known trap), or it is `paused`
    half-way, old and new tasks mixed, until an operator steps in.
    """
    service = _gateway(platform)
    declared = stack.model.service(service)["image"]
    broken = target.release(service, BROKEN_VERSION, FAULT)
    outcome = target.update_service(service, broken, wait_s=ROLLBACK_BUDGET_S)
    images = _images(stack, service)
    observed(f"{service}: release {BROKEN_VERSION} ({FAULT}) ended in {outcome['state']!r} after {outcome['seconds']:.0f}s "
             f"({outcome['message']}); tasks on {images}")
    if outcome["state"] != "rollback_completed" or outcome["image"] != declared:
        target.rollback_service(service)  # put it back for the controls after this one
    assert outcome["state"] == "rollback_completed", (
        f"{service}: the broken release ended in {outcome['state']!r} ({outcome['message']}), not rollback_completed "
        f"within {ROLLBACK_BUDGET_S}s: check update_config.failure_action and a monitor covering the healthcheck")
    assert outcome["image"] == declared and set(images) == {declared}, (
        f"{service}: after the rollback the service runs {outcome['image']}, its tasks {images}; declared {declared}")


@pytest.mark.disruptive
@control("SWARM-104", severity="high", reference="seed 001 §Rolling Updates; seed 004 §Rollback Strategy",
         needs=LIVE_NEEDS)
def test_a_swarm_rolling_update_under_load_fails_no_request_beyond_its_budget(stack, platform, target, load, request,
                                                                             observed):
    """Swarm's rolling update of the gateway to a new release under load fails at most the release budget and ends with every task on it.

    Rationale: `docker service update --image` replaces tasks by the service's update_config
    (parallelism, order, delay); with `start-first` and a healthcheck the new task serves
    before an old one goes. An update that replaces every task at once, or stops old tasks
    first with one replica, fails clients on every release.
    """
    service = _gateway(platform)
    declared, budget = stack.model.replicas(service), request.config.option.release_max_fail_ratio
    image = target.release(service, NEXT_VERSION)
    run = load.start("swarm-rolling-update", users=10, seconds=UPDATE_BUDGET_S)
    run.under_way(3)
    try:
        outcome = target.update_service(service, image, wait_s=UPDATE_BUDGET_S)
        time.sleep(2)
    finally:
        result = run.stop()
    images = _images(stack, service)
    observed(f"{service}: release {NEXT_VERSION} ended in {outcome['state']!r} after {outcome['seconds']:.0f}s; "
             f"tasks on {images}; load: {result.summary()}")
    target.rollback_service(service)  # back to the declared image for whatever runs after
    assert outcome["state"] == "completed", f"{service}: the update ended in {outcome['state']!r} ({outcome['message']})"
    assert images == [image] * declared, f"{service}: tasks after the update run {images}; expected {declared} on {image}"
    assert result.requests > 0, f"no request during the update ({result.output[-300:]})"
    assert result.fail_ratio <= budget, (f"{100 * result.fail_ratio:.2f}% of requests failed during the update, budget "
                                         f"{100 * budget:.2f}% ({result.summary()})")
