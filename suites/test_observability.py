"""Observability: a request can be followed through the platform, its logs are readable and bounded, and its metrics tier alerts.

The seeds' tracing, search and dashboards (Jaeger, Elasticsearch, Grafana) cannot run on a
machine without an image registry; they are judged as roles by the generic controls
(docs/controls.md). What every platform can show is judged here: the correlation id (seed 003
§What the Platform Handles) and the logs (seed 000 §Best Practices 3); and, on a platform with
a metrics role (Prometheus, with Alertmanager), the seeds' alerting (seed 004 §Alert Rules,
seed 001 §Alerting), asked of Prometheus's and Alertmanager's own APIs.
"""

import re
import shlex
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker.errors
import pytest
import yaml
from psycopg import sql

from fixtures import clients, log_rotation
from fixtures.controls import control

CORRELATION_HEADER = "X-Correlation-ID"
LOGS = "seed 000 §Best Practices 3 (all logs to stdout/stderr)"
# Log files as a process writes them: *.log, rotated *.log.1, anything under /var/log.
_LOG_NAME = re.compile(r"(\.log(\.\w+)?$|^/var/log/)")
_FIND = ("command -v find >/dev/null || exit 127; find {roots} -type f \\( -name '*.log' -o -name '*.log.*' "
         "-o -path '/var/log/*' \\) -printf '%s %p\\n' 2>/dev/null; exit 0")
# Long enough for every container's healthcheck to have run once (the platforms probe every 2-5 s).
_LOG_WINDOW_S = 6


def _carrying(pg, text: str) -> list[str]:
    """The event store's tables holding a row whose text contains `text`: the schema is the application's, not ours."""
    with pg() as conn:
        tables = conn.execute("SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = "
                              "'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')").fetchall()
        query = "SELECT EXISTS (SELECT 1 FROM {}.{} AS t WHERE strpos(t::text, %s) > 0)"
        return [f"{schema}.{table}" for schema, table in tables
                if conn.execute(sql.SQL(query).format(sql.Identifier(schema), sql.Identifier(table)), (text,)).fetchone()[0]]


def _follow(gateway, trace, stack, pg, worker: str, given: str | None) -> tuple[str, list[str], list[str]]:
    """Post one order (with `given` as its correlation id, or none) and look for the id everywhere it should be.

    (the id, where it was found, where it was missing and what was there instead)."""
    since = int(time.time()) - 1
    posted = gateway.place_order(headers={CORRELATION_HEADER: given} if given else None)
    if posted.status_code != 202:
        return given or "(none)", [], [f"POST answered {posted.status_code}: {posted.text[:200]}"]
    answered = posted.headers.get(CORRELATION_HEADER, "")
    cid = given or answered
    found, missing = [], []
    if not answered or (given and answered != given):
        missing.append(f"the gateway's response ({CORRELATION_HEADER}: {answered or 'absent'})")
    else:
        found.append("response")
    if not cid:
        return "(none minted)", found, missing + ["the broker, the worker's log and the event store: no id to follow"]
    message = trace.published(lambda p: cid in (p.get("correlation_id"), *p["headers"].values()))
    if message:
        found.append(f"message to {', '.join(message['routing_keys'])}")
    else:
        missing.append("the message on the broker (no published message carries it, as property or header)")
    order_id = posted.json().get("order_id", "")
    read = gateway.wait_for_order(order_id, timeout_s=30)
    if read.status_code != 200:
        return cid, found, missing + [f"the worker and the event store: order {order_id} not processed in 30 s ({read.status_code})"]
    logged = [c.name for c in stack.containers(worker, include_stopped=False)
              if cid in c.logs(since=since, stdout=True, stderr=True).decode(errors="replace")]
    if logged:
        found.append(f"log of {', '.join(logged)}")
    else:
        missing.append(f"the {worker} log (order {order_id} processed, no line with the id)")
    tables = _carrying(pg, cid)
    if tables:
        found.append(f"event store ({', '.join(tables)})")
    else:
        missing.append(f"the event store (order {order_id} processed, no row carries the id)")
    return cid, found, missing


