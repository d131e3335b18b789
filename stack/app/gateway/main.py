"""API gateway: accepts order commands and serves the order projection.

POST /orders publishes a command to RabbitMQ (publisher confirms); GET /orders/{id} reads the
projection from Postgres through a Redis cache; /health reports every dependency.
"""
import asyncio
import json
import logging
import math
import os
import socket
import sys
import time
import uuid

import jwt
import psycopg
import redis.asyncio as aioredis
from aiohttp import web
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from redis.asyncio.retry import Retry
from prometheus_client import Gauge
from redis.backoff import NoBackoff

import metrics
from file_variables import read_file_variables
from publisher import Publisher

read_file_variables()

REPLICA = socket.gethostname()
CHECK_TIMEOUT = 2.0
ORDER_CACHE_TTL = 30
HEALTH_CACHE_SECONDS = float(os.environ.get("HEALTH_CACHE_SECONDS", "1"))
ORDER_QUEUE = os.environ.get("ORDER_QUEUE", "orders.commands")
# Transient commands die with a broker restart; the knob exists so the suite can prove it notices.
ORDER_MESSAGES_PERSISTENT = os.environ.get("ORDER_MESSAGES_PERSISTENT", "true").lower() not in ("false", "0", "no")
JWT_SECRET = os.environ["JWT_SECRET"]
# Operators' knobs, both with safe defaults: tolerance for clock skew on `exp`, and a
# development switch that turns authentication off (the conformance suite catches both).
JWT_LEEWAY_SECONDS = float(os.environ.get("JWT_LEEWAY_SECONDS", "0"))
AUTH_REQUIRED = os.environ.get("AUTH_REQUIRED", "true").lower() not in ("false", "0", "no")
# Order ids of commands sent with an Idempotency-Key are derived from it (and the client's sub).
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c52c4-5a43-4c1e-9d7e-2f1f0c6a9b10")
# A fault-injection knob for capacity drills (default off): every API request waits this long
# before it is handled. /health is exempt, so a slowed replica stays in rotation.
REQUEST_DELAY_SECONDS = float(os.environ.get("REQUEST_DELAY_SECONDS", "0"))
# A request's correlation id (seed 003 §What the Platform Handles): the client's, or one minted
# here; it goes back in the response, with the command to the broker and into every log line.
CORRELATION_HEADER = "X-Correlation-ID"
# The release this image is (seed 004 §Application Health: /health reports APP_VERSION); a
# release image sets it (fixtures/engine/images.py release_image).
APP_VERSION = os.environ.get("APP_VERSION", "1")
# A fault-injection knob for release drills (default off): a release built with a wrong
# configuration, which starts but whose health endpoints answer 503, so its healthcheck fails.
RELEASE_FAULT = os.environ.get("RELEASE_FAULT", "")

log = logging.getLogger("api-gateway")

# Seed 004 §Monitoring: requests by status and route, and their latency, are counted by
# metrics.counting_requests; the event store pool's connections here (metrics.py serves them).
POOL_OPEN = Gauge("db_pool_connections", "Event store connections the pool holds open")
POOL_MAX = Gauge("db_pool_connections_max", "Event store connections the pool may open")


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "service": "api-gateway",
            "replica": REPLICA,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        return json.dumps(entry)


def error(status, message, **headers):
    return web.json_response({"error": message}, status=status, headers=headers)


def correlation_id_of(request):
    """The client's id when it is a sane token (printable, at most 128 characters), else a new one."""
    given = request.headers.get(CORRELATION_HEADER, "")
    return given if 0 < len(given) <= 128 and given.isprintable() else str(uuid.uuid4())


@web.middleware
async def correlate(request, handler):
    request["correlation_id"] = correlation_id_of(request)
    return await handler(request)


def log_request(request, status: int, elapsed: float) -> None:
    log.info("request", extra={"fields": {
        "method": request.method, "path": request.path, "status": status,
        "correlation_id": request.get("correlation_id"), "duration_ms": round(elapsed * 1000, 1)}})


