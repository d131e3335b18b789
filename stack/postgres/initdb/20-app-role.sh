#!/bin/bash
# The event store's application role, created once at first init (after 10-schema.sql).
# The services connect as EVENTSTORE_APP_USER: a login role that reads and writes the
# tables but owns nothing, so a leaked app password cannot alter the schema.
set -Eeuo pipefail

# EVENTSTORE_APP_PASSWORD_FILE: the password in a file (a Docker secret), like POSTGRES_PASSWORD_FILE.
if [ -n "${EVENTSTORE_APP_PASSWORD_FILE:-}" ]; then
	EVENTSTORE_APP_PASSWORD="$(< "$EVENTSTORE_APP_PASSWORD_FILE")"
	export EVENTSTORE_APP_PASSWORD
fi
: "${EVENTSTORE_APP_USER:?EVENTSTORE_APP_USER is unset}"
: "${EVENTSTORE_APP_PASSWORD:?EVENTSTORE_APP_PASSWORD is unset}"

# psql reads the password from the environment (\getenv), so it never reaches a command line.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
	--set app_user="$EVENTSTORE_APP_USER" --set db="$POSTGRES_DB" <<-'SQL'
	\getenv app_password EVENTSTORE_APP_PASSWORD
	SET password_encryption = 'scram-sha-256';
	CREATE ROLE :"app_user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
		PASSWORD :'app_password';

	REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
	GRANT CONNECT ON DATABASE :"db" TO :"app_user";
	GRANT USAGE ON SCHEMA public TO :"app_user";
	GRANT SELECT, INSERT, UPDATE ON events, orders TO :"app_user";
SQL
