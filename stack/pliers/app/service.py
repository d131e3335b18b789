"""What both Pliers services share: secrets from files, the replica name, JSON logs, JWT checks, /health."""
import asyncio
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path

import jwt
import redis.asyncio as aioredis
from aiohttp import web
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

import metrics

REPLICA = socket.gethostname()
CHECK_TIMEOUT = 2.0
HEALTH_CACHE_SECONDS = float(os.environ.get("HEALTH_CACHE_SECONDS", "1"))
# The release this image is (seed 004 §Application Health: /health reports APP_VERSION), and a
# fault-injection knob for release drills (default off): a misconfigured release whose health
# endpoints answer 503, so its healthcheck fails.
APP_VERSION = os.environ.get("APP_VERSION", "1")
RELEASE_FAULT = os.environ.get("RELEASE_FAULT", "")

log = logging.getLogger("pliers")

# Seed 004 §Monitoring, counted as the reference gateway counts them (metrics.py serves them on
# the metrics network alone), so the seeds' alert rules read both platforms.
count_requests = metrics.counting_requests()


def secret(name: str) -> str:
    """NAME from the file NAME_FILE names (a Docker secret at /run/secrets/), else from NAME.

    The environment fallback exists because operators use it (seed 002's .env); the
    reference platform never sets one, and the conformance suite fails any container
    whose environment carries a secret's value.
    """
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().rstrip("\n")
    if name in os.environ:
        return os.environ[name]
    raise SystemExit(f"{name}_FILE is unset: mount the secret and point {name}_FILE at it")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record):
        entry = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname.lower(),
                 "service": self.service, "replica": REPLICA, "msg": record.getMessage()}
        entry.update(getattr(record, "fields", {}))
        return json.dumps(entry)


def redis_client() -> aioredis.Redis:
    """Redis as the services reach it: the ACL user REDIS_USER, its password from REDIS_PASSWORD(_FILE)."""
    env = os.environ
    return aioredis.Redis(
        host=env["REDIS_HOST"], port=int(env.get("REDIS_PORT", "6379")), username=env.get("REDIS_USER") or None,
        password=secret("REDIS_PASSWORD"), decode_responses=True,
        socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT,
        # After a Redis restart the pooled connection is dead: retry once on a new one.
        retry=Retry(NoBackoff(), 1), retry_on_error=[aioredis.ConnectionError],
    )


def error(status, message, **headers):
    return web.json_response({"error": message}, status=status, headers=headers)


def jwt_middleware(secret_value: str):
    """Every path but /health* needs a bearer token signed with the platform's secret (HS256, exp required)."""
    @web.middleware
    async def require_jwt(request, handler):
        if request.path.startswith("/health"):
            return await handler(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return error(401, "missing bearer token", **{"WWW-Authenticate": "Bearer"})
        try:
            request["claims"] = jwt.decode(token, secret_value, algorithms=["HS256"], options={"require": ["exp"]})
        except jwt.InvalidTokenError as exc:
            return error(401, f"invalid token: {exc}", **{"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return await handler(request)
    return require_jwt


async def add_replica_header(request, response):
    response.headers["X-Replica"] = REPLICA


async def check(name, probe):
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT)
        return {"status": "up", "detail": "ok"}
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        log.warning("dependency down", extra={"fields": {"dependency": name, "detail": detail}})
        return {"status": "down", "detail": detail}


def health_handler(probes: dict):
    """/health: each dependency's status (seed 002 §Health check), 503 when one is down; cached a moment
    so a burst of checks through the edge does not become a burst on the dependencies."""
    async def health(request):
        if RELEASE_FAULT:
            return web.json_response({"status": "misconfigured", "replica": REPLICA, "version": APP_VERSION,
                                      "detail": RELEASE_FAULT}, status=503)
        cache = request.app["health"]
        if time.monotonic() - cache["at"] >= HEALTH_CACHE_SECONDS:
            results = await asyncio.gather(*(check(name, lambda p=p: p(request.app)) for name, p in probes.items()))
            dependencies = dict(zip(probes, results))
            ok = all(d["status"] == "up" for d in dependencies.values())
            cache.update(at=time.monotonic(), report={"status": "ok" if ok else "degraded", "replica": REPLICA,
                                                      "version": APP_VERSION, "dependencies": dependencies})
        report = cache["report"]
        return web.json_response(report, status=200 if report["status"] == "ok" else 503)
    return health


async def live(request):
    if RELEASE_FAULT:
        return web.json_response({"status": "misconfigured", "detail": RELEASE_FAULT}, status=503)
    return web.json_response({"status": "alive"})


def run(app: web.Application, service: str, port: int) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("psycopg.pool").setLevel(logging.WARNING)
    # Mutated in place: an aiohttp app's state is frozen once it has started.
    app["health"] = {"at": float("-inf"), "report": None}
    app.on_response_prepare.append(add_replica_header)
    app.router.add_get("/health/live", live)
    # Its first line on stdout (seed 000 §Best Practices 3): a log that stays empty tells an operator nothing.
    log.info("serving", extra={"fields": {"port": port}})
    metrics.serve_in_background()
    web.run_app(app, host="0.0.0.0", port=port, access_log=None, print=None)
