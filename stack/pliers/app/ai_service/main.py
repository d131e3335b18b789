"""Pliers AI service: order summaries, from the core API over the backend network, cached in Redis.

No model and no outside call: a summary is computed here, so the platform runs offline and
needs no provider key. /health reports the core API and Redis.
"""
import json
import os
import uuid

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from service import CHECK_TIMEOUT, redis_client, count_requests, error, health_handler, jwt_middleware, log, run, secret

PORT = int(os.environ.get("PORT", "3001"))
API_URL = os.environ.get("API_URL", "http://api:3000").rstrip("/")
SUMMARY_CACHE_TTL = 30


def summarise(order: dict) -> str:
    items = order.get("items") or []
    quantity = sum(int(item.get("quantity", 0)) for item in items)
    skus = ", ".join(sorted({str(item.get("sku")) for item in items}))
    return f"{quantity} item(s) of {skus} for {float(order.get('total', 0)):.2f}, {order.get('status')}"


async def order_summary(request):
    try:
        order_id = str(uuid.UUID(request.match_info["order_id"]))
    except ValueError:
        return error(400, "order_id must be a UUID")
    cache, key = request.app["redis"], f"ai:summary:{order_id}"
    try:
        cached = await cache.get(key)
    except aioredis.RedisError:
        cached = None
    if cached:
        return web.json_response(text=cached, headers={"X-Cache": "hit"})
    # The caller's own token goes on to the API: the AI service has no authority of its own.
    headers = {"Authorization": request.headers.get("Authorization", "")}
    try:
        async with request.app["http"].get(f"{API_URL}/orders/{order_id}", headers=headers) as response:
            if response.status != 200:
                return error(response.status if response.status < 500 else 502,
                             f"the API answered {response.status} for order {order_id}")
            order = await response.json()
            api_replica = response.headers.get("X-Replica", "")
    except aiohttp.ClientError as exc:
        log.error("API call failed", extra={"fields": {"order_id": order_id, "detail": repr(exc)}})
        return error(502, "the API is unavailable, retry later")
    text = json.dumps({"order_id": order_id, "summary": summarise(order), "api_replica": api_replica})
    try:
        await cache.set(key, text, ex=SUMMARY_CACHE_TTL)
    except aioredis.RedisError:
        pass
    return web.json_response(text=text, headers={"X-Cache": "miss"})


async def api_ok(app):
    async with app["http"].get(f"{API_URL}/health/live") as response:
        if response.status != 200:
            raise RuntimeError(f"{API_URL}/health/live answered {response.status}")


async def redis_ok(app):
    await app["redis"].ping()


async def open_clients(app):
    app["http"] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT))
    app["redis"] = redis_client()
    yield
    await app["redis"].close(close_connection_pool=True)
    await app["http"].close()


def create_app():
    app = web.Application(middlewares=[count_requests, jwt_middleware(secret("JWT_SECRET"))])
    app.cleanup_ctx.append(open_clients)
    app.router.add_get("/health", health_handler({"api": api_ok, "redis": redis_ok}))
    app.router.add_get("/orders/{order_id}/summary", order_summary)
    return app


if __name__ == "__main__":
    run(create_app(), "ai-service", PORT)
