#!/bin/bash
# The official postgres image's interface on Debian's binaries, without the root part: the
# image already runs as postgres, so there is no chown and no user switch (cap_drop ALL).
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

# As in the official image, VAR_FILE names a file holding VAR (Docker secrets at /run/secrets/).
file_env() {
	local var="$1" file_var="${1}_FILE"
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		printf 'error: both %s and %s are set (but are exclusive)\n' "$var" "$file_var" >&2
		exit 1
	fi
	if [ -n "${!file_var:-}" ]; then
		printf -v "$var" '%s' "$(< "${!file_var}")"
	fi
	unset "$file_var"
}
for variable in POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB POSTGRES_INITDB_ARGS; do
	file_env "$variable"
done

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:=}"
: "${POSTGRES_HOST_AUTH_METHOD:=}"
: "${POSTGRES_INITDB_ARGS:=}"
export POSTGRES_USER POSTGRES_DB POSTGRES_PASSWORD

log() { printf '%s [entrypoint] %s\n' "$(date -u +'%Y-%m-%d %H:%M:%S UTC')" "$*"; }

init_cluster() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
		log 'error: database is uninitialized and POSTGRES_PASSWORD is empty;' \
			'set it, or POSTGRES_HOST_AUTH_METHOD=trust to allow connections without one'
		exit 1
	fi
	# The password goes through a pipe, never the command line.
	eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"

	# Like the official image: unset, the method follows password_encryption (scram-sha-256).
	local method="${POSTGRES_HOST_AUTH_METHOD:-$(postgres -C password_encryption)}"
	{
		printf '\n'
		printf 'host all all all %s\n' "$method"
	} >>"$PGDATA/pg_hba.conf"

	# Init scripts run against a server reachable only through the Unix socket.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
	export PGUSER="$POSTGRES_USER" PGPASSWORD="$POSTGRES_PASSWORD" PGDATABASE=postgres
	if [ "$POSTGRES_DB" != 'postgres' ]; then
		psql -v ON_ERROR_STOP=1 --no-psqlrc --set db="$POSTGRES_DB" <<-'SQL'
			CREATE DATABASE :"db";
		SQL
	fi
	export PGDATABASE="$POSTGRES_DB"
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					log "running $f"
					"$f"
				else
					log "sourcing $f"
					. "$f"
				fi
				;;
			*.sql)
				log "running $f"
				psql -v ON_ERROR_STOP=1 --no-psqlrc -f "$f"
				;;
			*) [ -e "$f" ] && log "ignoring $f" ;;
		esac
	done
	unset PGUSER PGPASSWORD PGDATABASE
	pg_ctl -D "$PGDATA" -m fast -w stop
	log 'init process complete; ready for start up'
}

if [ "$1" = 'postgres' ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	init_cluster
fi

# The server never needs the superuser's password: keep it out of its environment.
unset POSTGRES_PASSWORD
exec "$@"
