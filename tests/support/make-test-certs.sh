#!/bin/bash
# Generates the TLS material the tests need into DIR (created if missing):
#   ca.pem ca.key                       the test CA clients trust
#   server.pem server.key               CN=localhost, SAN localhost, 127.0.0.1, ::1; signed by the CA
#   rogue-ca.pem rogue-server.pem/.key  same names, signed by a CA nobody trusts
#   expired-server.pem/.key             signed by the good CA, validity entirely in the past
#   wrong-host-server.pem/.key          signed by the good CA, CN/SAN other.invalid
# Uses only the openssl CLI (OpenSSL 3.0): `openssl ca` sets past dates.
# Every certificate that should verify is valid from two days ago: the
# clock-step tests run the daemon with its wall clock stepped back (an hour),
# and a certificate "not yet valid" would fail its TLS handshake.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077

work=$(mktemp -d "${TMPDIR:-/tmp}/iot-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT

quiet() { "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }; }

ca_db() {
    mkdir -p "$work/ca-db"
    [ -f "$work/ca-db/index.txt" ] || : >"$work/ca-db/index.txt"
    [ -f "$work/ca-db/serial" ] || echo 1000 >"$work/ca-db/serial"
    cat >"$work/ca.cnf" <<CNF
[ca]
default_ca = test_ca
[test_ca]
dir = $work/ca-db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
CNF
}

utc() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
valid_from=$(utc "2 days ago")

# `openssl x509 -req` in 3.0 cannot back-date; `openssl ca` can (-startdate/-enddate).
sign_dated() {  # name ca start end [-selfsign]
    ca_db
    local issuer=(-cert "$2.pem")
    [ "${5:-}" = "-selfsign" ] && issuer=(-selfsign)
    quiet openssl ca -batch -config "$work/ca.cnf" "${issuer[@]}" -keyfile "$2.key" \
        -startdate "$3" -enddate "$4" -extfile "$work/$1.ext" \
        -in "$work/$1.csr" -out "$work/$1.full.pem" -notext
    mv "$work/$1.full.pem" "$1.pem"
}

make_ca() {  # name subject
    quiet openssl req -newkey rsa:2048 -nodes -sha256 -subj "$2" -keyout "$1.key" -out "$work/$1.csr"
    printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n' \
        >"$work/$1.ext"
    sign_dated "$1" "$1" "$valid_from" "$(utc "+3650 days")" -selfsign
}

# A signing request plus an extensions file with the given SAN list.
make_request() {  # name cn san
    quiet openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$2" -keyout "$1.key" -out "$work/$1.csr"
    cat >"$work/$1.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$3
EXT
}

sign() {  # name ca days
    sign_dated "$1" "$2" "$valid_from" "$(utc "+$3 days")"
}

sign_expired() {  # name ca
    sign_dated "$1" "$2" 20200101000000Z 20200201000000Z
}

good_san="DNS:localhost,IP:127.0.0.1,IP:::1"

make_ca ca "/CN=iot-amqpd test CA"
make_request server localhost "$good_san"
sign server ca 825

make_ca rogue-ca "/CN=iot-amqpd rogue CA"
make_request rogue-server localhost "$good_san"
sign rogue-server rogue-ca 825

make_request expired-server localhost "$good_san"
sign_expired expired-server ca

make_request wrong-host-server other.invalid "DNS:other.invalid"
sign wrong-host-server ca 825

chmod 0644 ./*.pem
chmod 0600 ./*.key
rm -f ./*.srl
