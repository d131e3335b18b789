"""Health: every service says it is healthy, answers a real client, and the platform works end to end."""

import time

import psycopg
import pytest
import redis
import requests

from fixtures import clients
from fixtures.applicability import not_applicable
from fixtures.controls import control
from fixtures.platform import health
from fixtures.platform.peers import independent_sets, peers, unknown


def healthcheck_problem(name: str, resolved: dict, written: dict, image_test: list[str] | None,
                        image: str = "") -> tuple[str, str]:
    """(finding, note) for one service's healthcheck: what the files say, and the image's own when it is here.

    `healthcheck: {disable: false}` (or timings without a test) keeps the image's HEALTHCHECK;
    the resolved model shows it as an empty mapping, the written one keeps the key. An image
    not on this engine cannot be read, so a finding says only what the files show.
    """
    check = resolved.get("healthcheck") or {}
    test = check.get("test") or []
    if check.get("disable") or test[:1] == ["NONE"]:
        return f"{name} (disabled)", ""
    if test:
        return "", ""
    image = resolved.get("image") or image
    keeps_image = "healthcheck" in written
    if image_test is None:
        unseen = (f"image {image} is not on this engine to read" if resolved.get("image")
                  else "it is built here and not built yet")
        if keeps_image:
            return "", f"{name} keeps its image's HEALTHCHECK ({unseen})"
        return f"{name} (none in the compose files; {unseen}, so its own HEALTHCHECK, if any, is unseen)", ""
    if image_test[:1] not in ([], ["NONE"]):
        return "", f"{name} runs its image's HEALTHCHECK"
    return f"{name} (none in the compose files nor in image {image})", ""


@control("HEALTH-001", severity="high", reference="seed 001 §Health Checks; CIS Docker 1.6.0 4.6")
def test_every_service_defines_a_healthcheck(compose_model, image_healthcheck, observed):
    """Every service defines an enabled healthcheck, in the compose files or in an image this engine can read.

    Rationale: seed 001 says "Ensure all services have health checks"; without one,
    `docker compose up --wait` and orchestrators cannot tell a hung service from a healthy one.
    A service that declares none may run its image's HEALTHCHECK: read when the image is here,
    and said unseen when it is not, never claimed absent.
    """
    missing, notes = [], []
    for name, service in sorted(compose_model.services.items()):
        if name in compose_model.one_shots:
            continue  # it runs to completion: its exit code is its health (HEALTH-002)
        declared = (service.get("healthcheck") or {}).get("test")
        # A build-only service's image is named <project>-<service> once compose has built it.
        image = service.get("image") or (f"{compose_model.raw.get('name')}-{name}" if service.get("build") else "")
        image_test = None if declared else image_healthcheck(image)
        finding, note = healthcheck_problem(name, service, compose_model.written_service(name), image_test, image)
        missing += [finding] * bool(finding)
        notes += [note] * bool(note)
    if notes:
        observed("; ".join(notes))
    assert not missing, f"services without an enabled healthcheck: {', '.join(missing)}"


@control("HEALTH-002", severity="high", reference="seed 003 §Container Health")
def test_every_container_is_running_and_healthy(stack_as_brought_up):
    """Every declared replica of every service runs and reports healthy; a one-shot has exited 0."""
    stack = stack_as_brought_up
    problems = []
    for name in sorted(stack.model.services):
        if name in stack.model.one_shots:
            problems += [f"{name}#{i}: {outcome}" for i, outcome in enumerate(stack.outcomes(name), 1) if outcome]
            continue
        states = stack.health_states(name)
        expected = stack.model.replicas(name)
        if len(states) < expected:
            problems.append(f"{name}: {len(states)} of {expected} replica(s) exist")
        # A running container with no health status has no healthcheck: say so, not just "running".
        problems += [f"{name}#{i}: {'running without a healthcheck' if state == 'running' else state}"
                     for i, state in enumerate(states, 1) if state != "healthy"]
    # What compose held back, and for what, before its own words and the logs.
    held_back = f"; {stack.info.held_back}" if stack.info.held_back else ""
    bringup = f" (bring-up: {stack.info.bringup_error})" if stack.info.bringup_error else ""
    assert not problems, f"not healthy: {'; '.join(problems)}{held_back}{bringup}"