@control("OBS-001", severity="medium", reference="seed 003 §What the Platform Handles (Correlation ID propagation)",
         needs=("edge", "gateway", "broker:rabbitmq", "worker", "event_store:postgres", "app:orders"))
def test_a_correlation_id_travels_end_to_end(gateway, broker_trace, stack, platform, pg, observed):
    """An order's correlation id, the client's or one the gateway mints, is in the response, on the broker, in the worker's log and in the event.

    Rationale: seed 003's platform propagates a correlation id; without it one failed order
    cannot be followed from the client's answer through the bus to the worker that wrote it.
    The message is seen as the broker accepted it (RabbitMQ's firehose, on for the control's
    duration); the event store is searched in every table, so the schema stays the application's.
    """
    worker = platform.service("worker")
    problems, seen = [], []
    for given in (f"conformance-{uuid.uuid4()}", None):
        cid, found, missing = _follow(gateway, broker_trace, stack, pg, worker, given)
        case = f"{'given' if given else 'minted'} {cid}"
        seen.append(f"{case}: {'; '.join(found) or 'nowhere'}")
        if missing:
            problems.append(f"{case} missing from {'; '.join(missing)}")
    observed(" | ".join(seen))
    assert not problems, " | ".join(problems)


def _grouped(problems: dict[str, str]) -> str:
    """`a, b: problem; c: other problem`: services that share a problem are named once with it."""
    by_problem: dict[str, list[str]] = {}
    for label, problem in problems.items():
        by_problem.setdefault(problem, []).append(label)
    return "; ".join(f"{', '.join(labels)}: {problem}" for problem, labels in by_problem.items())


def _running(stack) -> list[tuple[str, int, object]]:
    return [(name, replica, container) for name in sorted(stack.model.services)
            for replica, container in enumerate(stack.containers(name, include_stopped=False), 1)]


def _writable_places(container) -> list[str]:
    """Where a process in the container can write: its writable mounts and tmpfs, /var/log, and, on a
    writable root filesystem, the log files the engine lists as changed in its layer (no walk of the image)."""
    container.reload()
    places = {m["Destination"] for m in container.attrs.get("Mounts") or [] if m.get("RW")}
    places |= set(container.attrs["HostConfig"].get("Tmpfs") or {}) | {"/var/log"}
    if not container.attrs["HostConfig"].get("ReadonlyRootfs"):
        places |= {change["Path"] for change in container.diff() or [] if _LOG_NAME.search(change["Path"])}
    return sorted(places)


def _log_files(service, name: str, replica: int, places: list[str]) -> dict[str, int] | None:
    """path -> size of every log file in those places; None when they cannot be listed (no shell or find)."""
    try:
        result = service(name, replica).run(_FIND.format(roots=" ".join(map(shlex.quote, places))))
    except Exception:  # testinfra raises its own kinds when the container cannot run the command
        return None
    if result.rc != 0:
        return None
    sizes = {}
    for line in result.stdout.splitlines():
        size, _, path = line.partition(" ")
        if size.isdigit():
            sizes[path] = int(size)
    return sizes


def _traffic(stack, platform) -> str:
    """A few requests through the edge, to its root and to each gateway's health path under its route,
    so every service on a request's path has something to log."""
    if not stack.edge_url:
        return "no traffic (the edge publishes no port)"
    client = clients.Gateway(stack.edge_url, None, stack.info.edge_ca_file)
    health = platform.app.get("health_path", "/health")
    gateways = platform.services_of("gateway") if platform.has("gateway") else []
    paths = ["/", *sorted({platform.route(service) + health for service in gateways})] * 3
    answered = 0
    for path in paths:
        try:
            client.get(path, timeout=5)
            answered += 1
        except OSError:
            pass
    return f"{answered}/{len(paths)} requests through the edge answered"


