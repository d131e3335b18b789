"""Backup: the operators' scripts round-trip every store's data, and data survives restarts.

The round trips that only read the stack's stores run beside other controls: a Postgres dump
is compared against digests taken before and after it (equal: nothing landed in between, else
it is taken again), a Redis snapshot against keys of the control's own, the broker's exported
definitions against those a fresh broker exports after the import (holding `broker_definitions`
against the one other control that changes them beside it, OBS-001's trace). The controls that
stop, kill or re-create a service, or read a volume under a stopped server, are `disruptive`
and hold the stack alone. The scripts are the ones operators run (stack/ops/); restore targets
are containers and volumes of the suite's own, removed when each control ends.
"""

import secrets
import time

import pytest

from fixtures.controls import control

ORDERS_BEFORE_A_DUMP = 5
REDIS_KEYS = 300
PERSISTENT_MESSAGES = 50


def _round_trip_message(source, restored, dump_s: float, restore_s: float, dumps: int = 1) -> str:
    again = f" (the last of {dumps}: other controls wrote during the others)" if dumps > 1 else ""
    return (f"{len(source.tables)} tables, {source.rows} rows; restored {len(restored.tables)} tables, "
            f"{restored.rows} rows; mismatched tables = {len(source.mismatches(restored))}; "
            f"dump {dump_s}s{again}, restore {restore_s}s ({source.summary()})")


@control("BACKUP-001", severity="critical", reference="seed 001 §Backup Strategy (PostgreSQL Backup); seed 003 §Data Locations",
         needs=("event_store:postgres",))
def test_postgres_dump_restores_into_a_fresh_database(backup_lab, fill_event_store, observed):
    """A pg_dump -Fc of the event store restores into a fresh database with equal rows and checksums per table."""
    fill_event_store(ORDERS_BEFORE_A_DUMP)
    source, dump_s, dumps = backup_lab.postgres_quiet_backup()
    database = f"restore_{backup_lab.id}"
    restore_s = backup_lab.postgres_restore(database)
    restored = backup_lab.postgres_digests(database=database)
    message = _round_trip_message(source, restored, dump_s, restore_s, dumps)
    observed(message)
    assert source.rows > 0, f"the event store is empty after {ORDERS_BEFORE_A_DUMP} orders: {message}"
    assert not source.mismatches(restored), f"{'; '.join(source.mismatches(restored))}: {message}"


@control("BACKUP-002", severity="critical", reference="seed 001 §Disaster Recovery (3. Restore database from SQL dump)",
         needs=("event_store:postgres",))
def test_postgres_dump_restores_into_a_fresh_container(backup_lab, fill_event_store, observed):
    """A pg_dump -Fc of the event store restores into a fresh Postgres container with equal rows and checksums."""
    fill_event_store(ORDERS_BEFORE_A_DUMP)
    source, dump_s, dumps = backup_lab.postgres_quiet_backup()
    host = backup_lab.start_postgres()
    restore_s = backup_lab.postgres_restore(backup_lab.stack.postgres_credentials().database, host=host)
    restored = backup_lab.postgres_digests(host=host)
    message = _round_trip_message(source, restored, dump_s, restore_s, dumps)
    observed(message)
    assert source.rows > 0, f"the event store is empty after {ORDERS_BEFORE_A_DUMP} orders: {message}"
    assert not source.mismatches(restored), f"{'; '.join(source.mismatches(restored))}: {message}"


@pytest.mark.disruptive
@control("BACKUP-003", severity="high", reference="seed 001 §Volume Backup; seed 003 §Volumes",
         needs=("event_store:postgres",))
