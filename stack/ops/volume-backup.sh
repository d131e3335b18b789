#!/bin/sh
# Archive a data volume with tar, owners and modes kept. Stop the service that writes to it
# first: a copy of files being written is not a consistent backup.
#   docker run --rm -v VOLUME:/data:ro -v "$PWD/backups":/backup -v "$PWD/stack/ops":/ops:ro \
#       conformance/base:TAG /ops/volume-backup.sh /data /backup/VOLUME.tar.gz
set -eu
src="${1:?usage: volume-backup.sh SOURCE_DIR OUTPUT.tar.gz}"
out="${2:?usage: volume-backup.sh SOURCE_DIR OUTPUT.tar.gz}"
tar --create --gzip --numeric-owner --file="$out.partial" --directory="$src" .
mv "$out.partial" "$out"
echo "volume-backup: $src archived to $out ($(wc -c <"$out") bytes)"