@control("OBS-002", severity="medium", reference=LOGS)
def test_every_service_logs_to_stdout(stack, platform, service, observed):
    """Every container's log (its stdout and stderr) is readable and not empty after traffic, and no log file grows inside it.

    Rationale: seed 000 sends all logs to stdout/stderr, where the engine keeps, rotates and
    ships them; a log file inside a container is lost with it, fills its tmpfs or volume, and
    is not in `docker logs` when an operator needs it. Log files (*.log, /var/log) are listed
    where the container can write (its writable mounts and tmpfs, and the files changed in a
    writable root filesystem) before and after a few requests through the edge and one
    healthcheck interval (testinfra); a container without a shell or find is named, not judged.
    """
    running = _running(stack)
    with ThreadPoolExecutor(max_workers=8) as pool:
        places = list(pool.map(lambda r: _writable_places(r[2]), running))
        started = time.monotonic()
        before = list(pool.map(lambda r, p: _log_files(service, r[0], r[1], p), running, places))
        traffic = _traffic(stack, platform)
        time.sleep(max(0.0, _LOG_WINDOW_S - (time.monotonic() - started)))
        after = list(pool.map(lambda r, p: _log_files(service, r[0], r[1], p), running, places))
    problems, unjudged = [], []
    for (name, replica, container), old, new in zip(running, before, after):
        label = f"{name}#{replica}"
        try:
            if not container.logs(stdout=True, stderr=True, tail=5).strip():
                problems.append(f"{label}: its stdout/stderr log is empty")
        except docker.errors.APIError as exc:
            problems.append(f"{label}: its log cannot be read ({exc.explanation or exc})")
        if old is None or new is None:
            unjudged.append(label)
            continue
        grown = sorted(path for path, size in new.items() if size > old.get(path, 0))
        if grown:
            problems.append(f"{label} writes to {', '.join(grown)}")
    observed(f"{len(running)} containers; {traffic}"
             + (f"; log files not listed (no shell or find): {', '.join(unjudged)}" if unjudged else ""))
    assert not problems, "; ".join(problems)


@control("OBS-003", severity="medium", reference=LOGS)
def test_every_service_declares_bounded_logs(compose_model, observed):
    """Every service declares a log driver that rotates (json-file or local with max-size) or ships its logs away.

    Rationale: Docker's default json-file driver keeps one file per container that grows until
    the host's disk is full, and every container on the host stops with it. A service without
    `logging:` gets whatever the engine's daemon.json says, which the compose file cannot
    promise; rotated files may hold at most 1 GB per container (max-size x max-file).
    """
    problems, seen = {}, {}
    for name, definition in sorted(compose_model.services.items()):
        logging = definition.get("logging")
        problem = log_rotation.declared_problem(logging)
        if problem:
            problems[name] = problem
        else:
            seen[name] = log_rotation.described(logging.get("driver") or "json-file", logging.get("options"))
    observed(_grouped(seen))
    assert not problems, _grouped(problems)


@control("OBS-004", severity="medium", reference=LOGS)
def test_every_container_runs_with_bounded_logs(stack, observed):
    """Every container runs with a log driver that rotates (json-file or local with max-size) or ships its logs away.

    Rationale: what the engine runs, not what the file says: the log config of each
    container (`docker inspect` HostConfig.LogConfig) already holds the engine's default
    driver and daemon.json log-opts for a service that declares none, and it is the whole
    story for a deployment started by other means (--target existing).
    """
    problems, seen = {}, {}
    for name, replica, container in _running(stack):
        container.reload()
        config = container.attrs["HostConfig"].get("LogConfig") or {}
        driver, options = config.get("Type") or "", config.get("Config") or {}
        problem = log_rotation.problem(driver, options)
        if problem:
            problems[f"{name}#{replica}"] = problem
        else:
            seen[f"{name}#{replica}"] = log_rotation.described(driver, options)
    observed(_grouped(seen))
    assert not problems, _grouped(problems)


# ------------------------------------------------------------------------------ metrics tier

