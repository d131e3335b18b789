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

from prometheus_client import start_http_server

METRICS_PORT = int(os.environ.get("METRICS_PORT", "9100"))
METRICS_LISTEN_NAME = os.environ.get("METRICS_LISTEN_NAME", "")
RESOLVE_ATTEMPTS = 30

log = logging.getLogger(__name__)


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
