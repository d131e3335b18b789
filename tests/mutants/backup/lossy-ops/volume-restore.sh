#!/bin/sh
# Unpack a volume-backup.sh archive into an empty directory (a new volume), owners kept.
#   usage: volume-restore.sh INPUT.tar.gz TARGET_DIR
set -eu
archive="${1:?usage: volume-restore.sh INPUT.tar.gz TARGET_DIR}"
target="${2:?usage: volume-restore.sh INPUT.tar.gz TARGET_DIR}"
if [ -n "$(ls -A "$target")" ]; then
    echo "volume-restore: $target is not empty; restore into a new volume" >&2
    exit 1
fi
tar --extract --gzip --same-owner --same-permissions --numeric-owner --file="$archive" --directory="$target"
echo "volume-restore: $archive unpacked into $target"
