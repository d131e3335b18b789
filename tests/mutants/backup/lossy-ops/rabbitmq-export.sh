#!/bin/sh
# Export the broker's definitions (users, vhosts, permissions, exchanges, queues, bindings,
# policies) through the management API. Messages are not definitions: durable queues and
# persistent messages on the data volume carry those.
# RABBITMQ_HOST (default rabbitmq), RABBITMQ_USER and RABBITMQ_PASS: an administrator.
#   usage: rabbitmq-export.sh OUTPUT.json
set -eu
out="${1:?usage: rabbitmq-export.sh OUTPUT.json}"
: "${RABBITMQ_USER:?RABBITMQ_USER is unset}" "${RABBITMQ_PASS:?RABBITMQ_PASS is unset}"
# Credentials reach curl on standard input, never on its command line.
printf 'user = "%s:%s"\n' "$RABBITMQ_USER" "$RABBITMQ_PASS" |
    curl --config - --fail --silent --show-error --output "$out.partial" \
        "http://${RABBITMQ_HOST:-rabbitmq}:${RABBITMQ_MANAGEMENT_PORT:-15672}/api/definitions"
mv "$out.partial" "$out"
echo "rabbitmq-export: definitions written to $out ($(wc -c <"$out") bytes)"
