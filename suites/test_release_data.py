"""Releases and the data they must keep: a worker stopped mid-message, and the migrations a release runs.

The ROLLOUT chapter's controls that judge the event store rather than the requests through
the edge (those are in test_rollout.py). A release stops workers (seed 000 §Best Practices 5:
handle SIGTERM) and runs the migrations before the new version starts (seed 001 §Database
Migrations: `docker compose run --rm migrations`). The migrations are the platform's
`migrations` role: declared under `x-conformance`, or inferred from a one-shot the services
wait on to complete that logs in to a database (docs/platform.md); a platform without one
(Pliers, seed 002, creates its schema at init) has these controls not applicable.
Every control here that changes the stack is `disruptive`: digests compared before and
after must not see other controls' orders land in between.
"""

import time

import pytest

from fixtures.controls import control
from fixtures.labs import event_store
from fixtures.platform.adapters import postgres

ORDERS_IN_FLIGHT = 20
ORDERS_BEFORE_A_MIGRATION = 5
STOP_GRACE_S = 3  # the stopped worker's grace, then SIGKILL: shorter than the hold on its write
MID_MESSAGE_TIMEOUT_S = 20
PROCESSED_TIMEOUT_S = 30
MIGRATION_TIMEOUT_S = 120


@pytest.fixture
def migrations(platform) -> str:
    """The platform's migrations service (the `migrations` role)."""
    return platform.service("migrations")


def _addresses(container) -> set[str]:
    return {n["IPAddress"] for n in container.attrs["NetworkSettings"]["Networks"].values() if n.get("IPAddress")}


@pytest.mark.disruptive
@control("ROLLOUT-010", severity="critical",
         reference="seed 000 §Best Practices 5 (handle SIGTERM); seed 001 §Message Bus Considerations",
         needs=("worker", "broker", "event_store:postgres", "edge", "gateway", "app:orders", "target:can_stop_replica"))
def test_a_worker_stopped_mid_message_loses_no_order_and_writes_none_twice(stack, platform, target, gateway, pg, observed):
    """A worker replica stopped while it writes an order loses no order, and no order is written twice.

    Rationale: a release stops every worker once. A worker that acknowledges a command before
    its write commits loses that order when it is stopped mid-message; one that writes without
    an idempotency key writes a redelivered command twice. Here the event store's tables are
    locked against writes (reads go on), orders are placed, the first worker replica is seen
    blocked in a write (mid-message), then stopped with SIGTERM and SIGKILL after a short
    grace; the lock is released and every accepted order must be in every table holding
    order ids exactly once. The replica is started again afterwards.
    """
    worker = platform.service("worker")
    replica = stack.containers(worker, include_stopped=False)[0]
    order_ids: list[str] = []
    with pg() as holder, pg() as watcher:
        stopped = ""
        try:
            with event_store.writes_held(holder) as tables:
                for _ in range(ORDERS_IN_FLIGHT):
                    posted = gateway.place_order(customer_id="customer-rollout")
                    assert posted.status_code in (201, 202), f"POST orders answered {posted.status_code}: {posted.text[:200]}"
                    order_ids.append(posted.json()["order_id"])
                waiting = event_store.wait_for_blocked_client(watcher, _addresses(replica), MID_MESSAGE_TIMEOUT_S)
                assert waiting, (f"{worker} replica {replica.name} never blocked in a write to the event store within "
                                 f"{MID_MESSAGE_TIMEOUT_S} s of {ORDERS_IN_FLIGHT} orders ({', '.join(tables)} held)")
                stopped = target.stop_replica(worker, 1, "SIGTERM", STOP_GRACE_S)
        finally:
            if stopped:
                replica.start()
        deadline = time.monotonic() + PROCESSED_TIMEOUT_S
        for order_id in order_ids:
            gateway.wait_for_order(order_id, timeout_s=max(deadline - time.monotonic(), 0.5))
        counts = event_store.order_counts(watcher, order_ids)
    stack.wait_healthy(worker)
    assert counts, "no table of the event store has an order_id column: where orders land is unknown"
    lost = [order_id for order_id in order_ids if not any(found[order_id] for found in counts.values())]
    twice = [f"{table}: {order_id} ×{n}" for table, found in counts.items() for order_id, n in found.items() if n > 1]
    missing_from = {table: sum(1 for n in found.values() if n == 0) for table, found in counts.items()}
    observed(f"{len(order_ids)} orders placed with writes held; {worker} replica {stopped} stopped mid-write "
             f"({waiting}); after {PROCESSED_TIMEOUT_S} s at most: "
             + ", ".join(f"{table} lacks {n}" for table, n in missing_from.items()))
    assert not lost and not twice, (
        f"{len(lost)} of {len(order_ids)} orders lost (in no table {PROCESSED_TIMEOUT_S} s after the worker stopped: "
        f"{', '.join(lost[:3])}); written twice: {', '.join(twice[:5]) or 'none'}"
    )


