#!/usr/bin/env bash
# The gateway holding 1,000,000 published revoked serials, next to one holding none: how long the
# set takes to load at start and to re-read after a publication, what it adds to memory, and
# whether full mTLS handshakes slow down (alternating rounds, same client key, same origin).
#
#   bench/gateway-million.sh [seconds] [rounds]       (default 10 3; ~4 min, most of it seeding)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
rounds=${2:-3}
. bench/gateway-common.sh
need nginx nginx
need jq jq
cargo build --release -q -p bench -p clientca
bin=$PWD/target/release

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/nginx"
server_certificates "$work"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/client.key" \
  -subj "/CN=bench-device" -out "$work/client.csr" 2>/dev/null

# The origin: nginx answering 1 KiB.
body=$(head -c 1024 /dev/zero | tr '\0' 'x')
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 127.0.0.1:18081; location / { default_type text/plain; return 200 "$body"; } }
}
NGINX
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"

api_post() { # base, token, path, json → response
  curl -sf -H "Authorization: Bearer $2" -H 'Content-Type: application/json' -d "$4" "$1/client/v4$3"
}
csr_body=$(jq -n --rawfile csr "$work/client.csr" '{csr: $csr, validity_days: 30}')

# Database "empty": a fresh server, a client certificate, the association.
CLIENTCA_DATA_DIR=$work/empty RUST_LOG=warn "$bin/clientca" serve --listen 127.0.0.1:18280 \
  >"$work/empty-serve.out" 2>&1 &
pids+=($!)
wait_for_line "$work/empty-serve.out" "listening on " >/dev/null
etoken=$(wait_for_line "$work/empty-serve.out" "    export CLOUDFLARE_API_TOKEN=")
ezone=$(CLIENTCA_DATA_DIR=$work/empty "$bin/clientca" zone list | cut -f1)
api_post http://127.0.0.1:18280 "$etoken" "/zones/$ezone/client_certificates" "$csr_body" \
  | jq -r .result.certificate >"$work/empty-client.pem"
curl -sf -X PUT -H "Authorization: Bearer $etoken" -H 'Content-Type: application/json' \
  -d '{"hostnames": ["api.example.com"]}' \
  "http://127.0.0.1:18280/client/v4/zones/$ezone/certificate_authorities/hostname_associations" >/dev/null

# Database "million": 1,000,000 real leaves of one CA, all revoked.
"$bin/clientca-bench" seed --database "sqlite://$work/million/clientca.db" --count 1000000 \
  --revoked-percent 100 --out "$work/million.json" | tail -1
CLIENTCA_MASTER_KEY=$(jq -r .master_key "$work/million.json") CLIENTCA_DATA_DIR=$work/million \
  RUST_LOG=warn "$bin/clientca" serve --listen 127.0.0.1:18180 --publish-interval 1s \
  >"$work/million-serve.out" 2>&1 &
pids+=($!)
wait_for_line "$work/million-serve.out" "listening on " >/dev/null
mtoken=$(jq -r .token "$work/million.json")
mzone=$(jq -r .zone_id "$work/million.json")
api_post http://127.0.0.1:18180 "$mtoken" "/zones/$mzone/client_certificates" "$csr_body" >"$work/million-client.json"
jq -r .result.certificate "$work/million-client.json" >"$work/million-client.pem"
mca=$(jq -r .result.certificate_authority.id "$work/million-client.json")
curl -sf -X PUT -H "Authorization: Bearer $mtoken" -H 'Content-Type: application/json' \
  -d '{"hostnames": ["api.example.com"]}' \
  "http://127.0.0.1:18180/client/v4/zones/$mzone/certificate_authorities/hostname_associations" >/dev/null
revoke_one() { # a new certificate, revoked through the API
  local id
  id=$(api_post http://127.0.0.1:18180 "$mtoken" "/zones/$mzone/client_certificates" "$csr_body" | jq -r .result.id)
  curl -sf -X DELETE -H "Authorization: Bearer $mtoken" \
    "http://127.0.0.1:18180/client/v4/zones/$mzone/client_certificates/$id" >/dev/null
  echo "$id"
}
# The seeder writes the million as already revoked but publishes nothing: one revocation through
# the API makes the next publication pass sign the CA's CRL, listing all of them.
revoke_one >/dev/null
until [ "$(curl -sf "http://127.0.0.1:18180/ca/$mca/crl" | wc -c)" -gt 30000000 ]; do sleep 0.2; done
echo "CRL: $(curl -sf "http://127.0.0.1:18180/ca/$mca/crl" | wc -c) bytes DER"

start_gateway() { # data dir, port, metrics port → pid; prints the time to listening
  local started
  started=$(date +%s.%N)
  CLIENTCA_DATA_DIR=$1 RUST_LOG=warn "$bin/clientca" gateway --listen "127.0.0.1:$2" \
    --cert-dir "$work/certs" --metrics-listen "127.0.0.1:$3" \
    --route api.example.com=http://127.0.0.1:18081 >"$work/gateway-$2.out" 2>&1 &
  pids+=($!)
  wait_for_line "$work/gateway-$2.out" "gateway listening on " >/dev/null
  echo "gateway on $1: listening $(echo "$(date +%s.%N) - $started" | bc) s after spawn" \
    "(the state is read before listening)" >&2
}
revoked_serials() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^clientca_gateway_revoked_serials/ {print $2}'; }
start_gateway "$work/empty" 18543 18590
empty_pid=${pids[-1]}
start_gateway "$work/million" 18643 18690
million_pid=${pids[-1]}
echo "revoked serials held: empty $(revoked_serials 18590), million $(revoked_serials 18690)"
sleep 1
rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$1/status"; }
echo "RSS idle: empty-set gateway $(rss "$empty_pid") MiB, 1M-set gateway $(rss "$million_pid") MiB" \
  "(peak $(awk '/VmHWM/ {print int($2/1024)}' "/proc/$million_pid/status") MiB)"

# A publication with the million in place: when the certificate reads `revoked`, and when the
# gateway holds the new CRL's set.
before=$(revoked_serials 18690)
deleted=$(date +%s.%N)
id=$(revoke_one)
until curl -sf -H "Authorization: Bearer $mtoken" \
    "http://127.0.0.1:18180/client/v4/zones/$mzone/client_certificates/$id" \
    | jq -e '.result.status == "revoked"' >/dev/null; do sleep 0.02; done
revoked=$(date +%s.%N)
until [ "$(revoked_serials 18690)" != "$before" ]; do sleep 0.02; done
held=$(date +%s.%N)
echo "one more revocation (publish interval 1 s): revoked $(echo "$revoked - $deleted" | bc) s after" \
  "the DELETE; the gateway held $(revoked_serials 18690) serials $(echo "$held - $revoked" | bc) s after that" \
  "(RSS now $(rss "$million_pid") MiB, peak $(awk '/VmHWM/ {print int($2/1024)}' "/proc/$million_pid/status") MiB)"

for round in $(seq "$rounds"); do
  "$bin/clientca-bench" handshakes --address 127.0.0.1:18543 --sni api.example.com \
    --server-ca "$work/server-ca.pem" --cert "$work/empty-client.pem" --key "$work/client.key" \
    --pid "$empty_pid" --concurrency 16 --seconds "$seconds" --label "round=$round empty-set gateway"
  "$bin/clientca-bench" handshakes --address 127.0.0.1:18643 --sni api.example.com \
    --server-ca "$work/server-ca.pem" --cert "$work/million-client.pem" --key "$work/client.key" \
    --pid "$million_pid" --concurrency 16 --seconds "$seconds" --label "round=$round 1M-set gateway"
done
