#!/bin/sh
# Make the Task API's base image without a registry: a minimal Debian 12 root
# filesystem with Python, FastAPI and uvicorn from Debian's packages
# (mmdebstrap), imported as berth-examples/python-fastapi:bookworm.
# Usage: make-base.sh [TARBALL_CACHE]   (BERTH: the berth command to use)
set -eu
BERTH=${BERTH:-berth}
TAR=${1:-/var/tmp/berth-python-fastapi-bookworm.tar}
if [ ! -s "$TAR" ]; then
  mmdebstrap --quiet --variant=minbase --include=python3-fastapi,python3-uvicorn,ca-certificates \
    --aptopt='Acquire::Retries "3"' bookworm "$TAR.tmp"
  mv "$TAR.tmp" "$TAR"
fi
$BERTH import -c 'CMD ["python3"]' -c 'ENV LANG=C.UTF-8' "$TAR" berth-examples/python-fastapi:bookworm
