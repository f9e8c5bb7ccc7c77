#!/usr/bin/env bash
# The issue-16 figures measured with clientca-bench, measured again with a third-party load
# generator (`hey`, Debian's package) in the same run: creates on PostgreSQL, creates into a
# seeded 1M zone against an empty database, and details and list page 1 in that zone (c=4).
#
#   bench/hey-crosscheck.sh [seconds] [rounds]        (default 10 2)
#   PG_URL=postgres://postgres@127.0.0.1:5432/test (default)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/peer-common.sh
seconds=${1:-10}
rounds=${2:-2}
pg=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
need_tools hey:hey
cargo build --release -q -p bench -p clientca
bench=./target/release/clientca-bench

work=$(mktemp -d)
cleanup() {
  [ -n "${clientca_pid:-}" ] && kill "$clientca_pid" 2>/dev/null || true
  PGOPTIONS="--client-min-messages=warning" psql -q "$pg" -c "DROP SCHEMA IF EXISTS hey_check CASCADE" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/leaf.key" \
  -subj "/CN=bench-device/O=Bench Inc" -out "$work/leaf.csr" 2>/dev/null
python3 -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read(), "validity_days": 30}))' \
  "$work/leaf.csr" >"$work/create.json"

hey_summary() { # hey's output → `throughput=N/s p99=X ms codes=…`
  awk '/Requests\/sec/ {printf "throughput=%d/s ", $2} /99% in/ {printf "p99=%.2fms ", $3 * 1000}'
  echo
}
fresh_pg() {
  PGOPTIONS="--client-min-messages=warning" psql -q "$pg" -c "DROP SCHEMA IF EXISTS hey_check CASCADE; CREATE SCHEMA hey_check" >/dev/null
  echo "$pg?options=-c%20search_path%3Dhey_check"
}
stop_clientca() { kill "$clientca_pid"; wait "$clientca_pid" 2>/dev/null || true; clientca_pid=; }

echo "== creates on PostgreSQL, c=16"
for round in $(seq "$rounds"); do
  CLIENTCA_DATABASE_URL=$(fresh_pg) start_clientca "$work/pg-$round" "$work/pg-$round.out"
  echo "round=$round hey: $(hey -z "${seconds}s" -c 16 -m POST -T application/json -D "$work/create.json" \
    -H "Authorization: Bearer $clientca_token" \
    "$clientca_url/client/v4/zones/$clientca_zone/client_certificates" | hey_summary)"
  stop_clientca
  echo "round=$round clientca-bench: $("$bench" create --database "$(fresh_pg)" --seconds "$seconds")"
done

echo "== a seeded zone of 1,000,000 (SQLite)"
"$bench" seed --database "sqlite://$work/seed/clientca.db" --count 1000000 --out "$work/seed.json" | tail -1
read -r token zone key database sample < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]));
print(s["token"], s["zone_id"], s["master_key"], s["database"], s["sample_ids"][0])' "$work/seed.json")
start_seeded() { # sets clientca_pid and url (not in a subshell: the pid must reach stop_clientca)
  CLIENTCA_DATABASE_URL=$database CLIENTCA_MASTER_KEY=$key RUST_LOG=warn \
    ./target/release/clientca serve --listen 127.0.0.1:0 >"$work/seeded.out" &
  clientca_pid=$!
  for _ in $(seq 100); do grep -q '^listening on ' "$work/seeded.out" && break; sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$work/seeded.out")
}
for round in $(seq "$rounds"); do
  start_clientca "$work/empty-$round" "$work/empty-$round.out"
  echo "round=$round empty database, hey create c=16: $(hey -z "${seconds}s" -c 16 -m POST \
    -T application/json -D "$work/create.json" -H "Authorization: Bearer $clientca_token" \
    "$clientca_url/client/v4/zones/$clientca_zone/client_certificates" | hey_summary)"
  stop_clientca
  start_seeded
  base="$url/client/v4/zones/$zone/client_certificates"
  echo "round=$round seeded zone, hey create c=16: $(hey -z "${seconds}s" -c 16 -m POST \
    -T application/json -D "$work/create.json" -H "Authorization: Bearer $token" "$base" | hey_summary)"
  echo "round=$round seeded zone, hey details c=4: $(hey -z "${seconds}s" -c 4 \
    -H "Authorization: Bearer $token" "$base/$sample" | hey_summary)"
  echo "round=$round seeded zone, hey list page 1 c=4: $(hey -z "${seconds}s" -c 4 \
    -H "Authorization: Bearer $token" "$base?per_page=50&page=1" | hey_summary)"
  stop_clientca
  echo "round=$round seeded zone, clientca-bench create: $("$bench" create --seed "$work/seed.json" --seconds "$seconds")"
done
