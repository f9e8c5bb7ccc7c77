#!/usr/bin/env bash
# Write paths of two clientca builds side by side, alternating: create (P-256) and the
# revoke + reactivate cycle, on SQLite and on PostgreSQL (a fresh schema per run).
#
#   bench/ab-writes.sh BASE_BINARY NEW_BINARY [rounds] [seconds] [concurrency]   (default 3 10 16)
#   PG_URL=postgres://postgres@127.0.0.1:5432/test (default)
set -euo pipefail
cd "$(dirname "$0")/.."
base=$1 new=$2 rounds=${3:-3} seconds=${4:-10} concurrency=${5:-16}
pg=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
bench=./target/release/clientca-bench
# One schema, emptied before each PostgreSQL run (this runs in a command substitution, a subshell:
# a counter kept here would never reach the cleanup below).
fresh_schema() {
  PGOPTIONS="--client-min-messages=warning" psql -q "$pg" -c "DROP SCHEMA IF EXISTS ab_writes CASCADE; CREATE SCHEMA ab_writes;" >/dev/null
  echo "$pg?options=-c%20search_path%3Dab_writes"
}
for round in $(seq "$rounds"); do
  for scenario in create revoke-cycle; do
    for backend in sqlite postgres; do
      for label in base new; do
        binary=$base; [ "$label" = new ] && binary=$new
        database=()
        [ "$backend" = postgres ] && database=(--database "$(fresh_schema)")
        echo "round=$round scenario=$scenario backend=$backend build=$label $("$bench" "$scenario" \
          --server "$binary" "${database[@]}" --concurrency "$concurrency" --seconds "$seconds")"
      done
    done
  done
done
PGOPTIONS="--client-min-messages=warning" psql -q "$pg" -c "DROP SCHEMA IF EXISTS ab_writes CASCADE;" >/dev/null
