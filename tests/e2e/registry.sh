# start_registry: starts Debian's docker-registry on 127.0.0.1 with a random
# free port, a temporary storage folder, TLS with a self-signed certificate
# made here, and htpasswd auth (user zoo-test, password in $REG_PASSWORD).
# Sets REG_HOST (127.0.0.1:PORT), REG_CA (the certificate), REG_DIR; the
# registry is stopped when the test exits. Sourced after lib.sh.
REGISTRY_BIN=/usr/bin/docker-registry

start_registry() {
  [[ -x $REGISTRY_BIN ]] || fail "$REGISTRY_BIN missing: run ./scripts/setup.sh (package docker-registry)"
  REG_DIR="$WORK/registry"
  mkdir -p "$REG_DIR/data"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$REG_DIR/key.pem" -out "$REG_DIR/cert.pem" 2> /dev/null || fail "openssl could not make a certificate"
  REG_CA="$REG_DIR/cert.pem"
  REG_USER=zoo-test
  REG_PASSWORD="s3cret-$RANDOM$RANDOM"
  htpasswd -Bbn "$REG_USER" "$REG_PASSWORD" > "$REG_DIR/htpasswd" 2> /dev/null || fail "htpasswd failed"
  local port
  port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  REG_HOST="127.0.0.1:$port"
  cat > "$REG_DIR/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog: {disabled: true}
storage:
  filesystem: {rootdirectory: $REG_DIR/data}
  delete: {enabled: true}
http:
  addr: $REG_HOST
  tls: {certificate: $REG_DIR/cert.pem, key: $REG_DIR/key.pem}
auth:
  htpasswd: {realm: zoo-test, path: $REG_DIR/htpasswd}
YAML
  "$REGISTRY_BIN" serve "$REG_DIR/config.yml" > "$REG_DIR/log" 2>&1 &
  REG_PID=$!
  trap 'kill $REG_PID 2> /dev/null || true' EXIT
  for _ in $(seq 100); do
    if curl -s -o /dev/null --cacert "$REG_CA" "https://$REG_HOST/v2/"; then return 0; fi
    kill -0 $REG_PID 2> /dev/null || { cat "$REG_DIR/log" >&2; fail "docker-registry exited"; }
    sleep 0.1
  done
  cat "$REG_DIR/log" >&2
  fail "docker-registry did not start on $REG_HOST"
}