METRICS = "seed 004 §Monitoring and §Alert Rules; seed 001 §Alerting"
# The seeds' alerts, by the names a Prometheus rule can carry: seed 004's two as written, seed
# 001's three (Grafana alerts there) by their meaning.
SEED_ALERTS = {
    "HighErrorRate": "seed 004 §Alert Rules",
    "HighResponseTime": "seed 004 §Alert Rules",
    "HighErrorRatio": "seed 001 §Alerting (High Error Rate)",
    "DatabaseConnectionIssues": "seed 001 §Alerting (Database Connection Issues)",
    "QueueDepthWarning": "seed 001 §Alerting (Queue Depth Warning)",
}
_TARGETS_WAIT_S = 30  # a target re-created by an earlier control is found and scraped again within it
_QUIET_WAIT_S = 75  # errors before the control leave a 1-minute rate window within it
_BURST = 60  # order commands through the edge while the broker is down
_WAVE = 6  # of them per second
_FIRING_WAIT_S = 60


def _targets(metrics_tier) -> tuple[list[str], dict[str, list[dict]]]:
    """The scrape jobs Prometheus's configuration declares, and its active targets by job."""
    config = yaml.safe_load(metrics_tier.query("/api/v1/status/config")["yaml"]) or {}
    jobs = [job["job_name"] for job in config.get("scrape_configs") or []]
    by_job: dict[str, list[dict]] = {job: [] for job in jobs}
    for target in metrics_tier.query("/api/v1/targets", state="active")["activeTargets"]:
        by_job.setdefault(target.get("scrapePool") or target["labels"].get("job", "?"), []).append(target)
    return jobs, by_job


@control("OBS-005", severity="medium", reference=METRICS, needs=("metrics:prometheus",))
def test_every_scrape_target_is_up(metrics_tier, observed):
    """Every scrape job Prometheus declares has targets, and every target is `up` in Prometheus's own API.

    Rationale: an alert on a metric nobody scrapes never fires; a target down (wrong port, the
    endpoint on another network, the exporter gone) is the silence no alert rule reports.
    Prometheus's /api/v1/targets is read until every target has been scraped up, for at most
    30 s (a replica re-created by an earlier control is found by DNS within seconds).
    """
    deadline = time.monotonic() + _TARGETS_WAIT_S
    while True:
        jobs, by_job = _targets(metrics_tier)
        problems = [f"job {job} has no target" for job in jobs if not by_job.get(job)]
        problems += [f"{job} {t['scrapeUrl']} is {t['health']}" + (f" ({t['lastError']})" if t.get("lastError") else "")
                     for job, targets in sorted(by_job.items()) for t in targets if t["health"] != "up"]
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(1)
    observed("; ".join(f"{job}: {sum(t['health'] == 'up' for t in by_job.get(job, []))}/{len(by_job.get(job, []))} up"
                       for job in sorted(by_job)) or "no scrape job")
    assert jobs, "Prometheus declares no scrape job"
    assert not problems, "; ".join(problems)


def _alert_rules(metrics_tier) -> dict[str, dict]:
    return {rule["name"]: rule for group in metrics_tier.query("/api/v1/rules", type="alert")["groups"]
            for rule in group["rules"]}


@control("OBS-006", severity="medium", reference=METRICS, needs=("metrics:prometheus",))
def test_the_seeds_alert_rules_are_loaded(metrics_tier, observed):
    """Prometheus has loaded the seeds' alert rules (seed 004's HighErrorRate and HighResponseTime, seed 001's three) and each evaluates without error.

    Rationale: a rules file that failed to load, a rule left out or one whose expression fails at
    every evaluation looks like a quiet platform. Read from /api/v1/rules: each of the seeds'
    alerts by name, its health `ok`, and the `for:` each waits.
    """
    rules = _alert_rules(metrics_tier)
    missing = [f"{name} ({where})" for name, where in SEED_ALERTS.items() if name not in rules]
    unhealthy = [f"{name}: {rules[name]['health']} ({rules[name].get('lastError') or 'no error given'})"
                 for name in SEED_ALERTS if name in rules and rules[name]["health"] != "ok"]
    observed("; ".join(f"{name} {rules[name]['health']}, for {rules[name].get('duration', 0):g}s"
                       for name in SEED_ALERTS if name in rules) or "none of the seeds' alerts loaded")
    assert not missing, f"not loaded: {', '.join(missing)}"
    assert not unhealthy, "; ".join(unhealthy)


