#!/bin/bash
# The event store's roles, created once at first init.
# - EVENTSTORE_APP_USER: the services' login role. It reads and writes the tables but owns
#   nothing, so a leaked app password cannot alter the schema.
# - EVENTSTORE_MIGRATION_USER (optional): the migrations service's login role, the owner of what
#   the migrations create (stack/postgres/migrations/): CREATE on the schema, and nothing more
#   (no superuser, no CREATEDB or CREATEROLE), so a migration runs with application rights.
# A platform without a migrations service mounts the migrations at /migrations instead: they
#   are applied here, once, as the init superuser.
set -Eeuo pipefail

# *_PASSWORD_FILE: a password in a file (a Docker secret), like POSTGRES_PASSWORD_FILE.
for variable in EVENTSTORE_APP_PASSWORD EVENTSTORE_MIGRATION_PASSWORD; do
	file_variable="${variable}_FILE"
	if [ -n "${!file_variable:-}" ]; then
		export "$variable"="$(< "${!file_variable}")"
	fi
done
: "${EVENTSTORE_APP_USER:?EVENTSTORE_APP_USER is unset}"
: "${EVENTSTORE_APP_PASSWORD:?EVENTSTORE_APP_PASSWORD is unset}"

# psql reads the passwords from the environment (\getenv), so they never reach a command line.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
	--set app_user="$EVENTSTORE_APP_USER" --set db="$POSTGRES_DB" \
	--set migration_user="${EVENTSTORE_MIGRATION_USER:-}" <<-'SQL'
	\getenv app_password EVENTSTORE_APP_PASSWORD
	SET password_encryption = 'scram-sha-256';
	CREATE ROLE :"app_user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
		PASSWORD :'app_password';

	REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
	GRANT CONNECT ON DATABASE :"db" TO :"app_user";
	GRANT USAGE ON SCHEMA public TO :"app_user";

	SELECT :'migration_user' <> '' AS has_migration_user \gset
	\if :has_migration_user
		\getenv migration_password EVENTSTORE_MIGRATION_PASSWORD
		CREATE ROLE :"migration_user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
			PASSWORD :'migration_password';
		GRANT CONNECT ON DATABASE :"db" TO :"migration_user";
		GRANT USAGE, CREATE ON SCHEMA public TO :"migration_user";
	\else
		-- Tables an earlier init script created (the migrations mounted as one, on Kubernetes).
		GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO :"app_user";
	\endif
SQL

if [ -z "${EVENTSTORE_MIGRATION_USER:-}" ] && [ -d /migrations ]; then
	for file in /migrations/*.sql; do
		psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
			--set app_user="$EVENTSTORE_APP_USER" --single-transaction -f "$file"
	done
fi
