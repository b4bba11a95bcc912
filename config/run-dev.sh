#!/usr/bin/env bash
# `make run`: the gateway and its simulators in the foreground on config/dev.json.
# Prints a ready-to-paste curl that uses a real identity from the simulator's data.
# Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
pki="$root/certs/dev"
seed=1

pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

"$build/lienthong-sim" --system population --listen 127.0.0.1:9101 --control 127.0.0.1:9201 \
  --certs-dir "$pki" --seed "$seed" &
pids+=($!)
"$build/lienthong-gateway" --config "$root/config/dev.json" &
pids+=($!)

# Wait until both answer before printing the example.
for _ in $(seq 1 100); do
  if curl -fsS http://127.0.0.1:9090/readyz >/dev/null 2>&1 && curl -fsS http://127.0.0.1:9201/control/population/stats >/dev/null 2>&1; then
    break
  fi
  sleep 0.1
done

sample=$("$build/lienthong-sim" --system population --sample 1 --seed "$seed")
cat <<MSG

Liên Thông is running: api https://localhost:8443 (mutual TLS), admin http://127.0.0.1:9090,
population simulator https://127.0.0.1:9101 (control http://127.0.0.1:9201). Ctrl-C stops everything.

Try a citizen lookup with the portal's certificate:

curl --cert certs/dev/portal.crt --key certs/dev/portal.key --cacert certs/dev/province-ca.crt \\
  -H 'Content-Type: application/json' -H 'X-Officer-Id: CB-0001' -H 'X-Purpose: HS-2026-000123' \\
  https://localhost:8443/v1/citizens/lookup -d '$sample'

MSG
wait -n "${pids[@]}"
