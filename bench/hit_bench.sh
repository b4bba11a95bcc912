#!/usr/bin/env bash
# hit_bench.sh: the gateway's cached-hit path against nginx and HAProxy, in one run, side by side.
#
# A benchmark, not a test: it asserts only what makes its figures mean something (every measured answer was a 200
# served from the server's own cache, every resumption resumed, each server refuses a client without a certificate
# of the province CA). See bench/README.md for what each figure means and its caveats.
#
# The three servers are mutual-TLS reverse caches of the same answer: GET /v1/taxpayers/{tax_code} (HAProxy's cache
# stores GET only). The gateway answers from its memory cache (config/dev.json's cache, workers=1); nginx
# (proxy_cache) and HAProxy (cache-use / cache-store) proxy to a second, unmeasured gateway, the origin, so that they
# cache the same canonical JSON. The gateway and nginx are also measured on POST /v1/citizens/lookup (nginx keyed on
# the body). Each measured server has one worker pinned to CPU 0; the load tools, the origin and the simulators run
# on CPU 1.
#
# The gateway's run also measures the miss path: the same GET with Cache-Control: no-cache (the gateway calls the
# tax simulator and stores the answer) against the tax simulator called directly over the same TLS, side by side.
#
# Usage: bench/hit_bench.sh [--quick] [--only=gateway,nginx,haproxy] [--profiles=DIR] [BUILD_DIR]
#        bench/hit_bench.sh --soak[=SECONDS] [BUILD_DIR]
#        BUILD_DIR defaults to build; --quick is a smoke run (2 to 3 minutes on a busy 2-core machine, mostly the
#        PKI and valgrind's start-ups), the default about 5;
#        --only measures some of the servers (the others show n/a); --profiles keeps each server's callgrind
#        profile of its 2N hits in DIR (callgrind.SERVER.ROUTE.out, for callgrind_annotate).
#        --soak runs only the gateway, for SECONDS (600 by default), under a mixed load (hits, misses, new
#        connections full and resumed), and prints its RSS after the warm-up and at the end.
# Installs the Debian packages it needs (nginx, haproxy, wrk, valgrind, linux-perf) when they are missing, and
# builds lienthong-gateway and lienthong-sim (RelWithDebInfo when it configures BUILD_DIR itself).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
only=""
profiles=""
build=build
soak_s=0
for arg in "$@"; do
  case "$arg" in
  --quick) quick=1 ;;
  --soak) soak_s=600 ;;
  --soak=*)
    soak_s=${arg#--soak=}
    [[ $soak_s =~ ^[0-9]+$ ]] && ((soak_s >= 60)) || {
      echo "hit_bench: --soak=SECONDS needs at least 60 seconds" >&2
      exit 2
    }
    ;;
  --only=*) only=${arg#--only=} ;;
  --profiles=*) profiles=${arg#--profiles=} ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  -*)
    echo "hit_bench: unknown option $arg" >&2
    exit 2
    ;;
  *) build=$arg ;;
  esac
