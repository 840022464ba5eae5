"""Serve a build as it will be published: each published key maps to its file in dist/.

The output folder is laid out per channel (dist/web/..., dist/media/...) while the published site
is not (web at the root, renditions under media/); this server answers every key from the right
file by the manifest's mapping, so a build can be checked in a browser before it is published.
Only files of the build are served, and none reached through a symlink (a link planted in the
output folder is a 404, wherever it points); a path is decoded once and must name a key.

Under ``/_contentpipe/`` are the preview's own pages: every document in a searchable list, and
each document on every channel side by side (review.py). With a ``Live`` session (``serve``),
HTML answers carry a small script that listens on ``/_contentpipe/events`` and reloads the page
when its bytes changed, and requests made while a build writes wait for it to finish (live.py).
The email's HTML is answered with the site's absolute URLs pointed at this server, so its images
load from the build; the files themselves stay as they will be published.
"""

from __future__ import annotations

import json
import logging
import posixpath
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from contentpipe import review
from contentpipe.live import REVIEW_PREFIX, Live, Served, Site
from contentpipe.safefiles import read_inside

log = logging.getLogger(__name__)

HOME_PATH = "/" + REVIEW_PREFIX
DOC_PATH = HOME_PATH + "doc/"
EVENTS_PATH = HOME_PATH + "events"
SEND_PATH = HOME_PATH + "send-test"
PING_SECONDS = 15.0
MAX_FORM_BYTES = 16_384

# A test send: (document source, recipients) -> the line to show the editor; raises ContentpipeError.
SendTest = Callable[[str, list[str]], str]