@control("HEALTH-003", severity="critical", reference="seed 003 §Health Endpoints (PostgreSQL)",
         needs=("event_store:postgres",))
def test_postgres_answers_a_query(pg):
    """PostgreSQL accepts its configured user over the network and answers SELECT 1."""
    try:
        with pg() as connection:
            value = connection.execute("SELECT 1").fetchone()[0]
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL refused a SELECT 1 from the configured user: {str(exc).strip()}", pytrace=False)
    assert value == 1, f"SELECT 1 returned {value!r}"


@control("HEALTH-004", severity="critical", reference="seed 003 §Health Endpoints (Redis)", needs=("cache:redis",))
def test_redis_answers_ping_with_auth(redis_client):
    """Redis answers PING from a client that authenticates with the configured password."""
    try:
        reply = redis_client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis did not answer an authenticated PING: {exc.__class__.__name__}: {exc}", pytrace=False)
    assert reply is True, f"Redis answered PING with {reply!r}"


@control("HEALTH-005", severity="critical", reference="seed 003 §Health Endpoints (RabbitMQ)", needs=("broker:rabbitmq",))
def test_rabbitmq_reports_no_alarms(rabbitmq_api):
    """RabbitMQ's management API, with auth, reports no resource alarm (memory or disk)."""
    try:
        response = rabbitmq_api.get("/health/checks/alarms")
    except requests.RequestException as exc:
        pytest.fail(f"RabbitMQ management API unreachable: {exc.__class__.__name__}", pytrace=False)
    assert response.status_code == 200, (
        f"/api/health/checks/alarms answered {response.status_code}: {response.text[:300]}"
    )
    assert response.json().get("status") == "ok", f"alarms check says {response.text[:300]}"


@control("HEALTH-006", severity="high", reference="seed 001 §Load Balancing", needs=("edge",))
def test_edge_answers_http(stack):
    """The edge answers HTTP on its published loopback port without a server error."""
    try:
        response = clients.Gateway(stack.edge_url, None, stack.info.edge_ca_file).get("/", timeout=5)
    except requests.RequestException as exc:
        pytest.fail(f"nothing answers HTTP at {stack.edge_url}: {exc.__class__.__name__}", pytrace=False)
    assert response.status_code < 500, f"the edge answered {response.status_code} at /"


@control("HEALTH-007", severity="critical", reference="seed 004 §Health endpoint; seed 001 §Health Checks",
         needs=("edge", "gateway", "app"))
def test_gateway_health_lists_every_dependency(gateway, platform):
    """The gateway's health endpoint answers 200 and reports every dependency it uses as up.

    Rationale: a health endpoint that leaves out a dependency reports a platform healthy
    that cannot serve. A dependency (the contract's `dependencies` roles) may be reported
    under its service's name, its role or its technology, or the key the contract gives it.
    """
    path = platform.app.get("health_path", "/health")
    response = gateway.get(path)
    body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else {}
    dependencies = body.get("dependencies", {})
    missing, down = health.judge(platform, dependencies)
    assert not missing, f"{path} does not report {', '.join(missing)} (it lists {sorted(dependencies)})"
    assert not down, f"{path} reports dependencies not up: {', '.join(down)}"
    assert response.status_code == 200, f"{path} answered {response.status_code} with every dependency up"


def _wait_until_every_replica_answers(gateway, platform, replicas: set[str], wanted: int,
                                      timeout_s: float) -> dict[str, int]:
    """Poll the health endpoint through the edge until the latest answer of every gateway replica is `wanted`.

    Every replica must say so: one replica with a stale answer is exactly what this catches.
    Returns each replica's latest status (0: no answer yet).
    """
    latest = {replica: 0 for replica in replicas}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            response = gateway.get(platform.app.get("health_path", "/health"), timeout=5)
            latest[response.headers.get(platform.app.get("replica_header", "X-Replica"), "?")] = response.status_code
        except requests.RequestException:
            pass
        if all(latest.get(replica) == wanted for replica in replicas):
            break
        time.sleep(0.2)
    return latest


