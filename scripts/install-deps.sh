#!/usr/bin/env bash
# System packages Berth needs on Debian 12. Idempotent; quick when all present.
set -euo pipefail
PKGS=(runc conmon busybox-static tini iptables iproute2 tar util-linux perl-base attr libcap2-bin zstd curl git mmdebstrap docker-registry skopeo apache2-utils openssl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