done
case "$build" in /*) ;; *) build="$root/$build" ;; esac
# The commit measured: taken now, before the build, so a commit made while the bench runs is not named instead.
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
git -C "$root" diff --quiet HEAD -- gateway adapters 2>/dev/null || commit+=" (with uncommitted changes)"

if ((quick)); then # a smoke run: every step, on counts too small for the figures to mean much
  wrk_s=2 cg_n=20 hs_n=50 idle_n=200
else
  wrk_s=10 cg_n=200 hs_n=500 idle_n=1000
fi
wrk_conns=50
miss_conns=10
server_cpu=0
client_cpu=1
(($(nproc) >= 2)) || client_cpu=0
servers=(gateway nginx haproxy)
# Every client sends the same Host (HAProxy's cache key holds it) and the officer headers the gateway requires.
officer=(-H 'Host: localhost' -H 'X-Officer-Id: CB-BENCH' -H 'X-Purpose: BENCH')

die() {
  echo "hit_bench: $*" >&2
  exit 1
}
note() { echo "hit_bench: [${SECONDS}s] $*" >&2; }

# ---- packages, build, helpers ---------------------------------------------------------------------------------------

install_packages() {
  local need=() p sudo
  for p in nginx haproxy wrk valgrind linux-perf; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' && continue
    [[ $p == linux-perf ]] && command -v perf >/dev/null && continue
    need+=("$p")
  done
  ((${#need[@]})) || return 0
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  # grep reads all of apt-cache's output: with -q it would stop early, and the SIGPIPE fails the pipeline (pipefail).
  apt-cache policy "${need[@]}" 2>/dev/null | grep 'Candidate: [0-9]' >/dev/null || $sudo apt-get update -qq
  local installable=()
  for p in "${need[@]}"; do
    if apt-cache policy "$p" 2>/dev/null | grep 'Candidate: [0-9]' >/dev/null; then
      installable+=("$p")
    elif [[ $p == linux-perf ]]; then
      note "linux-perf has no candidate here; going on without perf"
    else
      die "$p cannot be installed (apt-cache policy $p shows no candidate)"
    fi
  done
  note "installing ${installable[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${installable[@]}" >/dev/null ||
    die "apt-get install ${installable[*]} failed"
}

build_binaries() {
  if [[ ! -f "$build/CMakeCache.txt" ]]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || die "cmake failed"
  fi
  cmake --build "$build" -j2 --target lienthong-gateway lienthong-sim >/dev/null || die "the build failed"
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
  [[ $build_type == RelWithDebInfo || $build_type == Release ]] ||
    note "warning: $build is a ${build_type:-default} build, not RelWithDebInfo: the gateway's figures are not comparable"
  mkdir -p "$build/bench"
  local cflags=(-O2 -g -Wall -Wextra -Werror)
  if [[ ! -x "$build/bench/hit_client" || "$root/bench/hit_client.c" -nt "$build/bench/hit_client" ]]; then
    cc "${cflags[@]}" -o "$build/bench/hit_client" "$root/bench/hit_client.c" -lssl -lcrypto || die "cannot build hit_client"
  fi
  if [[ ! -f "$build/bench/client_cert_shim.so" || "$root/bench/client_cert_shim.c" -nt "$build/bench/client_cert_shim.so" ]]; then
    cc "${cflags[@]}" -shared -fPIC -o "$build/bench/client_cert_shim.so" "$root/bench/client_cert_shim.c" \
      -ldl -lssl -lcrypto || die "cannot build client_cert_shim.so"
  fi
}

# ---- processes --------------------------------------------------------------------------------------------------------

work=$(mktemp -d /tmp/lt-hit-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
ulimit -n 8192 # 1,000 held connections, in the servers and in the client

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port pid what
  for _ in $(seq 1 600); do
    port_open "$1" && return 0
    kill -0 "$2" 2>/dev/null || die "$3 exited while starting: $(tail -5 "$work/$3.log")"
    sleep 0.1
  done
  die "$3 did not listen on $1 within 60 s"
}
stop_pid() { # pid: TERM, then KILL after 30 s (a server under callgrind writes its profile on the way out)
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 300); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

make_pki() {
  "$root/certs/gen-pki.sh" "$work/pki" >/dev/null || die "gen-pki.sh failed"
  pki=$work/pki
  # An RSA 2048 twin of the gateway's ECDSA server certificate, for the RSA handshake figures.
  cat >"$pki/rsa.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
EOF
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/gateway-rsa.key" 2>/dev/null
  openssl req -new -key "$pki/gateway-rsa.key" -subj "/C=VN/O=Lien Thong Dev/CN=localhost" -out "$pki/gateway-rsa.csr"
  openssl x509 -req -in "$pki/gateway-rsa.csr" -CA "$pki/province-ca.crt" -CAkey "$pki/province-ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 2 -sha256 -extfile "$pki/rsa.ext" -out "$pki/gateway-rsa.crt" 2>/dev/null
  for k in gateway gateway-rsa portal; do cat "$pki/$k.crt" "$pki/$k.key" >"$pki/$k.pem"; done
  export LT_SHIM_CERT=$pki/portal.crt LT_SHIM_KEY=$pki/portal.key LT_CA=$pki/province-ca.crt
}

json_int() { awk -v k="\"$1\":" '{i = index($0, k); if (i) {print substr($0, i + length(k)) + 0; exit}}'; } # 1st field named $1
declare -A sim_control sim_pid sim_port
start_sims() {
  local system port control
  for system in population tax; do
    port=$(free_port)
    control=$(free_port)
    taskset -c "$client_cpu" "$build/lienthong-sim" --system "$system" --listen "127.0.0.1:$port" \
      --control "127.0.0.1:$control" --certs-dir "$pki" --seed 1 >"$work/sim-$system.log" 2>&1 &
    pids+=($!)
    sim_pid[$system]=$!
    sim_control[$system]=$control
    sim_port[$system]=$port
  done
  for system in population tax; do wait_port "${sim_control[$system]}" "${sim_pid[$system]}" "sim-$system"; done
  # The tax registry's ICD limits a key to 30 requests/s; the miss path goes well over it. The simulator's control
  # raises its limit (as the tests do to stay clear of it), so every miss is an answer, not a 503.
  curl -fsS -X PUT -d '{"per_second": 100000}' "http://127.0.0.1:${sim_control[tax]}/control/tax/limit" >/dev/null ||
    die "cannot raise the tax simulator's rate limit"
}
sim_requests() { # the requests both simulators have seen
  local n=0 s
  for s in population tax; do
    n=$((n + $(curl -fsS "http://127.0.0.1:${sim_control[$s]}/control/$s/stats" | json_int requests)))
  done
  echo "$n"
}

write_gateway_config() { # file api_port admin_port cert key; LT_BENCH_TICKET_ROTATE_S, when set, its key period
  python3 - "$@" "$pki" "${sim_port[population]}" "${sim_port[tax]}" <<'EOF'
import json, os, sys
path, api, admin, cert, key, pki, pop, tax = sys.argv[1:9]
pki += "/"
def upstream(port, service):
    return {"base_url": "https://127.0.0.1:" + port, "cert": pki + "gateway-national.crt",
            "key": pki + "gateway-national.key", "ca": pki + "national-ca.crt", "service": service}
cfg = {
    "workers": 1, "log_level": "warn",
    "listeners": {"api": {"bind": "127.0.0.1:" + api, "cert": cert, "key": key, "client_ca": pki + "province-ca.crt"},
                  "admin": {"bind": "127.0.0.1:" + admin}},
    # Every bench client comes from 127.0.0.1: the per-address cap (512 by default) would refuse the 1,000 held
    # connections, which nginx and HAProxy take from one address.
    "limits": {"idle_timeout_s": 300, "max_connections_per_address": 4096},
    # A listed client with a projection, as a province's portal is configured: the tax record without the head
    # office's address, the citizen's record with the sensitive fields it is allowed.
    "clients": {"portal": {"issuer": "CN=Lien Thong Province Dev CA,O=Lien Thong Dev,C=VN", "cn": "portal",
                           "allow": ["*"],
                           "fields": {"tax.lookup": ["tax_code", "name", "taxpayer_type", "tax_office", "status",
                                                     "registered_on", "status_changed_on"],
                                      "population.lookup": ["*", "ethnicity", "religion"]}}},
    # The audit trail on: every hit of a personal-data operation is recorded.
    "audit": {"dir": path + ".audit", "instance": "bench"},
    "upstreams": {
        "population": upstream(pop, {
            "xroad_instance": "VN", "member_class": "GOV", "member_code": "000.00.00.H53", "subsystem_code": "LGSP",
            "service_member_code": "000.00.00.G01", "service_subsystem_code": "CSDLQGDC", "service_version": "v1",
            "integration_code": "037", "default_procedure_code": "1.001612"}),
        "tax": upstream(tax, {"unit_code": "000.00.00.H53", "api_key_file": pki + "tax-api.key"})},
    # config/dev.json's cache: in memory, values encrypted with the AEAD key.
    "cache": {"backend": "memory", "max_bytes": 67108864, "ttl_s": 3600, "not_found_ttl_s": 30, "max_stale_s": 3600,
              "keys": {"hmac": pki + "cache-hmac.key", "aead": [{"id": 1, "file": pki + "cache-aead.key"}],
                       "encrypt_with": 1}},
}
if os.environ.get("LT_BENCH_TICKET_ROTATE_S"):
    cfg["listeners"]["api"]["ticket_key_rotate_s"] = int(os.environ["LT_BENCH_TICKET_ROTATE_S"])
json.dump(cfg, open(path, "w"), indent=1)
EOF
}

# The origin of nginx and HAProxy: a gateway of its own on the load tools' CPU, never measured.
start_origin() {
  origin_port=$(free_port)
  origin_admin=$(free_port)
  write_gateway_config "$work/origin.json" "$origin_port" "$origin_admin" "$pki/gateway.crt" "$pki/gateway.key"
  taskset -c "$client_cpu" "$build/lienthong-gateway" --config "$work/origin.json" 2>"$work/origin.log" &
  pids+=($!)
  wait_ready "$origin_admin" $! origin
}
wait_ready() { # admin_port pid what
  for _ in $(seq 1 600); do
    curl -fsS "http://127.0.0.1:$1/readyz" 2>/dev/null | grep -q '"status":"ready"' && return 0
    kill -0 "$2" 2>/dev/null || die "$3 exited while starting: $(tail -5 "$work/$3.log")"
    sleep 0.1
  done
  die "$3 was not ready within 60 s"
}
origin_lookups() { # every lookup the origin answered, from its cache or not (0 without an origin: the soak)
  local doc
  [[ -n ${origin_admin:-} ]] || {
    echo 0
    return
  }
  doc=$(curl -fsS "http://127.0.0.1:$origin_admin/readyz")
  echo $(($(json_int hits <<<"$doc") + $(json_int misses <<<"$doc") + $(json_int stale <<<"$doc") + $(json_int bypass <<<"$doc")))
}

write_nginx_config() { # dir port cert key
  local dir=$1
  mkdir -p "$dir/cache" "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
# One process: master_process off makes the process that serves the worker itself, so that callgrind, /proc and
# taskset see exactly one.
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  proxy_cache_path $dir/cache levels=1:2 keys_zone=hits:10m max_size=64m inactive=60m use_temp_path=off;
  upstream origin {
    server 127.0.0.1:$origin_port;
    keepalive 4;
  }
  server {
    listen 127.0.0.1:$2 ssl;
    ssl_certificate $3;
    ssl_certificate_key $4;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_client_certificate $pki/province-ca.crt;
    ssl_verify_client on;
    ssl_verify_depth 4;
    location / {
      proxy_pass https://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_certificate $pki/portal.crt;
      proxy_ssl_certificate_key $pki/portal.key;
      proxy_ssl_trusted_certificate $pki/province-ca.crt;
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_cache hits;
      proxy_cache_methods GET HEAD POST;
      proxy_cache_key "\$request_method \$request_uri \$request_body";
      proxy_cache_valid 200 60m;
      add_header X-Cache-Status \$upstream_cache_status;
    }
  }
}
EOF
}

write_haproxy_config() { # file port pem
  cat >"$1" <<EOF
global
  nbthread 1
  maxconn 2048
  ssl-server-verify required
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 300s
  timeout server 30s
  timeout http-request 10s
  timeout http-keep-alive 300s
cache hits
  total-max-size 64
  max-object-size 65536
  max-age 3600
frontend api
  bind 127.0.0.1:$2 ssl crt $3 ca-file $pki/province-ca.crt verify required
  default_backend origin
backend origin
  http-request cache-use hits
  # HAProxy stores only an answer with an explicit lifetime or a validator, and the gateway's have neither: this
  # line gives them one, as proxy_cache_valid does for nginx (the cached answer carries it, 26 bytes more).
  http-response set-header Cache-Control max-age=3600
  http-response cache-store hits
  server gateway 127.0.0.1:$origin_port ssl crt $pki/portal.pem ca-file $pki/province-ca.crt verify required sni str(localhost) verifyhost localhost
EOF
}

# Starts one measured server on CPU 0: start_server NAME ecdsa|rsa [WRAPPER...]; sets srv_pid and srv_port.
start_server() {
  local name=$1 alg=$2 cert key pem
  shift 2
  if [[ $alg == rsa ]]; then cert=$pki/gateway-rsa.crt key=$pki/gateway-rsa.key pem=$pki/gateway-rsa.pem; else
    cert=$pki/gateway.crt key=$pki/gateway.key pem=$pki/gateway.pem
  fi
  srv_port=$(free_port)
  case "$name" in
  gateway)
    srv_admin=$(free_port)
    write_gateway_config "$work/gateway.json" "$srv_port" "$srv_admin" "$cert" "$key"
    taskset -c "$server_cpu" "$@" "$build/lienthong-gateway" --config "$work/gateway.json" >"$work/$name.log" 2>&1 &
    ;;
  nginx)
    rm -rf "$work/nginx"
    write_nginx_config "$work/nginx" "$srv_port" "$cert" "$key"
    taskset -c "$server_cpu" "$@" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" >"$work/$name.log" 2>&1 &
    ;;
  haproxy)
    write_haproxy_config "$work/haproxy.cfg" "$srv_port" "$pem"
    taskset -c "$server_cpu" "$@" haproxy -db -f "$work/haproxy.cfg" >"$work/$name.log" 2>&1 &
    ;;
  esac
  srv_pid=$!
  pids+=("$srv_pid")
  if [[ $name == gateway ]]; then wait_ready "$srv_admin" "$srv_pid" "$name"; else wait_port "$srv_port" "$srv_pid" "$name"; fi
}

# ---- requests ---------------------------------------------------------------------------------------------------------

declare -A route_desc=([get]="GET /v1/taxpayers/{tax_code}" [post]="POST /v1/citizens/lookup")
write_requests() {
  tax_code=$("$build/lienthong-sim" --system tax --sample 1 --seed 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["tax_code"])')
  "$build/lienthong-sim" --system population --sample 1 --seed 1 | tr -d '\n' >"$work/citizen.json"
  printf 'GET /v1/taxpayers/%s HTTP/1.1\r\nHost: localhost\r\nX-Officer-Id: CB-BENCH\r\nX-Purpose: BENCH\r\n\r\n' \
    "$tax_code" >"$work/get.req"
  printf 'GET /v1/taxpayers/%s HTTP/1.1\r\nHost: localhost\r\nX-Officer-Id: CB-BENCH\r\nX-Purpose: BENCH\r\nCache-Control: no-cache\r\n\r\n' \
    "$tax_code" >"$work/miss.req"
  printf 'POST /v1/citizens/lookup HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Officer-Id: CB-BENCH\r\nX-Purpose: BENCH\r\nContent-Length: %d\r\n\r\n%s' \
    "$(stat -c %s "$work/citizen.json")" "$(cat "$work/citizen.json")" >"$work/post.req"
  cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = io.open("$work/citizen.json"):read("*a")
wrk.headers["Host"] = "localhost"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Officer-Id"] = "CB-BENCH"
wrk.headers["X-Purpose"] = "BENCH"
EOF
}
# The miss path: the gateway's GET with Cache-Control: no-cache, and the tax registry's own request (icd/tax.md) the
# gateway sends for it, for wrk to send to the simulator directly. MaYeuCau is one fixed UUID: the simulator echoes
# it and requires no new one.
write_miss_requests() {
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<YeuCauTraCuu xmlns="urn:gdt:tracuu:nnt:1.0"><MaDonVi>000.00.00.H53</MaDonVi><MaYeuCau>6f1c2a3e-8d4b-4c5a-9e7f-0a1b2c3d4e5f</MaYeuCau><MaCanBo>CB-BENCH</MaCanBo><MST>%s</MST></YeuCauTraCuu>' \
    "$tax_code" >"$work/tax-direct.xml"
  cat >"$work/tax-direct.lua" <<EOF
wrk.method = "POST"
wrk.body = io.open("$work/tax-direct.xml"):read("*a")
wrk.headers["Host"] = "localhost"
wrk.headers["Content-Type"] = "application/xml; charset=utf-8"
wrk.headers["X-API-Key"] = "$(tr -d '\n' <"$pki/tax-api.key")"
EOF
}
route_url() { if [[ $1 == get ]]; then echo "/v1/taxpayers/$tax_code"; else echo "/v1/citizens/lookup"; fi; }
curl_route() { # port route [curl args...]: the answer's head, to stdout
  local port=$1 route=$2
  shift 2
  local body=()
  [[ $route == post ]] && body=(-H 'Content-Type: application/json' --data-binary @"$work/citizen.json")
  curl -sS -o /dev/null -D - --cacert "$pki/province-ca.crt" "${officer[@]}" "${body[@]}" "$@" \
    "https://localhost:$port$(route_url "$route")" | tr -d '\r'
}
server_routes() { if [[ $1 == haproxy ]]; then echo get; else echo get post; fi; }

# Fills the server's cache with each route's answer and checks the next answer is served from it.
warm() { # name port
  local route head before
  for route in $(server_routes "$1"); do
    curl_route "$2" "$route" --cert "$pki/portal.crt" --key "$pki/portal.key" >/dev/null
    before=$(origin_lookups)
    head=$(curl_route "$2" "$route" --cert "$pki/portal.crt" --key "$pki/portal.key" -w 'size %{size_header} %{size_download}\n')
    [[ $head == "HTTP/1.1 200"* ]] || die "$1: $route answered ${head%%$'\n'*}"
    fig[bytes_$route,$1]=$(awk '$1=="size"{print $2 "+" $3}' <<<"$head")
    case "$1" in
    gateway) grep -qi '^x-cache: hit' <<<"$head" || die "gateway: the warmed $route is not a hit" ;;
    nginx) grep -qi '^x-cache-status: hit' <<<"$head" || die "nginx: the warmed $route is not a hit" ;;
    haproxy) [[ $(origin_lookups) == "$before" ]] || die "haproxy: the warmed $route reached the origin" ;;
    esac
  done
}

# Each server refuses a client without a certificate, and one from another CA; the portal's gets a 200. (The gateway
# and HAProxy end such a handshake with an alert; nginx completes it and answers 400.)
check_access() { # name port
  curl_route "$2" get 2>/dev/null | grep -q '^HTTP/1.1 200' && die "$1 answered a client without a certificate"
  curl_route "$2" get --cert "$pki/outsider-client.crt" --key "$pki/outsider-client.key" 2>/dev/null |
    grep -q '^HTTP/1.1 200' && die "$1 answered a client certified by another CA"
  curl_route "$2" get --cert "$pki/portal.crt" --key "$pki/portal.key" | grep -q '^HTTP/1.1 200' ||
    die "$1 refused the portal's certificate"
}

# wrk cannot present a client certificate; client_cert_shim.so gives it the portal's. Proven once, on the first server
# measured (the gateway unless --only says otherwise): without the shim wrk gets no 200 (the gateway and HAProxy end
# the handshake, nginx answers 400), with it every answer is a 200.
shim=""
wrk_run() { # port route seconds connections out [shim]
  local args=(-t1 -c"$4" -d"$3"s --latency)
  if [[ $2 == post ]]; then args+=(-s "$work/post.lua"); else args+=("${officer[@]}"); fi
  taskset -c "$client_cpu" env ${6:+LD_PRELOAD=$6} wrk "${args[@]}" "https://127.0.0.1:$1$(route_url "$2")" >"$5" 2>&1 || true
}
wrk_requests() { awk '/ requests in /{print $1}' "$1"; }
wrk_bad() { awk '/Non-2xx/{n=$NF} /Socket errors/{gsub(/[^0-9 ]/," "); split($0,a," "); e=a[1]+a[2]+a[3]+a[4]} END{print n+e}' "$1"; }
verify_shim() { # name port
  wrk_run "$2" get 1 1 "$work/wrk-noshim.out"
  local without with
  without=$(awk '/ requests in /{n=$1} /Non-2xx/{b=$NF} END{print n-b}' "$work/wrk-noshim.out")
  [[ $without == 0 ]] || die "wrk without the shim had $without answers of 200: $1 did not require a certificate"
  wrk_run "$2" get 1 1 "$work/wrk-shim.out" "$build/bench/client_cert_shim.so"
  with=$(wrk_requests "$work/wrk-shim.out")
  ((${with:-0} > 0)) && [[ $(wrk_bad "$work/wrk-shim.out") == 0 ]] ||
    die "wrk with the shim failed: $(cat "$work/wrk-shim.out")"
  shim=$build/bench/client_cert_shim.so
  note "client_cert_shim: without it wrk had no answer of 200 from $1; with it $with, every one a 200"
}

# ---- measurements -----------------------------------------------------------------------------------------------------

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END{printf "%.0f\n", s}'; }
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }
cpu0_busy() { awk -v c="cpu$server_cpu" '$1==c{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
to_ms() { # wrk's 1.23ms / 456.00us / 1.02s
  awk -v v="$1" 'BEGIN{u=v; sub(/[0-9.]+/,"",u); x=v+0; if(u=="us")x/=1000; else if(u=="s")x*=1000; else if(u=="m")x*=60000; printf "%.2f", x}'
}
hits_unchanged() { # name before_sim before_origin
  [[ $(sim_requests) == "$2" ]] || die "$1: a simulator saw requests during a measured run: not every answer was a hit"
  [[ $(origin_lookups) == "$3" ]] || die "$1: the origin saw requests during a measured run: not every answer was a hit"
}

declare -A fig # fig[metric,server]

# Hardware instruction counts under load, where perf has counters (a VM often has none).
perf_ok=0
perf_check() {
  command -v perf >/dev/null && perf stat -x, -e instructions -- true 2>&1 | grep -q '^[0-9]' && perf_ok=1
  ((perf_ok)) || note "perf has no instruction counter here: the perf row stays n/a"
}
measure_throughput() { # name route
  local out="$work/wrk-$1-$2.out" sim0 org0 t0 t1 b0 b1 w0 w1 n
  sim0=$(sim_requests)
  org0=$(origin_lookups)
  t0=$(cpu_ticks "$srv_pid")
  b0=$(cpu0_busy)
  w0=$(date +%s%N)
  local perf=""
  if ((perf_ok)); then
    taskset -c "$client_cpu" perf stat -x, -e instructions -p "$srv_pid" -o "$work/perf.csv" -- sleep "$wrk_s" &
    perf=$!
  fi
  wrk_run "$srv_port" "$2" "$wrk_s" "$wrk_conns" "$out" "$shim"
  t1=$(cpu_ticks "$srv_pid")
  b1=$(cpu0_busy)
  w1=$(date +%s%N)
  fig[load_wrk_$2,$1]=$(loadavg)
  hits_unchanged "$1" "$sim0" "$org0"
  n=$(wrk_requests "$out")
  ((${n:-0} > 0)) || die "$1: wrk completed no request: $(cat "$out")"
  [[ $(wrk_bad "$out") == 0 ]] || die "$1 $2: wrk saw errors or non-2xx answers: $(cat "$out")"
  if [[ -n $perf ]]; then
    wait "$perf" || true
    fig[perf_$2,$1]=$(awk -F, -v n="$n" '$3 ~ /instructions/ && $1 + 0 > 0 {printf "%.0f", $1 / n}' "$work/perf.csv")
  fi
  fig[rps_$2,$1]=$(awk '/^Requests\/sec/{printf "%.0f", $2}' "$out")
  fig[p50_$2,$1]=$(to_ms "$(awk '$1=="50%"{print $2}' "$out")")
  fig[p99_$2,$1]=$(to_ms "$(awk '$1=="99%"{print $2}' "$out")")
  fig[cpu_$2,$1]=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN{printf "%.1f", t / hz / n * 1e6}')
  fig[other_$2,$1]=$(awk -v b=$((b1 - b0 - (t1 - t0))) -v hz="$(getconf CLK_TCK)" -v ns=$((w1 - w0)) \
    'BEGIN{x = b / hz / (ns / 1e9) * 100; printf "%.0f", (x < 0 ? 0 : x)}')
}

measure_idle_memory() { # name route
  local fifo="$work/hold.in" out="$work/hold.out" r0 r1 holder
  rm -f "$fifo" "$out"
  mkfifo "$fifo"
  r0=$(rss_kib "$srv_pid")
  taskset -c "$client_cpu" "$build/bench/hit_client" hold 127.0.0.1 "$srv_port" "$idle_n" "$work/$2.req" <"$fifo" >"$out" &
  holder=$!
  exec 7>"$fifo"
  for _ in $(seq 1 600); do
    grep -q '^held' "$out" 2>/dev/null && break
    kill -0 "$holder" 2>/dev/null || die "$1: the holding client failed"
    sleep 0.1
  done
  grep -q '^held' "$out" || die "$1: $idle_n connections were not open within 60 s"
  sleep 1
  r1=$(rss_kib "$srv_pid")
  exec 7>&-
  wait "$holder" || die "$1: the holding client failed"
  fig[mem,$1]=$(awk -v d=$((r1 - r0)) -v n="$idle_n" 'BEGIN{printf "%.1f", d / n}')
  fig[load_mem,$1]=$(loadavg)
}

gateway_metric() { # name{labels}: one sample of the measured gateway's /metrics
  curl -fsS "http://127.0.0.1:$srv_admin/metrics" | awk -v k="$1" '$1 == k {v = $2} END {print v}'
}
measure_handshakes() { # name alg
  local kind t0 t1 out g0=""
  for kind in full resumed; do
    [[ $1 == gateway ]] && g0=$(gateway_metric 'lienthong_tls_resumed_handshakes_total{listener="api"}')
    t0=$(cpu_ns "$srv_pid")
    out=$(taskset -c "$client_cpu" "$build/bench/hit_client" handshakes 127.0.0.1 "$srv_port" "$hs_n" "$kind") ||
      die "$1: the $2 $kind handshakes failed"
    sleep 0.2 # the server's last close
    t1=$(cpu_ns "$srv_pid")
    fig[hs_${kind}_$2,$1]=$(awk -v t=$((t1 - t0)) -v n="$hs_n" 'BEGIN{printf "%.0f", t / n / 1000}')
    # "handshakes N resumed R tickets T": R resumed, each offering a session ticket (hit_client checks all or none).
    fig[hs_${kind}_reused_$2,$1]=$(awk '{print $4 "/" $2}' <<<"$out")
    if [[ $1 == gateway ]]; then # the gateway's own count of resumed handshakes, beside the client's
      fig[hs_${kind}_reused_$2,$1]+=" ($(($(gateway_metric 'lienthong_tls_resumed_handshakes_total{listener="api"}') - g0)))"
    fi
  done
  fig[load_hs_$2,$1]=$(loadavg)
}

# Instructions per hit: the server under callgrind, counters zeroed, N hits on one connection, counters dumped; then
# again with 2N. The difference over N is the marginal cost of one hit (no start-up, handshake or close in it).
callgrind_total() { # pid: dumps and reads the instructions counted since the last zeroing
  local before after f
  before=$(ls "$work"/cg.out.* 2>/dev/null | wc -l)
  callgrind_control -d "$1" >/dev/null 2>&1 || die "callgrind_control -d failed"
  for _ in $(seq 1 100); do
    after=$(ls "$work"/cg.out.* 2>/dev/null | wc -l)
    ((after > before)) && break
    sleep 0.1
  done
  f=$(ls -t "$work"/cg.out.* | head -1)
  sleep 0.2
  awk '/^(summary|totals):/{print $2; exit}' "$f"
}
# The marginal instructions of one request: the server's count over N of them on one connection, then over 2N,
# (I(2N) - I(N)) / N. With --profiles, the 2N run's profile is kept as DIR/callgrind.NAME.out.
marginal_instructions() { # request_file profile_name
  local i1 i2
  callgrind_control -z "$srv_pid" >/dev/null 2>&1 || die "callgrind_control -z failed"
  taskset -c "$client_cpu" "$build/bench/hit_client" requests 127.0.0.1 "$srv_port" "$cg_n" "$1" >/dev/null
  i1=$(callgrind_total "$srv_pid")
  callgrind_control -z "$srv_pid" >/dev/null 2>&1
  taskset -c "$client_cpu" "$build/bench/hit_client" requests 127.0.0.1 "$srv_port" $((2 * cg_n)) "$1" >/dev/null
  i2=$(callgrind_total "$srv_pid")
  if [[ -n $profiles ]]; then
    mkdir -p "$profiles"
    cp "$(ls -t "$work"/cg.out.* | head -1)" "$profiles/callgrind.$2.out"
  fi
  awk -v a="$i1" -v b="$i2" -v n="$cg_n" 'BEGIN{printf "%.0f", (b - a) / n}'
}
measure_instructions() { # name
  local route sim0 org0
  start_server "$1" ecdsa valgrind --tool=callgrind --callgrind-out-file="$work/cg.out.%p" --dump-instr=no
  warm "$1" "$srv_port"
  for route in $(server_routes "$1"); do
    "$build/bench/hit_client" requests 127.0.0.1 "$srv_port" 5 "$work/$route.req" >/dev/null
    sim0=$(sim_requests)
    org0=$(origin_lookups)
    fig[ir_$route,$1]=$(marginal_instructions "$work/$route.req" "$1.$route")
    hits_unchanged "$1" "$sim0" "$org0"
  done
  [[ $1 == gateway ]] && measure_miss_instructions
  fig[load_cg,$1]=$(loadavg)
  stop_pid "$srv_pid"
}

# Instructions per miss: the same marginal count over GETs with Cache-Control: no-cache, each of which the tax
# simulator must see (every one a call, a mapping, a sealed store and an audit record).
measure_miss_instructions() {
  local s0
  "$build/bench/hit_client" requests 127.0.0.1 "$srv_port" 5 "$work/miss.req" >/dev/null
  s0=$(tax_sim_requests)
  fig[ir_miss,gateway]=$(marginal_instructions "$work/miss.req" gateway.miss)
  (($(tax_sim_requests) - s0 == 3 * cg_n)) ||
    die "miss path under callgrind: the tax simulator saw $(($(tax_sim_requests) - s0)) requests for $((3 * cg_n))"
}

# The miss path's added latency: wrk through the gateway with Cache-Control: no-cache (every request calls the tax
# simulator and stores its answer), then wrk to the simulator directly with the registry's own request, over the
# same TLS (the gateway's national client certificate, through the shim). Each must reach the simulator once per
# request wrk completed, and answer 200.
miss_wrk() { # out conns url cert key [wrk args...]
  local out=$1 conns=$2 url=$3 cert=$4 key=$5
  shift 5
  taskset -c "$client_cpu" env LD_PRELOAD="$build/bench/client_cert_shim.so" LT_SHIM_CERT="$cert" LT_SHIM_KEY="$key" \
    wrk -t1 -c"$conns" -d"$wrk_s"s --latency "$@" "$url" >"$out" 2>&1 || true
}
tax_sim_requests() { curl -fsS "http://127.0.0.1:${sim_control[tax]}/control/tax/stats" | json_int requests; }
# Twice: with one connection, what the gateway adds to a single miss; with miss_conns, what it adds when misses
# queue behind one another on its one core.
measure_miss() {
  local conns
  for conns in 1 "$miss_conns"; do measure_miss_at "$conns"; done
}
measure_miss_at() { # conns
  local out s0 n who seen c=$1
  for who in gateway direct; do
    out="$work/wrk-miss-$who-c$c.out"
    s0=$(tax_sim_requests)
    if [[ $who == gateway ]]; then
      miss_wrk "$out" "$c" "https://127.0.0.1:$srv_port$(route_url get)" "$pki/portal.crt" "$pki/portal.key" \
        "${officer[@]}" -H 'Cache-Control: no-cache'
    else
      miss_wrk "$out" "$c" "https://127.0.0.1:${sim_port[tax]}/api/tracuu/nnt" "$pki/gateway-national.crt" \
        "$pki/gateway-national.key" -s "$work/tax-direct.lua"
    fi
    n=$(wrk_requests "$out")
    ((${n:-0} > 0)) || die "miss path ($who, $c connections): wrk completed no request: $(cat "$out")"
    [[ $(wrk_bad "$out") == 0 ]] || die "miss path ($who, $c connections): wrk saw errors or non-2xx answers: $(cat "$out")"
    seen=$(($(tax_sim_requests) - s0))
    # wrk counts the requests it completed; the simulator also saw those cut off when wrk stopped (one per connection).
    ((seen >= n && seen <= n + c)) ||
      die "miss path ($who, $c connections): the simulator saw $seen requests for wrk's $n: not every request was a miss"
    fig[miss_p50_c$c,$who]=$(to_ms "$(awk '$1=="50%"{print $2}' "$out")")
    fig[miss_p99_c$c,$who]=$(to_ms "$(awk '$1=="99%"{print $2}' "$out")")
    fig[miss_rps_c$c,$who]=$(awk '/^Requests\/sec/{printf "%.0f", $2}' "$out")
    fig[miss_n_c$c,$who]=$n
    fig[miss_load_c$c,$who]=$(loadavg)
  done
}

bench_server() { # name
  local route
  note "$1: start"
  start_server "$1" ecdsa
  check_access "$1" "$srv_port"
  warm "$1" "$srv_port"
  [[ -n $shim ]] || verify_shim "$1" "$srv_port"
  note "$1: idle connections"
  measure_idle_memory "$1" get
  note "$1: throughput"
  for route in $(server_routes "$1"); do measure_throughput "$1" "$route"; done
  if [[ $1 == gateway ]]; then
    note "gateway: the miss path, and the simulator called directly"
    measure_miss
  fi
  note "$1: handshakes"
  measure_handshakes "$1" ecdsa
  stop_pid "$srv_pid"
  start_server "$1" rsa
  measure_handshakes "$1" rsa
  stop_pid "$srv_pid"
  note "$1: instructions under callgrind"
  measure_instructions "$1"
}

# ---- the table --------------------------------------------------------------------------------------------------------

# ratio to the best peer: lower is better unless the metric is "higher"
ratio_row() { # label metric better(lower|higher) servers...
  local label=$1 metric=$2 better=$3 s best=""
  shift 3
  local list=("$@")
  printf '%-42s' "$label"
  for s in "${list[@]}"; do printf ' %11s' "${fig[$metric,$s]:-n/a}"; done
  for s in "${list[@]}"; do
    [[ $s == gateway || -z ${fig[$metric,$s]:-} ]] && continue
    if [[ -z $best ]] || awk -v a="${fig[$metric,$s]}" -v b="$best" -v h="$better" 'BEGIN{exit !(h=="higher" ? a > b : a < b)}'; then
      best=${fig[$metric,$s]}
    fi
  done
  if [[ -n $best && -n ${fig[$metric,gateway]:-} ]]; then
    awk -v g="${fig[$metric,gateway]}" -v b="$best" 'BEGIN{ if (b == 0) print "          -"; else printf " %10.2fx\n", g / b }'
  else
    printf '\n'
  fi
}
plain_row() { # label metric servers...
  local label=$1 metric=$2 s
  shift 2
  printf '%-42s' "$label"
  for s in "$@"; do printf ' %11s' "${fig[$metric,$s]:-n/a}"; done
  printf '\n'
}
print_table() {
  local hdr
  echo
  echo "Cached-hit path, mutual TLS (TLS 1.3), one server worker on CPU $server_cpu, load tools on CPU $client_cpu."
  echo "Commit $commit, $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), mode $( ((quick)) && echo quick || echo default)."
  echo "wrk: ${wrk_s} s, $wrk_conns keep-alive connections, 1 thread; callgrind: $cg_n and $((2 * cg_n)) hits on one connection;"
  echo "handshakes: $hs_n of each kind; idle connections: $idle_n. gateway/best = the gateway's figure over the best peer's."
  echo
  printf '%-42s' "${route_desc[get]}"
  for hdr in "${servers[@]}"; do printf ' %11s' "$hdr"; done
  printf ' %11s\n' "gateway/best"
  ratio_row "instructions per hit (callgrind)" ir_get lower "${servers[@]}"
  ratio_row "instructions per request, under load (perf)" perf_get lower "${servers[@]}"
  ratio_row "requests/s (wrk)" rps_get higher "${servers[@]}"
  ratio_row "latency p50 (ms)" p50_get lower "${servers[@]}"
  ratio_row "latency p99 (ms)" p99_get lower "${servers[@]}"
  ratio_row "server CPU per request (us)" cpu_get lower "${servers[@]}"
  ratio_row "memory per idle mTLS connection (KiB)" mem lower "${servers[@]}"
  ratio_row "full handshake, ECDSA P-256 (us CPU)" hs_full_ecdsa lower "${servers[@]}"
  ratio_row "resumed handshake, ECDSA P-256 (us CPU)" hs_resumed_ecdsa lower "${servers[@]}"
  ratio_row "full handshake, RSA 2048 (us CPU)" hs_full_rsa lower "${servers[@]}"
  ratio_row "resumed handshake, RSA 2048 (us CPU)" hs_resumed_rsa lower "${servers[@]}"
  plain_row "full handshakes resumed (ECDSA)" hs_full_reused_ecdsa "${servers[@]}"
  plain_row "resumed by ticket (ECDSA) (1)" hs_resumed_reused_ecdsa "${servers[@]}"
  plain_row "resumed by ticket (RSA) (1)" hs_resumed_reused_rsa "${servers[@]}"
  plain_row "answer size, head+body (bytes)" bytes_get "${servers[@]}"
  plain_row "load average 1 min: callgrind run" load_cg "${servers[@]}"
  plain_row "load average 1 min: wrk run" load_wrk_get "${servers[@]}"
  plain_row "CPU $server_cpu busy outside the server in wrk run (%)" other_get "${servers[@]}"
  plain_row "load average 1 min: idle connections" load_mem "${servers[@]}"
  plain_row "load average 1 min: ECDSA handshakes" load_hs_ecdsa "${servers[@]}"
  plain_row "load average 1 min: RSA handshakes" load_hs_rsa "${servers[@]}"
  echo "(1) resumed/handshakes as the client saw them, each resumption offering a session ticket; in brackets the"
  echo "    gateway's own count of resumed handshakes (lienthong_tls_resumed_handshakes_total)."
  echo
  printf '%-42s' "${route_desc[post]}"
  for hdr in gateway nginx; do printf ' %11s' "$hdr"; done
  printf ' %11s\n' "gateway/best"
  ratio_row "instructions per hit (callgrind)" ir_post lower gateway nginx
  ratio_row "instructions per request, under load (perf)" perf_post lower gateway nginx
  ratio_row "requests/s (wrk)" rps_post higher gateway nginx
  ratio_row "latency p50 (ms)" p50_post lower gateway nginx
  ratio_row "latency p99 (ms)" p99_post lower gateway nginx
  ratio_row "server CPU per request (us)" cpu_post lower gateway nginx
  plain_row "answer size, head+body (bytes)" bytes_post gateway nginx
  plain_row "load average 1 min: wrk run" load_wrk_post gateway nginx
  plain_row "CPU $server_cpu busy outside the server in wrk run (%)" other_post gateway nginx
  echo
  print_miss_table
}
print_miss_table() {
  [[ -n ${fig[miss_p50_c1,gateway]:-} ]] || return 0
  echo "Miss path: GET /v1/taxpayers/{tax_code} with Cache-Control: no-cache through the gateway (it calls the tax"
  echo "simulator and stores the answer) against the simulator called directly (POST /api/tracuu/nnt), the same TLS;"
  echo "wrk -t1, ${wrk_s} s each, with 1 and with $miss_conns connections. The simulator runs on CPU $client_cpu with wrk."
  echo "Instructions per miss (callgrind, the gateway's threads only, $cg_n and $((2 * cg_n)) misses): ${fig[ir_miss,gateway]:-n/a}"
  local m c
  for c in 1 "$miss_conns"; do
    printf '%-42s %11s %11s %11s\n' "$c connection(s)" gateway direct added
    for m in p50 p99; do
      printf '%-42s %11s %11s %11s\n' "latency $m (ms)" "${fig[miss_${m}_c$c,gateway]}" "${fig[miss_${m}_c$c,direct]}" \
        "$(awk -v g="${fig[miss_${m}_c$c,gateway]}" -v d="${fig[miss_${m}_c$c,direct]}" 'BEGIN{printf "%.2f", g - d}')"
    done
    printf '%-42s %11s %11s\n' "requests/s" "${fig[miss_rps_c$c,gateway]}" "${fig[miss_rps_c$c,direct]}"
    printf '%-42s %11s %11s\n' "requests (each reached the simulator)" "${fig[miss_n_c$c,gateway]}" "${fig[miss_n_c$c,direct]}"
    printf '%-42s %11s %11s\n' "load average 1 min" "${fig[miss_load_c$c,gateway]}" "${fig[miss_load_c$c,direct]}"
  done
}

# ---- the soak ------------------------------------------------------------------------------------------------------

# Keeps opening connections until the file $1 exists: resumed handshakes (a ticket each, across the keys'
# rotations), full ones, and new connections with a few hits each. Counts what it did into $2.
soak_connections() { # stop_file counts_file
  local full=0 resumed=0 conns=0
  while [[ ! -e $1 ]]; do
    taskset -c "$client_cpu" "$build/bench/hit_client" handshakes 127.0.0.1 "$srv_port" 100 resumed >/dev/null ||
      die "soak: resumed handshakes failed"
    taskset -c "$client_cpu" "$build/bench/hit_client" handshakes 127.0.0.1 "$srv_port" 20 full >/dev/null ||
      die "soak: full handshakes failed"
    for _ in 1 2 3 4 5; do
      taskset -c "$client_cpu" "$build/bench/hit_client" requests 127.0.0.1 "$srv_port" 10 "$work/get.req" >/dev/null ||
        die "soak: a new connection's hits failed"
    done
    resumed=$((resumed + 100)) full=$((full + 21)) conns=$((conns + 126))
    echo "$conns $full $resumed" >"$2"
  done
}

# --soak: the gateway alone, under hits (GET and POST), misses (GET with no-cache, each a call to the simulator) and
# new connections, for soak_s seconds; its RSS after a warm-up of a tenth of that (at most 60 s) and at the end.
# The ticket keys rotate every minute, so resumption is exercised across rotations.
run_soak() {
  local warm_s=$((soak_s / 10 > 60 ? 60 : soak_s / 10)) stop="$work/soak.stop" counts="$work/soak.counts"
  local r0 r1 t0 g0 p loader pids_wrk=() name
  LT_BENCH_TICKET_ROTATE_S=60 start_server gateway ecdsa
  check_access gateway "$srv_port"
  warm gateway "$srv_port"
  [[ -n $shim ]] || verify_shim gateway "$srv_port"
  note "soak: ${soak_s} s of mixed load on the gateway (warm-up ${warm_s} s)"
  g0=$(gateway_metric 'lienthong_tls_resumed_handshakes_total{listener="api"}')
  t0=$(tax_sim_requests)
  local args_get=(-t1 -c16 -d"$soak_s"s "${officer[@]}")
  taskset -c "$client_cpu" env LD_PRELOAD="$shim" wrk "${args_get[@]}" "https://127.0.0.1:$srv_port$(route_url get)" \
    >"$work/soak-hits-get.out" 2>&1 &
  pids_wrk+=($!)
  taskset -c "$client_cpu" env LD_PRELOAD="$shim" wrk -t1 -c4 -d"$soak_s"s -s "$work/post.lua" \
    "https://127.0.0.1:$srv_port$(route_url post)" >"$work/soak-hits-post.out" 2>&1 &
  pids_wrk+=($!)
  taskset -c "$client_cpu" env LD_PRELOAD="$shim" wrk -t1 -c2 -d"$soak_s"s "${officer[@]}" -H 'Cache-Control: no-cache' \
    "https://127.0.0.1:$srv_port$(route_url get)" >"$work/soak-misses.out" 2>&1 &
  pids_wrk+=($!)
  soak_connections "$stop" "$counts" &
  loader=$!
  sleep "$warm_s"
  r0=$(rss_kib "$srv_pid")
  note "soak: RSS after the warm-up ${r0} KiB"
  for p in "${pids_wrk[@]}"; do wait "$p" || true; done
  touch "$stop"
  wait "$loader" || die "soak: the connection loader failed"
  sleep 1
  r1=$(rss_kib "$srv_pid")
  kill -0 "$srv_pid" 2>/dev/null || die "soak: the gateway exited"
  for name in hits-get hits-post misses; do
    [[ $(wrk_bad "$work/soak-$name.out") == 0 ]] || die "soak: wrk ($name) saw errors or non-2xx answers: $(cat "$work/soak-$name.out")"
  done
  local conns full resumed
  read -r conns full resumed <"$counts"
  echo
  echo "Soak: the gateway alone (workers=1 on CPU $server_cpu), ${soak_s} s, commit $commit."
  echo "Mixed load: wrk GET hits (16 connections), POST hits (4), GET misses with no-cache (2, each a call to the"
  echo "tax simulator); new connections one after the other: resumed handshakes, full ones, and hits on new connections."
  echo "Session ticket keys rotated every 60 s."
  printf '%-46s %12s\n' "GET hits (wrk requests)" "$(wrk_requests "$work/soak-hits-get.out")"
  printf '%-46s %12s\n' "POST hits (wrk requests)" "$(wrk_requests "$work/soak-hits-post.out")"
  printf '%-46s %12s\n' "misses (wrk requests)" "$(wrk_requests "$work/soak-misses.out")"
  printf '%-46s %12s\n' "tax simulator requests" "$(($(tax_sim_requests) - t0))"
  printf '%-46s %12s\n' "new connections (of them resumed, full)" "$conns ($resumed, $full)"
  printf '%-46s %12s\n' "resumed handshakes (the gateway's count)" "$(($(gateway_metric 'lienthong_tls_resumed_handshakes_total{listener="api"}') - g0))"
  printf '%-46s %12s\n' "ticket key rotations" "$(gateway_metric lienthong_tls_ticket_key_rotations_total)"
  printf '%-46s %12s\n' "RSS after the warm-up (KiB)" "$r0"
  printf '%-46s %12s\n' "RSS at the end (KiB)" "$r1"
  printf '%-46s %12s\n' "difference (KiB)" "$((r1 - r0))"
  printf '%-46s %12s\n' "load average 1 min at the end" "$(loadavg)"
  stop_pid "$srv_pid"
}

main() {
  install_packages
  build_binaries
  perf_check
  make_pki
  write_requests
  start_sims
  write_miss_requests
  if ((soak_s)); then
    run_soak
    return
  fi
  start_origin
  local s
  for s in "${servers[@]}"; do
    [[ -z $only || ,$only, == *,$s,* ]] && bench_server "$s"
  done
  print_table
}
main
