#!/bin/sh
# The migrations service (seed 001 §Database Migrations: `docker compose run --rm migrations`):
# applies every *.sql file of this directory that the event store has not recorded yet, in name
# order, each in one transaction with its record in schema_migrations. It connects as the
# migration role (DATABASE_USER: the tables' owner, not a superuser); EVENTSTORE_APP_USER is
# the services' role the migrations grant to. Running it again applies nothing.
set -eu
# DATABASE_PASSWORD_FILE: the password in a file (a Docker secret at /run/secrets/, on Swarm).
if [ -n "${DATABASE_PASSWORD_FILE:-}" ]; then
	DATABASE_PASSWORD="$(cat "$DATABASE_PASSWORD_FILE")"
fi
: "${DATABASE_HOST:?DATABASE_HOST is unset}" "${DATABASE_USER:?DATABASE_USER is unset}"
export PGHOST="$DATABASE_HOST" PGPORT="${DATABASE_PORT:-5432}" PGDATABASE="${DATABASE_NAME:?DATABASE_NAME is unset}"
export PGUSER="$DATABASE_USER" PGPASSWORD="${DATABASE_PASSWORD:?DATABASE_PASSWORD is unset}"
export PGCONNECT_TIMEOUT=10 PGAPPNAME=migrations PGOPTIONS="-c client_min_messages=warning"
dir="$(dirname "$0")"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# A database that does not take connections yet (its healthcheck passed early, or nothing
# ordered the start, as on Swarm) is waited for, 60 s at most; then the first psql says why.
waited=0
until pg_isready -q || [ "$waited" -ge 60 ]; do
	sleep 1
	waited=$((waited + 1))
done

psql -c "CREATE TABLE IF NOT EXISTS schema_migrations (
	version    text PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now())"
applied=0
for file in "$dir"/*.sql; do
	version="$(basename "$file" .sql)"
	# psql interpolates :'version' in what it reads, never in -c.
	done_before="$(echo "SELECT count(*) FROM schema_migrations WHERE version = :'version'" | psql -tA --set version="$version")"
	[ "$done_before" = 0 ] || continue
	echo "INSERT INTO schema_migrations (version) VALUES (:'version');" |
		psql --single-transaction --set app_user="${EVENTSTORE_APP_USER:?EVENTSTORE_APP_USER is unset}" \
			--set version="$version" -f "$file" -f -
	echo "migrations: applied $version"
	applied=$((applied + 1))
done
echo "migrations: $applied applied, the event store is at $(psql -tA -c 'SELECT max(version) FROM schema_migrations')"
