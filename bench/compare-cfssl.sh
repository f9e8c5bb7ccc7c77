#!/usr/bin/env bash
# Create throughput side by side: clientca (SQLite, durable) vs cfssl serve (SQLite certdb in WAL
# mode), same CSR, same concurrency, same machine, alternating runs. cfssl is a benchmark peer only,
# installed from Debian's golang-cfssl. Every round is measured twice: with clientca-bench and with
# a third-party load generator (`hey`, Debian's package) sending the same requests to both.
#
#   bench/compare-cfssl.sh [concurrency] [seconds] [rounds]     (default 16 10 3)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/peer-common.sh
concurrency=${1:-16}
seconds=${2:-10}
rounds=${3:-3}

need_tools cfssl:golang-cfssl hey:hey
cargo build --release -q -p bench -p clientca

work=$(mktemp -d)
cleanup() {
  for pid in ${cfssl_pid:-} ${clientca_pid:-}; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# One P-256 CSR for both servers.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/leaf.key" \
  -subj "/CN=bench-device/O=Bench Inc" -out "$work/leaf.csr" 2>/dev/null
cfssl_certdb "$work/cfssl-certs.db" "$work/cfssl-db.json"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
csr = open(f"{work}/leaf.csr").read()
json.dump({"certificate_request": csr, "profile": "client"}, open(f"{work}/cfssl-sign.json", "w"))
json.dump({"csr": csr, "validity_days": 30}, open(f"{work}/clientca-create.json", "w"))
json.dump({"signing": {"default": {"expiry": "720h", "usages": ["digital signature", "client auth"]},
           "profiles": {"client": {"expiry": "720h", "usages": ["digital signature", "client auth"]}}}},
          open(f"{work}/cfssl-config.json", "w"))
PY
openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca-key.pem"
openssl req -x509 -new -key "$work/ca-key.pem" -subj "/CN=cfssl bench CA" -days 3650 -out "$work/ca.pem" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

cfssl serve -address 127.0.0.1 -port 18888 -ca "$work/ca.pem" -ca-key "$work/ca-key.pem" \
  -config "$work/cfssl-config.json" -db-config "$work/cfssl-db.json" -loglevel 5 2>"$work/cfssl.log" &
cfssl_pid=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18888/api/v1/cfssl/sign && break; sleep 0.1; done

# CPU seconds (user + system) a process has used so far.
# (After the command name, which may hold spaces, utime and stime are the 12th and 13th fields.)
cpu_seconds() {
  sed 's/.*) //' "/proc/$1/stat" | awk -v tick="$(getconf CLK_TCK)" '{ printf "%.3f", ($12 + $13) / tick }'
}
# hey: `throughput=N/s p50=… p99=…` like clientca-bench, the server's and hey's own CPU time per
# answered request (both servers do the same P-256 verify and sign; the two vCPUs are shared
# with hey), and the status codes it saw. Run it in a subshell, `$(hey_line …)`.
hey_line() { # url body-file server-pid [header]
  local out before after hey_cpu
  before=$(cpu_seconds "$3")
  out=$(hey -z "${seconds}s" -c "$concurrency" -m POST -T application/json -D "$2" ${4:+-H "$4"} "$1")
  after=$(cpu_seconds "$3")
  # hey's CPU: this subshell's finished children (`times`' second line; run here, not in a
  # pipeline or `$(…)`, whose own subshell has no children yet).
  local times_file="$work/times.$BASHPID"   # (inside `$(…)` below, $BASHPID would differ)
  times >"$times_file"
  hey_cpu=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, "m"); s += t[1] * 60 + t[2] }
                           printf "%.3f", s }' "$times_file")
  awk '/Requests\/sec/ {printf "throughput=%d/s ", $2} /50% in/ {printf "p50=%.2fms ", $3 * 1000}
       /99% in/ {printf "p99=%.2fms ", $3 * 1000}' <<<"$out"
  awk -v cpu="$before $after $hey_cpu" '$1 == "[200]" && $3 == "responses" {
       split(cpu, s, " ");
       printf "server_cpu=%.0fus/request hey_cpu=%.0fus/request ", (s[2] - s[1]) * 1e6 / $2,
         s[3] * 1e6 / $2 }' <<<"$out"
  sed -n '/Status code distribution/,$p' <<<"$out" | tr -s ' \n' ' '
  echo
}
# clientca under hey: a fresh server and database each round, as clientca-bench starts them.
hey_clientca() {
  start_clientca "$work/clientca-$1" "$work/clientca-$1.out" >&2
  hey_line "$clientca_url/client/v4/zones/$clientca_zone/client_certificates" \
    "$work/clientca-create.json" "$clientca_pid" "Authorization: Bearer $clientca_token"
  kill "$clientca_pid"; wait "$clientca_pid" 2>/dev/null || true
  clientca_pid=
}

clientca_rates=()
cfssl_rates=()
clientca_hey=()
cfssl_hey=()
clientca_cpu=()
cfssl_cpu=()
load_cpu=()
for round in $(seq "$rounds"); do
  echo "== round $round: clientca (SQLite WAL, synchronous=FULL, group commit)"
  line=$(./target/release/clientca-bench create --concurrency "$concurrency" --seconds "$seconds")
  echo "$line"
  clientca_rates+=("$(sed -E 's/.*throughput=([0-9]+).*/\1/' <<<"$line")")
  echo "== round $round: cfssl serve (SQLite certdb, WAL)"
  line=$(./target/release/clientca-bench post --url http://127.0.0.1:18888/api/v1/cfssl/sign \
    --body-file "$work/cfssl-sign.json" --pid "$cfssl_pid" --concurrency "$concurrency" --seconds "$seconds")
  echo "$line"
  cfssl_rates+=("$(sed -E 's/.*throughput=([0-9]+).*/\1/' <<<"$line")")
  line=$(hey_clientca "$round")
  echo "== round $round: clientca under hey: $line"
  clientca_hey+=("$(sed -E 's/.*throughput=([0-9]+).*/\1/' <<<"$line")")
  clientca_cpu+=("$(sed -E 's/.*server_cpu=([0-9]+).*/\1/' <<<"$line")")
  load_cpu+=("$(sed -E 's/.*hey_cpu=([0-9]+).*/\1/' <<<"$line")")
  line=$(hey_line http://127.0.0.1:18888/api/v1/cfssl/sign "$work/cfssl-sign.json" "$cfssl_pid")
  echo "== round $round: cfssl under hey: $line"
  cfssl_hey+=("$(sed -E 's/.*throughput=([0-9]+).*/\1/' <<<"$line")")
  cfssl_cpu+=("$(sed -E 's/.*server_cpu=([0-9]+).*/\1/' <<<"$line")")
done
rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from certificates').fetchone()[0])" "$work/cfssl-certs.db")
echo "cfssl stored $rows certificates"
python3 - "${clientca_rates[*]}" "${cfssl_rates[*]}" "${clientca_hey[*]}" "${cfssl_hey[*]}" \
  "${clientca_cpu[*]}" "${cfssl_cpu[*]}" "${load_cpu[*]}" <<'PY'
import statistics, sys
m = [statistics.median(int(x) for x in arg.split()) for arg in sys.argv[1:]]
for label, ours, peer in [("clientca-bench", m[0], m[1]), ("hey", m[2], m[3])]:
    print(f"median create/s ({label}): clientca {ours:.0f}, cfssl {peer:.0f}, ratio {ours / peer:.2f}x")
print(f"median server CPU per create (hey): clientca {m[4]:.0f} us, cfssl {m[5]:.0f} us;"
      f" hey's own against clientca {m[6]:.0f} us")
PY
