#!/usr/bin/env bash
# `make run`: the gateway and its simulators in the foreground on config/dev.json.
# The simulators start first and the gateway only once they all answer, so its first probes are green; the
# ready-to-paste curls (real records from the simulators' data) are printed only once every process is ready.
# A process that dies stops everything, with its own message and a non-zero exit. One Ctrl-C drains the gateway.
#
# The gateway's ports may be moved (the simulators' stay those of config/dev.json): LT_DEV_API_PORT (8443),
# LT_DEV_ADMIN_PORT (9090), LT_DEV_CALLBACKS_PORT (8444). A moved port runs a copy of config/dev.json in .dev/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
pki="$root/certs/dev"
seed=1
sim="$build/lienthong-sim"

api_port=${LT_DEV_API_PORT:-8443}
admin_port=${LT_DEV_ADMIN_PORT:-9090}
callbacks_port=${LT_DEV_CALLBACKS_PORT:-8444}
config="$root/config/dev.json"
if [ "$api_port$admin_port$callbacks_port" != 844390908444 ]; then
  # Next to config/, so that dev.json's relative paths (../certs/dev, ../.dev/payments) still resolve.
  mkdir -p "$root/.dev"
  config="$root/.dev/run-dev.json"
  python3 - "$root/config/dev.json" "$config" "$api_port" "$admin_port" "$callbacks_port" <<'PY'
import json, sys
src, dst, api, admin, callbacks = sys.argv[1:]
cfg = json.load(open(src, encoding="utf-8"))
for name, port in (("api", api), ("admin", admin), ("callbacks", callbacks)):
    host = cfg["listeners"][name]["bind"].rsplit(":", 1)[0]
    cfg["listeners"][name]["bind"] = "%s:%s" % (host, port)
json.dump(cfg, open(dst, "w", encoding="utf-8"), indent=2)
PY
fi

pids=()
# Each process runs in its own session (setsid), so a Ctrl-C reaches this script alone, and each process gets
# exactly one SIGTERM from here: the gateway drains within limits.shutdown_grace_ms (a second signal would stop it
# at once).
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'echo "Stopping: the gateway drains in-flight requests." >&2; stop; exit 130' INT
trap 'stop; exit 143' TERM

# A process that is gone: report it and stop the others, exit non-zero. Its own message is already on stderr.
died() {
  echo "run-dev: $1 exited (status $2) before it was ready; stopping. Its message is above." >&2
  exit 1
}
alive() {
  local p
  for p in "${pids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      local status=0
      wait "$p" || status=$?
      died "$(name_of "$p")" "$status"
    fi
  done
}
declare -A names=()
name_of() { echo "${names[$1]:-a process}"; }

# Every simulated system with its ports, "NAME SERVICE_PORT CONTROL_PORT" a line, from the simulator's own table
# (tests/sim/sim_main.c): a system added there is started, waited for and listed here with no edit.
listing=$("$sim" --list)
mapfile -t sims <<<"$listing"

# Every system in one simulator process, on the ports config/dev.json names (service 91xx, control 92xx),
# with the payment gateway's IPN pointed at the gateway's callbacks listener and the portal's webhook receiver.
setsid "$sim" --system all --certs-dir "$pki" --seed "$seed" --ipn-url "https://localhost:$callbacks_port/payments/vnpay/ipn" &
pids+=($!)
names[$!]=lienthong-sim

# Every simulator answers its control API.
sims_ready() {
  local line name port control
  for line in "${sims[@]}"; do
    read -r name port control <<<"$line"
    curl -fsS "http://127.0.0.1:$control/control/$name/stats" >/dev/null 2>&1 || return 1
  done
}
gateway_ready() { curl -fsS "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1; }
# Waits (no deadline: a slow machine is no failure) until $1 succeeds, as long as every process lives.
wait_until() {
  until "$1"; do
    alive
    sleep 0.1
  done
}

wait_until sims_ready
setsid "$build/lienthong-gateway" --config "$config" &
pids+=($!)
names[$!]=lienthong-gateway
wait_until gateway_ready

simulators=$(for line in "${sims[@]}"; do read -r name port _ <<<"$line"; printf '%s :%s, ' "$name" "$port"; done)
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }
citizen=$("$sim" --system population --sample 1 --seed "$seed")
business=$("$sim" --system business --sample 1 --seed "$seed" | field code)
taxpayer=$("$sim" --system tax --sample 1 --seed "$seed" | field tax_code)
insured=$("$sim" --system insurance --sample 1 --seed "$seed" | field insurance_number)
# The land sample's first line is the ICD's example; the second is one of the simulator's own parcels.
land=$("$sim" --system land --sample 2 --seed "$seed" | sed -n 2p)
parcel="$(field commune <<<"$land")/$(field sheet <<<"$land")/$(field parcel <<<"$land")"
# The ICD's own sample child: his birth registration exists exactly as the ICD prints it.
civil=$("$sim" --system civil-status --sample 1 --seed "$seed" | field id)
auth="--cert certs/dev/portal.crt --key certs/dev/portal.key --cacert certs/dev/province-ca.crt"
who="-H 'X-Officer-Id: CB-0001' -H 'X-Purpose: HS-2026-000123'"
cat <<MSG

