#!/usr/bin/env bash
# The mTLS gateway side by side with nginx (Debian's package) on the same machine, alternating:
# full mTLS handshakes/s, proxied keep-alive requests/s, the latency the proxy adds, memory, and
# revocation → refusal latency. Both proxy the same origin (an nginx server block answering
# 1 KiB), present P-256 server certificates from the same CA, and check the same client
# certificate (P-256, issued by clientca): the gateway against clientca's live state, nginx
# against ssl_client_certificate = the CA and ssl_crl = clientca's CRL (reloaded by a loop that
# fetches it every second, as a cron job would). Our load generator (clientca-bench) is checked
# against third-party ones: curl's parallel mode for handshakes, h2load for keep-alive requests.
#
#   bench/compare-nginx.sh [seconds] [rounds] [trials]        (default 10 3 100; ~13 min)
# The 1,000,000-revoked-serials figures: bench/gateway-million.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
rounds=${2:-3}
trials=${3:-100}

. bench/gateway-common.sh
need nginx nginx
need h2load nghttp2-client
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
mkdir -p "$work/nginx" "$work/certs"

# clientca: the API with a fast publication pass, a client certificate, an association.
CLIENTCA_DATA_DIR=$work/data RUST_LOG=warn "$bin/clientca" serve --listen 127.0.0.1:18080 \
  --publish-interval 500ms >"$work/serve.out" 2>"$work/serve.log" &
pids+=($!)
wait_for_line "$work/serve.out" "listening on " >/dev/null
token=$(wait_for_line "$work/serve.out" "    export CLOUDFLARE_API_TOKEN=")
zone=$(CLIENTCA_DATA_DIR=$work/data "$bin/clientca" zone list | cut -f1)
api=http://127.0.0.1:18080/client/v4
auth="Authorization: Bearer $token"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/client.key" \
  -subj "/CN=bench-device" -out "$work/client.csr" 2>/dev/null
curl -sf -H "$auth" -H 'Content-Type: application/json' \
  -d "$(jq -n --rawfile csr "$work/client.csr" '{csr: $csr, validity_days: 30}')" \
  "$api/zones/$zone/client_certificates" >"$work/client.json"
jq -r .result.certificate "$work/client.json" >"$work/client.pem"
ca_id=$(jq -r .result.certificate_authority.id "$work/client.json")
curl -sf -X PUT -H "$auth" -H 'Content-Type: application/json' \
  -d '{"hostnames": ["api.example.com"]}' \
  "$api/zones/$zone/certificate_authorities/hostname_associations" >/dev/null
curl -sf "http://127.0.0.1:18080/ca/$ca_id.pem" >"$work/ca.pem"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:18080/ca/$ca_id/crl.pem" >"$work/crl.pem" && break; sleep 0.1; done

server_certificates "$work"

# nginx: the origin (18081) and the peer proxy (18443: api.example.com with mTLS,
# open.example.com without).
body=$(head -c 1024 /dev/zero | tr '\0' 'x')
proxy='location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; '
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  upstream origin { server 127.0.0.1:18081; keepalive 128; }
  server { listen 127.0.0.1:18081; location / { default_type text/plain; return 200 "$body"; } }
  server {
    listen 127.0.0.1:18443 ssl;
    server_name api.example.com;
    ssl_certificate $work/certs/api.example.com.pem;
    ssl_certificate_key $work/certs/api.example.com.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    ssl_verify_client on;
    ssl_client_certificate $work/ca.pem;
    ssl_crl $work/crl.pem;
    $proxy proxy_set_header X-Client-Cert \$ssl_client_escaped_cert; }
  }
  server {
    listen 127.0.0.1:18443 ssl;
    server_name open.example.com;
    ssl_certificate $work/certs/open.example.com.pem;
    ssl_certificate_key $work/certs/open.example.com.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    $proxy }
  }
}
NGINX
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"
sleep 0.5
nginx_pids=$( (cat "$work/nginx/nginx.pid"; pgrep -P "$(cat "$work/nginx/nginx.pid")") | sed 's/^/--pid /' | tr '\n' ' ')

# The gateway, its own process, reading the same database.
CLIENTCA_DATA_DIR=$work/data RUST_LOG=warn "$bin/clientca" gateway --listen 127.0.0.1:18543 \
  --cert-dir "$work/certs" --metrics-listen 127.0.0.1:18590 \
  --route api.example.com=http://127.0.0.1:18081 --route open.example.com=http://127.0.0.1:18081 \
  >"$work/gateway.out" 2>"$work/gateway.log" &
gateway_pid=$!
pids+=("$gateway_pid")
wait_for_line "$work/gateway.out" "gateway listening on " >/dev/null
sleep 1
echo "gateway idle RSS: $(awk '/VmRSS/ {print int($2/1024) " MiB"}' "/proc/$gateway_pid/status");" \
  "nginx idle RSS (master + workers): $(for p in $(echo "$nginx_pids" | sed 's/--pid //g'); do awk '/VmRSS/ {print $2}' "/proc/$p/status"; done | awk '{s+=$1} END {print int(s/1024) " MiB"}')"

