#!/usr/bin/env bash
# The dashboard's browser tests against the real stack: a Tansu broker, a fresh PostgreSQL
# database, the gateway, validator, aggregator and query services and two rollcall-web instances
# (one with a 3-second idle timeout for the expiry test), a small test identity provider, and the
# small synthetic LA (937) submitted through the gateway as vendors would, plus one school of
# another LA (330). Then the browser tests (node's test runner driving Debian's Chromium), and the
# web service's own debug-level logs checked for personal data.
#
# Usage: tests/web/run.sh BIN_DIR            run the tests, stop everything
#        tests/web/run.sh BIN_DIR --serve    leave the stack running (make serve) until Ctrl-C
set -euo pipefail

bin=$(cd "$1" && pwd); shift
mode=${1:-test}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
run=$root/.run/web-${mode#--}
rm -rf "$run"; mkdir -p "$run"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_port() {
    for _ in $(seq 1 150); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.2
    done
    echo "web tests: nothing listening on port $1; see $run/*.log" >&2
    return 1
}

pids=()
stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all EXIT

if [ "$mode" = "--serve" ]; then
    kafka_port=${SERVE_KAFKA_PORT:-19092}; gateway_port=${SERVE_GATEWAY_PORT:-50051}
    query_port=${SERVE_QUERY_PORT:-50052}; web_port=${SERVE_WEB_PORT:-8080}
    issuer_port=${SERVE_ISSUER_PORT:-9010}; short_port=""
    db=rollcall_serve
else
    kafka_port=$(free_port); gateway_port=$(free_port); query_port=$(free_port)
    web_port=$(free_port); short_port=$(free_port); issuer_port=$(free_port)
    db=rollcall_webtest_$$
fi

export ROLLCALL__DATABASE__URL="postgres://postgres@127.0.0.1:5432/$db"
export ROLLCALL__KAFKA__BROKERS="127.0.0.1:$kafka_port"
export ROLLCALL__GATEWAY__LISTEN="127.0.0.1:$gateway_port"
export ROLLCALL__QUERY__LISTEN="127.0.0.1:$query_port"
export ROLLCALL__TLS__PLAINTEXT=true
# Operations listeners (/metrics, /healthz, /readyz): on their default ports when serving, on
# ports of the system's choosing under test (two dashboards run at once; nothing scrapes them).
if [ -n "$short_port" ]; then
    for service in GATEWAY VALIDATOR AGGREGATOR QUERY WEB; do
        export "ROLLCALL__${service}__OPS_LISTEN=127.0.0.1:0"
    done
fi
export ROLLCALL_GATEWAY="http://$ROLLCALL__GATEWAY__LISTEN"
export ROLLCALL_QUERY="http://$ROLLCALL__QUERY__LISTEN"
# The test identity provider: the query service verifies its access tokens, the dashboard signs
# users in with it. `localhost` for it and 127.0.0.1 for the dashboard: two sites, as in real life.
issuer="http://localhost:$issuer_port"
export ROLLCALL__AUTH__JWT__JWKS_FILE="$run/jwks.json"
export ROLLCALL__AUTH__JWT__ISSUER="$issuer"
export ROLLCALL__AUTH__JWT__AUDIENCE=rollcall-query

psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists \"$db\" with (force)" >/dev/null
psql -h 127.0.0.1 -U postgres -d postgres -qc "create database \"$db\"" >/dev/null
drop_db() { psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true; }

ROLLCALL_TOKEN=$("$bin/rollcall" keys bootstrap --valid-days 1 --description "web tests admin" 2>/dev/null)
export ROLLCALL_TOKEN

node "$here/issuer.mjs" "$issuer_port" "$run/jwks.json" rollcall-web test-client-secret rollcall-query >"$run/issuer.log" 2>&1 &
pids+=($!)
tansu broker --listener-url "tcp://127.0.0.1:$kafka_port" --advertised-listener-url "tcp://127.0.0.1:$kafka_port" \
    --storage-engine memory://tansu/ >"$run/tansu.log" 2>&1 &
pids+=($!)
wait_port "$issuer_port"
wait_port "$kafka_port"
for service in gateway validator aggregator query; do
    "$bin/rollcall-$service" >"$run/$service.log" 2>&1 &
    pids+=($!)
done
wait_port "$gateway_port"
wait_port "$query_port"

start_web() { # PORT IDLE_SECONDS LOG
    ROLLCALL__WEB__LISTEN="127.0.0.1:$1" ROLLCALL__WEB__QUERY_URL="$ROLLCALL_QUERY" \
    ROLLCALL__WEB__IDLE_TIMEOUT_SECS="$2" ROLLCALL__WEB__OIDC__ISSUER="$issuer" \
    ROLLCALL__WEB__OIDC__CLIENT_ID=rollcall-web ROLLCALL__WEB__OIDC__CLIENT_SECRET=test-client-secret \
    ROLLCALL__TELEMETRY__FILTER="${WEB_LOG_FILTER:-rollcall_web=debug,info}" \
        "$bin/rollcall-web" >"$3" 2>&1 &
    pids+=($!)
}
start_web "$web_port" 1800 "$run/web.log"
[ -n "$short_port" ] && start_web "$short_port" 3 "$run/web-short.log"

# The synthetic LA through the whole pipeline, and one school of another LA in the registry.
"$bin/rollcall" demo --spec "${SERVE_SPEC:-small}" >"$run/demo.out" 2>"$run/demo.log"
printf 'urn,la_code,name,phase,school_type,independent\n150001,330,Small Heath Primary School,primary,community,N\n' >"$run/other-la.csv"
"$bin/rollcall" schools import "$run/other-la.csv" >/dev/null
la_key=$("$bin/rollcall" keys create --kind la --org 937 --description "web tests la" 2>/dev/null)
other_key=$("$bin/rollcall" keys create --kind la --org 330 --description "web tests other la" 2>/dev/null)
school_urn=$(awk -F, 'NR==2 {print $1}' <("$bin/rollcall" synth --spec small --out "$run/synth" >/dev/null 2>&1; cat "$run/synth/schools.csv"))
school_key=$("$bin/rollcall" keys create --kind school --org "$school_urn" --description "web tests school" 2>/dev/null)
ops_key=$("$bin/rollcall" keys create --kind operations --description "web tests operations" 2>/dev/null)
# One feed from the school with a mark whose code does not exist: a rejected record for the
# operations pages.
roll=$(ls "$run/synth/$school_urn"-*-roll.csv | head -1)
awk -F, -v OFS=, 'NR == 2 { $4 = "9" } { print }' "${roll%-roll.csv}-marks.csv" >"$run/rejected-marks.csv"
ROLLCALL_TOKEN="$school_key" "$bin/rollcall" submit --school "$school_urn" --roll "$roll" \
    --marks "$run/rejected-marks.csv" --key web-tests-rejected >/dev/null
for _ in $(seq 1 100); do
    ROLLCALL_TOKEN="$ops_key" "$bin/rollcall" --json dead-letters list | grep -q UNKNOWN_CODE && break
    sleep 0.2
done
wait_port "$web_port"
[ -n "$short_port" ] && wait_port "$short_port"

if [ "$mode" = "--serve" ]; then
    echo
    echo "serve: the dashboard is at http://127.0.0.1:$web_port/ (the ${SERVE_SPEC:-small} synthetic LA 937, autumn 2025: choose 2025 to 2026)"
    echo "serve: sign in with this LA 937 API key:        $la_key"
    echo "serve: or this school ($school_urn) API key:    $school_key"
    echo "serve: or this operations API key:            $ops_key"
    echo "serve: or \"Sign in with your organisation's account\" (the test identity provider at $issuer)"
    echo "serve: metrics at http://127.0.0.1:9181/metrics (gateway), 9182 (validator), 9183 (aggregator), 9184 (query), 9185 (web); /healthz and /readyz beside them"
    echo "serve: logs in $run/; Ctrl-C stops everything"
    trap 'stop_all; drop_db; exit 0' INT TERM
    wait
fi

started=$(date +%s)
status=0
WEB_URL="http://127.0.0.1:$web_port" SHORT_WEB_URL="http://127.0.0.1:$short_port" \
LA_KEY="$la_key" OTHER_LA_KEY="$other_key" SCHOOL_KEY="$school_key" SCHOOL_URN="$school_urn" \
OPS_KEY="$ops_key" SYNTH_DIR="$run/synth" RUN_DIR="$run" \
    node --test --test-reporter=spec "$here/dashboard.test.mjs" || status=$?
stop_all
trap - EXIT
# What the dashboard itself logged, at debug level, over the whole run.
SYNTH_DIR="$run/synth" WEB_LOGS="$run/web.log $run/web-short.log" \
    node --test --test-reporter=spec "$here/personal-data.mjs" || status=$?
drop_db
echo "web tests: $(( $(date +%s) - started ))s in the browser; logs in $run/"
exit $status
