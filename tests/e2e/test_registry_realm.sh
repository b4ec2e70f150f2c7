# A registry cannot make zoo send the user's password elsewhere: a Bearer
# challenge whose token service (realm) is on another host than the
# registry is refused before anything is sent, unless the user allows that
# host (ZOO_REGISTRY_AUTH_HOSTS); and credentials go only over https (plain
# http only to loopback). A TLS registry stand-in (Python, a certificate
# made here) answers every request with such a challenge; a plain-http token
# service on loopback records whether it was contacted.
source "$(dirname "$0")/lib.sh"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout key.pem -out cert.pem 2> /dev/null || fail "openssl failed"
: > token-requests.log
/usr/bin/python3 - > servers.log 2>&1 <<'PY' &
import http.server, json, ssl, threading

class Token(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open("token-requests.log", "a") as log:
            log.write(json.dumps({"path": self.path, "authorization": self.headers.get("Authorization", "")}) + "\n")
        body = b'{"token": "t"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

class Registry(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        realm = open("realm.txt").read().strip()
        self.send_response(401)
        self.send_header("WWW-Authenticate", f'Bearer realm="{realm}",service="stand-in"')
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_HEAD = do_GET
    def log_message(self, *args):
        pass

token = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Token)
registry = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain("cert.pem", "key.pem")
registry.socket = context.wrap_socket(registry.socket, server_side=True)
threading.Thread(target=token.serve_forever, daemon=True).start()
open("ports.txt", "w").write(f"{registry.server_address[1]} {token.server_address[1]}\n")
registry.serve_forever()
PY
server_pid=$!
trap 'kill $server_pid 2> /dev/null' EXIT
for _ in $(seq 50); do [[ -s ports.txt ]] && break; sleep 0.1; done
read -r registry_port token_port < ports.txt || fail "the stand-ins did not start: $(cat servers.log)"
store="oci://127.0.0.1:$registry_port/team"
export ZOO_REGISTRY_USER=zoo-test ZOO_REGISTRY_PASSWORD=s3cret-not-to-leak
unset ZOO_REGISTRY_AUTH_HOSTS

# A token service on another host (localhost is not 127.0.0.1 by name): refused, not contacted.
echo "http://localhost:$token_port/token" > realm.txt
expect_exit 1 timeout -k 5 60 "$ZOO" ls --store "$store" --ca-file cert.pem 2> other-host.err
grep -q "sends logins to another host, localhost" other-host.err || fail "$(cat other-host.err)"
grep -q "ZOO_REGISTRY_AUTH_HOSTS=localhost" other-host.err || fail "$(cat other-host.err)"
[[ ! -s token-requests.log ]] || fail "the other host's token service was contacted: $(cat token-requests.log)"

# Allowed, but plain http to a host that is not loopback: the password is not sent.
echo "http://zoo-realm.invalid/token" > realm.txt
ZOO_REGISTRY_AUTH_HOSTS="example.org, zoo-realm.invalid" expect_exit 1 timeout -k 5 60 "$ZOO" ls --store "$store" --ca-file cert.pem 2> plain.err
grep -q "is plain http: zoo sends a password only over https" plain.err || fail "$(cat plain.err)"

# Allowed, on loopback: plain http is fine there, and the token service gets the login.
echo "http://localhost:$token_port/token" > realm.txt
ZOO_REGISTRY_AUTH_HOSTS=localhost timeout -k 5 60 "$ZOO" ls --store "$store" --ca-file cert.pem 2> allowed.err || true
jsonl_check token-requests.log "len(records) >= 1 and records[0]['authorization'].startswith('Basic ')"
echo ok
