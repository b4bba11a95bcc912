#!/usr/bin/env bash
# gen-pki.sh: the development and test PKI of Liên Thông.
#
# Two certificate authorities stand in for the two trust domains the gateway
# lives between: the province (whose callers present client certificates to the
# gateway's API) and the national platform (whose systems the gateway calls with
# its own client certificate). A third, unrelated CA exists only so negative
# tests have a well-formed certificate that must still be refused.
#
# Everything is ECDSA P-256 with SHA-256. Nothing made here is ever committed:
# certs/dev/ is git-ignored and every test run may regenerate it.
#
# Usage: certs/gen-pki.sh [--force] OUTDIR
set -euo pipefail

readonly CA_DAYS=3650
readonly LEAF_DAYS=825
readonly MIN_VALID_SECONDS=86400 # regenerate when anything expires within a day
readonly CRL_DAYS=30              # the province CA's revocation list: nextUpdate 30 days after it is made
readonly REVOKED=(revoked-client) # what that list revokes
readonly SIM_SYSTEMS=(population business tax insurance payment land civil-status public-portal)
# Shared secrets between the gateway and the simulators (OAuth client secret,
# API key, HMAC key, payment hash secret, webhook secret, the civil-status
# service account's password, the public-service portal's account password),
# and the gateway's own (cache keys, the admin listener's token): 256 random
# bits as hex, one file each (mode 0600), made once and kept.
readonly SECRETS=(business-client.secret tax-api.key insurance-hmac.secret payment-hash.secret webhook.secret
    cache-hmac.key cache-aead.key civil-status.password public-portal.secret admin.token)
SCRATCH="" # global so that the EXIT trap still sees it after main returns

usage() {
    cat <<'EOF'
Usage: gen-pki.sh [--force] OUTDIR

Creates the development PKI in OUTDIR (ECDSA P-256, SHA-256):
  province-ca       CA of the province side (signs gateway, portal, district-office, webhook-sim)
  gateway           the gateway's API server certificate (localhost, 127.0.0.1, ::1)
  portal            client certificate CN=portal
  district-office   client certificate CN=district-office
  revoked-client    client certificate CN=revoked-client, listed in province-ca.crl
  province-ca.crl   the province CA's revocation list (PEM, 30 days), revoking revoked-client;
                    certs/gen-crl.sh makes others (another list of revoked certificates, DER,
                    past dates)
  webhook-sim       server certificate of the portal's webhook receiver (lienthong-sim --system webhook)
  national-ca       CA of the national platform (signs the *-sim and gateway-national)
  <system>-sim      server certificates of the simulators:
                    population business tax insurance payment land civil-status public-portal
  gateway-national  the gateway's client certificate toward the national side
  outsider-ca       an unrelated CA
  outsider-client   client certificate CN=portal from outsider-ca (must be refused)

And the shared secrets of the dev stand-ins, 256 random bits as hex:
  business-client.secret  insurance-hmac.secret  tax-api.key
  payment-hash.secret     webhook.secret   civil-status.password
  cache-hmac.key          cache-aead.key   (the cache's key-naming and value-encryption keys)
  public-portal.secret    (the national public-service portal's account password)
  admin.token             the bearer token of admin changes (listeners.admin.token_file)

Does nothing when every file exists and every certificate is valid for more
than one more day (a revocation list that is missing, out of date within a day
or no longer matches its CA is remade alone). --force regenerates everything.
EOF
}

die() {
    echo "gen-pki: $*" >&2
    exit 1
}

# Every file set: "name:issuer" (issuer "self" for a CA). The order matters:
# a CA comes before the certificates it signs.
file_sets() {
    echo "province-ca:self"
    echo "gateway:province-ca"
    echo "portal:province-ca"
    echo "district-office:province-ca"
    # Valid certificates of the provincial CA that the dev config lists as no client, or that share the portal's
    # CN: access control, not the handshake, must keep them out.
    echo "other-portal:province-ca"
    echo "portal-twin:province-ca"
    # A client certificate the province CA revoked: province-ca.crl lists it, so the handshake refuses it.
    echo "revoked-client:province-ca"
    # The portal's webhook receiver is a province system: the gateway checks it against the province CA.
    echo "webhook-sim:province-ca"
    echo "national-ca:self"
    local s
    for s in "${SIM_SYSTEMS[@]}"; do
        echo "${s}-sim:national-ca"
    done
    echo "gateway-national:national-ca"
    echo "outsider-ca:self"
    echo "outsider-client:outsider-ca"
}

# The subject and the extension section of each file set: together these two
# tables answer "what is this certificate".
subject_of() {
    case "$1" in
    province-ca) echo "/C=VN/O=Lien Thong Dev/CN=Lien Thong Province Dev CA" ;;
    national-ca) echo "/C=VN/O=National Platform Dev/CN=National Platform Dev CA" ;;
    outsider-ca) echo "/C=VN/O=Outsider Dev/CN=Outsider Dev CA" ;;
    gateway) echo "/C=VN/O=Lien Thong Dev/CN=localhost" ;;
    portal) echo "/C=VN/O=Lien Thong Dev/CN=portal" ;;
    district-office) echo "/C=VN/O=Lien Thong Dev/CN=district-office" ;;
    other-portal) echo "/C=VN/O=Lien Thong Dev/CN=other-portal" ;;
    portal-twin) echo "/C=VN/O=Lien Thong Dev/CN=portal" ;;
    revoked-client) echo "/C=VN/O=Lien Thong Dev/CN=revoked-client" ;;
    gateway-national) echo "/C=VN/O=Lien Thong Dev/CN=lienthong-gateway" ;;
    outsider-client) echo "/C=VN/O=Outsider Dev/CN=portal" ;;
    webhook-sim) echo "/C=VN/O=Lien Thong Dev/CN=webhook-sim" ;;
    *-sim) echo "/C=VN/O=National Platform Dev/CN=$1" ;;
    *) die "no subject for $1" ;;
    esac
}

