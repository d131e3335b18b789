"""Swarm: what the compose model declares for Docker Swarm, judged without an engine.

`docker stack deploy` runs the file's `deploy:` as written (the Compose Deploy Specification,
docs.docker.com/reference/compose-file/deploy: update_config, rollback_config, restart_policy, placement;
`docker service update --update-failure-action/--update-monitor`), so a release on Swarm is as
safe as those numbers: whether a bad task is noticed, in time, and rolled back. These controls
need `target:orchestrated_by_swarm`: `--target swarm`, or `--target static --orchestrator swarm`
for the file alone; on a plain compose run they are not applicable, since compose ignores what
they judge. Services are picked by role (fixtures/deploy_model.py): the ones a release replaces,
the data services, every service. Per service, each finding says what it found.
"""

import math

import pytest

from fixtures.applicability import not_applicable
from fixtures.controls import control
from fixtures.deploy_model import (
    SWARM_DEFAULT_MONITOR_S,
    SWARM_DEFAULT_PARALLELISM,
    UNPINNED_LABEL,
    data_service,
    deploy_of,
    health_window,
    named_volumes,
    one_shot,
    pinning_constraints,
    replicas_of,
    seconds,
    service_networks,
    unpinned_reason,
    updated_services,
)

NEEDS = ("target:orchestrated_by_swarm",)
ORDERS = ("start-first", "stop-first")
SPEC = "Compose Deploy Specification (docs.docker.com/reference/compose-file/deploy)"


def _updated(compose_model, platform) -> list[str]:
    names = updated_services(compose_model, platform)
    if not names:
        not_applicable("no service is replaced by a release (no gateway, worker, edge, web or application "
                       "role, and none with more than one replica)")
    return names


def _data(compose_model, platform) -> list[str]:
    names = [n for n in sorted(compose_model.services) if data_service(n, platform)]
    if not names:
        not_applicable("the platform has no data service (event store, cache, broker, search)")
    return names


def _replicas(replicas: int | None) -> str:
    return "global (one per node)" if replicas is None else f"{replicas} replica{'s' * (replicas != 1)}"


def _duration(value, default: float, where: str, problems: list[str]) -> float | None:
    try:
        return seconds(value, default)
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return None


@control("SWARM-001", severity="high", reference=f"seed 004 §Rollback Strategy; seed 002 §Model 2: Multi-Container "
         f"Orchestration; seed 001 §Rolling Updates; {SPEC} (update_config)",
         needs=NEEDS)
def test_every_updated_service_rolls_back_a_failed_update_a_share_at_a_time(compose_model, platform, request, observed):
    """Every service a release replaces declares `deploy.update_config` with `failure_action: rollback`, an `order`, and a `parallelism` of at most the allowed share of its replicas.

    Rationale: Swarm's default on a failed update is `pause`: the service stays half on the
    bad release, half on the good one, until someone acts (seed 004 wants the rollback
    automatic). `parallelism: 0` (or the whole replica count) replaces every replica at once,
    so a bad release takes the service down before its healthcheck can say so; `order` decides
    whether the new task is healthy before the old one goes (start-first, seed 004's maxSurge)
    and must be chosen, not left to Swarm's stop-first default. The share is
    `--swarm-max-update-share` (default 0.5); one replica at a time is always allowed. The
    services are those of the gateway, worker, edge, web and application roles and any with
    more than one replica; one-shots and data services are not rolled (SWARM-004).
    """
    share = request.config.option.swarm_max_update_share
    if not 0 < share <= 1:
        pytest.fail(f"--swarm-max-update-share {share} must be above 0 and at most 1", pytrace=False)
    problems, found = [], []
    for name in _updated(compose_model, platform):
        service = compose_model.service(name)
        replicas = replicas_of(service)
        config = deploy_of(service).get("update_config")
        if config is None:
            problems.append(f"{name}: no deploy.update_config (Swarm updates with failure_action pause, stop-first)")
            continue
        action, order = config.get("failure_action") or "pause (unset)", config.get("order")
        parallelism = config.get("parallelism", SWARM_DEFAULT_PARALLELISM)
        allowed = None if replicas is None else max(1, math.floor(share * replicas))
        found.append(f"{name}: {_replicas(replicas)}, parallelism {parallelism}"
                     f"{f' (at most {allowed})' if allowed else ''}, order {order or 'unset'}, failure_action {action}")
        if config.get("failure_action") != "rollback":
            problems.append(f"{name}: failure_action {action}, not rollback")
        if order not in ORDERS:
            problems.append(f"{name}: order {order or 'unset'} (declare start-first or stop-first)")
        if int(parallelism) == 0:
            problems.append(f"{name}: parallelism 0 replaces every replica at once")
        elif allowed is not None and int(parallelism) > allowed:
            problems.append(f"{name}: parallelism {parallelism} of {replicas} replicas, above {share:g} of them "
                            f"(at most {allowed})")
    observed("; ".join(found))
    assert not problems, "; ".join(problems)


