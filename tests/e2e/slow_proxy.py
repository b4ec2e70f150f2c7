"""A registry that is slow to take tags: an HTTPS proxy in front of a real
registry that holds every tag upload (PUT /v2/NAME/manifests/TAG, TAG not
a digest) for DELAY seconds before passing it on, as a loaded registry or
a slow network can. Everything else passes at once.

Usage: slow_proxy.py PORT_FILE UPSTREAM_HOST:PORT CERT KEY CA DELAY
Writes the port it listens on (127.0.0.1) to PORT_FILE once it accepts.
"""
import http.client
import os
import http.server
import re
import ssl
import sys
import time

port_file, upstream, cert, key, ca, delay = sys.argv[1:7]
delay = float(delay)
TAG_PUT = re.compile(r"^/v2/.+/manifests/(?!sha256:)[^/]+$")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.command == "PUT" and TAG_PUT.match(self.path.split("?")[0]):
            time.sleep(delay)
        context = ssl.create_default_context(cafile=ca)
        connection = http.client.HTTPSConnection(upstream, context=context, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        self.send_response(response.status, response.reason)
        for k, v in response.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        connection.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = forward


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
