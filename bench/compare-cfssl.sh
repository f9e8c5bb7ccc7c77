#!/usr/bin/env bash
# Create throughput side by side: clientca (SQLite, durable) vs cfssl serve (SQLite certdb in WAL
# mode), same CSR, same concurrency, same machine, alternating runs. cfssl is a benchmark peer only,
# installed from Debian's golang-cfssl.
#
#   bench/compare-cfssl.sh [concurrency] [seconds] [rounds]     (default 16 10 3)
set -euo pipefail
cd "$(dirname "$0")/.."
concurrency=${1:-16}
seconds=${2:-10}
rounds=${3:-3}

command -v cfssl >/dev/null || { echo "installing Debian's golang-cfssl" >&2; apt-get install -y -q golang-cfssl >/dev/null; }
cargo build --release -q -p bench -p clientca

work=$(mktemp -d)
cleanup() { [ -n "${cfssl_pid:-}" ] && kill "$cfssl_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# One P-256 CSR for both servers.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/leaf.key" \
  -subj "/CN=bench-device/O=Bench Inc" -out "$work/leaf.csr" 2>/dev/null
python3 - "$work" <<'PY'
import json, sqlite3, sys
work = sys.argv[1]
csr = open(f"{work}/leaf.csr").read()
json.dump({"certificate_request": csr, "profile": "client"}, open(f"{work}/cfssl-sign.json", "w"))
json.dump({"csr": csr, "validity_days": 30}, open(f"{work}/clientca-create.json", "w"))
# cfssl 1.2's certdb schema, in WAL mode (persistent in the file).
db = sqlite3.connect(f"{work}/cfssl-certs.db")
db.execute("PRAGMA journal_mode=WAL")
db.executescript("""
CREATE TABLE certificates (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL,
  ca_label blob, status blob NOT NULL, reason int, expiry timestamp, revoked_at timestamp,
  pem blob NOT NULL, PRIMARY KEY (serial_number, authority_key_identifier));
CREATE TABLE ocsp_responses (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL,
  body blob NOT NULL, expiry timestamp, PRIMARY KEY (serial_number, authority_key_identifier));
""")
db.close()
json.dump({"driver": "sqlite3", "data_source": f"{work}/cfssl-certs.db"}, open(f"{work}/cfssl-db.json", "w"))
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

clientca_rates=()
cfssl_rates=()
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
done
rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from certificates').fetchone()[0])" "$work/cfssl-certs.db")
echo "cfssl stored $rows certificates"
python3 - "${clientca_rates[*]}" "${cfssl_rates[*]}" <<'PY'
import statistics, sys
ours = [int(x) for x in sys.argv[1].split()]
peer = [int(x) for x in sys.argv[2].split()]
print(f"median create/s: clientca {statistics.median(ours):.0f}, cfssl {statistics.median(peer):.0f}, "
      f"ratio {statistics.median(ours) / statistics.median(peer):.2f}x")
PY
