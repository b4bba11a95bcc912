#!/usr/bin/env bash
# test-in-clean-root.sh: install the gateway's .deb into a clean Debian 12 root and start it there as its systemd
# unit would (docs/operations.md, "Installing from the .deb"; docs/development.md, "The package in a clean root").
#
# Usage: packaging/test-in-clean-root.sh [--create] [--mirror URL] DEB ROOT
#
#   DEB       the package `make deb` built (build-deb/lienthong-gateway_<version>_amd64.deb)
#   ROOT      a Debian 12 (bookworm) root directory, e.g. /tmp/lt-root. With --create, a missing ROOT is made with
#             `debootstrap --variant=minbase bookworm ROOT MIRROR` (needs debootstrap on the host and the mirror).
#   --mirror  the Debian mirror for --create (default http://deb.debian.org/debian, or $LT_DEBIAN_MIRROR)
#
# What it proves, in this order (each step stops the script with a message saying what failed):
#   1. `apt-get install ./pkg.deb` inside the root installs the package, its dependencies coming from the mirror;
#   2. postinst made the system user and group lienthong, /etc/lienthong{,/tls,/secrets} (0750 root:lienthong)
#      and /var/lib/lienthong (0750 lienthong:lienthong); the sample is in /etc/lienthong/gateway.json.sample;
#      /etc/lienthong keeps its mode when dpkg unpacks the package again (--reinstall, as an upgrade does);
#   3. `systemd-analyze verify` passes on the installed unit inside the root (systemd and man-db are installed in
#      the root for it: verify also checks that man:lienthong-gateway(8) resolves);
#   4. a config made from the installed sample (a throw-away PKI from certs/gen-pki.sh in /etc/lienthong/tls and
#      secrets, listeners on free loopback ports, the national systems at a closed port, Redis off: memory cache
#      and the payment journal under /var/lib/lienthong) passes the unit's ExecStartPre (--check-config);
#   5. the unit's ExecStart, run as its User=/Group= with no new privileges, no capabilities, UMask=0077 and an
#      empty environment, answers /readyz 200 on the admin listener and /status.json with the package's version;
#   6. SIGTERM makes it exit 0.
#
# Idempotent: a package already in the root is purged first and its user and directories removed, so every run
# checks a first install. The root must be a throw-away one: never the host's /. /proc and /dev are mounted in
# the root while the script runs and unmounted on every exit path. Needs root, chroot, python3, curl, openssl.
# shellcheck disable=SC2016 # dpkg-query's ${Status} formats are dpkg's, not the shell's
set -euo pipefail

readonly PROG=test-in-clean-root
readonly UNIT=/usr/lib/systemd/system/lienthong-gateway.service
readonly SUITE=bookworm
MIRROR=${LT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CREATE=0
ROOT=""
GATEWAY_PID=""
SCRATCH=""
PKG_IN_ROOT=""
MOUNTED=()

say() { printf '%s: %s\n' "$PROG" "$*"; }
die() {
    printf '%s: FAIL: %s\n' "$PROG" "$*" >&2
    exit 1
}

usage() {
    sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

cleanup() {
    local rc=$?
    if [ -n "$GATEWAY_PID" ] && kill -0 "$GATEWAY_PID" 2>/dev/null; then
        kill -KILL "$GATEWAY_PID" 2>/dev/null || true
        wait "$GATEWAY_PID" 2>/dev/null || true
    fi
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" || say "could not unmount ${MOUNTED[i]}"
    done
    [ -n "$SCRATCH" ] && rm -rf "$SCRATCH"
    [ -n "$ROOT" ] && [ "$ROOT" != / ] && rm -rf "$ROOT/tmp/lt-deb"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

mount_in_root() { # mount_in_root TARGET mount-args...: mounts once, remembered for cleanup
    local target=$ROOT$1
    shift
    if mountpoint -q "$target"; then die "$target is already mounted (another run in progress?)"; fi
    mount "$@" "$target" || die "cannot mount $target"
    MOUNTED+=("$target")
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
        --create) CREATE=1 ;;
        --mirror)
            [ $# -ge 2 ] || usage
            MIRROR=$2
            shift
            ;;
        -h | --help) usage ;;
        -*) die "unknown option $1" ;;
        *) break ;;
        esac
        shift
    done
    [ $# -eq 2 ] || usage
    DEB=$(realpath -e "$1" 2>/dev/null) || die "no package at $1 (run make deb)"
    ROOT=$(realpath -m "$2")
    case $DEB in *.deb) ;; *) die "$DEB is not a .deb" ;; esac
    [ "$ROOT" != / ] || die "ROOT must be a throw-away root, not /"
    [ "$(id -u)" = 0 ] || die "must run as root (chroot, mount, debootstrap)"
    local tool
    for tool in chroot python3 curl openssl dpkg-deb mountpoint; do
        command -v "$tool" >/dev/null || die "$tool is not installed on the host"
    done
}

