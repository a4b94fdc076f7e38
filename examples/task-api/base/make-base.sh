#!/bin/sh
# Make the Task API's base image without a registry: a minimal Debian 12 root
# filesystem with Python, FastAPI and uvicorn from Debian's packages
# (mmdebstrap), imported as berth-examples/python-fastapi:bookworm.
# Usage: make-base.sh [TARBALL_CACHE]   (BERTH: the berth command to use)
set -eu
BERTH=${BERTH:-berth}
TAR=${1:-/var/tmp/berth-python-fastapi-bookworm.tar}
# A directory left by an older version of this script (mmdebstrap picks the
# format from the name, and "….tar.tmp" made it write a directory) is redone.
if [ -d "$TAR" ]; then rm -rf "$TAR"; fi
if [ ! -s "$TAR" ]; then
  rm -rf "$TAR.tmp"
  # --format=tar: the temporary name's ".tmp" would otherwise make mmdebstrap write a directory.
  mmdebstrap --quiet --format=tar --variant=minbase --include=python3-fastapi,python3-uvicorn,ca-certificates \
    --aptopt='Acquire::Retries "3"' bookworm "$TAR.tmp"
  mv "$TAR.tmp" "$TAR"
fi
$BERTH import -c 'CMD ["python3"]' -c 'ENV LANG=C.UTF-8' "$TAR" berth-examples/python-fastapi:bookworm