class PublishedTree:
    """The site being served (a ``Live`` session's, or the build in ``out_dir``), read safely."""

    def __init__(self, out_dir: Path, live: Live | None = None, root: Path | None = None) -> None:
        self.out_dir = out_dir.resolve()
        self.live = live
        self._site = live.site if live is not None else Site.from_manifest(self.out_dir, root or self.out_dir)
        self._env: Any = None

    @property
    def site(self) -> Site:
        return self.live.site if self.live is not None else self._site

    def reading(self) -> AbstractContextManager[object]:
        """Held while a request reads files: a build's write stage waits for it, and it for the write stage."""
        return self.live.gate.reading() if self.live is not None else nullcontext()

    def environment(self) -> Any:
        if self._env is None:
            self._env = review.environment()
        return self._env

    def lookup(self, url_path: str) -> tuple[str, Served] | None:
        key = posixpath.normpath(unquote(url_path)).lstrip("/")
        key = "" if key == "." else key
        files = self.site.files
        for candidate in (key, f"{key}/index.html" if key else "index.html"):
            if candidate in files:
                return candidate, files[candidate]
        return None

    def read_key(self, key: str) -> bytes | None:
        served = self.site.files.get(key)
        return self.read(self.out_dir / served.path) if served is not None else None

    def read(self, path: Path) -> bytes | None:
        """The file's bytes: a regular file inside the output folder, reached through no symlink at all."""
        return read_inside(self.out_dir, path)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, tree: PublishedTree, send_test: SendTest | None, *args: object) -> None:
        self.tree = tree
        self.send_test = send_test
        super().__init__(*args)  # type: ignore[arg-type]

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_POST(self) -> None:
        if urlsplit(self.path).path != SEND_PATH or self.send_test is None:
            self._error(HTTPStatus.NOT_FOUND, "not in the build")
            return
        if not self._same_origin():
            self._json(HTTPStatus.FORBIDDEN, {"ok": False, "message": "refused: the form was not sent from this "
                                                                        "preview"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_FORM_BYTES:
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"ok": False, "message": "form too large"})
            return
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        source = (form.get("source") or [""])[0]
        to = [a.strip() for value in form.get("to", []) for a in value.split(",") if a.strip()]
        from contentpipe.errors import ContentpipeError

        try:
            with self.tree.reading():
                message = self.send_test(source, to)
        except ContentpipeError as err:
            self._json(HTTPStatus.BAD_REQUEST, {"ok": False, "message": f"not sent: {err}"})
            return
        self._json(HTTPStatus.OK, {"ok": True, "message": message})

    def _same_origin(self) -> bool:
        """A form post from this server's own page (a page elsewhere must not send mail through it)."""
        origin = self.headers.get("Origin") or self.headers.get("Referer") or ""
        host = self.headers.get("Host") or ""
        return bool(host) and urlsplit(origin).netloc == host

    def _answer(self, body: bool) -> None:
        path = urlsplit(self.path).path
        tree = self.tree
        if path.startswith(HOME_PATH) or path.rstrip("/") == HOME_PATH.rstrip("/"):
            self._own(path, body)
            return
        with tree.reading():
            found = tree.lookup(path)
            data = tree.read(tree.out_dir / found[1].path) if found is not None else None
            site = tree.site
        if found is None or data is None:
            self._error(HTTPStatus.NOT_FOUND, "not in the build")
            return
        key, served = found
        if not path.endswith("/") and key.endswith("index.html") and not path.endswith("index.html"):
            self._redirect(path + "/")
            return
        if served.content_type.startswith("text/html"):
            if served.path.startswith("email/") and site.base_url:
                data = data.replace(site.base_url.encode(), b"/")  # its images and links, from this server
            if tree.live is not None:
                data = inject(data, key)
        self._send(data, served.content_type, body)

    def _own(self, path: str, body: bool) -> None:
        tree = self.tree
        if path in (HOME_PATH.rstrip("/"), HOME_PATH + "review", HOME_PATH + "review/"):
            self._redirect(HOME_PATH)
        elif path == HOME_PATH:
            with tree.reading():
                page = review.home_page(tree.environment(), tree.site, tree.live is not None)
            self._send(page, "text/html; charset=utf-8", body)
        elif path.startswith(DOC_PATH):
            source = unquote(path[len(DOC_PATH):])
            with tree.reading():
                reader = review.Reader(tree.site, tree.read_key)
                page = review.document_page(tree.environment(), reader, source, tree.live is not None,
                                            self.send_test is not None)
            if page is None:
                self._error(HTTPStatus.NOT_FOUND, "no such document in the build")
            else:
                self._send(page, "text/html; charset=utf-8", body)
        elif path == EVENTS_PATH and tree.live is not None:
            self._events(tree.live)
        elif (data := review.asset(path[len(HOME_PATH):])) is not None:
            kind = "text/javascript" if path.endswith(".js") else "text/css"
            self._send(data, f"{kind}; charset=utf-8", body)
        else:
            self._error(HTTPStatus.NOT_FOUND, "not in the build")

    def _events(self, live: Live) -> None:
        """The push channel: a hello with the current errors, then one event per build, pings between."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        q = live.events.subscribe()
        try:
            from contentpipe.live import sse

            self.wfile.write(sse("hello", live.hello()).encode())
            self.wfile.flush()
            while not getattr(self.server, "closing", threading.Event()).is_set():
                try:
                    message = q.get(timeout=PING_SECONDS)
                except queue.Empty:
                    message = ": ping\n\n"
                self.wfile.write(message.encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the page went away
        finally:
            live.events.unsubscribe(q)

    def _send(self, data: bytes, content_type: str, body: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _json(self, status: HTTPStatus, value: dict[str, Any]) -> None:
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _error(self, status: HTTPStatus, message: str) -> None:
        self.send_error(status, message)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


def inject(page: bytes, key: str) -> bytes:
    """The live-reload script, before the page's last </body> (or at its end)."""
    from html import escape

    tag = f'<script src="/_contentpipe/live.js" data-key="{escape(key)}" async></script>'.encode()
    at = page.lower().rfind(b"</body>")
    return page[:at] + tag + page[at:] if at >= 0 else page + tag


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True  # an open push channel must not keep the process alive
    tree: PublishedTree

    def __init__(self, address: tuple[str, int], tree: PublishedTree, send_test: SendTest | None = None) -> None:
        self.tree = tree
        self.closing = threading.Event()
        super().__init__(address, partial(_Handler, tree, send_test))

    def shutdown(self) -> None:
        self.closing.set()
        super().shutdown()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that went away mid-answer (a reload, a closed tab) is no error worth a traceback."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def make_server(out_dir: Path, host: str = "127.0.0.1", port: int = 8000, live: Live | None = None,
                send_test: SendTest | None = None, root: Path | None = None) -> PreviewServer:
    """A server for the build in ``out_dir`` (not started); port 0 picks a free port."""
    return PreviewServer((host, port), PublishedTree(out_dir, live, root), send_test)


def serve_in_thread(out_dir: Path, host: str = "127.0.0.1", port: int = 0, live: Live | None = None,
                    send_test: SendTest | None = None, root: Path | None = None) -> PreviewServer:
    server = make_server(out_dir, host, port, live, send_test, root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def is_loopback(host: str) -> bool:
    """Whether ``host`` binds to this machine only (serve warns otherwise)."""
    import ipaddress
    import socket

    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return all(ipaddress.ip_address(info[4][0]).is_loopback
                   for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP))
    except (OSError, ValueError):
        return False