make_root() {
    if [ -f "$ROOT/etc/debian_version" ]; then
        say "root: $ROOT (Debian $(cat "$ROOT/etc/debian_version"))"
        return
    fi
    [ "$CREATE" = 1 ] || die "$ROOT is not a Debian root: make one with --create (debootstrap)"
    command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    [ ! -e "$ROOT" ] || [ -z "$(ls -A "$ROOT")" ] || die "$ROOT exists, is not empty and is not a Debian root"
    say "creating $ROOT: debootstrap --variant=minbase $SUITE $MIRROR"
    debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" || die "debootstrap failed (mirror $MIRROR reachable?)"
    # As a Debian 12 installation has them: the point releases' updates and the security archive.
    local security=${MIRROR%/debian}/debian-security
    cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $security $SUITE-security main
EOF
    [ -f "$ROOT/etc/debian_version" ] || die "debootstrap left no $ROOT/etc/debian_version"
}

# A previous run's install is undone, so that postinst's first-install path is what the checks see.
reset_root() {
    if in_root dpkg-query -W -f='${Status}' lienthong-gateway 2>/dev/null | grep -q 'install ok'; then
        say "purging the package a previous run installed"
        in_root apt-get purge -y -qq lienthong-gateway >/dev/null || die "apt-get purge lienthong-gateway failed"
    fi
    if in_root dpkg-statoverride --list /etc/lienthong >/dev/null 2>&1; then
        in_root dpkg-statoverride --remove /etc/lienthong || die "dpkg-statoverride --remove /etc/lienthong failed"
    fi
    rm -rf "$ROOT/etc/lienthong" "$ROOT/var/lib/lienthong"
    if in_root getent passwd lienthong >/dev/null; then in_root userdel lienthong || die "userdel lienthong failed"; fi
    if in_root getent group lienthong >/dev/null; then in_root groupdel lienthong || die "groupdel lienthong failed"; fi
}

install_deb() {
    cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
    mkdir -p "$ROOT/tmp/lt-deb"
    rm -f "$ROOT"/tmp/lt-deb/*.deb
    cp "$DEB" "$ROOT/tmp/lt-deb/"
    PKG_IN_ROOT=/tmp/lt-deb/$(basename "$DEB")
    say "apt-get update (in the root)"
    in_root apt-get update -qq || die "apt-get update failed in the root"
    say "apt-get install $PKG_IN_ROOT (in the root)"
    in_root apt-get install -y --no-install-recommends "$PKG_IN_ROOT" ||
        die "apt-get install $PKG_IN_ROOT failed in the root"
    say "installed: $(in_root dpkg-query -W -f='${Package} ${Version} ${Status}' lienthong-gateway)"
}

check_mode() { # check_mode PATH MODE OWNER GROUP
    local got
    [ -d "$ROOT$1" ] || die "postinst did not create $1"
    got=$(in_root stat -c '%a %U %G' "$1") # names from the root's own passwd and group files, not the host's
    [ "$got" = "$2 $3 $4" ] || die "$1 is '$got', not '$2 $3 $4'"
    say "ok: $1 $got"
}

check_postinst() {
    local pw uid shell
    pw=$(in_root getent passwd lienthong) || die "postinst did not create the user lienthong"
    in_root getent group lienthong >/dev/null || die "postinst did not create the group lienthong"
    uid=$(printf '%s' "$pw" | cut -d: -f3)
    shell=$(printf '%s' "$pw" | cut -d: -f7)
    [ "$uid" -lt 1000 ] || die "lienthong is not a system user (uid $uid)"
    case $shell in */nologin | */false) ;; *) die "lienthong has a login shell ($shell)" ;; esac
    say "ok: user $pw"
    check_mode /etc/lienthong 750 root lienthong
    check_mode /etc/lienthong/tls 750 root lienthong
    check_mode /etc/lienthong/secrets 750 root lienthong
    check_mode /var/lib/lienthong 750 lienthong lienthong
    [ -f "$ROOT/etc/lienthong/gateway.json.sample" ] || die "no /etc/lienthong/gateway.json.sample"
    [ -x "$ROOT/usr/sbin/lienthong-gateway" ] || die "no /usr/sbin/lienthong-gateway"
    [ -f "$ROOT$UNIT" ] || die "no $UNIT"
}