@web.middleware
async def require_jwt(request, handler):
    if request.path.startswith("/health") or not AUTH_REQUIRED:
        return await handler(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return error(401, "missing bearer token", **{"WWW-Authenticate": "Bearer"})
    try:
        request["claims"] = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], options={"require": ["exp"]},
                                       leeway=JWT_LEEWAY_SECONDS)
    except jwt.InvalidTokenError as exc:
        return error(401, f"invalid token: {exc}",
                     **{"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return await handler(request)


@web.middleware
async def injected_delay(request, handler):
    if REQUEST_DELAY_SECONDS > 0 and not request.path.startswith("/health"):
        await asyncio.sleep(REQUEST_DELAY_SECONDS)
    return await handler(request)


async def add_replica_header(request, response):
    response.headers["X-Replica"] = REPLICA
    if "correlation_id" in request:
        response.headers[CORRELATION_HEADER] = request["correlation_id"]


async def query_one(pool, sql, params=()):
    """Run one query; after a Postgres restart the pooled connections are dead, so on a
    connection error drop them and retry once on a fresh one."""
    for attempt in (1, 2):
        try:
            async with pool.connection(timeout=CHECK_TIMEOUT) as conn:
                cur = await conn.cursor(row_factory=dict_row).execute(sql, params)
                return await cur.fetchone()
        except PoolTimeout:
            raise
        except psycopg.OperationalError:
            if attempt == 2:
                raise
            await pool.check()


async def check(name, probe):
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT)
        return {"status": "up", "detail": "ok"}
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        log.warning("dependency down", extra={"fields": {"dependency": name, "detail": detail}})
        return {"status": "down", "detail": detail}


async def health(request):
    app = request.app
    if RELEASE_FAULT:
        return web.json_response({"status": "misconfigured", "replica": REPLICA, "version": APP_VERSION,
                                  "detail": RELEASE_FAULT}, status=503)
    cache = app["health"]
    if time.monotonic() - cache["at"] >= HEALTH_CACHE_SECONDS:
        results = await asyncio.gather(
            check("postgres", lambda: query_one(app["pg"], "SELECT 1")),
            check("rabbitmq", app["publisher"].check),
            check("redis", app["redis"].ping),
        )
        dependencies = dict(zip(("postgres", "rabbitmq", "redis"), results))
        ok = all(d["status"] == "up" for d in dependencies.values())
        report = {"status": "ok" if ok else "degraded", "replica": REPLICA, "version": APP_VERSION,
                  "dependencies": dependencies}
        cache.update(at=time.monotonic(), report=report)
    report = cache["report"]
    return web.json_response(report, status=200 if report["status"] == "ok" else 503)


async def live(request):
    if RELEASE_FAULT:
        return web.json_response({"status": "misconfigured", "detail": RELEASE_FAULT}, status=503)
    return web.json_response({"status": "alive"})


def validate_order(body):
    """Return the problem with an order body, or None when it is valid."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if not isinstance(body.get("customer_id"), str) or not body["customer_id"].strip():
        return "customer_id must be a non-empty string"
    items = body.get("items")
    if not isinstance(items, list) or not items:
        return "items must be a non-empty list"
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return f"items[{i}] must be an object"
        if not isinstance(item.get("sku"), str) or not item["sku"].strip():
            return f"items[{i}].sku must be a non-empty string"
        quantity, price = item.get("quantity"), item.get("price")
        # bool is an int in Python; a JSON true is not a quantity.
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            return f"items[{i}].quantity must be an integer > 0"
        if (isinstance(price, bool) or not isinstance(price, (int, float))
                or not math.isfinite(price) or price < 0):
            return f"items[{i}].price must be a number >= 0"
    return None


async def place_order(request):
    try:
        body = await request.json()
    except ValueError:
        return error(400, "body must be valid JSON")
    problem = validate_order(body)
    if problem:
        return error(400, problem)
    # A client that resends a command (its connection dropped before an answer) sends the same
    # Idempotency-Key: the same order id comes back, and the order service writes it once.
    key = request.headers.get("Idempotency-Key", "")
    subject = request.get("claims", {}).get("sub", "")
    order_id = str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{subject}\n{key}") if key else uuid.uuid4())
    command = {
        "order_id": order_id,
        "customer_id": body["customer_id"],
        "items": [{k: item[k] for k in ("sku", "quantity", "price")} for item in body["items"]],
        "placed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        await request.app["publisher"].publish(order_id, json.dumps(command).encode(), request["correlation_id"])
    except Exception as exc:
        log.error("publish failed", extra={"fields": {"order_id": order_id, "detail": repr(exc),
                                                      "correlation_id": request["correlation_id"]}})
        return error(503, "order bus unavailable, retry later")
    log.info("order accepted", extra={"fields": {"order_id": order_id, "correlation_id": request["correlation_id"]}})
    return web.json_response({"order_id": order_id, "status": "accepted"}, status=202)


async def get_order(request):
    try:
        order_id = str(uuid.UUID(request.match_info["order_id"]))
    except ValueError:
        return error(400, "order_id must be a UUID")
    cache, key = request.app["redis"], f"order:{order_id}"
    # The cache only speeds reads up: when Redis is down, serve from Postgres.
    try:
        cached = await cache.get(key)
    except aioredis.RedisError:
        cached = None
    if cached:
        return web.json_response(text=cached, headers={"X-Cache": "hit"})
    try:
        row = await query_one(request.app["pg"], """
            SELECT order_id::text, customer_id, items, total::float8 AS total, status,
                   processed_by, to_char(updated_at AT TIME ZONE 'UTC',
                                         'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at
            FROM orders WHERE order_id = %s""", (order_id,))
    except psycopg.Error as exc:
        log.error("order read failed", extra={"fields": {"order_id": order_id, "detail": repr(exc)}})
        return error(503, "event store unavailable, retry later")
    if row is None:
        return error(404, "order not found", **{"X-Cache": "miss"})
    text = json.dumps(row)
    if row["status"] == "processed":
        try:
            await cache.set(key, text, ex=ORDER_CACHE_TTL)
        except aioredis.RedisError:
            pass
    return web.json_response(text=text, headers={"X-Cache": "miss"})


async def open_clients(app):
    env = os.environ
    # reconnect_timeout is short because the pool backs off exponentially while Postgres is
    # down; giving up early lets the next request grow the pool with a fresh attempt.
    app["pg"] = AsyncConnectionPool(
        conninfo="",
        kwargs={"host": env["DATABASE_HOST"], "port": env.get("DATABASE_PORT", "5432"),
                "dbname": env["DATABASE_NAME"], "user": env["DATABASE_USER"],
                "password": env["DATABASE_PASSWORD"], "connect_timeout": int(CHECK_TIMEOUT),
                "application_name": f"api-gateway@{REPLICA}"},
        min_size=1, max_size=10, open=False, timeout=CHECK_TIMEOUT, reconnect_timeout=3,
    )
    await app["pg"].open(wait=False)
    POOL_OPEN.set_function(lambda: app["pg"].get_stats().get("pool_size", 0))
    POOL_MAX.set(app["pg"].max_size)
    app["redis"] = aioredis.from_url(
        env["REDIS_URL"], decode_responses=True,
        socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT,
        # After a Redis restart the pooled connection is dead: retry once on a new one.
        retry=Retry(NoBackoff(), 1), retry_on_error=[aioredis.ConnectionError],
    )
    app["publisher"] = Publisher(env["RABBITMQ_URL"], ORDER_QUEUE, CHECK_TIMEOUT, ORDER_MESSAGES_PERSISTENT)
    # Mutated in place: an aiohttp app's state is frozen once it has started.
    app["health"] = {"at": float("-inf"), "report": None}
    yield
    await app["publisher"].close()
    # A client made by from_url does not own its pool in redis-py 4.x: close the pool too.
    await app["redis"].close(close_connection_pool=True)
    await app["pg"].close()


def create_app():
    app = web.Application(middlewares=[correlate, metrics.counting_requests(then=log_request), injected_delay, require_jwt])
    app.on_response_prepare.append(add_replica_header)
    app.cleanup_ctx.append(open_clients)
    app.router.add_get("/health/live", live)
    app.router.add_get("/health", health)
    app.router.add_post("/orders", place_order)
    app.router.add_get("/orders/{order_id}", get_order)
    return app


def main():
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # pika logs every failed connection step at ERROR; the failure reaches us as an
    # exception and is logged once with its context.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    # The pool logs a line per connection handed out at INFO.
    logging.getLogger("psycopg.pool").setLevel(logging.WARNING)
    metrics.serve_in_background()
    web.run_app(create_app(), host="0.0.0.0", port=8000, access_log=None, print=None)


if __name__ == "__main__":
    main()
