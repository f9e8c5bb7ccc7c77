# Shared by the scripts that measure clientca beside cfssl (sourced): installing Debian's tools,
# starting a fresh clientca server, and cfssl's certificate database.

need_tools() { # command:debian-package …
  local tool
  for tool in "$@"; do
    command -v "${tool%%:*}" >/dev/null || {
      echo "installing Debian's ${tool#*:}" >&2
      apt-get install -y -q "${tool#*:}" >/dev/null
    }
  done
}

# `clientca serve` on a fresh database in DATA_DIR (its output in OUT); sets clientca_pid,
# clientca_url, clientca_token and clientca_zone from what the first start prints.
start_clientca() { # data-dir out-file
  CLIENTCA_DATA_DIR="$1" RUST_LOG=warn ./target/release/clientca serve --listen 127.0.0.1:0 >"$2" &
  clientca_pid=$!
  for _ in $(seq 100); do grep -q '^listening on ' "$2" && break; sleep 0.1; done
  clientca_url=$(sed -n 's/^listening on //p' "$2")
  clientca_token=$(sed -n 's/^ *export CLOUDFLARE_API_TOKEN=//p' "$2")
  clientca_zone=$(sed -n 's/^First start: created account [^ ]*, zone [^ ]* (\([0-9a-f]*\)).*/\1/p' "$2")
  [ -n "$clientca_url" ] && [ -n "$clientca_token" ] && [ -n "$clientca_zone" ] \
    || { echo "clientca did not start on a fresh database (see $2)" >&2; exit 1; }
}

# cfssl 1.2's certdb schema in a new SQLite file switched to WAL (persistent in the file), and the
# `-db-config` JSON that names it.
cfssl_certdb() { # database-file db-config-file
  python3 - "$1" "$2" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode=WAL")
db.executescript("""
CREATE TABLE certificates (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL,
  ca_label blob, status blob NOT NULL, reason int, expiry timestamp, revoked_at timestamp,
  pem blob NOT NULL, PRIMARY KEY (serial_number, authority_key_identifier));
CREATE TABLE ocsp_responses (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL,
  body blob NOT NULL, expiry timestamp, PRIMARY KEY (serial_number, authority_key_identifier));
""")
db.close()
json.dump({"driver": "sqlite3", "data_source": sys.argv[1]}, open(sys.argv[2], "w"))
PY
}