# dpkg unpacks /etc/lienthong (it holds the sample) again on an upgrade: its mode must survive that.
check_reinstall() {
    say "apt-get install --reinstall $PKG_IN_ROOT (in the root: dpkg unpacks it again, as on an upgrade)"
    in_root apt-get install -y -qq --reinstall "$PKG_IN_ROOT" >/dev/null || die "apt-get install --reinstall failed"
    check_mode /etc/lienthong 750 root lienthong
}

verify_unit() {
    local missing=() p
    for p in systemd man-db; do
        in_root dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing ${missing[*]} in the root (for systemd-analyze verify)"
        in_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
            die "apt-get install ${missing[*]} failed in the root"
    fi
    # man-db's index, so that verify's `man lienthong-gateway(8)` finds the page the package installed
    in_root mandb -q >/dev/null 2>&1 || true
    say "systemd-analyze verify $UNIT (in the root)"
    local out
    if ! out=$(in_root systemd-analyze verify "$UNIT" 2>&1); then
        printf '%s\n' "$out" >&2
        die "systemd-analyze verify failed"
    fi
    [ -z "$out" ] || {
        printf '%s\n' "$out" >&2
        die "systemd-analyze verify printed warnings"
    }
    say "ok: systemd-analyze verify passed, nothing reported"
}

