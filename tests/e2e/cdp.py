#!/usr/bin/python3
"""Drives headless Chromium through its DevTools protocol (a WebSocket),
with Python's standard library only: loads a page, then runs each step (a
JavaScript expression, awaited) in it, and prints one JSON object: each
step's value, and every console message or uncaught exception the page
produced.

    cdp.py URL 'document.querySelector("td.click").click()' 'document.title'

A step may click, type or read the DOM; the reports' tests use it to click
a confusion-matrix cell as a user would and read what it shows.
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request


class Socket:
    """A WebSocket client: text frames, masked as a client's must be."""

    def __init__(self, url):
        host_port, path = url[len("ws://"):].split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"WebSocket handshake failed: {head!r}")

    def send(self, text):
        data = text.encode()
        header = bytes([0x81])
        if len(data) < 126:
            header += bytes([0x80 | len(data)])
        elif len(data) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(data))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(data))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise RuntimeError("the browser closed the connection")
            out += chunk
        return out

    def receive(self):
        message = b""
        while True:
            b0, b1 = self.exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self.exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self.exact(8))[0]
            message += self.exact(n)
            if b0 & 0x80:
                return message.decode()


def main():
    url, steps = sys.argv[1], sys.argv[2:]
    profile = tempfile.mkdtemp(prefix="zoo-cdp-")
    browser = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().count("\n") >= 1:
                break
            time.sleep(0.05)
        port = open(port_file).read().split("\n")[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        ws = Socket(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        ids = iter(range(1, 1 << 30))
        events = []

        def call(method, **params):
            n = next(ids)
            ws.send(json.dumps({"id": n, "method": method, "params": params}))
            while True:
                message = json.loads(ws.receive())
                if message.get("id") == n:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return message["result"]
                events.append(message)

        call("Runtime.enable")
        call("Page.enable")
        call("Page.navigate", url=url)
        while not any(e.get("method") == "Page.loadEventFired" for e in events):
            events.append(json.loads(ws.receive()))
        values = []
        for step in steps:
            result = call("Runtime.evaluate", expression=step, returnByValue=True, awaitPromise=True)
            if "exceptionDetails" in result:
                values.append({"exception": result["exceptionDetails"].get("exception", {}).get("description")})
            else:
                values.append(result["result"].get("value"))
        console = [" ".join(str(a.get("value", a.get("description"))) for a in e["params"]["args"])
                   for e in events if e.get("method") == "Runtime.consoleAPICalled"]
        console += [e["params"]["exceptionDetails"].get("exception", {}).get("description", "exception")
                    for e in events if e.get("method") == "Runtime.exceptionThrown"]
        print(json.dumps({"values": values, "console": console}))
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
