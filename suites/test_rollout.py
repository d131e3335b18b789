"""Releases under load: a rolling update, a broken release that never serves, a graceful shutdown.

Each judges its phase of the session's one load timeline (`load_window`, fixtures/labs/timeline.py):
the release phases act on every gateway service (fixtures/labs/releases.py) through the target's
update and rollback verbs, which run the procedure the platform declares (`deploy.update_config`;
fixtures/targets/rolling.py, README "Releasing under load"), while Locust runs through the edge.
The failure budget is `--release-max-fail-ratio` (default 0.5%). The timeline leaves every
gateway service as declared (its image, its replicas) whatever happened.
"""

import pytest

from fixtures.controls import control
from fixtures.labs.releases import NEXT_VERSION
from fixtures.targets.rolling import Rollout

NEEDS = ("edge", "gateway", "app:orders", "target:can_update", "target:can_rollback")
MAX_UNAVAILABLE = 1  # seed 004 §Rollback Strategy: maxUnavailable 1


def _begin(phase, request, observed) -> tuple:
    """The phase, what its action found per gateway service, and the window's failures beyond the budget."""
    services = phase.facts.get("services", {})
    observed(f"{phase.did}; {phase.window.summary() if phase.window else 'no window'}")
    assert not phase.error, f"the {phase.name} phase's action failed: {phase.error}"
    window, budget = phase.window, request.config.option.release_max_fail_ratio
    assert window.requests > 0, f"no request in the {phase.name} phase's window ({window.summary()})"
    assert services, f"the {phase.name} phase acted on no gateway service: {phase.did}"
    problems = [] if window.fail_ratio <= budget else [
        f"{100 * window.fail_ratio:.2f}% of requests failed during the {phase.name} phase, budget "
        f"{100 * budget:.2f}% ({window.summary()})"]
    return phase, services, problems


def _served_before_ready(phase, rollout: dict) -> list[str]:
    """New replicas that answered a request through the edge before they were healthy."""
    early = []
    for replica, started in rollout["started"].items():
        first = phase.window.first_answer.get(replica)
        ready = rollout["ready"].get(replica)
        if first is not None and (ready is None or first < ready):
            when = f"{ready - first:.1f}s before it was healthy" if ready else "and it never was healthy"
            early.append(f"{replica} answered a request {when}")
    return early


@pytest.mark.disruptive
@pytest.mark.load_phase("rolling-update")
@control("ROLLOUT-001", severity="high", reference="seed 001 §Rolling Updates; seed 004 §Rollback Strategy",
         needs=NEEDS)
def test_a_rolling_update_under_load_fails_no_request_beyond_its_budget(load_window, request, observed):
    """A new release of each gateway service replaces its replicas under load within the failure budget, every replica ends on it, and the edge sends nothing to a replica not yet healthy.

    Rationale: a release is the most frequent disruption a platform takes; seed 001 promises
    "zero downtime (if scaled)", which holds only if new replicas are healthy before old ones
    go, one at a time, and the edge follows. A rollout that replaces every replica at once, or
    an edge that keeps sending requests to a replica being replaced, fails clients on every
    release. The release differs from the declared image only by its version, which /health
    reports (seed 004 §Application Health).
    """
    phase, services, problems = _begin(load_window, request, observed)
    for service, facts in services.items():
        rollout = facts["rollout"]
        if rollout["failed"]:
            problems.append(f"{service}: the rollout stopped at {rollout['stopped_at']}: {rollout['failed']}")
        stale = {r: v for r, v in facts["versions"].items() if v != NEXT_VERSION}
        if stale or len(facts["versions"]) != facts["declared_replicas"]:
            problems.append(f"{service}: replicas after the rollout and the version each reports: "
                            f"{facts['versions']} (expected {facts['declared_replicas']} on the new release)")
        problems += [f"{service}: {e}" for e in _served_before_ready(phase, rollout)]
        fewest = min((n for _, n in Rollout.serving(rollout)), default=rollout["serving_before"])
        if fewest < facts["declared_replicas"] - MAX_UNAVAILABLE:
            problems.append(f"{service}: only {fewest} of {facts['declared_replicas']} replicas serving at one point "
                            f"of the rollout ({rollout['procedure']}); at most {MAX_UNAVAILABLE} may be unavailable")
    assert not problems, "; ".join(problems)