@control("ROLLOUT-011", severity="high", reference="seed 001 §Database Migrations; seed 001 §Security Hardening",
         needs=("migrations", "event_store:postgres"))
def test_migrations_run_with_application_rights(stack, migrations, pg, observed):
    """The migrations log in with a role that has application rights: no superuser, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS.

    Rationale: a migration runs on every release with whatever its service logs in as; a
    superuser migration can do anything a bad release tells it to, and leaves the tables owned
    by the superuser. The migration role needs to create and alter its own tables, nothing more.
    """
    credentials = postgres.application_credentials(stack.model.credentials_environment(migrations))
    assert credentials is not None, f"{migrations} names no database user (DATABASE_USER or a postgres:// URL)"
    with pg() as connection:
        rights = event_store.role_rights(connection, credentials.user)
        owned = event_store.owners(connection)
    assert rights is not None, f"{migrations} logs in as {credentials.user}, a role the event store does not have"
    observed(f"{migrations} logs in as {credentials.user}; tables owned by "
             + (", ".join(f"{t} ({o})" for t, o in owned.items()) or "nobody"))
    held = [right.removeprefix("rol") for right, has in rights.items() if has]
    assert not held, f"{migrations} logs in as {credentials.user}, which has {', '.join(held)}"


@pytest.mark.disruptive
@control("ROLLOUT-012", severity="high", reference="seed 001 §Database Migrations; seed 002 §Production Deployment Checklist (Run migrations)",
         needs=("migrations", "event_store:postgres", "target:can_run_once"))
def test_migrations_run_again_change_nothing(target, migrations, pg, fill_event_store, backup_lab, observed):
    """The migrations run once more (as every release runs them) exit 0 and leave the same schema and the same rows.

    Rationale: a release runs the migrations whether or not the schema moved since the last
    one; a migration that is not idempotent adds an index, a column or a row each time (or
    fails), and the second release is the one that breaks.
    """
    fill_event_store(ORDERS_BEFORE_A_MIGRATION)
    with pg() as connection:
        schema_before = event_store.schema(connection)
    rows_before = backup_lab.postgres_digests()
    started = time.monotonic()
    outcome = target.run_once(migrations, timeout_s=MIGRATION_TIMEOUT_S)
    took = time.monotonic() - started
    with pg() as connection:
        changes = event_store.schema_changes(schema_before, event_store.schema(connection))
    rows_after = backup_lab.postgres_digests()
    observed(f"{migrations} run again: exit {outcome.exit_code} in {took:.1f} s ({outcome.output[-200:]}); "
             f"{len(schema_before)} schema lines, {rows_before.rows} rows before")
    assert outcome.exit_code == 0, f"{migrations} run again exited {outcome.exit_code}: {outcome.output}"
    problems = changes + rows_before.mismatches(rows_after)
    problems += [f"{table} added" for table in sorted(set(rows_after.tables) - set(rows_before.tables))]
    assert not problems, f"a second run of {migrations} changed the event store: {'; '.join(problems[:6])}"


@pytest.mark.disruptive
@control("ROLLOUT-013", severity="critical", reference="seed 001 §Database Migrations; seed 001 §Backup Strategy",
         needs=("migrations", "event_store:postgres", "target:can_run_once"))
def test_a_migration_keeps_every_row(target, migrations, fill_event_store, backup_lab, observed):
    """The migrations run against an event store holding orders keep every row: equal row counts and ordered checksums per table.

    Rationale: a release migrates a database full of customers' orders. A migration that drops
    and recreates a table (or rewrites one and loses rows) passes on an empty development
    database and loses production's data; the same digests as the BACKUP chapter's round trips
    tell.
    """
    fill_event_store(ORDERS_BEFORE_A_MIGRATION)
    before = backup_lab.postgres_digests()
    outcome = target.run_once(migrations, timeout_s=MIGRATION_TIMEOUT_S)
    after = backup_lab.postgres_digests()
    observed(f"{migrations}: exit {outcome.exit_code}; before: {before.summary()}; after: {after.summary()}")
    assert before.rows > 0, f"the event store is empty after {ORDERS_BEFORE_A_MIGRATION} orders: {before.summary()}"
    assert not before.mismatches(after), (
        f"{migrations} lost data: {'; '.join(before.mismatches(after))} (exit {outcome.exit_code})")
    assert outcome.exit_code == 0, f"{migrations} exited {outcome.exit_code}: {outcome.output}"
