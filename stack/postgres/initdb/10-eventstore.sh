#!/bin/bash
# Event store schema and its application role, created once at first init.
# The services connect as EVENTSTORE_APP_USER: a login role that reads and writes the
# tables but owns nothing, so a leaked app password cannot alter the schema.
set -Eeuo pipefail

: "${EVENTSTORE_APP_USER:?EVENTSTORE_APP_USER is unset}"
: "${EVENTSTORE_APP_PASSWORD:?EVENTSTORE_APP_PASSWORD is unset}"

# psql reads the password from the environment (\getenv), so it never reaches a command line.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
	--set app_user="$EVENTSTORE_APP_USER" --set db="$POSTGRES_DB" <<-'SQL'
	\getenv app_password EVENTSTORE_APP_PASSWORD
	SET password_encryption = 'scram-sha-256';
	CREATE ROLE :"app_user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
		PASSWORD :'app_password';

	CREATE TABLE events (
		event_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
		-- One OrderPlaced event per order: a redelivered command cannot write twice.
		order_id     uuid NOT NULL UNIQUE,
		type         text NOT NULL,
		payload      jsonb NOT NULL,
		processed_by text,
		created_at   timestamptz NOT NULL DEFAULT now()
	);

	CREATE TABLE orders (
		order_id     uuid PRIMARY KEY,
		customer_id  text NOT NULL,
		items        jsonb NOT NULL,
		total        numeric NOT NULL,
		status       text NOT NULL,
		processed_by text,
		updated_at   timestamptz NOT NULL DEFAULT now()
	);

	REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
	GRANT CONNECT ON DATABASE :"db" TO :"app_user";
	GRANT USAGE ON SCHEMA public TO :"app_user";
	GRANT SELECT, INSERT, UPDATE ON events, orders TO :"app_user";
SQL