mtls=(--sni api.example.com --server-ca "$work/server-ca.pem" --cert "$work/client.pem" --key "$work/client.key")
for round in $(seq "$rounds"); do
  for c in 16 64; do
    "$bin/clientca-bench" handshakes --address 127.0.0.1:18543 "${mtls[@]}" --pid "$gateway_pid" \
      --concurrency "$c" --seconds "$seconds" --label "round=$round gateway handshakes"
    # shellcheck disable=SC2086
    "$bin/clientca-bench" handshakes --address 127.0.0.1:18443 "${mtls[@]}" $nginx_pids \
      --concurrency "$c" --seconds "$seconds" --label "round=$round nginx handshakes"
  done
  "$bin/clientca-bench" proxied --address 127.0.0.1:18543 "${mtls[@]}" --pid "$gateway_pid" \
    --concurrency 32 --seconds "$seconds" --label "round=$round gateway proxied"
  # shellcheck disable=SC2086
  "$bin/clientca-bench" proxied --address 127.0.0.1:18443 "${mtls[@]}" $nginx_pids \
    --concurrency 32 --seconds "$seconds" --label "round=$round nginx proxied"
done

echo "== cross-check, handshakes: curl (libcurl + OpenSSL), 16 in parallel, no session reuse"
# openssl s_time cannot send SNI, which the gateway routes by; curl's parallel mode can.
curl_handshakes() { # port → full mTLS handshakes per second (each: connect, handshake, GET, close)
  local n=$((seconds * 400))
  for _ in $(seq "$n"); do echo "url = \"https://api.example.com:$1/\""; echo "output = \"/dev/null\""; done >"$work/curl.conf"
  local started ended
  started=$(date +%s.%N)
  curl -sf -Z --parallel-max 16 --no-sessionid -H 'Connection: close' --http1.1 -k \
    --resolve "api.example.com:$1:127.0.0.1" --cert "$work/client.pem" --key "$work/client.key" \
    --no-progress-meter -K "$work/curl.conf" 2>/dev/null || echo "(some requests failed)"
  ended=$(date +%s.%N)
  echo "$n handshakes in $(echo "$ended - $started" | bc) s = $(echo "$n / ($ended - $started)" | bc)/s"
}
before=$(curl -s http://127.0.0.1:18590/metrics | awk '/handshakes_total\{outcome="ok"\}/ {print $2}')
echo "gateway curl: $(curl_handshakes 18543)"
after=$(curl -s http://127.0.0.1:18590/metrics | awk '/handshakes_total\{outcome="ok"\}/ {print $2}')
echo "  (the gateway counted $((after - before)) accepted handshakes)"
echo "nginx curl:   $(curl_handshakes 18443)"

echo "== cross-check, keep-alive requests without client certificates (open.example.com), c=32"
for side in gateway:18543 nginx:18443; do
  port=${side#*:}
  "$bin/clientca-bench" proxied --address "127.0.0.1:$port" --sni open.example.com \
    --server-ca "$work/server-ca.pem" --concurrency 32 --seconds "$seconds" --label "${side%:*} proxied-open (clientca-bench)"
  echo "${side%:*} proxied-open (h2load): $(h2load --h1 -c 32 -D "$seconds" --warm-up-time 2 \
    --connect-to "127.0.0.1:$port" https://open.example.com/ 2>/dev/null | grep -E '^finished in')"
done

echo "== latency added at half the proxy's maximum rate (c=32, paced)"
for side in gateway:18543 nginx:18443; do
  port=${side#*:}
  max=$("$bin/clientca-bench" proxied --address "127.0.0.1:$port" "${mtls[@]}" --concurrency 32 \
    --seconds "$seconds" | sed -E 's/.*throughput=([0-9]+).*/\1/')
  half=$((max / 2))
  "$bin/clientca-bench" proxied --address "127.0.0.1:$port" "${mtls[@]}" --concurrency 32 \
    --seconds "$seconds" --rate "$half" --label "${side%:*} at $half/s"
  "$bin/clientca-bench" proxied --address 127.0.0.1:18081 --sni origin --plain --concurrency 32 \
    --seconds "$seconds" --rate "$half" --label "origin direct at $half/s"
done
echo "gateway RSS after the benchmarks: $(awk '/VmRSS|VmHWM/ {printf "%s %d MiB  ", $1, $2/1024}' "/proc/$gateway_pid/status")"

echo "== revocation → refusal, $trials trials, --publish-interval 500ms"
"$bin/clientca-bench" revocation --api "$api" --token "$token" --zone "$zone" \
  --address 127.0.0.1:18543 --sni api.example.com --server-ca "$work/server-ca.pem" \
  --trials "$trials" --label gateway
# nginx learns of revocations from the CRL file: fetch it every second, reload when it changed.
( while sleep 1; do
    curl -sf "http://127.0.0.1:18080/ca/$ca_id/crl.pem" -o "$work/crl.new" || continue
    cmp -s "$work/crl.new" "$work/crl.pem" && continue
    mv "$work/crl.new" "$work/crl.pem" && nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -s reload
  done ) &
pids+=($!)
"$bin/clientca-bench" revocation --api "$api" --token "$token" --zone "$zone" \
  --address 127.0.0.1:18443 --sni api.example.com --server-ca "$work/server-ca.pem" \
  --trials "$trials" --give-up 5 --label "nginx (CRL fetched every 1s + reload)"