def _prometheus_state(metrics_tier, name: str) -> str:
    """The alert's state in Prometheus: inactive, pending or firing."""
    states = [a["state"] for a in metrics_tier.query("/api/v1/alerts")["alerts"] if a["labels"].get("alertname") == name]
    return "firing" if "firing" in states else "pending" if "pending" in states else "inactive"


def _in_alertmanager(metrics_tier, name: str) -> bool:
    return any(a["labels"].get("alertname") == name and a.get("status", {}).get("state") == "active"
               for a in metrics_tier.alertmanager_alerts())


def _burst(gateway, count: int) -> dict[str, int]:
    """`count` order commands through the edge in waves a second apart: how many of each answer.

    Spread over several scrapes: a counter series born during the fault (the first 503 of a
    route on a replica) shows a rate only from its second sample on."""
    answers = []
    with ThreadPoolExecutor(max_workers=_WAVE) as pool:
        for _ in range(0, count, _WAVE):
            started = time.monotonic()
            answers += pool.map(lambda _: _order_answer(gateway), range(_WAVE))
            time.sleep(max(0.0, 1 - (time.monotonic() - started)))
    return _counted(answers)


def _order_answer(gateway) -> str:
    """One order command through the edge: its status code, or the error that kept it from an answer."""
    try:
        return str(gateway.place_order().status_code)
    except OSError as exc:
        return type(exc).__name__


def _counted(answers: list[str]) -> dict[str, int]:
    return {answer: answers.count(answer) for answer in sorted(set(answers))}


# The fault: RabbitMQ's application stopped inside its running node (`rabbitmqctl stop_app`), so
# its listeners close and every connection to it is refused at once; `start_app` brings it back
# with its queues, in seconds. (A stopped container would make each publish wait out its timeout.)
_BROKER_OFF, _BROKER_ON = "rabbitmqctl -q stop_app", "rabbitmqctl -q start_app"


@pytest.mark.disruptive
@control("OBS-007", severity="high", reference=METRICS,
         needs=("metrics:prometheus", "edge", "gateway", "broker:rabbitmq", "app:orders"))
def test_high_error_rate_fires_and_reaches_alertmanager(metrics_tier, stack, platform, gateway, service, observed):
    """HighErrorRate is inactive on the healthy platform, and fires and reaches Alertmanager when the gateway fails order commands.

    Rationale: an alert rule is only as good as the path from a fault to a notification: the
    gateway's metrics scraped, the rule evaluated, the alert sent to Alertmanager. The fault:
    RabbitMQ's application stopped in its node (`rabbitmqctl stop_app`), so the gateway answers
    503 to order commands at once (reads still succeed), while 60 commands go through the edge
    over 10 s; then the broker is started again. Alertmanager's /api/v2/alerts is read until
    HighErrorRate is active there (at most 60 s after the fault; the rule's `for:` and
    Prometheus's intervals are the platform's configuration). Before the fault, HighErrorRate
    must be inactive in Prometheus (errors of earlier controls leave its rate window within 75 s).
    """
    if not metrics_tier.alertmanager_service:
        pytest.fail(f"the metrics role ({', '.join(platform.services_of('metrics'))}) runs no Alertmanager")
    if "HighErrorRate" not in _alert_rules(metrics_tier):
        pytest.fail("Prometheus has no HighErrorRate rule (OBS-006)")
    deadline = time.monotonic() + _QUIET_WAIT_S
    while (state := _prometheus_state(metrics_tier, "HighErrorRate")) != "inactive" and time.monotonic() < deadline:
        time.sleep(2)
    assert state == "inactive", f"HighErrorRate is {state} on the healthy platform, {_QUIET_WAIT_S} s after the control began"
    broker = platform.service("broker")
    started = time.monotonic()
    stopped = service(broker, 1).run(_BROKER_OFF)
    try:
        assert stopped.rc == 0, f"{_BROKER_OFF} in {broker} failed: {stopped.stderr.strip()[:300]}"
        answers = _burst(gateway, _BURST)
        deadline = started + _FIRING_WAIT_S
        fired = None
        while time.monotonic() < deadline:
            if _in_alertmanager(metrics_tier, "HighErrorRate"):
                fired = time.monotonic() - started
                break
            time.sleep(1)
    finally:
        restarted = service(broker, 1).run(_BROKER_ON)
    in_prometheus = _prometheus_state(metrics_tier, "HighErrorRate")
    broker_states = stack.wait_healthy(broker, timeout_s=60)
    burst = ", ".join(f"{n}× {answer}" for answer, n in answers.items())
    observed(f"healthy: inactive; {broker} application stopped, {_BURST} order commands answered {burst}; HighErrorRate "
             + (f"in Alertmanager {fired:.0f} s after the fault" if fired is not None
                else f"{in_prometheus} in Prometheus, not in Alertmanager after {_FIRING_WAIT_S} s")
             + f"; {broker} started again: {', '.join(broker_states)}")
    assert restarted.rc == 0, f"{_BROKER_ON} in {broker} failed: {restarted.stderr.strip()[:300]}"
    assert sum(n for answer, n in answers.items() if answer.startswith("5")) >= _BURST // 2, (
        f"the fault did not make the gateway fail order commands ({burst})")
    assert fired is not None, (f"HighErrorRate never reached Alertmanager within {_FIRING_WAIT_S} s of the fault "
                               f"(in Prometheus: {in_prometheus})")