@control("SWARM-002", severity="high", reference=f"{SPEC} (update_config.monitor, healthcheck); seed 001 §Health Checks",
         needs=NEEDS)
def test_the_update_monitor_outlasts_the_healthcheck_window(compose_model, platform, observed):
    """Every service a release replaces has a healthcheck, and its `update_config.monitor` lasts at least its healthcheck window (start_period + retries x (interval + timeout)).

    Rationale: Swarm judges an updated task for `monitor` (default 5 s) and then reports the
    update completed; a task its healthcheck calls unhealthy later is just restarted, on the
    bad release, again and again, with no rollback. The engine calls a new task unhealthy
    only after its start period and `retries` failed probes, each started `interval` after the
    previous one ended and taking up to `timeout`: the monitor must last that long. A service
    without a healthcheck gives Swarm nothing to tell a bad task by but its exit.
    """
    problems, found = [], []
    for name in _updated(compose_model, platform):
        service = compose_model.service(name)
        window = health_window(service)
        config = deploy_of(service).get("update_config") or {}
        monitor = _duration(config.get("monitor"), SWARM_DEFAULT_MONITOR_S, f"{name}: update_config.monitor", problems)
        said = ("monitor unset (0s by the compose spec, 5s by `docker service`)" if not config.get("monitor")
                else f"monitor {monitor:g}s" if monitor is not None else "")
        if window is None:
            problems.append(f"{name}: no healthcheck in the compose files, so Swarm cannot tell a bad task from a good one")
            continue
        found.append(f"{name}: {said}, healthcheck window {window}")
        if monitor is not None and monitor < window.seconds:
            problems.append(f"{name}: {said} is shorter than its healthcheck window, {window}: a bad release is "
                            f"reported completed before it is called unhealthy")
    observed("; ".join(found))
    assert not problems, "; ".join(problems)


@control("SWARM-003", severity="medium", reference=f"seed 004 §Rollback Strategy; {SPEC} (rollback_config)", needs=NEEDS)
def test_every_updated_service_declares_how_it_rolls_back(compose_model, platform, observed):
    """Every service a release replaces declares `deploy.rollback_config`.

    Rationale: a rollback is itself an update of every replica, run with Swarm's defaults
    when nothing is declared (one task at a time, stop-first, pausing on a failure): slow
    exactly when the service is failing, and one replica short while it runs. Declaring it
    says how the platform goes back to the release that ran before (seed 004 §Rollback Strategy).
    """
    missing, found = [], []
    for name in _updated(compose_model, platform):
        config = deploy_of(compose_model.service(name)).get("rollback_config")
        if config is None:
            missing.append(name)
        else:
            found.append(f"{name}: {', '.join(f'{k} {v}' for k, v in sorted(config.items())) or 'empty (Swarm defaults)'}")
    observed("; ".join(found))
    assert not missing, f"no deploy.rollback_config: {', '.join(missing)}"


@control("SWARM-004", severity="high", reference=f"seed 001 §Data Persistence; seed 003 §Data Persistence; {SPEC} (placement)",
         needs=NEEDS)