@pytest.mark.disruptive
@pytest.mark.load_phase("broken-release")
@control("ROLLOUT-002", severity="critical", reference="seed 004 §Rollback Strategy; seed 004 §Application Health; "
         "seed 001 §Rolling Updates", needs=NEEDS)
def test_a_broken_release_never_serves_and_rolls_back(load_window, request, observed):
    """A release whose healthcheck fails stops at its first replica, which never gets a request from the edge, while the old replicas keep serving; the rollback leaves every replica on the old version and healthy.

    Rationale: a bad configuration ships sooner or later; the release procedure must notice it
    by the healthcheck before any client does (Kubernetes' maxSurge with a readiness probe,
    seed 004), keep the old replicas in service, and roll back. A healthcheck that passes
    whatever the application says, or a rollout that does not wait for it, lets the broken
    release take traffic.
    """
    phase, services, problems = _begin(load_window, request, observed)
    for service, facts in services.items():
        rollout = facts["rollout"]
        if not rollout["failed"]:
            problems.append(f"{service}: the broken release went through: {len(rollout['ready'])} replica(s) taken "
                            f"as healthy ({', '.join(rollout['ready'])}), {len(rollout['retired'])} old one(s) retired")
        elif len(rollout["started"]) > 1 or rollout["retired"]:
            problems.append(f"{service}: the rollout did not stop at the first replica: started "
                            f"{list(rollout['started'])}, retired {list(rollout['retired'])}")
        served = {r: phase.window.shares[r] for r in rollout["started"] if r in phase.window.shares}
        if served:
            problems.append(f"{service}: broken replica(s) answered requests from the edge: {served}")
        if (len(facts["versions"]) != len(facts["versions_before"])
                or set(facts["versions"].values()) != set(facts["versions_before"].values())):
            problems.append(f"{service}: after the rollback the replicas report {facts['versions']}, "
                            f"before the release {facts['versions_before']}")
        unhealthy = [s for s in facts["health"] if s not in ("healthy", "running")]
        if unhealthy:
            problems.append(f"{service}: not healthy after the rollback: {facts['health']}")
    assert not problems, "; ".join(problems)


@pytest.mark.disruptive
@pytest.mark.load_phase("shutdown")
@control("ROLLOUT-003", severity="high", reference="seed 000 §Best Practices 5; seed 001 §Maintenance Window",
         needs=("edge", "gateway", "app:orders", "target:can_stop_replica"))
def test_a_gateway_replica_stopped_with_sigterm_shuts_down_gracefully(load_window, request, observed):
    """Stopping one replica of each gateway service with SIGTERM under load fails no request beyond the budget, and it exits 0 within its stop grace period.

    Rationale: every release, scale-in and host drain stops replicas with SIGTERM; a service
    that handles it (seed 000 §Best Practices 5) finishes its in-flight requests and exits, one
    that ignores it (a shell as PID 1, no handler) is killed after the grace period with its
    requests and connections cut, and every stop takes the whole grace period.
    """
    phase, services, problems = _begin(load_window, request, observed)
    for service, facts in services.items():
        if facts["exit_code"] != 0 or facts["seconds"] >= facts["grace_s"]:
            killed = " (killed: it did not exit on SIGTERM)" if facts["seconds"] >= facts["grace_s"] else ""
            problems.append(f"{service}: replica {facts['replica']} exited with code {facts['exit_code']} after "
                            f"{facts['seconds']:.1f}s, grace period {facts['grace_s']}s{killed}")
    assert not problems, "; ".join(problems)