@control("OBS-008", severity="high", reference="Prometheus security model (admin and lifecycle APIs); CIS Docker 1.6.0 5.8",
         needs=("metrics:prometheus",))
def test_prometheus_admin_and_lifecycle_apis_are_off(metrics_tier, observed):
    """Prometheus answers that its admin API (--web.enable-admin-api) and lifecycle API (--web.enable-lifecycle) are off.

    Rationale: the admin API deletes series and snapshots the TSDB, the lifecycle API reloads the
    configuration and shuts the server down, both without authentication, for anyone who can
    reach the port. Asked with harmless calls: clean_tombstones and /-/reload.
    """
    admin = metrics_tier.prometheus("POST", "/api/v1/admin/tsdb/clean_tombstones")
    lifecycle = metrics_tier.prometheus("POST", "/-/reload")
    observed(f"admin API: {admin.status_code} {admin.text.strip()[:100]}; "
             f"lifecycle API: {lifecycle.status_code} {lifecycle.text.strip()[:100]}")
    problems = [f"the {api} API is on ({answer.status_code} to {answer.request.path_url})"
                for api, answer in (("admin", admin), ("lifecycle", lifecycle)) if answer.ok]
    assert not problems, "; ".join(problems)


def _endpoints(stack, metrics_tier, reachability) -> set[tuple[str, int]]:
    """(service, port) of the metrics tier's own ports, and of every target Prometheus scrapes,
    found by the address it scrapes (a service name, or a container's address on a stack network)."""
    endpoints = {(s, p) for s in stack.platform.services_of("metrics") for p in reachability.ports.get(s, ())}
    addresses = {}
    for name in stack.model.services:
        addresses[name] = name
        for container in stack.containers(name, include_stopped=False):
            for network in (container.attrs["NetworkSettings"].get("Networks") or {}).values():
                if network.get("IPAddress"):
                    addresses[network["IPAddress"]] = name
    _, by_job = _targets(metrics_tier)
    for target in (t for targets in by_job.values() for t in targets):
        host, _, port = target["labels"]["instance"].rpartition(":")
        if host in addresses and port.isdigit():
            endpoints.add((addresses[host], int(port)))
    return endpoints


@control("OBS-009", severity="high", reference=f"{METRICS}; seed 001 §Network Isolation",
         needs=("metrics:prometheus", "edge"))