def test_postgres_volume_restores_into_a_new_volume(backup_lab, fill_event_store, observed):
    """The Postgres data volume, archived with tar, restores into a new volume a fresh container starts on with equal data."""
    mount = backup_lab.postgres_data_mount()
    assert mount["Type"] == "volume", (
        f"PGDATA {mount['Destination']} is on {mount['Type']}, not a named volume: there is no volume to back up "
        f"and the event store dies with its container"
    )
    fill_event_store(ORDERS_BEFORE_A_DUMP)
    source = backup_lab.postgres_digests()
    backup_s = backup_lab.postgres_volume_backup(mount["Name"])
    volume, restore_s = backup_lab.volume_restore()
    host = backup_lab.start_postgres(volume=volume)
    restored = backup_lab.postgres_digests(host=host)
    message = _round_trip_message(source, restored, backup_s, restore_s).replace("dump", "tar")
    observed(message)
    assert source.rows > 0, f"the event store is empty after {ORDERS_BEFORE_A_DUMP} orders: {message}"
    assert not source.mismatches(restored), f"{'; '.join(source.mismatches(restored))}: {message}"


@control("BACKUP-004", severity="high", reference="seed 002 §Backup and Recovery (Backup Redis: BGSAVE)",
         needs=("cache:redis",))
def test_redis_snapshot_restores_into_a_fresh_redis(backup_lab, redis_client, observed):
    """Keys written to Redis, snapshotted with BGSAVE, come back with equal values in a fresh Redis."""
    prefix = f"backup:rdb:{backup_lab.id}:"
    written = {f"{prefix}{n}": secrets.token_hex(8) for n in range(REDIS_KEYS)}
    redis_client.mset(written)
    try:
        backup_s = backup_lab.redis_backup()
        host, password, restore_s = backup_lab.start_restored_redis()
        restored = backup_lab.read_redis(host, password, f"{prefix}*")
    finally:
        redis_client.delete(*written)
    differing = sum(1 for key, value in written.items() if key in restored and restored[key] != value)
    missing = len(set(written) - set(restored))
    observed(f"{len(restored)}/{len(written)} keys restored, {differing} with another value; "
             f"BGSAVE and copy {backup_s}s, restore {restore_s}s")
    assert (missing, differing) == (0, 0), (
        f"fresh Redis from the snapshot: {missing} of {len(written)} keys missing, {differing} differ"
    )


# The longest a write may stay unwritten under each appendfsync policy, as Redis documents it.
FSYNC_WINDOW_S = {"always": 0.0, "everysec": 1.0, "no": 30.0}


@pytest.mark.disruptive
@control("BACKUP-005", severity="high", reference="seed 003 §Data Persistence (redis-data); seed 003 §Data Loss After Restart",
         needs=("cache:redis",))
def test_redis_killed_loses_no_more_than_its_fsync_policy(backup_lab, redis_client, observed):
    """Redis killed with SIGKILL after writes recovers every key older than its fsync window."""
    config = redis_client.config_get("append*")
    aof, policy = config.get("appendonly"), config.get("appendfsync")
    prefix = f"backup:kill:{backup_lab.id}:"
    written_at = {}
    for n in range(REDIS_KEYS):
        redis_client.set(f"{prefix}{n}", n)
        written_at[f"{prefix}{n}"] = time.monotonic()
    time.sleep(2)  # past the everysec window: every write above is owed to the disk
    backup_lab.kill_redis()
    killed_at = time.monotonic()
    states = backup_lab.stack.wait_healthy(backup_lab.cache, timeout_s=60)
    redis_client.connection_pool.disconnect()  # its connections died with the killed server
    try:
        recovered = {key for key in written_at if redis_client.exists(key)}
    finally:
        redis_client.delete(*written_at)
    # Without AOF no fsync policy covers writes between snapshots: every one of them is owed.
    window = FSYNC_WINDOW_S.get(policy, 0.0) if aof == "yes" else 0.0
    allowed = sum(1 for at in written_at.values() if killed_at - at <= window)
    lost = len(written_at) - len(recovered)
    observed(f"keys recovered / written = {len(recovered)}/{len(written_at)} after SIGKILL "
             f"(appendonly {aof}, appendfsync {policy}, allowed loss {allowed}; redis {states})")
    assert lost <= allowed, (
        f"Redis lost {lost} of {len(written_at)} keys written at least 2 s before SIGKILL; appendonly {aof}, "
        f"appendfsync {policy} allows {allowed}"
    )