@pytest.mark.disruptive
@control("HEALTH-008", severity="high", reference="seed 004 §Readiness probe; seed 001 §Health Checks",
         needs=("edge", "gateway", "cache", "app"))
def test_gateway_health_follows_a_dependency_outage(stack, target, gateway, platform):
    """Stopping the cache turns every gateway replica's health to 503, and starting it brings 200 back."""
    cache = platform.service("cache")
    replicas = {c.id[:12] for c in stack.containers(platform.service("gateway"), include_stopped=False)}
    target.take_down(cache)
    try:
        during = _wait_until_every_replica_answers(gateway, platform, replicas, 503, timeout_s=30)
    finally:
        cache_states = target.bring_back(cache, wait_s=60)
    after = _wait_until_every_replica_answers(gateway, platform, replicas, 200, timeout_s=60)
    assert set(during.values()) == {503}, f"30 s after {cache} stopped, replicas' health answered {during}"
    assert set(after.values()) == {200}, f"60 s after {cache} restarted ({cache_states}), replicas' health answered {after}"


@control("HEALTH-009", severity="critical", reference="seed 001 §Message Bus Considerations; seed 003 §Architecture",
         needs=("edge", "gateway", "worker", "broker", "app:orders"))
def test_order_flows_end_to_end(gateway, stack, platform):
    """An order posted through the edge is processed by a worker replica and readable back."""
    posted = gateway.place_order()
    assert posted.status_code == 202, f"POST /orders answered {posted.status_code}: {posted.text[:200]}"
    order_id = posted.json()["order_id"]
    read = gateway.wait_for_order(order_id, timeout_s=30)
    assert read.status_code == 200, f"order {order_id} not readable 30 s after it was accepted ({read.status_code})"
    replicas = {c.id[:12] for c in stack.containers(platform.service("worker"))}
    processed_by = read.json().get("processed_by")
    assert processed_by in replicas, f"order processed by {processed_by!r}, not one of the worker replicas {sorted(replicas)}"


def _links(platform, services: list[str]) -> dict[str, set[str]]:
    """Who must not be frozen together: peers (fixtures/platform/peers.py), and a service with no role with everyone."""
    links = {service: set(found) for service, found in peers(platform).items()}
    for stranger in unknown(platform):
        links[stranger] = set(services) - {stranger}
        for service in services:
            if service != stranger:
                links.setdefault(service, set()).add(stranger)
    return links


def _targets(stack, freezer, services: list[str]) -> tuple[list[tuple[str, object]], list[str]]:
    """(service, container) to freeze for each service, and why a service is not judged.

    One replica stands for a replicated service (they share one healthcheck), and the last
    healthy replica is never frozen: the edge keeps an upstream, the workers a consumer.
    """
    targets, not_judged = [], []
    for name in services:
        containers = [c for c in stack.containers(name, include_stopped=False) if freezer.healthcheck(c)]
        healthy = [c for c in containers if freezer.health(c) == "healthy"]
        if not healthy:
            states = ", ".join(freezer.health(c) for c in containers) or "no running container"
            not_judged.append(f"{name} (not healthy before its freeze: {states})")
        elif max(len(containers), stack.model.replicas(name)) > 1 and len(healthy) < 2:
            not_judged.append(f"{name} (one healthy replica left, and the last is never frozen)")
        else:
            targets.append((name, healthy[0]))
    return targets, not_judged


def _settle(stack, services: list[str], timeout_s: float = 120) -> list[str]:
    """Wait, timeout_s for all, until every container of `services` is healthy again; the services that are not."""
    deadline = time.monotonic() + timeout_s
    unsettled = []
    for name in services:
        states = stack.wait_healthy(name, timeout_s=max(deadline - time.monotonic(), 0))
        if not all(state == "healthy" for state in states):
            unsettled.append(f"{name} ({', '.join(states)})")
    return unsettled


