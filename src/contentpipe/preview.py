"""Serve a build as it will be published: each published key maps to its file in dist/.

The output folder is laid out per channel (dist/web/..., dist/media/...) while
the published site is not (web at the root, renditions under media/); this
server reads the manifest and answers every key from the right file, so a
build can be checked in a browser before it is published.
"""

from __future__ import annotations

import logging
import posixpath
import threading
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from contentpipe import urls
from contentpipe.manifest import Manifest

log = logging.getLogger(__name__)


class PublishedTree:
    """Published key -> (file, content type), from the manifest of a build."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.reload()

    def reload(self) -> None:
        manifest = Manifest.read(self.out_dir / urls.MANIFEST_NAME)
        self.files = {o.key: (self.out_dir / o.path, o.content_type) for o in (manifest.outputs if manifest else ())}

    def lookup(self, url_path: str) -> tuple[Path, str] | None:
        key = posixpath.normpath(unquote(url_path)).lstrip("/")
        key = "" if key == "." else key
        for candidate in (key, f"{key}/index.html" if key else "index.html"):
            if candidate in self.files:
                return self.files[candidate]
        return None


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, tree: PublishedTree, *args: object) -> None:
        self.tree = tree
        super().__init__(*args)  # type: ignore[arg-type]

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        path = urlsplit(self.path).path
        found = self.tree.lookup(path)
        if found is None:
            self.send_error(HTTPStatus.NOT_FOUND, "not in the build")
            return
        if not path.endswith("/") and found[0].name == "index.html" and not path.endswith("index.html"):
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", path + "/")
            self.end_headers()
            return
        data = found[0].read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", found[1])
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_server(out_dir: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server for the build in ``out_dir`` (not started); port 0 picks a free port."""
    tree = PublishedTree(out_dir)
    server = ThreadingHTTPServer((host, port), partial(_Handler, tree))
    server.tree = tree  # type: ignore[attr-defined]
    return server


def serve_in_thread(out_dir: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    server = make_server(out_dir, host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