def _definitions(exported: dict, vhosts: set[str]) -> dict[str, set]:
    """The definitions a round trip must keep, as comparable sets (users with their password hashes)."""
    return {
        "users": {(u["name"], u.get("password_hash", ""), u.get("tags") if isinstance(u.get("tags"), str)
                   else ",".join(sorted(u.get("tags") or []))) for u in exported.get("users", [])},
        "vhosts": {v["name"] for v in exported.get("vhosts", []) if v["name"] in vhosts},
        "permissions": {(p["user"], p["vhost"], p["configure"], p["write"], p["read"])
                        for p in exported.get("permissions", []) if p["vhost"] in vhosts},
        "exchanges": {(e["vhost"], e["name"], e["type"], e["durable"]) for e in exported.get("exchanges", [])
                      if e["vhost"] in vhosts},
        "queues": {(q["vhost"], q["name"], q["durable"]) for q in exported.get("queues", []) if q["vhost"] in vhosts},
        "bindings": {(b["vhost"], b["source"], b["destination"], b["destination_type"], b["routing_key"])
                     for b in exported.get("bindings", []) if b["vhost"] in vhosts},
    }


@control("BACKUP-006", severity="high", reference="seed 003 §Volumes (rabbitmq-data); seed 001 §Disaster Recovery",
         needs=("broker:rabbitmq",))
def test_rabbitmq_definitions_round_trip(backup_lab, broker_definitions, observed):
    """RabbitMQ definitions (users, vhosts, permissions, exchanges, queues, bindings) exported and imported into a fresh broker are equal."""
    vhost = f"backup-{backup_lab.id}"
    added = backup_lab.rabbitmq_add_definitions(vhost)
    exported, export_s = backup_lab.rabbitmq_export("definitions.json")
    host = backup_lab.start_rabbitmq()
    import_s = backup_lab.rabbitmq_import("definitions.json", host)
    reexported, _ = backup_lab.rabbitmq_export("definitions-restored.json", host=host)
    vhosts = {v["name"] for v in exported.get("vhosts", [])}
    before, after = _definitions(exported, vhosts), _definitions(reexported, vhosts)
    missing = {kind: sorted(before[kind] - after[kind]) for kind in before if before[kind] - after[kind]}
    counts = ", ".join(f"{len(before[k])} {k}" for k in before)
    observed(f"exported {counts} (with {', '.join(added)}); missing after import: "
             f"{sum(len(v) for v in missing.values())}; export {export_s}s, import {import_s}s")
    assert before["queues"] and before["bindings"], f"the export holds no queue or binding to prove: {counts}"
    shown = {kind: [item[:3] if kind == "users" else item for item in items][:5] for kind, items in missing.items()}
    assert not missing, f"definitions missing from the fresh broker after import: {shown}"


@pytest.mark.disruptive
@control("BACKUP-007", severity="critical", reference="seed 001 §Message Bus Considerations; seed 003 §Volumes (rabbitmq-data)",
         needs=("broker:rabbitmq", "worker", "edge", "app:orders"))
