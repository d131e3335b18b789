"""Prometheus metrics (prometheus_client), served on the metrics network alone.

METRICS_LISTEN_NAME is a name only the metrics network knows (a compose network alias): it
resolves to this service's replicas there, and the one address of them this container can
bind is its own. So the endpoint answers Prometheus on that network and nobody on the edge's;
without the name there is no metrics endpoint at all.
"""
import logging
import os
import socket
import threading
import time
from typing import Callable

from aiohttp import web
from prometheus_client import Counter, Histogram, start_http_server

METRICS_PORT = int(os.environ.get("METRICS_PORT", "9100"))
METRICS_LISTEN_NAME = os.environ.get("METRICS_LISTEN_NAME", "")
RESOLVE_ATTEMPTS = 30

log = logging.getLogger(__name__)

# Seed 004 §Monitoring: requests by method, route and status, and their latency. Every HTTP
# service of both reference platforms counts them under these names, so the seeds' alert rules
# (stack/prometheus/rules/) read them all.
REQUESTS = Counter("http_requests", "Requests answered, by method, route and status", ["method", "route", "status"])
LATENCY = Histogram("http_request_duration_seconds", "Time to answer a request", ["method", "route"])

Answered = Callable[[web.Request, int, float], None]  # (request, status, seconds) once it is answered


def counting_requests(then: Answered | None = None):
    """An aiohttp middleware counting every answer (an exception's status too) and its latency,
    then calling `then` with the request, its status and its seconds (a service's access log)."""
    @web.middleware
    async def count(request, handler):
        started, status = time.monotonic(), 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            elapsed = time.monotonic() - started
            resource = request.match_info.route.resource
            route = resource.canonical if resource else "unmatched"
            REQUESTS.labels(request.method, route, str(status)).inc()
            LATENCY.labels(request.method, route).observe(elapsed)
            if then:
                then(request, status, elapsed)
    return count


def _serve(name: str, port: int) -> None:
    for _ in range(RESOLVE_ATTEMPTS):
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)}
        except OSError:
            addresses = set()
        for address in sorted(addresses):
            try:
                start_http_server(port, addr=address)
            except OSError:
                continue  # another replica's address
            log.info("metrics served", extra={"fields": {"address": f"{address}:{port}"}})
            return
        time.sleep(1)
    log.error("metrics not served", extra={"fields": {"detail": f"no address of {name} is this container's"}})


def serve_in_background() -> None:
    """Start the endpoint once the name resolves, without holding the service's start up."""
    if METRICS_LISTEN_NAME:
        threading.Thread(target=_serve, args=(METRICS_LISTEN_NAME, METRICS_PORT), daemon=True, name="metrics").start()
