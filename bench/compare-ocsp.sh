#!/usr/bin/env bash
# OCSP side by side: clientca's responder vs cfssl's `ocspserve` with pre-signed responses
# (Debian's golang-cfssl), the same number of serials, the same concurrency, alternating runs.
# Requests without nonces (answered from pre-signed/cached responses on both), then with nonces
# (clientca signs each; cfssl ignores the nonce and serves its pre-signed answer). A third-party
# load generator (`hey`, Debian) cross-checks the nonce-less figure with one serial (by POST:
# cfssl 1.2's GET handler refuses every request path, a leading-slash bug).
#
#   bench/compare-ocsp.sh [concurrency] [seconds] [rounds] [serials]     (default 16 10 3 100)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/peer-common.sh
concurrency=${1:-16}
seconds=${2:-10}
rounds=${3:-3}
serials=${4:-100}

need_tools cfssl:golang-cfssl hey:hey
cargo build --release -q -p bench -p clientca

work=$(mktemp -d)
cleanup() {
  for pid in ${clientca_pid:-} ${cfssl_pid:-}; do kill "$pid" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/leaf.key" \
  -subj "/CN=bench-device/O=Bench Inc" -out "$work/leaf.csr" 2>/dev/null

# --- clientca: issue the certificates through the API; its CA signs the OCSP answers.
mkdir -p "$work/clientca/requests" "$work/clientca/nonce"
start_clientca "$work/clientca/data" "$work/clientca/out"
python3 - "$work" "$clientca_url" "$clientca_token" "$clientca_zone" "$serials" <<'PY'
import json, sys, urllib.request
work, base, token, zone, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
body = json.dumps({"csr": open(f"{work}/leaf.csr").read(), "validity_days": 30}).encode()
serials = []
for _ in range(count):
    request = urllib.request.Request(f"{base}/client/v4/zones/{zone}/client_certificates", body,
        {"authorization": f"Bearer {token}", "content-type": "application/json"})
    result = json.load(urllib.request.urlopen(request))["result"]
    serials.append(result["serial_number"])
    ca_id = result["certificate_authority"]["id"]
open(f"{work}/clientca/serials", "w").write("\n".join(serials) + "\n")
open(f"{work}/clientca/ca_id", "w").write(ca_id)
open(f"{work}/clientca/ca.pem", "wb").write(urllib.request.urlopen(f"{base}/ca/{ca_id}.pem").read())
PY
clientca_ocsp="$clientca_url/ca/$(cat "$work/clientca/ca_id")/ocsp"

# --- cfssl: sign the same number through `cfssl serve`, pre-sign with `ocsprefresh`, dump them.
mkdir -p "$work/cfssl/requests" "$work/cfssl/nonce"
cfssl_certdb "$work/cfssl/certs.db" "$work/cfssl/db.json"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
json.dump({"signing": {"default": {"expiry": "720h", "usages": ["digital signature", "client auth"]}}},
          open(f"{work}/cfssl/config.json", "w"))
json.dump({"certificate_request": open(f"{work}/leaf.csr").read()}, open(f"{work}/cfssl/sign.json", "w"))
PY
openssl ecparam -name prime256v1 -genkey -noout -out "$work/cfssl/ca-key.pem"
openssl req -x509 -new -key "$work/cfssl/ca-key.pem" -subj "/CN=cfssl bench CA" -days 3650 \
  -out "$work/cfssl/ca.pem" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
cfssl serve -address 127.0.0.1 -port 18888 -ca "$work/cfssl/ca.pem" -ca-key "$work/cfssl/ca-key.pem" \
  -config "$work/cfssl/config.json" -db-config "$work/cfssl/db.json" -loglevel 5 2>"$work/cfssl/serve.log" &
cfssl_pid=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18888/api/v1/cfssl/sign && break; sleep 0.1; done
for _ in $(seq "$serials"); do
  curl -s -d @"$work/cfssl/sign.json" http://127.0.0.1:18888/api/v1/cfssl/sign \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["certificate"])' \
    >"$work/cfssl/leaf.pem"
  openssl x509 -in "$work/cfssl/leaf.pem" -noout -serial | sed 's/serial=/0x/' >>"$work/cfssl/serials"
done
kill "$cfssl_pid"; wait "$cfssl_pid" 2>/dev/null || true
cfssl ocsprefresh -db-config "$work/cfssl/db.json" -ca "$work/cfssl/ca.pem" \
  -responder "$work/cfssl/ca.pem" -responder-key "$work/cfssl/ca-key.pem" -loglevel 5
cfssl ocspdump -db-config "$work/cfssl/db.json" >"$work/cfssl/responses"
cfssl ocspserve -address 127.0.0.1 -port 18889 -responses "$work/cfssl/responses" -loglevel 5 \
  2>"$work/cfssl/ocspserve.log" &
cfssl_pid=$!
cfssl_ocsp=http://127.0.0.1:18889/
for _ in $(seq 50); do curl -s -o /dev/null "$cfssl_ocsp" && break; sleep 0.1; done

# --- one request file per serial (and one with a nonce), each answer checked once: "good".
for side in clientca cfssl; do
  url=$clientca_ocsp; [ "$side" = cfssl ] && url=$cfssl_ocsp
  n=0
  while read -r serial; do
    n=$((n + 1))
    openssl ocsp -issuer "$work/$side/ca.pem" -serial "$serial" -no_nonce \
      -reqout "$work/$side/requests/$n.der" 2>/dev/null
    openssl ocsp -issuer "$work/$side/ca.pem" -serial "$serial" \
      -reqout "$work/$side/nonce/$n.der" 2>/dev/null
  done <"$work/$side/serials"
  curl -s --data-binary @"$work/$side/requests/1.der" -H 'content-type: application/ocsp-request' \
    "$url" -o "$work/$side/answer.der"
  verified=$(openssl ocsp -respin "$work/$side/answer.der" -issuer "$work/$side/ca.pem" \
    -VAfile "$work/$side/ca.pem" -resp_text 2>&1)
  grep -q 'Response verify OK' <<<"$verified" && grep -q 'Cert Status: good' <<<"$verified" \
    || { echo "$side: the first answer is not a verified 'good'" >&2; exit 1; }
done
echo "both responders answer 'good' for $serials serials each"

post() { # side kind
  local url=$clientca_ocsp pid=$clientca_pid
  [ "$1" = cfssl ] && url=$cfssl_ocsp pid=$cfssl_pid
  ./target/release/clientca-bench post --url "$url" --content-type application/ocsp-request \
    --pid "$pid" --concurrency "$concurrency" --seconds "$seconds" \
    $(printf -- '--body-file %s ' "$work/$1/$2"/*.der)
}
rate() { sed -E 's/.*throughput=([0-9]+).*/\1/'; }
declare -A rates
for round in $(seq "$rounds"); do
  for kind in requests nonce; do
    for side in clientca cfssl; do
      line=$(post "$side" "$kind")
      echo "round=$round $side ${kind/requests/no-nonce} $line"
      rates[$side-$kind]+="$(rate <<<"$line") "
    done
  done
  for side in clientca cfssl; do
    url=$clientca_ocsp; [ "$side" = cfssl ] && url=$cfssl_ocsp
    out=$(hey -z "${seconds}s" -c "$concurrency" -m POST -T application/ocsp-request \
      -D "$work/$side/requests/1.der" "$url")
    rps=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")
    p99=$(awk '/99% in/ {printf "%.2f", $3 * 1000}' <<<"$out")
    codes=$(sed -n '/Status code distribution/,$p' <<<"$out" | tr -s ' \n' ' ')
    echo "round=$round $side hey no-nonce throughput=$rps/s p99=${p99}ms ($codes)"
    rates[$side-hey]+="$rps "
  done
done
python3 - "${rates[clientca-requests]}" "${rates[cfssl-requests]}" "${rates[clientca-nonce]}" \
  "${rates[cfssl-nonce]}" "${rates[clientca-hey]}" "${rates[cfssl-hey]}" <<'PY'
import statistics, sys
m = [statistics.median(int(x) for x in arg.split()) for arg in sys.argv[1:]]
for label, ours, peer in [("no nonce, clientca-bench POST", m[0], m[1]),
                          ("nonce, clientca-bench POST", m[2], m[3]),
                          ("no nonce, hey, one serial", m[4], m[5])]:
    print(f"median OCSP/s, {label}: clientca {ours:.0f}, cfssl {peer:.0f}, ratio {ours / peer:.2f}x")
PY