def test_confirmed_orders_survive_a_broker_restart(backup_lab, gateway, stack, compose_model, platform, observed):
    """Orders the gateway confirmed (publisher confirms) to the durable command queue survive a broker restart: none lost."""
    worker, broker = platform.service("worker"), platform.service("broker")
    queue = compose_model.environment(platform.service("gateway")).get("ORDER_QUEUE") or "orders.commands"
    # No consumer meanwhile: the commands must still be in the queue when the broker restarts.
    stack.stop(worker)
    try:
        confirmed = []
        for _ in range(PERSISTENT_MESSAGES):
            posted = gateway.place_order(customer_id="customer-durability")
            if posted.status_code == 202:
                confirmed.append(posted.json()["order_id"])
        stack.stop(broker)
        stack.start(broker)
        # A broker recovers its durable queues before it opens its listeners: the queue is
        # drained as soon as AMQP accepts, while the broker's healthcheck catches up.
        consumed = backup_lab.drain_queue(queue)
    finally:
        # The workers start beside the broker's own wait (they reconnect until it lets them in).
        stack.start(worker)
        broker_states = stack.wait_healthy(broker, timeout_s=120)
        stack.wait_healthy(worker, timeout_s=90)
    unique = set(consumed) & set(confirmed)
    lost = len(confirmed) - len(unique)
    duplicates = len(consumed) - len(set(consumed))
    observed(f"confirmed {len(confirmed)}/{PERSISTENT_MESSAGES}, consumed after restart {len(consumed)} "
             f"({len(unique)} unique of ours, {duplicates} duplicates); lost = {lost} (broker {broker_states})")
    assert len(confirmed) == PERSISTENT_MESSAGES, f"the gateway confirmed only {len(confirmed)} of {PERSISTENT_MESSAGES} orders"
    assert lost == 0, f"lost = confirmed - unique consumed = {len(confirmed)} - {len(unique)} = {lost} after a broker restart"


@pytest.mark.disruptive
@control("BACKUP-008", severity="critical", reference="seed 003 §Data Persistence; seed 003 §Data Loss After Restart; seed 001 §Stopping Services",
         needs=("event_store:postgres", "target:owns_stack"))
def test_data_survives_compose_down_and_up(request, backup_lab, fill_event_store, stack, platform, observed):
    """Event store rows, Redis keys and durable RabbitMQ definitions survive `docker compose down` (without -v) and `up`.

    Rationale: each store the platform has is judged (a platform without a cache or a broker
    is judged on the rest); `down` without `-v` is an operator's restart, and nothing may go.
    """
    redis_client = request.getfixturevalue("redis_client") if platform.technology("cache") == "redis" else None
    rabbitmq_api = request.getfixturevalue("rabbitmq_api") if platform.technology("broker") == "rabbitmq" else None
    fill_event_store(ORDERS_BEFORE_A_DUMP)
    vhost = f"persist-{backup_lab.id}"
    if rabbitmq_api:
        backup_lab.rabbitmq_add_definitions(vhost)
    marker = f"backup:persist:{backup_lab.id}"
    value = secrets.token_hex(8)
    if redis_client:
        redis_client.set(marker, value)
    source = backup_lab.postgres_digests()
    time.sleep(2)  # past Redis's everysec window: the marker is owed to the disk
    seconds = backup_lab.down_and_up()
    after = backup_lab.postgres_digests()
    kept_value = value
    if redis_client:
        redis_client.connection_pool.disconnect()  # its connections died with the old containers
        try:
            kept_value = redis_client.get(marker)
        finally:
            redis_client.delete(marker)
    queue = rabbitmq_api.get(f"/queues/{vhost}/backup.queue").status_code if rabbitmq_api else 200
    lost = source.mismatches(after)
    observed(f"down/up {seconds}s; event store {after.rows}/{source.rows} rows, mismatched tables = {len(lost)}; "
             + (f"redis key {'kept' if kept_value == value else 'lost'}; " if redis_client else "no Redis; ")
             + (f"durable queue {'kept' if queue == 200 else f'lost ({queue})'}" if rabbitmq_api else "no RabbitMQ"))
    assert source.rows > 0, f"the event store is empty after {ORDERS_BEFORE_A_DUMP} writes"
    assert not lost, f"after down/up: {'; '.join(lost)}"
    assert kept_value == value, f"Redis key {marker} after down/up: {kept_value!r}, written {value!r}"
    assert queue == 200, f"durable queue backup.queue in vhost {vhost} after down/up: management API answered {queue}"
