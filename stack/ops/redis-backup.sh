#!/bin/sh
# Snapshot Redis with BGSAVE and copy the RDB file once the snapshot has finished.
# Needs the Redis data directory mounted (REDIS_DATA, default /data; read-only is enough);
# the password comes from REDISCLI_AUTH, the server from REDIS_HOST (default redis).
#   usage: redis-backup.sh OUTPUT.rdb
set -eu
out="${1:?usage: redis-backup.sh OUTPUT.rdb}"
cli() { redis-cli -h "${REDIS_HOST:-redis}" -p "${REDIS_PORT:-6379}" "$@"; }
started=$(cli TIME | head -n 1)
cli BGSAVE >/dev/null
# Done when no save runs and the last good one finished after we asked: copying earlier
# would take a stale or half-written file.
attempts=0
while :; do
    info=$(cli INFO persistence | tr -d '\r')
    last=$(cli LASTSAVE)
    if echo "$info" | grep -qx 'rdb_bgsave_in_progress:0' && [ "$last" -ge "$started" ]; then
        break
    fi
    if echo "$info" | grep -qx 'rdb_last_bgsave_status:err'; then
        echo "redis-backup: BGSAVE failed" >&2
        exit 1
    fi
    attempts=$((attempts + 1))
    if [ "$attempts" -ge 600 ]; then
        echo "redis-backup: BGSAVE did not finish within 5 minutes" >&2
        exit 1
    fi
    sleep 0.5
done
file=$(cli CONFIG GET dbfilename | tail -n 1)
cp "${REDIS_DATA:-/data}/$file" "$out.partial"
mv "$out.partial" "$out"
echo "redis-backup: snapshot copied to $out ($(wc -c <"$out") bytes)"
