# Shared by the gateway benchmark scripts (sourced): installing peers, waiting for a process's
# line, and the server certificates both proxies present.

need() { # command, Debian package
  command -v "$1" >/dev/null || { echo "installing Debian's $2" >&2; apt-get install -y -q "$2" >/dev/null; }
}

wait_for_line() { # file, prefix → the rest of the first line starting with prefix
  local line
  for _ in $(seq 600); do
    line=$(grep -m1 "^$2" "$1" 2>/dev/null || true)
    [ -n "$line" ] && { echo "${line#"$2"}"; return; }
    sleep 0.05
  done
  echo "no '$2' in $1" >&2
  exit 1
}

server_certificates() { # work dir → $work/server-ca.pem, $work/certs/{api,open}.example.com.pem (P-256)
  local work=$1
  mkdir -p "$work/certs"
  openssl ecparam -name prime256v1 -genkey -noout -out "$work/server-ca.key"
  openssl req -x509 -new -key "$work/server-ca.key" -subj "/CN=bench server CA" -days 30 \
    -out "$work/server-ca.pem" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out "$work/server.key"
  openssl req -new -key "$work/server.key" -subj "/CN=api.example.com" -out "$work/server.csr"
  openssl x509 -req -in "$work/server.csr" -CA "$work/server-ca.pem" -CAkey "$work/server-ca.key" \
    -days 30 -out "$work/server.pem" 2>/dev/null \
    -extfile <(printf "subjectAltName=DNS:api.example.com,DNS:open.example.com\nextendedKeyUsage=serverAuth")
  for host in api.example.com open.example.com; do
    cat "$work/server.pem" "$work/server.key" >"$work/certs/$host.pem"
  done
}
