#!/usr/bin/env bash
# `make run`: the gateway and its simulators in the foreground on config/dev.json.
# Prints ready-to-paste curls that use real records from the simulators' data.
# Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
pki="$root/certs/dev"
seed=1
sim="$build/lienthong-sim"

pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# Every national system in one simulator process, on the ports config/dev.json names (service 91xx, control 92xx),
# with the payment gateway's IPN pointed at the gateway's callbacks listener and the portal's webhook receiver.
systems=(population business tax insurance payment webhook)
"$sim" --system all --certs-dir "$pki" --seed "$seed" --ipn-url https://localhost:8444/payments/vnpay/ipn &
pids+=($!)
"$build/lienthong-gateway" --config "$root/config/dev.json" &
pids+=($!)

# Wait until the gateway and every simulator answer before printing the examples.
ready() {
  curl -fsS http://127.0.0.1:9090/readyz >/dev/null 2>&1 || return 1
  for i in "${!systems[@]}"; do
    curl -fsS "http://127.0.0.1:$((9201 + i))/control/${systems[$i]}/stats" >/dev/null 2>&1 || return 1
  done
}
for _ in $(seq 1 100); do ready && break; sleep 0.1; done

field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }
citizen=$("$sim" --system population --sample 1 --seed "$seed")
business=$("$sim" --system business --sample 1 --seed "$seed" | field code)
taxpayer=$("$sim" --system tax --sample 1 --seed "$seed" | field tax_code)
insured=$("$sim" --system insurance --sample 1 --seed "$seed" | field insurance_number)
auth="--cert certs/dev/portal.crt --key certs/dev/portal.key --cacert certs/dev/province-ca.crt"
who="-H 'X-Officer-Id: CB-0001' -H 'X-Purpose: HS-2026-000123'"
cat <<MSG

Liên Thông is running: api https://localhost:8443 (mutual TLS), admin http://127.0.0.1:9090.
Callbacks (payment IPN and return) https://localhost:8444.
Simulators: population :9101, business :9102, tax :9103, insurance :9104, payment :9105,
webhook receiver :9106 (control on :92xx).
Ctrl-C stops everything.

Try a citizen lookup with the portal's certificate:

curl $auth \\
  -H 'Content-Type: application/json' $who \\
  https://localhost:8443/v1/citizens/lookup -d '$citizen'

And the other national systems:

curl $auth $who https://localhost:8443/v1/businesses/$business
curl $auth $who https://localhost:8443/v1/taxpayers/$taxpayer
curl $auth $who https://localhost:8443/v1/insured/$insured

A fee payment: create it, open its pay_url in a browser (accept the dev certificate), pay or cancel,
then read its state and the event the portal's webhook received (the browser ends on the
portal's return_url, which does not exist in dev):

curl $auth -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\
  https://localhost:8443/v1/payments \\
  -d '{"dossier_id":"000.00.12.H53-241122-0001","amount_vnd":150000,"description":"Lệ phí hồ sơ","return_url":"https://portal.example.vn/ket-qua","client_ip":"127.0.0.1"}'
curl $auth https://localhost:8443/v1/payments/PAYMENT_ID
curl http://127.0.0.1:9206/control/webhook/events

MSG
wait -n "${pids[@]}"
