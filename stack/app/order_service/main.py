"""Order service: a competing consumer of order commands.

Each command becomes an OrderPlaced event in the event store plus its row in the orders
projection, written in one transaction and acknowledged only after the commit. The event's
unique order_id makes a redelivered command a no-op.
"""
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from decimal import Decimal
from functools import partial
from pathlib import Path

import pika
import psycopg
from pika.exceptions import AMQPError
from prometheus_client import Counter
from psycopg.types.json import Jsonb

import metrics
from file_variables import read_file_variables

read_file_variables()

REPLICA = socket.gethostname()
ORDER_QUEUE = os.environ.get("ORDER_QUEUE", "orders.commands")
PREFETCH = 10
HEARTBEAT_FILE = Path("/tmp/heartbeat")
HEARTBEAT_SECONDS = 1
RETRY_SECONDS = 2
# The command's correlation id (the message's `correlation_id` property) goes into the event's
# payload and the log line; the knob exists so the suite can prove it notices a worker that drops it.
PROPAGATE_CORRELATION_ID = os.environ.get("PROPAGATE_CORRELATION_ID", "true").lower() not in ("false", "0", "no")

log = logging.getLogger("order-service")

# Messages by fate (metrics.py serves them): every delivery is consumed, then acked or rejected.
CONSUMED = Counter("messages_consumed", "Order commands delivered to this worker")
ACKED = Counter("messages_acked", "Order commands acknowledged after their event was written")
REDELIVERED = Counter("messages_redelivered", "Order commands delivered again (a consumer died before its ack)")
REJECTED = Counter("messages_rejected", "Order commands rejected as unwritable")
stopping = threading.Event()


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "service": "order-service",
            "replica": REPLICA,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        return json.dumps(entry)


def parse_command(body):
    command = json.loads(body)
    order_id = str(uuid.UUID(command["order_id"]))
    if not isinstance(command["customer_id"], str) or not command["items"]:
        raise ValueError("customer_id and items are required")
    # Through str: the total of 3 x 0.1 is 0.3, not a binary float's 0.30000000000000004.
    total = sum(Decimal(str(i["price"])) * int(i["quantity"]) for i in command["items"])
    return order_id, command, total


def record(db, order_id, command, total):
    """Write the event and, only if it is new, its projection row."""
    with db.transaction():
        inserted = db.execute(
            """INSERT INTO events (order_id, type, payload, processed_by)
               VALUES (%s, 'OrderPlaced', %s, %s)
               ON CONFLICT (order_id) DO NOTHING""",
            (order_id, Jsonb(command), REPLICA),
        ).rowcount
        if inserted:
            db.execute(
                """INSERT INTO orders (order_id, customer_id, items, total, status,
                                       processed_by, updated_at)
                   VALUES (%s, %s, %s, %s, 'processed', %s, now())
                   ON CONFLICT (order_id) DO UPDATE SET
                       customer_id = EXCLUDED.customer_id, items = EXCLUDED.items,
                       total = EXCLUDED.total, status = EXCLUDED.status,
                       processed_by = EXCLUDED.processed_by, updated_at = EXCLUDED.updated_at""",
                (order_id, command["customer_id"], Jsonb(command["items"]), total, REPLICA),
            )
    return bool(inserted)


def handle(db, channel, method, properties, body):
    correlation_id = properties.correlation_id if PROPAGATE_CORRELATION_ID else None
    CONSUMED.inc()
    if method.redelivered:
        REDELIVERED.inc()
    try:
        order_id, command, total = parse_command(body)
        if correlation_id:
            command["correlation_id"] = correlation_id
        new = record(db, order_id, command, total)
    except (ValueError, KeyError, TypeError, psycopg.DataError, psycopg.IntegrityError) as exc:
        # Redelivering a command that can never be written would loop forever.
        log.error("rejecting command", extra={"fields": {"detail": repr(exc), "correlation_id": correlation_id}})
        channel.basic_reject(method.delivery_tag, requeue=False)
        REJECTED.inc()
        return
    channel.basic_ack(method.delivery_tag)
    ACKED.inc()
    log.info("order processed" if new else "duplicate command ignored",
             extra={"fields": {"order_id": order_id, "redelivered": method.redelivered,
                               "correlation_id": correlation_id}})


def consume():
    """Consume until asked to stop; a lost broker or event store raises."""
    env = os.environ
    params = pika.URLParameters(env["RABBITMQ_URL"])
    params.connection_attempts = 1
    params.socket_timeout = 5
    with psycopg.connect(
        host=env["DATABASE_HOST"], port=env.get("DATABASE_PORT", "5432"),
        dbname=env["DATABASE_NAME"], user=env["DATABASE_USER"],
        password=env["DATABASE_PASSWORD"], connect_timeout=5, autocommit=True,
        application_name=f"order-service@{REPLICA}",
    ) as db:
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            channel.queue_declare(ORDER_QUEUE, durable=True)
            channel.basic_qos(prefetch_count=PREFETCH)
            channel.basic_consume(ORDER_QUEUE, partial(handle, db))
            log.info("consuming", extra={"fields": {"queue": ORDER_QUEUE}})
            next_beat = 0.0
            while not stopping.is_set():
                connection.process_data_events(time_limit=HEARTBEAT_SECONDS)
                if time.monotonic() >= next_beat:
                    # An idle consumer must notice a lost event store as well.
                    db.execute("SELECT 1")
                    HEARTBEAT_FILE.touch()
                    next_beat = time.monotonic() + HEARTBEAT_SECONDS
        finally:
            # Closing returns unacknowledged deliveries to the queue for another consumer.
            if connection.is_open:
                connection.close()


def main():
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # pika logs every failed connection step at ERROR; the failure reaches us as an
    # exception and is logged once with its context.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    metrics.serve_in_background()
    while not stopping.is_set():
        try:
            consume()
        except (AMQPError, psycopg.OperationalError, OSError) as exc:
            log.warning("dependency unavailable, reconnecting",
                        extra={"fields": {"detail": repr(exc)}})
            stopping.wait(RETRY_SECONDS)
    log.info("stopped")


if __name__ == "__main__":
    main()
