#!/usr/bin/env bash
# gen-crl.sh: a certificate revocation list of a CA of the development PKI.
#
# The list names exactly the certificates given with --revoke, nothing else:
# every run builds a fresh `openssl ca` database (index.txt) in a scratch
# directory, revokes those certificates in it, and signs the list with the
# CA's key (its certificate carries cRLSign). Only the CRL number is kept
# between runs (PKIDIR/<ca>.crlnumber), so each new list has a higher number
# than the one before, as a real CA's lists do.
#
# Usage: certs/gen-crl.sh [options] PKIDIR OUT
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: gen-crl.sh [options] PKIDIR OUT

Writes OUT, a revocation list of a CA of the PKI in PKIDIR (made by gen-pki.sh)
that lists exactly the --revoke certificates.

  --ca NAME             the issuing CA (PKIDIR/NAME.crt and .key); default province-ca
  --revoke NAME         revoke PKIDIR/NAME.crt (or NAME itself, when it is a path to a .crt);
                        may be repeated; none: an empty list
  --days N              nextUpdate N days after now (default 30)
  --last-update TIME    lastUpdate at TIME instead of now (YYYYMMDDHHMMSSZ)
  --next-update TIME    nextUpdate at TIME (YYYYMMDDHHMMSSZ), e.g. in the past for
                        an expired list; overrides --days
  --der                 write DER instead of PEM

Examples:
  gen-crl.sh --revoke revoked-client certs/dev certs/dev/province-ca.crl
  gen-crl.sh --revoke revoked-client --revoke district-office --der certs/dev /tmp/two.crl
  gen-crl.sh --last-update 20200101000000Z --next-update 20200108000000Z certs/dev /tmp/expired.crl
EOF
}

die() {
    echo "gen-crl: $*" >&2
    exit 1
}

main() {
    local ca=province-ca days=30 last="" next="" der=0 pkidir="" out=""
    local -a revoke=()
    while (($#)); do
        case "$1" in
        --ca) ca="${2:?--ca needs a name}"; shift ;;
        --revoke) revoke+=("${2:?--revoke needs a name}"); shift ;;
        --days) days="${2:?--days needs a number}"; shift ;;
        --last-update) last="${2:?--last-update needs a time}"; shift ;;
        --next-update) next="${2:?--next-update needs a time}"; shift ;;
        --der) der=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        -*)
            echo "gen-crl: unknown option: $1" >&2
            usage >&2
            exit 2
            ;;
        *)
            if [[ -z "$pkidir" ]]; then
                pkidir="$1"
            elif [[ -z "$out" ]]; then
                out="$1"
            else
                usage >&2
                exit 2
            fi
            ;;
        esac
        shift
    done
    if [[ -z "$pkidir" || -z "$out" ]]; then
        usage >&2
        exit 2
    fi
    [[ "$days" =~ ^[0-9]+$ && "$days" -gt 0 ]] || die "--days must be a positive number of days"
    [[ -s "$pkidir/$ca.crt" && -s "$pkidir/$ca.key" ]] || die "no CA $ca in $pkidir"
    pkidir="$(cd "$pkidir" && pwd)"

    local work
    work="$(mktemp -d "${TMPDIR:-/tmp}/gen-crl.XXXXXX")"
    # shellcheck disable=SC2064 # the directory is fixed now
    trap "rm -rf '$work'" EXIT
    : >"$work/index.txt"
    echo "unique_subject = no" >"$work/index.txt.attr"
    local numfile="$pkidir/$ca.crlnumber"
    [[ -s "$numfile" ]] || echo 1000 >"$numfile"
    cp "$numfile" "$work/crlnumber"
    cat >"$work/ca.cnf" <<EOF
# Written by gen-crl.sh for one run.
[ca]
default_ca = this_ca
[this_ca]
database = $work/index.txt
crlnumber = $work/crlnumber
certificate = $pkidir/$ca.crt
private_key = $pkidir/$ca.key
default_md = sha256
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
EOF
    local name crt
    for name in "${revoke[@]}"; do
        crt="$name"
        [[ "$crt" == *.crt ]] || crt="$pkidir/$name.crt"
        [[ -s "$crt" ]] || die "no certificate $crt to revoke"
        openssl ca -config "$work/ca.cnf" -revoke "$crt" -crl_reason keyCompromise >/dev/null 2>&1 ||
            die "openssl ca could not revoke $crt (is it issued by $ca?)"
    done
    local -a when=(-crldays "$days")
    [[ -z "$last" ]] || when+=(-crl_lastupdate "$last")
    [[ -z "$next" ]] || when+=(-crl_nextupdate "$next")
    openssl ca -config "$work/ca.cnf" -gencrl "${when[@]}" -out "$work/list.pem" 2>"$work/err" ||
        die "openssl ca -gencrl failed: $(cat "$work/err")"
    cp "$work/crlnumber" "$numfile"
    if ((der)); then
        openssl crl -in "$work/list.pem" -outform DER -out "$work/list.out"
    else
        cp "$work/list.pem" "$work/list.out"
    fi
    chmod 644 "$work/list.out"
    mv -f "$work/list.out" "$out"
}

main "$@"
