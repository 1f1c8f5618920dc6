#!/usr/bin/env bash
# The demo: starts a Tansu broker and the four services on loopback, runs `rollcall demo` (a
# synthetic LA submitted through the gateway as vendors would), then stops everything cleanly.
# The services run in plaintext, configured explicitly for local use (loopback only); every call
# is still authenticated: the demo makes the first admin key straight in the database, and
# `rollcall demo` uses it to make a vendor key and an LA user's key.
# Usage: run-demo.sh BIN_DIR [rollcall demo options...]
set -euo pipefail

bin=$1; shift
run=.run/demo
mkdir -p "$run"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
kafka_port=${DEMO_KAFKA_PORT:-19092}
export ROLLCALL__KAFKA__BROKERS="127.0.0.1:$kafka_port"
db=${DEMO_DATABASE:-rollcall_demo}
export ROLLCALL__DATABASE__URL="postgres://postgres@127.0.0.1:5432/$db"
export ROLLCALL__GATEWAY__LISTEN="127.0.0.1:${DEMO_GATEWAY_PORT:-50051}"
export ROLLCALL__QUERY__LISTEN="127.0.0.1:${DEMO_QUERY_PORT:-50052}"
export ROLLCALL__TLS__PLAINTEXT=true
export ROLLCALL_GATEWAY="http://$ROLLCALL__GATEWAY__LISTEN"
export ROLLCALL_QUERY="http://$ROLLCALL__QUERY__LISTEN"

pids=()
stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all EXIT

wait_port() {
    for _ in $(seq 1 150); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.2
    done
    echo "demo: nothing listening on port $1; see $run/*.log" >&2
    return 1
}

# A fresh demo database every run.
psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists \"$db\" with (force)" >/dev/null
psql -h 127.0.0.1 -U postgres -d postgres -qc "create database \"$db\"" >/dev/null

# The first admin key of a fresh install (only its hash is stored); expires in a day.
ROLLCALL_TOKEN=$("$bin/rollcall" keys bootstrap --valid-days 1 --description "demo admin" 2>/dev/null)
export ROLLCALL_TOKEN
echo "demo: admin key made in the database (rollcall keys bootstrap)"

echo "demo: starting tansu on 127.0.0.1:$kafka_port (memory storage)"
tansu broker --listener-url "tcp://127.0.0.1:$kafka_port" --advertised-listener-url "tcp://127.0.0.1:$kafka_port" \
    --storage-engine memory://tansu/ >"$run/tansu.log" 2>&1 &
pids+=($!)
wait_port "$kafka_port"

for service in gateway validator aggregator query; do
    "$bin/rollcall-$service" >"$run/$service.log" 2>&1 &
    pids+=($!)
done
wait_port "${ROLLCALL__GATEWAY__LISTEN##*:}"
wait_port "${ROLLCALL__QUERY__LISTEN##*:}"
echo "demo: services up (logs in $run/)"

"$bin/rollcall" demo --export-dir "$run" "$@"

echo "demo: stopping services"
stop_all
trap - EXIT
echo "demo: stopped cleanly"
