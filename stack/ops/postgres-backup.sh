#!/bin/sh
# Dump one database in pg_dump's custom format (-Fc): compressed, and pg_restore can pick
# tables from it. The connection comes from libpq's environment (PGHOST, PGPORT, PGUSER,
# PGPASSWORD, PGDATABASE), so no password reaches a command line.
#   usage: postgres-backup.sh OUTPUT.dump
set -eu
out="${1:?usage: postgres-backup.sh OUTPUT.dump}"
: "${PGDATABASE:?PGDATABASE is unset: the database to dump}"
# Written aside and renamed, so a dump cut short never looks like a good one.
pg_dump --format=custom --file="$out.partial" "$PGDATABASE"
mv "$out.partial" "$out"
echo "postgres-backup: $PGDATABASE dumped to $out ($(wc -c <"$out") bytes)"
