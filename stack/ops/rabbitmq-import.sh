#!/bin/sh
# Import definitions exported by rabbitmq-export.sh into a broker; existing ones are kept,
# the file's are added or updated. Same variables as rabbitmq-export.sh.
#   usage: rabbitmq-import.sh INPUT.json
set -eu
in="${1:?usage: rabbitmq-import.sh INPUT.json}"
: "${RABBITMQ_USER:?RABBITMQ_USER is unset}" "${RABBITMQ_PASS:?RABBITMQ_PASS is unset}"
printf 'user = "%s:%s"\n' "$RABBITMQ_USER" "$RABBITMQ_PASS" |
    curl --config - --fail --silent --show-error --output /dev/null \
        --header 'content-type: application/json' --data-binary "@$in" \
        "http://${RABBITMQ_HOST:-rabbitmq}:${RABBITMQ_MANAGEMENT_PORT:-15672}/api/definitions"
echo "rabbitmq-import: $in imported"
