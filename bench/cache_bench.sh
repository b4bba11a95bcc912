#!/usr/bin/env bash
# cache_bench.sh: cache-hit throughput of the gateway, in-process store against Redis, side by side.
#
# A benchmark, not a test: it asserts nothing beyond "every answer was a 200 hit". It starts the population
# simulator, a redis-server and, for each backend, one gateway with one worker pinned to one core, warms a
# single lookup into the cache, then drives ApacheBench (keep-alive, mutual TLS with the portal's client
# certificate) from another core. The simulator's request counter proves that the measured requests were
# hits. Reported per backend: requests per second, the gateway's CPU time per request (user + system, from
# /proc), and ab's latency percentiles.
#
#
# Each backend runs twice: one connection (every hit is its own Redis read) and CONCURRENCY connections on one
# hot key (where concurrent Redis reads of that key share one single flight, as they do in production).
#
# Usage: bench/cache_bench.sh [BUILD_DIR] [REQUESTS] [CONCURRENCY]
#        (defaults: build, 20000, 16; installs apache2-utils for ab when it is missing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
requests=${2:-20000}
concurrency=${3:-16}
server_cpu=0
client_cpu=1
if (($(nproc) < 2)); then client_cpu=0; fi

die() {
  echo "cache_bench: $*" >&2
  exit 1
}
for bin in lienthong-gateway lienthong-sim; do [[ -x "$build/$bin" ]] || die "$build/$bin is not built"; done
command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server)"
if ! command -v ab >/dev/null; then
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y -qq apache2-utils >/dev/null || die "cannot install apache2-utils (ab)"
fi

