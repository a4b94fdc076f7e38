#!/bin/sh
# Remove a berthd bridge and its BERTH chains: what a daemon leaves behind on
# purpose (as dockerd leaves docker0), for tests and benchmarks that start
# daemons on bridges of their own. Missing pieces are not an error.
for bridge in "$@"; do
  ip link del "$bridge" 2>/dev/null
  iptables -w -t nat -D BERTH -j "BERTH-D-$bridge" 2>/dev/null
  iptables -w -t nat -D BERTH-POSTROUTING -j "BERTH-S-$bridge" 2>/dev/null
  iptables -w -D BERTH-FORWARD -o "$bridge" -j "BERTH-F-$bridge" 2>/dev/null
  iptables -w -D BERTH-FORWARD -i "$bridge" -j "BERTH-F-$bridge" 2>/dev/null
  for c in D S; do
    iptables -w -t nat -F "BERTH-$c-$bridge" 2>/dev/null
    iptables -w -t nat -X "BERTH-$c-$bridge" 2>/dev/null
  done
  iptables -w -F "BERTH-F-$bridge" 2>/dev/null
  iptables -w -X "BERTH-F-$bridge" 2>/dev/null
done
exit 0
