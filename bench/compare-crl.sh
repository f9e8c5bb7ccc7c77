#!/usr/bin/env bash
# CRL generation with N revoked entries: clientca (pki::sign_crl) vs `cfssl gencrl`, side by side on
# this machine. Both sign with a P-256 CA; cfssl is a benchmark peer only (Debian's golang-cfssl).
#
#   bench/compare-crl.sh [entries]        (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${1:-1000000}

command -v cfssl >/dev/null || { echo "installing Debian's golang-cfssl" >&2; apt-get install -y -q golang-cfssl >/dev/null; }
cargo build --release -q -p bench

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca-key.pem"
openssl req -x509 -new -key "$work/ca-key.pem" -subj "/CN=bench CA" -days 3650 -out "$work/ca.pem" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
python3 - "$entries" "$work/serials.txt" <<'PY'
import random, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for _ in range(n):
        f.write(f"{random.getrandbits(126) | (1 << 126)}\n")
PY

echo "== clientca (pki::sign_crl), $entries entries"
./target/release/clientca-bench crl --entries "$entries" --runs 3
echo "== cfssl gencrl, $entries entries"
/usr/bin/time -f "wall=%es peak_rss=%MkB" cfssl gencrl "$work/serials.txt" "$work/ca.pem" "$work/ca-key.pem" \
  > "$work/crl.b64" 2> "$work/time.txt" || { cat "$work/time.txt"; exit 1; }
tail -1 "$work/time.txt"
echo "cfssl CRL: $(base64 -d < "$work/crl.b64" | wc -c) DER bytes"
