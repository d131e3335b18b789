#!/bin/sh
# Start RabbitMQ and, once the node is up, provision the application user named by
# RABBITMQ_APP_USER: a non-administrator limited to the orders.* queues. Passwords go to
# rabbitmqctl on standard input, never on a command line. The healthcheck waits for the
# marker, so clients never log in before their user exists.
set -eu
READY_MARKER=/tmp/app-user-ready
rm -f "$READY_MARKER"

# VAR_FILE names a file holding VAR (a Docker secret at /run/secrets/, on Swarm).
for variable in RABBITMQ_DEFAULT_PASS RABBITMQ_APP_PASS; do
    file="$(printenv "${variable}_FILE" || true)"
    if [ -n "$file" ]; then
        export "$variable=$(cat "$file")"
        unset "${variable}_FILE"
    fi
done

provision_app_user() {
    # await_startup waits only for a node that is already reachable: retry until it is.
    attempts=0
    until rabbitmqctl -q await_startup --timeout 60 >/dev/null 2>&1; do
        attempts=$((attempts + 1))
        if [ "$attempts" -ge 60 ]; then
            echo "docker-entrypoint: node never started; application user not provisioned" >&2
            return 1
        fi
        sleep 2
    done
    if rabbitmqctl -q list_users --no-table-headers | cut -f1 | grep -qxF "$RABBITMQ_APP_USER"; then
        printf '%s' "$RABBITMQ_APP_PASS" | rabbitmqctl -q change_password "$RABBITMQ_APP_USER" >/dev/null
    else
        printf '%s' "$RABBITMQ_APP_PASS" | rabbitmqctl -q add_user "$RABBITMQ_APP_USER" >/dev/null
    fi
    rabbitmqctl -q set_user_tags "$RABBITMQ_APP_USER" >/dev/null
    # configure / write / read: declare and consume orders.* queues, publish via the default exchange.
    rabbitmqctl -q set_permissions -p / "$RABBITMQ_APP_USER" '^orders\.' '^(amq\.default|orders\..*)$' '^orders\.' >/dev/null
    touch "$READY_MARKER"
    echo "docker-entrypoint: application user $RABBITMQ_APP_USER provisioned"
}

if [ -n "${RABBITMQ_APP_USER:-}" ]; then
    if [ -z "${RABBITMQ_APP_PASS:-}" ]; then
        echo "docker-entrypoint: RABBITMQ_APP_USER is set but RABBITMQ_APP_PASS is empty" >&2
        exit 1
    fi
    provision_app_user &
else
    touch "$READY_MARKER"
fi
exec "$@"