def test_data_services_run_one_replica_pinned_to_their_volume(compose_model, platform, observed):
    """Every data service (event store, cache, broker, search) runs one replica, and one that keeps a named volume is placed on the node that holds it, or says why not.

    Rationale: a local volume lives on one node; Swarm reschedules a task wherever it fits,
    so an unpinned database starts on another node with an empty volume. Pinned means a
    placement constraint on one node or on nodes an operator labels (`node.hostname ==`,
    `node.id ==`, `node.labels.X ==`, `engine.labels.X ==`), or `node.role == manager` (one
    node while the swarm has one manager). A volume on shared storage needs no pin: the
    service says so in the label `io.conformance.swarm.unpinned: <reason>`. Two replicas of a
    single-node database (or `mode: global`) are two servers writing one data directory, or
    two stores that disagree.
    """
    problems, found = [], []
    for name in _data(compose_model, platform):
        service = compose_model.service(name)
        replicas, volumes = replicas_of(service), named_volumes(service)
        pins, reason = pinning_constraints(service), unpinned_reason(service)
        found.append(f"{name}: {_replicas(replicas)}, volumes "
                     f"{', '.join(volumes) or 'none'}, placement {', '.join(pins) or 'none'}"
                     + (f", unpinned because {reason!r}" if reason else ""))
        if replicas != 1:
            problems.append(f"{name}: {'mode global (one task per node)' if replicas is None else f'{replicas} replicas'}, "
                            f"not 1")
        if volumes and not pins and not reason:
            problems.append(f"{name}: keeps {', '.join(volumes)} but has no placement constraint that keeps it on the "
                            f"volume's node (node.hostname/node.id/node.labels.X == ..., or label {UNPINNED_LABEL} "
                            f"with the reason)")
    observed("; ".join(found))
    assert not problems, "; ".join(problems)


@control("SWARM-005", severity="medium", reference=f"CIS Docker 1.6.0 5.15; {SPEC} (restart_policy)", needs=NEEDS)
def test_every_service_bounds_its_restarts(compose_model, platform, observed):
    """Every service declares `deploy.restart_policy` with `condition: on-failure` and a `max_attempts` bound (a one-shot may say `none`).

    Rationale: Swarm restarts a failing task forever by default (`condition: any`, no
    bound), so a crash loop burns the node and hides the failure (CIS 5.15: on-failure, at
    most 5 retries). `on-failure` is required, not `any`: Docker Engine refuses a retry
    count with `always`, the policy compose makes of `any`, so a file that bounds `any`
    no longer starts with `docker compose up`. A one-shot (the migrations) may say `none`: it
    never restarts. Compose runs `deploy.restart_policy` as the container's restart policy
    in place of `restart:`.
    """
    problems, found = [], []
    for name, service in sorted(compose_model.services.items()):
        policy = deploy_of(service).get("restart_policy")
        if policy is None:
            problems.append(f"{name}: no deploy.restart_policy (Swarm restarts it forever)")
            continue
        condition, attempts = policy.get("condition") or "any (unset)", policy.get("max_attempts")
        found.append(f"{name}: {condition}, max_attempts {attempts if attempts is not None else 'unset'}"
                     + (f", window {policy['window']}" if policy.get("window") else ""))
        if condition == "none" and one_shot(name, platform, compose_model.one_shots):
            continue
        if condition != "on-failure":
            problems.append(f"{name}: condition {condition}, not on-failure")
        if not attempts:
            problems.append(f"{name}: no max_attempts (restarts without a bound)")
    observed("; ".join(found))
    assert not problems, "; ".join(problems)


@control("SWARM-006", severity="high", reference=f"seed 001 §Network Isolation; seed 002 §Network Security; {SPEC} (networks)",
         needs=NEEDS)
def test_data_networks_are_internal(compose_model, platform, observed):
    """Every network a data service joins is `internal: true`; encryption (`driver_opts: {encrypted: ...}`) is reported where declared.

    Rationale: on Swarm the overlay networks span nodes; a data network that is not
    internal gives the database, the cache and the broker a route out, and every task on it
    a way to anything beyond the platform. Encrypted overlays (IPsec between nodes) are
    reported, not required: on one host no traffic leaves it.
    """
    data = _data(compose_model, platform)
    problems, found = [], []
    networks = compose_model.networks
    for network in sorted({n for name in data for n in service_networks(compose_model.service(name))}):
        spec = networks.get(network) or {}
        members = [n for n in data if network in service_networks(compose_model.service(n))]
        encrypted = "encrypted" in (spec.get("driver_opts") or {})
        found.append(f"{network} ({', '.join(members)}): "
                     f"{'internal' if spec.get('internal') else 'external' if spec.get('external') else 'not internal'}"
                     f"{', encrypted' if encrypted else ''}")
        if spec.get("external"):
            problems.append(f"{network} ({', '.join(members)}) is external: the file cannot show it internal")
        elif not spec.get("internal"):
            problems.append(f"{network} ({', '.join(members)}) is not internal")
    observed("; ".join(found))
    assert not problems, "; ".join(problems)
