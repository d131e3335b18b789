#!/bin/sh
# Restore a pg_dump -Fc archive into DATABASE (default $PGDATABASE), creating it if missing.
# Objects that already exist there (a fresh server's init scripts made the schema) are
# replaced, and the restore is one transaction: it applies whole or not at all.
# Roles are not in a database dump: the target server must have the ones the dump grants
# to (the reference platform's init scripts create them).
#   usage: postgres-restore.sh INPUT.dump [DATABASE]
set -eu
dump="${1:?usage: postgres-restore.sh INPUT.dump [DATABASE]}"
db="${2:-${PGDATABASE:?PGDATABASE is unset: name the target database}}"
exists=$(printf "SELECT count(*) FROM pg_database WHERE datname = :'db'" | psql -X -A -t -q -d postgres -v db="$db")
if [ "$exists" = 0 ]; then
    createdb "$db"
fi
pg_restore --clean --if-exists --exit-on-error --single-transaction --dbname="$db" "$dump"
echo "postgres-restore: $dump restored into $db"
