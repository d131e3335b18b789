"""A shop's API clients through the edge: place orders, then read them back (one write in four).

Each user is a client with its own JWT; it places orders for a customer of its own and polls
the orders it placed. A read of an order not yet processed answers 404 and counts as a success:
commands are asynchronous (accepted with 202, projected when an order-service replica has
written the event). Every request carries a fresh `X-Request-ID` (a uuid), which its record names.
"""

import random
import ssl
import time
import uuid

from geventhttpclient.response import HTTPConnectionClosed
from locust import FastHttpUser, between, task

import _platform

# No answer because the connection closed, as opposed to a timeout (an answer that never came).
DROPPED = (ConnectionError, HTTPConnectionClosed, ssl.SSLEOFError, ssl.SSLZeroReturnError)


def _failure(name: str, response) -> str:
    if response.status_code == 0:
        return f"{name}: no answer ({type(getattr(response, 'error', None)).__name__})"
    return f"{name} answered {response.status_code}"


# An order command is accepted (202: processed later by a worker) or created (201: a synchronous API).
ACCEPTED = (201, 202)

class OrderClientUser(FastHttpUser):
    wait_time = between(0.05, 0.25)
    # A client gives up on a stuck request well before nginx's 60 s upstream timeout.
    network_timeout = 10.0
    connection_timeout = 5.0
    # Idempotent requests (the reads) are resent once when a keep-alive connection drops.
    max_retries = 1
    SKUS = [f"SKU-{n:03d}" for n in range(1, 51)]

    def on_start(self):
        options = self.environment.parsed_options
        if options.edge_ca_file:
            self.insecure = False
            self.ssl_context_factory = _platform.ssl_context_factory(options.edge_ca_file)
        self.prefix = "/" + options.api_prefix.strip("/") if options.api_prefix.strip("/") else ""
        self.customer_id = f"load-customer-{random.randrange(10**6):06d}"
        self.token = _platform.mint_token(options.jwt_secret, self.customer_id)
        self.token_minted = time.monotonic()
        self.placed: list[str] = []

    def headers(self) -> dict[str, str]:
        if time.monotonic() - self.token_minted > _platform.TOKEN_TTL_S / 2:
            self.token = _platform.mint_token(self.environment.parsed_options.jwt_secret, self.customer_id)
            self.token_minted = time.monotonic()
        return {"Authorization": f"Bearer {self.token}"}

    @task(1)
    def place_order(self):
        items = [{"sku": sku, "quantity": random.randint(1, 5), "price": round(random.uniform(1, 200), 2)}
                 for sku in random.sample(self.SKUS, random.randint(1, 3))]
        body = {"customer_id": self.customer_id, "items": items}
        headers = {**self.headers(), "Idempotency-Key": str(uuid.uuid4())}
        for attempt in (1, 2):
            with self.client.post(f"{self.prefix}/orders", json=body, name="POST /orders", catch_response=True,
                                  **_platform.traced(headers)) as response:
                if attempt == 1 and isinstance(getattr(response, "error", None), DROPPED):
                    # The connection dropped with no answer at all: the edge closed an idle
                    # keep-alive connection as the command went out (an nginx reload does).
                    # Resent once with the same Idempotency-Key, as an HTTP client may do for
                    # a non-idempotent request it made idempotent; listed on a row of its own.
                    response.request_meta["name"] = "POST /orders (connection dropped, resent)"
                    response.success()
                    continue
                if response.status_code not in ACCEPTED:
                    response.failure(_failure("POST /orders", response))
                    return
                self.placed = (self.placed + [response.json()["order_id"]])[-20:]
                return

    @task(3)
    def read_order(self):
        if not self.placed:
            return self.place_order()
        order_id = random.choice(self.placed)
        with self.client.get(f"{self.prefix}/orders/{order_id}", name="GET /orders/{id}", catch_response=True,
                             **_platform.traced(self.headers())) as response:
            if response.status_code in (200, 404):
                response.success()
            else:
                response.failure(_failure("GET /orders/{id}", response))
