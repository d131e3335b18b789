"""Health: every service says it is healthy, answers a real client, and the platform works end to end."""

import time

import psycopg
import pytest
import redis
import requests

from fixtures import clients
from fixtures.controls import control

# The data roles the gateway's health endpoint reports on, unless the contract names its own
# (seed 004 §Health endpoint contract).
DEFAULT_DEPENDENCIES = ("event_store", "broker", "cache")


@control("HEALTH-001", severity="high", reference="seed 001 §Health Checks; CIS Docker 1.6.0 4.6")
def test_every_service_defines_a_healthcheck(compose_model):
    """Every service in the compose model defines an enabled healthcheck.

    Rationale: seed 001 says "Ensure all services have health checks"; without one,
    `docker compose up --wait` and orchestrators cannot tell a hung service from a healthy one.
    """
    missing = []
    for name, service in sorted(compose_model.services.items()):
        check = service.get("healthcheck") or {}
        test = check.get("test") or []
        if check.get("disable") or not test or test[0] == "NONE":
            missing.append(name)
    assert not missing, f"services without an enabled healthcheck: {', '.join(missing)}"


@control("HEALTH-002", severity="high", reference="seed 003 §Container Health")
def test_every_container_is_running_and_healthy(stack_as_brought_up):
    """Every declared replica of every service runs and reports healthy."""
    stack = stack_as_brought_up
    problems = []
    for name in sorted(stack.model.services):
        states = stack.health_states(name)
        expected = stack.model.replicas(name)
        if len(states) < expected:
            problems.append(f"{name}: {len(states)} of {expected} replica(s) exist")
        problems += [f"{name}#{i}: {state}" for i, state in enumerate(states, 1) if state != "healthy"]
    bringup = f" (bring-up: {stack.info.bringup_error})" if stack.info.bringup_error else ""
    assert not problems, f"not healthy: {'; '.join(problems)}{bringup}"


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
    that cannot serve; dependencies are named by service (the contract's `dependencies` roles).
    """
    path = platform.app.get("health_path", "/health")
    response = gateway.get(path)
    body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else {}
    dependencies = body.get("dependencies", {})
    roles = platform.app.get("dependencies", DEFAULT_DEPENDENCIES)
    expected = [service for role in roles for service in platform.services_of(role)]
    missing = [d for d in expected if d not in dependencies]
    down = [f"{d}={dependencies[d].get('status')}" for d in expected if d in dependencies and dependencies[d].get("status") != "up"]
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
def test_gateway_health_follows_a_dependency_outage(stack, gateway, platform):
    """Stopping the cache turns every gateway replica's health to 503, and starting it brings 200 back."""
    cache = platform.service("cache")
    replicas = {c.id[:12] for c in stack.containers(platform.service("gateway"), include_stopped=False)}
    stack.stop(cache)
    try:
        during = _wait_until_every_replica_answers(gateway, platform, replicas, 503, timeout_s=30)
    finally:
        stack.start(cache)
    cache_states = stack.wait_healthy(cache, timeout_s=60)
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
