#!/usr/bin/env bash
# The dashboard's time budgets, measured in Debian's Chromium (Playwright for Python from .venv):
# first contentful paint of a 50-row certificate list (cold cache), and a key made in the browser
# from click to downloadable .p12 (key → CSR → issue → .p12), for P-256 and RSA-2048.
# Medians of ROUNDS (default 15). Needs a release build and scripts/test's .venv.
#
#   cargo build --release -p clientca && bench/dashboard.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/peer-common.sh
need_tools chromium:chromium
rounds=${1:-15}
work=$(mktemp -d)
trap 'kill "$clientca_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
start_clientca "$work/data" "$work/serve.out"
port=${clientca_url##*:}
CLIENTCA_ORIGIN="http://localhost:$port" CLIENTCA_TOKEN="$clientca_token" CLIENTCA_ZONE="$clientca_zone" \
  .venv/bin/python bench/dashboard_timings.py "$rounds"