# The line KEY= of the installed unit (one line each for the keys this script reads).
unit_value() {
    local v
    v=$(sed -n "s/^$1=//p" "$ROOT$UNIT")
    [ -n "$v" ] || die "$UNIT has no $1="
    [ "$(printf '%s\n' "$v" | wc -l)" = 1 ] || die "$UNIT has several $1= lines"
    printf '%s' "$v"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The throw-away PKI and secrets, under the names the sample gives them, owned as the operations guide says.
install_pki() {
    local gen
    gen=$(dirname "$(realpath "$0")")/../certs/gen-pki.sh
    [ -x "$gen" ] || die "no certs/gen-pki.sh next to this script ($gen)"
    "$gen" "$SCRATCH/pki" >/dev/null || die "certs/gen-pki.sh failed"
    local tls=$ROOT/etc/lienthong/tls sec=$ROOT/etc/lienthong/secrets f
    cp "$SCRATCH/pki/gateway.crt" "$SCRATCH/pki/gateway.key" "$SCRATCH/pki/province-ca.crt" \
        "$SCRATCH/pki/province-ca.crl" "$SCRATCH/pki/national-ca.crt" "$tls/"
    cp "$SCRATCH/pki/gateway-national.crt" "$tls/national-client.crt"
    cp "$SCRATCH/pki/gateway-national.key" "$tls/national-client.key"
    for f in business-client.secret tax-api.key insurance-hmac.secret payment-hash.secret webhook.secret \
        cache-hmac.key cache-aead.key civil-status.password admin.token; do
        cp "$SCRATCH/pki/$f" "$sec/"
    done
    in_root sh -c 'chown root:lienthong /etc/lienthong/tls/* /etc/lienthong/secrets/* &&
        chmod 0640 /etc/lienthong/tls/* /etc/lienthong/secrets/*' || die "cannot set the PKI's owner and modes"
}

# gateway.json from the installed sample: loopback listeners on free ports, two workers, the national systems and
# the payment gateway at a closed port (nothing leaves the host), Redis off (memory cache, the payment journal).
write_config() {
    API_PORT=$(free_port)
    ADMIN_PORT=$(free_port)
    CALLBACKS_PORT=$(free_port)
    local closed
    closed=$(free_port)
    python3 - "$ROOT/etc/lienthong/gateway.json.sample" "$ROOT/etc/lienthong/gateway.json" \
        "$API_PORT" "$ADMIN_PORT" "$CALLBACKS_PORT" "$closed" <<'EOF' || die "cannot write gateway.json from the sample"
import json, sys
sample, out, api, admin, callbacks, closed = sys.argv[1:]
with open(sample, encoding="utf-8") as f:
    cfg = json.load(f)
cfg["workers"] = 2
cfg["listeners"]["api"]["bind"] = "127.0.0.1:" + api
cfg["listeners"]["admin"]["bind"] = "127.0.0.1:" + admin
cfg["listeners"]["callbacks"]["bind"] = "127.0.0.1:" + callbacks
for u in cfg["upstreams"].values():
    if isinstance(u, dict):
        u["base_url"] = "https://127.0.0.1:" + closed
cfg["payments"]["base_url"] = "https://127.0.0.1:" + closed
cfg["cache"]["backend"] = "memory"
del cfg["cache"]["redis"]
cfg["payments"]["store"] = {"backend": "journal", "journal_dir": "/var/lib/lienthong/payments"}
with open(out, "w", encoding="utf-8") as f:
    json.dump(cfg, f, ensure_ascii=False, indent=2)
EOF
    in_root sh -c 'chown root:lienthong /etc/lienthong/gateway.json && chmod 0640 /etc/lienthong/gateway.json'
    say "config: /etc/lienthong/gateway.json (api $API_PORT, admin $ADMIN_PORT, callbacks $CALLBACKS_PORT," \
        "national systems at closed port $closed, Redis off)"
}

# A command line of the unit run as the unit runs it: User=/Group= with their groups, NoNewPrivileges=yes,
# CapabilityBoundingSet= and AmbientCapabilities= empty, UMask=0077, no inherited environment.
as_unit() {
    local user group
    user=$(unit_value User)
    group=$(unit_value Group)
    umask 0077
    exec chroot "$ROOT" /usr/bin/setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs \
        --inh-caps=-all --bounding-set=-all -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

admin_get() { curl -sS -o "$SCRATCH/body" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$ADMIN_PORT$1"; }

run_gateway() {
    local pre start
    pre=$(unit_value ExecStartPre)
    start=$(unit_value ExecStart)
    say "ExecStartPre as the unit's user: $pre"
    # shellcheck disable=SC2086 # the unit's command line, split on spaces as systemd does for these
    (as_unit $pre) || die "ExecStartPre (--check-config) failed"
    say "ok: --check-config passed"
    say "ExecStart as the unit's user: $start"
    # shellcheck disable=SC2086
    (as_unit $start) >"$SCRATCH/gateway.log" 2>&1 &
    GATEWAY_PID=$!
    local code="" i
    for ((i = 0; i < 600; i++)); do # a give-up after about a minute, not a timing requirement
        kill -0 "$GATEWAY_PID" 2>/dev/null || { tail -20 "$SCRATCH/gateway.log" >&2; die "the gateway exited early"; }
        code=$(admin_get /readyz 2>/dev/null) || code=""
        [ "$code" = 200 ] && break
        sleep 0.1
    done
    [ "$code" = 200 ] || { tail -20 "$SCRATCH/gateway.log" >&2; die "/readyz never answered 200 (last: $code)"; }
    say "ok: GET /readyz -> $code $(cat "$SCRATCH/body")"
    local uid want
    uid=$(ps -o uid= -p "$GATEWAY_PID" | tr -d ' ') || die "no process $GATEWAY_PID"
    want=$(in_root id -u "$(unit_value User)")
    [ "$uid" = "$want" ] || die "the gateway runs as uid $uid, not the unit's User= (uid $want)"
    say "ok: the gateway (pid $GATEWAY_PID) runs as uid $uid, $(unit_value User) in the root"
}

check_status() {
    local code want got
    code=$(admin_get /status.json) || die "GET /status.json failed"
    [ "$code" = 200 ] || die "GET /status.json answered $code"
    want=$(dpkg-deb -f "$DEB" Version)
    got=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' "$SCRATCH/body") ||
        die "/status.json has no version"
    [ "$got" = "$want" ] || die "/status.json says version $got, the package is $want"
    say "ok: GET /status.json -> $code, version $got (package $want; --version: $(in_root /usr/sbin/lienthong-gateway --version))"
}

stop_gateway() {
    say "SIGTERM to the gateway"
    kill -TERM "$GATEWAY_PID"
    local rc=0
    wait "$GATEWAY_PID" || rc=$?
    GATEWAY_PID=""
    [ "$rc" = 0 ] || { tail -20 "$SCRATCH/gateway.log" >&2; die "the gateway exited $rc after SIGTERM"; }
    say "ok: the gateway exited 0 after SIGTERM"
}

main() {
    parse_args "$@"
    say "package: $DEB ($(dpkg-deb -f "$DEB" Package) $(dpkg-deb -f "$DEB" Version))"
    make_root
    SCRATCH=$(mktemp -d /tmp/lt-clean-root.XXXXXX)
    mount_in_root /proc -t proc proc
    mount_in_root /dev --bind /dev
    mount_in_root /dev/pts --bind /dev/pts
    reset_root
    install_deb
    check_postinst
    check_reinstall
    verify_unit
    install_pki
    write_config
    run_gateway
    check_status
    stop_gateway
    say "PASS: installed, verified and served in $ROOT"
}

main "$@"