work=$(mktemp -d /tmp/lt-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM


free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$root/certs/gen-pki.sh" "$work/pki" >/dev/null
cat "$work/pki/portal.crt" "$work/pki/portal.key" >"$work/client.pem"

sim_port=$(free_port)
sim_control=$(free_port)
taskset -c "$client_cpu" "$build/lienthong-sim" --system population --listen "127.0.0.1:$sim_port" \
  --control "127.0.0.1:$sim_control" --certs-dir "$work/pki" --seed 1 >"$work/sim.log" 2>&1 &
pids+=($!)
redis_port=$(free_port)
taskset -c "$client_cpu" redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$work" --logfile "$work/redis.log" &
pids+=($!)

sample=$("$build/lienthong-sim" --system population --sample 1 --seed 1)
printf '%s' "$sample" >"$work/body.json"
sim_requests() { curl -fsS "http://127.0.0.1:$sim_control/control/population/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }

write_config() { # backend api_port admin_port
  python3 - "$@" "$work" "$sim_port" "$redis_port" <<'EOF'
import json, sys
backend, api, admin, work, sim, redis = sys.argv[1:7]
pki = work + "/pki/"
cfg = {
    "workers": 1, "log_level": "warn",
    "listeners": {"api": {"bind": "127.0.0.1:" + api, "cert": pki + "gateway.crt", "key": pki + "gateway.key",
                          "client_ca": pki + "province-ca.crt"},
                  "admin": {"bind": "127.0.0.1:" + admin}},
    "upstreams": {"population": {
        "base_url": "https://127.0.0.1:" + sim, "cert": pki + "gateway-national.crt",
        "key": pki + "gateway-national.key", "ca": pki + "national-ca.crt",
        "service": {"xroad_instance": "VN", "member_class": "GOV", "member_code": "000.00.00.H53",
                    "subsystem_code": "LGSP", "service_member_code": "000.00.00.G01",
                    "service_subsystem_code": "CSDLQGDC", "service_version": "v1", "integration_code": "037",
                    "default_procedure_code": "1.001612"}}},
    "cache": {"backend": backend, "ttl_s": 3600,
              "keys": {"hmac": pki + "cache-hmac.key", "aead": [{"id": 1, "file": pki + "cache-aead.key"}]},
              "redis": {"address": "127.0.0.1:" + redis, "timeout_ms": 200}},
}
json.dump(cfg, open("%s/%s.json" % (work, backend), "w"))
EOF
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
redis_gets() { redis-cli -p "$redis_port" INFO commandstats | tr -d '\r' | awk -F'[=,:]' '$1=="cmdstat_get"{print $3}' | grep . || echo 0; }

declare -A rps cpu p50 p99 bad gets
run_backend() {
  local backend=$1 c=$2 col="$1 c=$2" api admin gw
  api=$(free_port)
  admin=$(free_port)
  write_config "$backend" "$api" "$admin"
  taskset -c "$server_cpu" "$build/lienthong-gateway" --config "$work/$backend.json" \
    2>"$work/$backend.log" &
  gw=$!
  pids+=("$gw")
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$admin/readyz" 2>/dev/null | grep -q '"state":"ok"' && break
    sleep 0.1
  done
  local curl_tls=(--cert "$work/pki/portal.crt" --key "$work/pki/portal.key" --cacert "$work/pki/province-ca.crt"
    -H 'Content-Type: application/json' -H 'X-Officer-Id: CB-BENCH' -H 'X-Purpose: BENCH')
  curl -fsS "${curl_tls[@]}" "https://localhost:$api/v1/citizens/lookup" -d @"$work/body.json" >/dev/null
  local x_cache
  x_cache=$(curl -fsS -D - -o /dev/null "${curl_tls[@]}" "https://localhost:$api/v1/citizens/lookup" \
    -d @"$work/body.json" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache"{print $2}')
  [[ "$x_cache" == hit ]] || die "$backend: the warmed lookup is not a hit ($x_cache)"
  local before_sim before_cpu after_cpu
  before_sim=$(sim_requests)
  local before_gets
  before_gets=$(redis_gets)
  before_cpu=$(cpu_ticks "$gw")
  local n=$requests
  ((c > 1)) || n=$((requests / 4))
  taskset -c "$client_cpu" ab -q -k -n "$n" -c "$c" -E "$work/client.pem" -p "$work/body.json" \
    -T application/json -H 'X-Officer-Id: CB-BENCH' -H 'X-Purpose: BENCH' \
    "https://127.0.0.1:$api/v1/citizens/lookup" >"$work/$backend.ab" 2>&1 || die "$backend: ab failed: $(tail -3 "$work/$backend.ab")"
  after_cpu=$(cpu_ticks "$gw")
  gets[$col]=$(awk -v g=$(($(redis_gets) - before_gets)) -v n="$n" 'BEGIN{printf "%.2f", g / n}')
  [[ "$(sim_requests)" == "$before_sim" ]] || die "$backend: the simulator saw requests: not every answer was a hit"
  rps[$col]=$(awk '/^Requests per second/{print $4}' "$work/$backend.ab")
  p50[$col]=$(awk '$1=="50%"{print $2}' "$work/$backend.ab")
  p99[$col]=$(awk '$1=="99%"{print $2}' "$work/$backend.ab")
  bad[$col]=$(awk '/^Non-2xx responses/{n=$3} /^Failed requests/{f=$3} END{print (n+0)+(f+0)}' "$work/$backend.ab")
  cpu[$col]=$(awk -v t=$((after_cpu - before_cpu)) -v hz="$(getconf CLK_TCK)" -v n="$n" \
    'BEGIN{printf "%.1f", t / hz / n * 1e6}')
  kill -TERM "$gw"
  wait "$gw" 2>/dev/null || true
}

cols=("memory c=1" "redis c=1" "memory c=$concurrency" "redis c=$concurrency")
for col in "${cols[@]}"; do
  run_backend ${col% c=*} "${col#* c=}"
done

row() { # label, array name
  local -n a=$2
  printf '%-30s' "$1"
  for col in "${cols[@]}"; do printf ' %14s' "${a[$col]}"; done
  printf '\n'
}
echo
echo "Cache-hit throughput: POST /v1/citizens/lookup, keep-alive, mutual TLS, $requests requests per run"
echo "($((requests / 4)) with one connection); gateway: 1 worker on CPU $server_cpu; ab and Redis on CPU $client_cpu;"
echo "c = concurrent connections, all on one hot key."
printf '%-30s' ""
for col in "${cols[@]}"; do printf ' %14s' "$col"; done
printf '\n'
row "requests per second" rps
row "gateway CPU per request (us)" cpu
row "latency p50 (ms)" p50
row "latency p99 (ms)" p99
row "Redis GETs per request" gets
row "failed or non-2xx" bad
