#!/usr/bin/env bash
# run-dev.sh: a local development stack (`make run`).
#
# Makes sure the dev PKI exists, starts the national-system simulators on the
# ports that config/dev.json points at, and then runs the gateway in the
# foreground if it has been built. Ctrl-C stops everything.
#
# Usage: tests/sim/run-dev.sh [BUILD_DIR]   (default: build)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${1:-build}"
[[ "$BUILD" = /* ]] || BUILD="$PWD/$BUILD"
CERTS="$ROOT/certs/dev"
SIM="$BUILD/lienthong-sim"
GATEWAY="$BUILD/lienthong-gateway"
PIDS=()

stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# Starts one simulator and waits for its "listening" line, so the gateway
# never races a simulator that is still building its population.
start_sim() {
    local system="$1" listen="$2" control="$3" log
    log="$(mktemp)"
    "$SIM" --system "$system" --listen "$listen" --control "$control" --certs-dir "$CERTS" >"$log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 100); do
        if grep -q "listening on" "$log"; then
            cat "$log"
            rm -f "$log"
            return 0
        fi
        kill -0 "${PIDS[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log" >&2
    rm -f "$log"
    echo "run-dev: the $system simulator did not start" >&2
    exit 1
}

[[ -x "$SIM" ]] || {
    echo "run-dev: $SIM not found; build first (make build)" >&2
    exit 1
}
"$ROOT/certs/gen-pki.sh" "$CERTS"

start_sim population 127.0.0.1:9101 127.0.0.1:9201

echo "run-dev: a few citizens the population simulator knows:"
"$SIM" --system population --sample 3 | sed 's/^/  /'

if [[ -x "$GATEWAY" ]]; then
    "$GATEWAY" --config "$ROOT/config/dev.json" &
    PIDS+=("$!")
    wait "${PIDS[-1]}"
else
    echo "run-dev: $GATEWAY not built; only the simulators run. Ctrl-C to stop."
    wait
fi