section_of() {
    case "$1" in
    *-ca) echo "v3_ca" ;;
    gateway) echo "gateway_server" ;;
    *-sim) echo "sim_server" ;;
    portal | district-office | other-portal | portal-twin | revoked-client | gateway-national | outsider-client)
        echo "client"
        ;;
    *) die "no extension section for $1" ;;
    esac
}

write_openssl_config() {
    cat >"$1" <<'EOF'
# Written by gen-pki.sh; never prompts because every subject comes from -subj.
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused

[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[gateway_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer

[sim_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
}

# Everything present, unexpired for another day, and still chaining to its CA.
# The chain check catches a half-regenerated directory, where a CA was replaced
# but the leaves it signed were not.
is_complete() {
    local dir="$1" line name issuer
    while IFS= read -r line; do
        name="${line%%:*}"
        issuer="${line#*:}"
        [[ -s "$dir/$name.crt" && -s "$dir/$name.key" ]] || return 1
        openssl x509 -in "$dir/$name.crt" -noout -checkend "$MIN_VALID_SECONDS" >/dev/null 2>&1 || return 1
        if [[ "$issuer" != self ]]; then
            openssl verify -CAfile "$dir/$issuer.crt" "$dir/$name.crt" >/dev/null 2>&1 || return 1
        fi
    done < <(file_sets)
    return 0
}

# The province CA's list: present, signed by the current CA, valid for another day, and revoking exactly REVOKED.
crl_is_current() {
    local dir="$1" crl="$1/province-ca.crl" next name serial
    [[ -s "$crl" ]] || return 1
    openssl crl -in "$crl" -CAfile "$dir/province-ca.crt" -noout >/dev/null 2>&1 || return 1
    next="$(openssl crl -in "$crl" -noout -nextupdate 2>/dev/null)" || return 1
    next="$(date -u -d "${next#nextUpdate=}" +%s 2>/dev/null)" || return 1
    ((next > $(date -u +%s) + MIN_VALID_SECONDS)) || return 1
    for name in "${REVOKED[@]}"; do
        serial="$(openssl x509 -in "$dir/$name.crt" -noout -serial 2>/dev/null)" || return 1
        openssl crl -in "$crl" -noout -text | grep -qi "Serial Number: ${serial#serial=}\$" || return 1
    done
}

make_crl() {
    local dir="$1" name
    local -a args=()
    for name in "${REVOKED[@]}"; do
        args+=(--revoke "$name")
    done
    bash "$(dirname "${BASH_SOURCE[0]}")/gen-crl.sh" --days "$CRL_DAYS" "${args[@]}" "$dir" "$dir/province-ca.crl"
    echo "gen-pki: $dir/province-ca.crl"
}

# Secrets are independent of the certificates: made when missing, never rotated by this script.
ensure_secrets() {
    local dir="$1" f
    for f in "${SECRETS[@]}"; do
        if [[ ! -s "$dir/$f" ]]; then
            (umask 077 && openssl rand -hex 32 >"$dir/$f")
            echo "gen-pki: $dir/$f"
        fi
    done
}

new_key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
        -out "$1" 2>/dev/null
    chmod 600 "$1"
}

# A random 128-bit serial, so that regenerated certificates never repeat one
# that a client may have cached.
new_serial() {
    echo "0x$(openssl rand -hex 16)"
}

make_ca() {
    local work="$1" name="$2" cnf="$3"
    new_key "$work/$name.key"
    openssl req -new -x509 -config "$cnf" -extensions v3_ca -key "$work/$name.key" -sha256 \
        -days "$CA_DAYS" -set_serial "$(new_serial)" -subj "$(subject_of "$name")" -out "$work/$name.crt"
}

make_leaf() {
    local work="$1" name="$2" issuer="$3" cnf="$4"
    new_key "$work/$name.key"
    openssl req -new -config "$cnf" -key "$work/$name.key" -sha256 -subj "$(subject_of "$name")" \
        -out "$work/$name.csr"
    openssl x509 -req -in "$work/$name.csr" -CA "$work/$issuer.crt" -CAkey "$work/$issuer.key" \
        -set_serial "$(new_serial)" -days "$LEAF_DAYS" -sha256 -extfile "$cnf" \
        -extensions "$(section_of "$name")" -out "$work/$name.crt" 2>/dev/null
    rm -f "$work/$name.csr"
}

main() {
    local force=0 outdir=""
    while (($#)); do
        case "$1" in
        --force) force=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        -*)
            echo "gen-pki: unknown option: $1" >&2
            usage >&2
            exit 2
            ;;
        *)
            if [[ -n "$outdir" ]]; then
                echo "gen-pki: only one OUTDIR may be given" >&2
                exit 2
            fi
            outdir="$1"
            ;;
        esac
        shift
    done
    if [[ -z "$outdir" ]]; then
        usage >&2
        exit 2
    fi
    command -v openssl >/dev/null || die "openssl is not installed"

    mkdir -p "$outdir"
    outdir="$(cd "$outdir" && pwd)"
    ensure_secrets "$outdir"
    if ((!force)) && is_complete "$outdir"; then
        crl_is_current "$outdir" || make_crl "$outdir"
        exit 0
    fi

    # Build everything in a scratch directory inside OUTDIR, then move it into
    # place, so an interrupted run never leaves a CA that does not match its
    # leaves. umask keeps the keys private from the moment they exist.
    umask 077
    local work
    work="$(mktemp -d "$outdir/.gen-pki.XXXXXX")"
    SCRATCH="$work"
    trap 'rm -rf "$SCRATCH"' EXIT
    write_openssl_config "$work/openssl.cnf"

    local line name issuer
    while IFS= read -r line; do
        name="${line%%:*}"
        issuer="${line#*:}"
        if [[ "$issuer" == self ]]; then
            make_ca "$work" "$name" "$work/openssl.cnf"
        else
            make_leaf "$work" "$name" "$issuer" "$work/openssl.cnf"
        fi
    done < <(file_sets)

    while IFS= read -r line; do
        name="${line%%:*}"
        chmod 644 "$work/$name.crt"
        chmod 600 "$work/$name.key"
        mv -f "$work/$name.key" "$outdir/$name.key"
        mv -f "$work/$name.crt" "$outdir/$name.crt"
        echo "gen-pki: $outdir/$name.crt, $name.key"
    done < <(file_sets)
    make_crl "$outdir"
}

main "$@"
