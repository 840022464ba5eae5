"""Serve a build as it will be published: each published key maps to its file in dist/.

The output folder is laid out per channel (dist/web/..., dist/media/...) while
the published site is not (web at the root, renditions under media/); this
server reads the manifest and answers every key from the right file, so a
build can be checked in a browser before it is published. Only files of the
manifest are served, and none reached through a symlink (a link planted in the
output folder is a 404, wherever it points). ``/_contentpipe/review``
lists every document with links to all of its variants (from the manifest's
``documents`` table), so a reviewer can open them side by side.
"""

from __future__ import annotations

import html
import logging
import os
import posixpath
import threading
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from contentpipe import urls
from contentpipe.manifest import Manifest

log = logging.getLogger(__name__)

REVIEW_PATH = "/_contentpipe/review"


class PublishedTree:
    """Published key -> (file, content type), from the manifest of a build."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir.resolve()
        self.reload()

    def reload(self) -> None:
        manifest = Manifest.read(self.out_dir / urls.MANIFEST_NAME)
        self.files = {o.key: (self.out_dir / o.path, o.content_type) for o in (manifest.outputs if manifest else ())}
        self.documents: dict[str, dict[str, Any]] = manifest.documents if manifest else {}

    def review_page(self) -> bytes:
        """Every document and the links to all of its variants, channel by channel."""
        rows = []
        for source, doc in sorted(self.documents.items(), key=lambda item: (item[1]["id"], item[1]["locale"])):
            cells = []
            for channel, kinds in sorted(doc["variants"].items()):
                links = " ".join(f'<a href="/{html.escape(key)}">{html.escape(kind)}</a>'
                                 for kind, key in sorted(kinds.items()))
                cells.append(f"<li><b>{html.escape(channel)}</b>: {links}</li>")
            rows.append(f"<section><h2 lang=\"{html.escape(doc['locale'])}\">{html.escape(doc['title'])}</h2>"
                        f"<p>{html.escape(source)} · {html.escape(doc['locale'])} · campaign "
                        f"{html.escape(doc['campaign'] or '–')} · canonical "
                        f"<a href=\"{html.escape(doc['canonical_url'])}\">{html.escape(doc['canonical_url'])}</a></p>"
                        f"<ul>{''.join(cells)}</ul></section>")
        page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<title>Review: every variant</title></head><body><h1>Every document, every channel</h1>"
                f"{''.join(rows) or '<p>No documents in this build.</p>'}</body></html>")
        return page.encode("utf-8")

    def lookup(self, url_path: str) -> tuple[Path, str] | None:
        key = posixpath.normpath(unquote(url_path)).lstrip("/")
        key = "" if key == "." else key
        for candidate in (key, f"{key}/index.html" if key else "index.html"):
            if candidate in self.files:
                found = self.files[candidate]
                return found if self.servable(found[0]) else None
        return None

    def servable(self, path: Path) -> bool:
        """A regular file inside the output folder, reached through no symlink at all."""
        if not path.is_relative_to(self.out_dir):
            return False
        current = self.out_dir
        for part in path.relative_to(self.out_dir).parts:
            current = current / part
            if part == ".." or current.is_symlink():
                return False
        return path.resolve().is_relative_to(self.out_dir) and path.is_file()

    @staticmethod
    def read(path: Path) -> bytes | None:
        """The file's bytes, refusing a link swapped in since :meth:`servable` looked."""
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            return fh.read()


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
        if found is None and path.rstrip("/") == REVIEW_PATH:
            self._send(self.tree.review_page(), "text/html; charset=utf-8", body)
            return
        if found is None:
            self.send_error(HTTPStatus.NOT_FOUND, "not in the build")
            return
        if not path.endswith("/") and found[0].name == "index.html" and not path.endswith("index.html"):
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", path + "/")
            self.end_headers()
            return
        data = self.tree.read(found[0])
        if data is None:
            self.send_error(HTTPStatus.NOT_FOUND, "not in the build")
            return
        self._send(data, found[1], body)

    def _send(self, data: bytes, content_type: str, body: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
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
