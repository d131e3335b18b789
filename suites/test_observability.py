"""Observability: a request can be followed through the platform, and every service's logs are readable and bounded.

The seeds' tracing, search and dashboards (Jaeger, Elasticsearch, Grafana) and their metrics
tier cannot run on a machine without an image registry; they are judged as roles by the
generic controls (docs/controls.md). What every platform can show is judged here: the
correlation id (seed 003 §What the Platform Handles) and the logs (seed 000 §Best Practices 3).
"""

import re
import shlex
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import docker.errors
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
