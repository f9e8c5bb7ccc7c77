#!/usr/bin/env bash
# The publication pass on PostgreSQL (BENCHMARKS.md, "Publication at scale"), each round from the
# same prepared state: PostgreSQL copies a prepared database as a template, which takes seconds
# where seeding a million certificates takes minutes.
#
#   bench/publication-postgres.sh seed                  # database pubseed, 1,020,000 certificates
#   bench/publication-postgres.sh prep NAME lz4|pglz    # NAME = pubseed + a 1M-entry CRL stored
#                                                       # with that compression + 10,000 pending
#   bench/publication-postgres.sh measure NAME          # one pass on a fresh copy of NAME
#
# Set BENCH to another build's clientca-bench to compare builds; WORK holds the seed files.
set -euo pipefail
bench=${BENCH:-target/release/clientca-bench}
work=${WORK:-/tmp/pubpg}
psql=(psql -q -h 127.0.0.1 -U postgres)
url=postgres://postgres@127.0.0.1:5432
mkdir -p "$work"

# A copy of the seed's JSON that points at database $1.
seed_for() {
  sed "s#$url/pubseed\"#$url/$1\"#" "$work/seed.json" >"$work/seed-$1.json"
  grep -q "$url/$1\"" "$work/seed-$1.json" || { echo "seed.json does not name $url/pubseed" >&2; exit 1; }
}

# Database $1, a file copy of template $2 (STRATEGY needs PostgreSQL 15 or later).
copy_database() {
  "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS $1" \
    -c "CREATE DATABASE $1 TEMPLATE $2 STRATEGY FILE_COPY"
}

case ${1:-} in
seed)
  "${psql[@]}" -d postgres -c "DROP DATABASE IF EXISTS pubseed" -c "CREATE DATABASE pubseed"
  "$bench" seed --database "$url/pubseed" --count 1020000 --revoked-percent 98 \
    --out "$work/seed.json"
  ;;
prep)
  copy_database "$2" pubseed
  "${psql[@]}" -d "$2" -c "ALTER TABLE crls ALTER COLUMN der SET COMPRESSION $3"
  seed_for "$2"
  "$bench" publication --seed "$work/seed-$2.json" --pending 10000 --prepare-only
  ;;
measure)
  copy_database pubrun "$2"
  seed_for pubrun
  "${psql[@]}" -d pubrun -c "CHECKPOINT"
  RUST_LOG=authority=debug "$bench" publication --seed "$work/seed-pubrun.json" --measure-only
  "${psql[@]}" -d pubrun -c "SELECT crl_number, pg_column_compression(der), \
    pg_column_size(der) AS stored, length(der) FROM crls ORDER BY crl_number"
  ;;
*)
  sed -n '2,12p' "$0"
  exit 2
  ;;
esac