def test_metrics_are_not_reachable_from_the_edge_or_the_host(stack, metrics_tier, reachability, observed):
    """Neither the metrics endpoints Prometheus scrapes nor Prometheus and Alertmanager answer on the edge's networks or on the host.

    Rationale: metrics name every route, queue and replica, and Prometheus's API runs any query
    for whoever reaches it, with no authentication; they belong on an internal network of
    their own, never behind the edge or published. Judged on the reachability matrix (NET):
    each scraped endpoint and each port of the metrics role, probed from every network the edge
    joins and from the host; an endpoint the matrix did not probe (a port no file declares) fails.
    """
    edge = stack.platform.edge_services
    sources = [n for n in reachability.networks if reachability.members(n) & edge] + ["host"]
    endpoints = _endpoints(stack, metrics_tier, reachability)
    reached, unprobed = [], []
    for service, port in sorted(endpoints):
        for source in sources:
            cell = reachability.tcp.get((source, service, port))
            if cell is None:
                unprobed.append(f"{service}:{port}")
                break
            if cell.observed:
                reached.append(f"{service}:{port} from {source}" + (f" ({cell.detail})" if cell.detail else ""))
    observed(f"{', '.join(f'{s}:{p}' for s, p in sorted(endpoints))} probed from {', '.join(sources)}")
    assert not reached and not unprobed, "; ".join(
        ([f"reachable: {', '.join(reached)}"] if reached else [])
        + ([f"not probed (declare the port: expose): {', '.join(unprobed)}"] if unprobed else []))


QUEUE_ALERT = "QueueDepthWarning"
_MAX_PILE = 200  # orders the control piles up at most: a higher threshold is a configuration to lower, like `for:`
_PILE_MARGIN = 20  # orders beyond the threshold, which `>` must exceed
# RabbitMQ counts a queue's messages for its metrics every statistics interval (5 s by default);
# Prometheus's notifier and Alertmanager's group_wait take a few seconds more.
_BROKER_STATS_S, _DELIVERY_S = 5, 5
_QUEUE_QUIET_WAIT_S = 30  # a pile-up left by an earlier control drains and its alert resolves within it
_DRAIN_WAIT_S = 60
_THRESHOLD = re.compile(r">\s*([0-9]+(?:\.[0-9]+)?)\s*$")
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def _seconds(duration: str) -> float:
    """A Prometheus duration (`2s`, `1m30s`) in seconds."""
    return sum(int(n) * _UNIT_S[unit] for n, unit in _DURATION.findall(duration))


def _firing_bound(metrics_tier, name: str) -> tuple[dict, float, str]:
    """The rule, and how long after a pile-up it must be in Alertmanager, from Prometheus's own
    configuration: the broker's count, a scrape, the evaluation that makes it pending, its `for:`,
    the evaluation that fires it, and the delivery; with how it was derived."""
    groups = metrics_tier.query("/api/v1/rules", type="alert")["groups"]
    group, rule = next(((g, r) for g in groups for r in g["rules"] if r["name"] == name), (None, None))
    if rule is None:
        pytest.fail(f"Prometheus has no {name} rule (OBS-006)", pytrace=False)
    config = yaml.safe_load(metrics_tier.query("/api/v1/status/config")["yaml"]) or {}
    default = (config.get("global") or {}).get("scrape_interval", "1m")
    scrape = max((_seconds(job.get("scrape_interval", default)) for job in config.get("scrape_configs") or []),
                 default=_seconds(default))
    evaluation, wait = float(group.get("interval") or 60), float(rule.get("duration") or 0)
    bound = _BROKER_STATS_S + scrape + 2 * evaluation + wait + _DELIVERY_S
    return rule, bound, (f"{_BROKER_STATS_S} s broker count + {scrape:g} s scrape + 2 x {evaluation:g} s evaluation"
                         f" + {wait:g} s for + {_DELIVERY_S} s delivery")


def _messages_ready(rabbitmq_api) -> int:
    """Messages waiting for a consumer in all the broker's queues, as the broker counts them."""
    answer = rabbitmq_api.get("/queues?columns=name,messages_ready")
    answer.raise_for_status()
    return sum(queue.get("messages_ready") or 0 for queue in answer.json())


@pytest.mark.disruptive
@control("OBS-010", severity="high", reference=METRICS,
         needs=("metrics:prometheus", "edge", "gateway", "worker", "broker:rabbitmq", "app:orders"))
