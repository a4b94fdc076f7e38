#!/usr/bin/env bash
# One command from a fresh Debian 12 machine (as root) to a running Berth:
# installs the system packages and npm dependencies, builds, starts berthd,
# imports a local busybox image and runs a container.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm ci --no-audit --no-fund
npm run build
ln -sf "$PWD/dist/berth.js" /usr/local/bin/berth
ln -sf "$PWD/dist/berthd.js" /usr/local/bin/berthd
if ! berth version >/dev/null 2>&1; then
  mkdir -p /var/log
  # Run as a program: its shebang carries berthd's Node flags (scripts/build.mjs).
  nohup dist/berthd.js >>/var/log/berthd.log 2>&1 &
  for _ in $(seq 1 50); do berth version >/dev/null 2>&1 && break; sleep 0.1; done
fi
if ! berth image inspect busybox >/dev/null 2>&1; then
  tmp=$(mktemp --suffix=.tar)
  bash scripts/make-busybox-rootfs.sh "$tmp"
  berth import -c 'CMD ["sh"]' "$tmp" busybox:latest
  rm -f "$tmp"
fi
berth run --rm busybox echo "Hello from a Berth container"
