#!/usr/bin/env bash
# Where a create's CPU goes: `clientca serve` (release build, SQLite) profiled with perf (DWARF
# call graphs) while `clientca-bench create` drives it, folded and drawn by inferno, with a summary
# by component. perf comes from Debian (linux-perf); inferno from crates.io
# (`cargo install inferno --locked --version 0.12.3`).
#
#   bench/profile-create.sh [out.svg] [seconds] [concurrency]   (default docs/profiles/create-sqlite.svg 5 16)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/peer-common.sh
out=${1:-docs/profiles/create-sqlite.svg} seconds=${2:-5} concurrency=${3:-16}
need_tools perf:linux-perf
command -v inferno-flamegraph >/dev/null || { echo "needs inferno: cargo install inferno --locked --version 0.12.3" >&2; exit 1; }
cargo build --release -q -p bench -p clientca

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./target/release/clientca-bench create --server target/release/clientca \
  --concurrency "$concurrency" --seconds $((seconds + 8)) > "$work/load.txt" &
load=$!
sleep 4
server=$(pgrep -n -f "target/release/clientca serve")
perf record -q -F 299 --call-graph dwarf,16384 -p "$server" -o "$work/perf.data" -- sleep "$seconds"
wait "$load"
cat "$work/load.txt"
perf script -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf > "$work/folded"
mkdir -p "$(dirname "$out")"
inferno-flamegraph --minwidth 1.5 \
  --title "clientca serve: creates (P-256, SQLite, c=$concurrency)" < "$work/folded" > "$out"
echo "flamegraph: $out"
python3 - "$work/folded" <<'PY'
import sys
# Inclusive share of the server's on-CPU samples, by the frame that names each component.
parts = [
    ("CSR parse and signature check", "pki::csr::VerifiedCsr::parse_pem"),
    ("leaf signing (rcgen, ECDSA)", "pki::leaf::issue_leaf"),
    ("SQLite: every statement of a group", "sqlite3VdbeExec"),
    ("  of which COMMIT (log write, fsync)", "sqlite3VdbeHalt"),
    ("  of which the writer's catch-up checkpoints", "sqlite3Checkpoint"),
    ("the checkpoint thread", "clientca-checkp"),
    ("hyper (HTTP/1 I/O)", "hyper::"),
    ("JSON (serde_json)", "serde_json"),
    ("allocator (malloc/free)", None),
]
alloc = {"_int_malloc", "malloc_consolidate", "__GI___libc_free", "tcache_get", "_int_free",
         "unlink_chunk", "__GI___libc_malloc", "__GI___libc_realloc", "_int_realloc", "sysmalloc",
         "_int_memalign"}
total, shares, threads = 0, {name: 0 for name, _ in parts}, {}
for line in open(sys.argv[1]):
    stack, n = line.rsplit(" ", 1)
    n = int(n)
    total += n
    frames = stack.split(";")
    threads[frames[0]] = threads.get(frames[0], 0) + n
    for name, frame in parts:
        if frame is None:
            shares[name] += n if frames[-1] in alloc else 0
        elif frame in stack:
            shares[name] += n
for thread, n in sorted(threads.items(), key=lambda t: -t[1]):
    print(f"{100 * n / total:5.1f}%  thread {thread}")
for name, _ in parts:
    print(f"{100 * shares[name] / total:5.1f}%  {name}")
PY
