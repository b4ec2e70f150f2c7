#!/usr/bin/python3
"""A loopback HTTP file server for the model download tests, able to
misbehave on request. Serves DIR's files at /MODE/NAME:

  /ok/NAME       the file; honours "Range: bytes=N-" with 206 and Content-Range
  /drop3/NAME    the first 3 requests for NAME get half of what they ask for,
                 then the connection closes; later ones are served as /ok
  /bad/NAME      200 with the right length but other bytes
  /missing/NAME  404
  /stall/NAME    200 and its headers, then no byte for 120 s
  /slow/NAME     the file in 20 pieces, 0.1 s apart (for concurrent clients)

A request in absolute form (GET http://HOST/MODE/NAME, as sent to a proxy)
is served the same way and logged with "proxied": true. Every request is
logged to LOG as one JSON line: path, range, proxied.

    model_server.py DIR LOG PORT_FILE    (writes the port once listening)
"""
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

ROOT, LOG, PORT_FILE = sys.argv[1:4]
lock = threading.Lock()
drops = {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        proxied = self.path.startswith("http://")
        path = urllib.parse.urlsplit(self.path).path if proxied else self.path
        range_header = self.headers.get("Range")
        with lock, open(LOG, "a") as log:
            log.write(json.dumps({"path": path, "range": range_header, "proxied": proxied}) + "\n")
        parts = path.strip("/").split("/", 1)
        if len(parts) != 2 or not os.path.isfile(os.path.join(ROOT, parts[1])):
            return self.answer(404, b"not found\n")
        mode, name = parts
        data = open(os.path.join(ROOT, name), "rb").read()
        if mode == "missing":
            return self.answer(404, b"not found\n")
        if mode == "bad":
            return self.answer(200, bytes(reversed(data)))
        start = 0
        if range_header and range_header.startswith("bytes=") and range_header.endswith("-"):
            start = int(range_header[6:-1])
        if start >= len(data) and start > 0:
            return self.answer(416, b"")
        body = data[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if mode == "drop3":
            with lock:
                drops[name] = drops.get(name, 0) + 1
                dropping = drops[name] <= 3
            if dropping:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
        if mode == "stall":
            self.wfile.flush()
            time.sleep(120)
            return
        if mode == "slow":
            step = max(1, len(body) // 20)
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(0.1)
            return
        self.wfile.write(body)

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
