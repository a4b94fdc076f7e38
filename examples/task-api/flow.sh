#!/bin/sh
# The tutorials' Task API flow, end to end: build, run with a published port,
# talk to it with curl (health, create, list, update, delete), read its logs,
# stop and remove it. Exits non-zero at the first thing that is not as expected.
# Usage: examples/task-api/flow.sh   (BERTH: the berth command, PORT: host port)
set -eu
cd "$(dirname "$0")"
BERTH=${BERTH:-berth}
PORT=${PORT:-8000}
URL="http://localhost:$PORT"
say() { printf '\n== %s\n' "$*"; }
expect() { # expect WHAT ACTUAL PATTERN
  case "$2" in *$3*) ;; *) echo "FAILED: $1: expected '$3' in: $2" >&2; exit 1 ;; esac
}

if ! $BERTH image inspect berth-examples/python-fastapi:bookworm >/dev/null 2>&1; then
  say "making the base image (mmdebstrap, about a minute)"
  BERTH="$BERTH" ./base/make-base.sh
fi

say "berth build -t task-api:v1 ."
$BERTH build -t task-api:v1 --build-arg APP_VERSION=1.2.3 .

say "berth run -d -p $PORT:8000 --name task-api task-api:v1"
$BERTH rm -f task-api >/dev/null 2>&1 || true
$BERTH run -d -p "$PORT:8000" --name task-api task-api:v1

say "waiting for /health"
i=0
until curl -fsS "$URL/health" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 100 ]; then $BERTH logs task-api >&2; echo "FAILED: the API never answered" >&2; exit 1; fi
  sleep 0.2
done
health=$(curl -fsS "$URL/health"); echo "$health"
expect health "$health" '"status":"ok"'
expect version "$health" '"version":"1.2.3"'

say "create, list, update, delete"
created=$(curl -fsS -X POST "$URL/tasks" -H 'Content-Type: application/json' -d '{"title": "write the report"}'); echo "$created"
expect create "$created" '"id":1'
curl -fsS -X POST "$URL/tasks" -H 'Content-Type: application/json' -d '{"title": "ship it"}' >/dev/null
list=$(curl -fsS "$URL/tasks"); echo "$list"
expect list "$list" '"title":"ship it"'
updated=$(curl -fsS -X PUT "$URL/tasks/1" -H 'Content-Type: application/json' -d '{"title": "write the report", "done": true}'); echo "$updated"
expect update "$updated" '"done":true'
done_only=$(curl -fsS "$URL/tasks?done=true"); echo "$done_only"
expect filter "$done_only" '"id":1'
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL/tasks/2"); echo "DELETE /tasks/2 -> $code"
expect delete "$code" 204
missing=$(curl -s -o /dev/null -w '%{http_code}' "$URL/tasks/2"); echo "GET /tasks/2 -> $missing"
expect gone "$missing" 404

say "berth logs task-api"
logs=$($BERTH logs task-api 2>&1); echo "$logs" | tail -5
expect logs "$logs" 'created task 2: ship it'

say "berth stop task-api && berth rm task-api"
$BERTH stop task-api
$BERTH rm task-api
echo "task-api flow: all good"
