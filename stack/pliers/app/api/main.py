"""Pliers core API: orders written to the event store and read back through the Redis cache.

Pliers has no message bus (seed 002 §Deployment Models): a command is one transaction that
appends its event and its projection row. /health reports PostgreSQL and Redis.
"""
import json
import math
import os
import uuid

import psycopg
import redis.asyncio as aioredis
from aiohttp import web
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from service import CHECK_TIMEOUT, redis_client, REPLICA, count_requests, error, health_handler, jwt_middleware, log, run, secret

PORT = int(os.environ.get("PORT", "3000"))
ORDER_CACHE_TTL = 30
ORDER_COLUMNS = """order_id::text, customer_id, items, total::float8 AS total, status, processed_by,
                   to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at"""


async def in_transaction(pool, statements):
    """Run (sql, params) statements in one transaction and return the last one's rows. After a
    PostgreSQL restart the pooled connections are dead, so on a connection error drop them and
    retry once on a fresh one."""
    for attempt in (1, 2):
        try:
            async with pool.connection(timeout=CHECK_TIMEOUT) as conn, conn.transaction():
                for sql, params in statements:
                    cur = await conn.cursor(row_factory=dict_row).execute(sql, params)
                return await cur.fetchall() if cur.description else []
        except PoolTimeout:
            raise  # no connection to be had: retrying would only wait again
        except psycopg.OperationalError:
            if attempt == 2:
                raise
            await pool.check()


def validate_order(body):
    """The problem with an order body, or None when it is valid."""
    if not isinstance(body, dict) or not isinstance(body.get("customer_id"), str) or not body["customer_id"].strip():
        return "customer_id must be a non-empty string"
    items = body.get("items")
    if not isinstance(items, list) or not items:
        return "items must be a non-empty list"
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str) or not item["sku"].strip():
            return f"items[{i}].sku must be a non-empty string"
        quantity, price = item.get("quantity"), item.get("price")
        # bool is an int in Python; a JSON true is not a quantity.
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            return f"items[{i}].quantity must be an integer > 0"
        if isinstance(price, bool) or not isinstance(price, (int, float)) or not math.isfinite(price) or price < 0:
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
    order_id = str(uuid.uuid4())
    items = [{k: item[k] for k in ("sku", "quantity", "price")} for item in body["items"]]
    total = sum(item["quantity"] * item["price"] for item in items)
    try:
        await in_transaction(request.app["pg"], [
            ("INSERT INTO events (order_id, type, payload, processed_by) VALUES (%s, 'OrderPlaced', %s, %s)",
             (order_id, Jsonb({"customer_id": body["customer_id"], "items": items}), REPLICA)),
            ("INSERT INTO orders (order_id, customer_id, items, total, status, processed_by) "
             "VALUES (%s, %s, %s, %s, 'placed', %s)", (order_id, body["customer_id"], Jsonb(items), total, REPLICA)),
        ])
    except Exception as exc:
        log.error("order write failed", extra={"fields": {"order_id": order_id, "detail": repr(exc)}})
        return error(503, "event store unavailable, retry later")
    return web.json_response({"order_id": order_id, "status": "placed"}, status=201)


async def get_order(request):
    try:
        order_id = str(uuid.UUID(request.match_info["order_id"]))
    except ValueError:
        return error(400, "order_id must be a UUID")
    cache, key = request.app["redis"], f"api:order:{order_id}"
    # The cache only speeds reads up: when Redis is down, serve from PostgreSQL.
    try:
        cached = await cache.get(key)
    except aioredis.RedisError:
        cached = None
    if cached:
        return web.json_response(text=cached, headers={"X-Cache": "hit"})
    try:
        rows = await in_transaction(request.app["pg"], [
            (f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = %s", (order_id,))])
    except Exception as exc:
        log.error("order read failed", extra={"fields": {"order_id": order_id, "detail": repr(exc)}})
        return error(503, "event store unavailable, retry later")
    if not rows:
        return error(404, "order not found", **{"X-Cache": "miss"})
    text = json.dumps(rows[0])
    try:
        await cache.set(key, text, ex=ORDER_CACHE_TTL)
    except aioredis.RedisError:
        pass
    return web.json_response(text=text, headers={"X-Cache": "miss"})


async def postgres_ok(app):
    await in_transaction(app["pg"], [("SELECT 1", ())])


async def redis_ok(app):
    await app["redis"].ping()


async def open_clients(app):
    env = os.environ
    # reconnect_timeout is short because the pool backs off exponentially while PostgreSQL is
    # down; giving up early lets the next request grow the pool with a fresh attempt.
    app["pg"] = AsyncConnectionPool(
        conninfo="",
        kwargs={"host": env["DATABASE_HOST"], "port": env.get("DATABASE_PORT", "5432"),
                "dbname": env["DATABASE_NAME"], "user": env["DATABASE_USER"],
                "password": secret("DATABASE_PASSWORD"), "connect_timeout": int(CHECK_TIMEOUT),
                "application_name": f"pliers-api@{REPLICA}"},
        min_size=1, max_size=10, open=False, timeout=CHECK_TIMEOUT, reconnect_timeout=3,
    )
    await app["pg"].open(wait=False)
    app["redis"] = redis_client()
    yield
    await app["redis"].close(close_connection_pool=True)
    await app["pg"].close()


def create_app():
    app = web.Application(middlewares=[count_requests, jwt_middleware(secret("JWT_SECRET"))])
    app.cleanup_ctx.append(open_clients)
    app.router.add_get("/health", health_handler({"postgres": postgres_ok, "redis": redis_ok}))
    app.router.add_post("/orders", place_order)
    app.router.add_get("/orders/{order_id}", get_order)
    return app


if __name__ == "__main__":
    run(create_app(), "api", PORT)