def test_queue_depth_fires_when_the_workers_stop(metrics_tier, target, platform, gateway, rabbitmq_api, observed):
    """QueueDepthWarning is inactive on the healthy platform, and fires and reaches Alertmanager when orders pile up behind stopped workers.

    Rationale: a platform whose workers are down still accepts orders; only the queue depth says
    nothing processes them. The workers (every replica of the worker role) are stopped, and 20
    orders more than the rule's threshold go through the edge (the threshold read from its
    expression, `... > N`; at most 200 orders); Alertmanager's /api/v2/alerts is read until
    QueueDepthWarning is active there, within a bound derived from Prometheus's configuration
    (the broker's 5 s statistics interval, a scrape, two evaluations, the rule's `for:`, 5 s of
    delivery). The workers are started again whatever happens; the queue must drain and the
    alert turn inactive within 60 s. Before, QueueDepthWarning must be inactive (at most 30 s).
    """
    if not metrics_tier.alertmanager_service:
        pytest.fail(f"the metrics role ({', '.join(platform.services_of('metrics'))}) runs no Alertmanager")
    rule, bound, derived = _firing_bound(metrics_tier, QUEUE_ALERT)
    found = _THRESHOLD.search(rule["query"])
    if not found or float(found.group(1)) + _PILE_MARGIN > _MAX_PILE:
        pytest.fail(f"{QUEUE_ALERT} ({rule['query']}) needs more than {_MAX_PILE} waiting orders: "
                    "give it a threshold a run can reach, by configuration like its `for:`", pytrace=False)
    threshold = float(found.group(1))
    orders = int(threshold) + _PILE_MARGIN
    deadline = time.monotonic() + _QUEUE_QUIET_WAIT_S
    while (state := _prometheus_state(metrics_tier, QUEUE_ALERT)) != "inactive" and time.monotonic() < deadline:
        time.sleep(2)
    assert state == "inactive", f"{QUEUE_ALERT} is {state} on the healthy platform, {_QUEUE_QUIET_WAIT_S} s after the control began"
    worker = platform.service("worker")
    started = time.monotonic()
    target.take_down(worker)
    try:
        with ThreadPoolExecutor(max_workers=_WAVE) as pool:
            answers = _counted(list(pool.map(lambda _: _order_answer(gateway), range(orders))))
        piled = time.monotonic()
        fired = None
        while time.monotonic() < piled + bound:
            if _in_alertmanager(metrics_tier, QUEUE_ALERT):
                fired = time.monotonic() - started
                break
            time.sleep(1)
        in_prometheus, waiting = _prometheus_state(metrics_tier, QUEUE_ALERT), _messages_ready(rabbitmq_api)
    finally:
        restored = time.monotonic()
        worker_states = target.bring_back(worker, wait_s=90)
    while True:
        left, after = _messages_ready(rabbitmq_api), _prometheus_state(metrics_tier, QUEUE_ALERT)
        if (left <= threshold and after == "inactive") or time.monotonic() > restored + _DRAIN_WAIT_S:
            break
        time.sleep(1)
    resolved_s = time.monotonic() - restored
    accepted = answers.get("202", 0) + answers.get("201", 0)
    sent = ", ".join(f"{n}× {answer}" for answer, n in answers.items())
    observed(f"healthy: inactive; {worker} stopped, {orders} orders answered {sent} in {piled - started:.0f} s; "
             f"{waiting} messages ready; {QUEUE_ALERT} "
             + (f"in Alertmanager {fired:.0f} s after the workers stopped" if fired is not None
                else f"{in_prometheus} in Prometheus, not in Alertmanager")
             + f" (bound {bound:g} s after the pile-up: {derived}); {worker} started again: {', '.join(worker_states)}; "
             f"{left} ready and {QUEUE_ALERT} {after} {resolved_s:.0f} s after they started")
    assert accepted == orders, f"the gateway accepted {accepted} of {orders} orders with the workers stopped ({sent})"
    assert fired is not None, (f"{QUEUE_ALERT} never reached Alertmanager within {bound:g} s of {orders} orders piling up "
                               f"({derived}; the broker: {waiting} messages ready; in Prometheus: {in_prometheus})")
    assert left <= threshold and after == "inactive", (
        f"{resolved_s:.0f} s after {worker} started again ({', '.join(worker_states)}): {left} messages ready, "
        f"{QUEUE_ALERT} {after} in Prometheus")
