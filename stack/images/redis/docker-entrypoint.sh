#!/bin/bash
# Passwords from files (Docker secrets at /run/secrets/), never on a command line:
#   REDIS_PASSWORD_FILE      requirepass of the default user (operators)
#   REDIS_APP_USER           an ACL user for the platform's services, with
#   REDIS_APP_PASSWORD_FILE  its password, and
#   REDIS_APP_RULES          its ACL rules (key patterns, command categories)
# They reach redis-server as configuration on its standard input (`redis-server -`), so
# neither ps nor /proc/1/cmdline shows them. Unset, the image runs its command as given
# (compose's `command:` flags, as with the official image).
set -Eeuo pipefail

if [ "${1:-}" != 'redis-server' ] || [ -z "${REDIS_PASSWORD_FILE:-}${REDIS_APP_USER:-}" ]; then
	exec "$@"
fi

# One double-quoted config argument: backslashes and quotes escaped as redis' parser reads them.
quoted() {
	local value="${1//\\/\\\\}"
	printf '"%s"' "${value//\"/\\\"}"
}

config() {
	if [ -n "${REDIS_PASSWORD_FILE:-}" ]; then
		printf 'requirepass %s\n' "$(quoted "$(< "$REDIS_PASSWORD_FILE")")"
	fi
	if [ -n "${REDIS_APP_USER:-}" ]; then
		local password
		password="$(< "${REDIS_APP_PASSWORD_FILE:?REDIS_APP_USER is set but REDIS_APP_PASSWORD_FILE is not}")"
		printf 'user %s on %s %s\n' "$REDIS_APP_USER" "$(quoted ">$password")" \
			"${REDIS_APP_RULES:?REDIS_APP_USER is set but REDIS_APP_RULES is not}"
	fi
}

shift
exec redis-server - "$@" < <(config)