Liên Thông is running: api https://localhost:$api_port (mutual TLS), admin http://127.0.0.1:$admin_port.
Admin changes need the token of certs/dev/admin.token, which lienthong-ctl reads from the config:
$build/lienthong-ctl --config $config reload
Callbacks (payment IPN and return) https://localhost:$callbacks_port.
Simulators (webhook is the portal's receiver of payment events, control ports are 100 higher):
${simulators%, }.
Ctrl-C stops everything.

Try a citizen lookup with the portal's certificate:

curl $auth \\
  -H 'Content-Type: application/json' $who \\
  https://localhost:$api_port/v1/citizens/lookup -d '$citizen'

And the other national systems:

curl $auth $who https://localhost:$api_port/v1/businesses/$business
curl $auth $who https://localhost:$api_port/v1/taxpayers/$taxpayer
curl $auth $who https://localhost:$api_port/v1/insured/$insured
curl $auth $who https://localhost:$api_port/v1/land/parcels/$parcel
curl $auth $who https://localhost:$api_port/v1/land/certificates/DA%2001234567
curl $auth -H 'Content-Type: application/json' $who https://localhost:$api_port/v1/civil-status/lookup \\
  -d '{"id":"$civil","type":"birth"}'

From 23:00 to 05:00 (UTC+07:00) the land database is closed for its nightly synchronisation, as its
ICD says, and the gateway answers 503 until 05:00. To try it by day, or to open it at night:

curl -X PUT http://127.0.0.1:9208/control/land/window -d '{"mode":"closed"}'   # or "open", "clock"

A fee payment: create it, open its pay_url in a browser (accept the dev certificate), pay or cancel,
then read its state and the event the portal's webhook received (the browser ends on the
portal's return_url, which does not exist in dev):

curl $auth -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\
  https://localhost:$api_port/v1/payments \\
  -d '{"dossier_id":"000.00.12.H53-241122-0001","amount_vnd":150000,"description":"Lệ phí hồ sơ","return_url":"https://portal.example.vn/ket-qua","client_ip":"127.0.0.1"}'
curl $auth https://localhost:$api_port/v1/payments/PAYMENT_ID
curl http://127.0.0.1:9206/control/webhook/events

A dossier for the national public-service portal: hand over its snapshot and a step, see what the
portal acknowledged, what the portal simulator holds, and the province's indicators (on time,
online, paid online, overdue now) in /status.json and /metrics:

curl $auth -H 'Content-Type: application/json' $who -X PUT \\
  https://localhost:$api_port/v1/dossiers/000.00.12.H53-261122-0001 \\
  -d '{"version":1,"procedure_code":"1.001612.000.00.00.H53","applicant_name":"Nguyễn Thị Hồng Nhung","applicant_type":"citizen","received_at":"2026-11-22T09:00:00+07:00","due_at":"2026-11-29T17:00:00+07:00","status":"received","channel_code":"1","processing_unit":"UBND xã Tân Hòa","fees":[{"name":"Lệ phí khai sinh","code":"LP01","collection_method_code":"3","amount_vnd":150000}]}'
curl $auth -H 'Content-Type: application/json' $who \\
  https://localhost:$api_port/v1/dossiers/000.00.12.H53-261122-0001/steps \\
  -d '{"seq":1,"officer_name":"Trần Văn Bình","processed_at":"2026-11-22T09:05:00+07:00","content":"Tiếp nhận hồ sơ","status":"received"}'
curl $auth https://localhost:$api_port/v1/dossiers/000.00.12.H53-261122-0001/sync
curl http://127.0.0.1:9210/control/public-portal/dossiers
curl -s http://127.0.0.1:$admin_port/status.json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["dossiers"]["indicators"], ensure_ascii=False, indent=1))'
curl -s http://127.0.0.1:$admin_port/metrics | grep '^lienthong_dossier_indicator'
$build/lienthong-ctl --config $config status

MSG
# Until Ctrl-C, or until a process dies: then the others stop and the exit is non-zero.
status=0
wait -n "${pids[@]}" || status=$?
for p in "${pids[@]}"; do
  kill -0 "$p" 2>/dev/null || { echo "run-dev: $(name_of "$p") exited (status $status); stopping." >&2; break; }
done
exit $((status == 0 ? 1 : status))
