#!/bin/sh
# Put an RDB snapshot into an empty Redis data directory (a new volume). Start Redis on it
# with --appendonly no: with AOF on and no AOF file, Redis would start empty and ignore the
# snapshot. Turn AOF back on afterwards (CONFIG SET appendonly yes rewrites it from memory).
#   usage: redis-restore.sh INPUT.rdb TARGET_DIR
set -eu
rdb="${1:?usage: redis-restore.sh INPUT.rdb TARGET_DIR}"
target="${2:?usage: redis-restore.sh INPUT.rdb TARGET_DIR}"
# MUTANT: the snapshot lands under a name Redis does not load, so it starts empty.
install -m 0640 -o redis -g redis "$rdb" "$target/restored.rdb"
chown redis:redis "$target"
echo "redis-restore: $rdb placed as $target/dump.rdb"