@pytest.mark.disruptive
@control("HEALTH-010", severity="high", reference="seed 001 §Health Checks; CIS Docker 1.6.0 4.6")
def test_every_healthcheck_notices_its_service_hang(stack, platform, freezer, observed):
    """Every healthcheck notices its service hang within its own window, and passes again after.

    Rationale: HEALTH-001 sees a healthcheck declared and HEALTH-002 a container healthy;
    neither asks whether the check would ever notice the service failing. `true`, `|| exit 0`
    or a probe of a port some other process answers keep a dead service "healthy", and
    compose `--wait`, restart policies, the edge's failover and every orchestrator trust
    it. Each service's processes are frozen (SIGSTOP from outside the container; the
    healthcheck itself runs untouched, and a process listening only on loopback is not the
    service). The evidence is the engine's record of each probe: a probe that started after
    the freeze must fail (or time out) within the check's own window, retries × (interval
    + timeout), as the engine runs probes, plus one probe and a margin; `retries` such
    failures in a row are what turn the container unhealthy, and how soon is the declared
    timing's, shown with each service. Then it is thawed, and a probe started after the thaw
    must pass. One replica of a replicated service is frozen, never the last healthy one.
    Peers (a data service and its clients, the edge and the gateway) are never frozen
    together, so a check that only tests a peer is not credited with the peer's hang; all
    services that are not peers are frozen at once, so the control costs about two first
    failed probes, not the sum of every window. A service that turns unhealthy because a
    peer is frozen is no failure; every container must be healthy again before the control ends.
    """
    services = sorted(name for name in stack.model.services
                      if any(freezer.healthcheck(c) for c in stack.containers(name, include_stopped=False)))
    if not services:
        not_applicable("no running service declares a healthcheck")
    healthy_at_start = [name for name in services if all(s == "healthy" for s in stack.health_states(name))]
    trials, not_judged, problems = [], [], []
    for wave in independent_sets(services, _links(platform, services)):
        problems += [f"{unsettled} did not turn healthy again before the next freeze"
                     for unsettled in _settle(stack, healthy_at_start)]
        targets, skipped = _targets(stack, freezer, wave)
        not_judged += skipped
        trials += freezer.trials(targets)
    problems += [f"{unsettled} did not turn healthy again after the last thaw"
                 for unsettled in _settle(stack, healthy_at_start)]
    seen = []
    for trial in sorted(trials, key=lambda t: t.service):
        check = trial.healthcheck
        if trial.noticed:
            seen.append(f"{trial.service}: a probe failed {trial.seconds:.0f} s after its freeze ({trial.failed}); "
                        f"{check.retries} in a row call it unhealthy (window {check.window_s:.0f} s)")
        elif trial.state == "healthy":
            problems.append(f"{trial.service}: still healthy after {trial.seconds:.0f} s: the healthcheck does not "
                            f"test the service ({' '.join(check.test[1:])})")
        else:
            problems.append(f"{trial.service}: {trial.state} after {trial.seconds:.0f} s frozen, no probe failed")
        if trial.noticed and trial.recovered != "healthy":
            problems.append(f"{trial.service}: {trial.recovered} {trial.recovery_s:.0f} s after its thaw")
        if trial.unreadable:
            seen.append(f"{trial.service}: frozen without knowing what they listen on: {', '.join(trial.unreadable)}")
        if trial.spared:
            seen.append(f"{trial.service}: left running, listening on loopback only: "
                        f"{', '.join(command for _, command in trial.spared)}")
    if not trials:
        problems.append("no healthcheck could be judged")
    observed("; ".join(seen + ([f"not judged: {', '.join(not_judged)}"] if not_judged else [])))
    assert not problems, "; ".join(problems + ([f"not judged: {', '.join(not_judged)}"] if not_judged else []))
