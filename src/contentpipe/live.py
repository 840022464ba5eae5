"""What ``serve`` adds to the preview: the last complete build held steady, and a push channel to the browser.

A build renders while the server goes on answering from the files of the last complete build: nothing
in the output folder changes before the engine's write stage. That stage is entered through the
engine's ``write_gate`` (``BuildGate.writing``): it waits for the requests being answered, holds new
ones, and stays closed until the server has taken the new build's file list (``Live.settle``), so no
request sees the files of one build under the file list of another.

After each build the server compares the published keys' hashes with the build before and pushes one
Server-Sent Event to every open preview: the keys whose bytes changed, the keys that are gone, and
the errors for the overlay. A page reloads only when its own key, or a file it loaded, is among them.
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contentpipe import urls
from contentpipe.engine.result import BuildResult, Published
from contentpipe.errors import Problem
from contentpipe.manifest import Manifest

REVIEW_PREFIX = "_contentpipe/"  # the preview's own pages; never a published key (keys never start with "_c…/")
CONTEXT_LINES = 3  # source lines shown around an error's line in the overlay
MAX_SOURCE_BYTES = 1_000_000


@dataclass(frozen=True)
class Served:
    """One published key's file in the output folder."""

    path: str
    sha256: str
    content_type: str


@dataclass(frozen=True)
class Site:
    """One complete build as it will be published: what the preview server answers from."""

    out_dir: Path
    root: Path
    base_url: str
    files: Mapping[str, Served]  # by published key
    documents: Mapping[str, str]  # the manifest's documents entries by source, serialised
    problems: tuple[Problem, ...] = ()
    placed: Mapping[str, Any] = field(default_factory=dict)  # the engine's records of these files, by path
    owners: Mapping[str, str] = field(default_factory=dict)  # a variant's key -> its document's source

    @classmethod
    def from_manifest(cls, out_dir: Path, root: Path, problems: Iterable[Problem] = ()) -> Site:
        """The build in ``out_dir`` as its manifest lists it (empty when there is none)."""
        manifest = Manifest.read(out_dir / urls.MANIFEST_NAME)
        if manifest is None:
            return cls(out_dir, root, "", {}, {}, tuple(problems))
        files = {o.key: Served(o.path, o.sha256, o.content_type) for o in manifest.outputs}
        documents = {source: json.dumps(entry, sort_keys=True) for source, entry in manifest.documents.items()}
        owners = {key: source for source, entry in manifest.documents.items()
                  for kinds in entry.get("variants", {}).values() for key in kinds.values()}
        return cls(out_dir, root, manifest.base_url, files, documents, tuple(problems), {}, owners)

    def after(self, published: Published, problems: Iterable[Problem], base_url: str) -> tuple[Site, Change]:
        """The site a build left, and what changed from this one.

        After a patch of the build this site shows, only the files it rewrote are looked at; otherwise a
        file's record is passed over when it is the same object (a kept engine's) or has the same hash.
        """
        prev = self.placed
        if prev:
            files = dict(self.files)
            patched = published.patched is prev  # a patch adds and removes no file
            for path in () if patched else prev.keys() - published.files.keys():
                files.pop(prev[path].key, None)
            changed = []
            for path in published.rewritten if patched else published.files:
                placed, old = published.files[path], prev.get(path)
                if old is placed or (old is not None and old.sha256 == placed.sha256 and old.key == placed.key):
                    continue
                if old is not None and old.key != placed.key:
                    files.pop(old.key, None)
                files[placed.key] = Served(placed.path, placed.sha256, json.loads(placed.line)["content_type"])
                changed.append(placed.key)
        else:
            files, changed = {}, []
            for placed in published.files.values():
                known = self.files.get(placed.key)
                if known is not None and known.sha256 == placed.sha256 and known.path == placed.path:
                    files[placed.key] = known
                else:
                    files[placed.key] = Served(placed.path, placed.sha256, json.loads(placed.line)["content_type"])
                    changed.append(placed.key)
        removed = sorted(self.files.keys() - files.keys())
        documents = published.documents
        edited = {s for s in self.documents.keys() | documents.keys()  # a kept engine's untouched entry: same text
                  if self.documents.get(s) is not documents.get(s) and self.documents.get(s) != documents.get(s)}
        owners = dict(self.owners) if edited else self.owners
        for source in edited:
            for text, add in ((self.documents.get(source), False), (documents.get(source), True)):
                for kinds in json.loads(text or "{}").get("variants", {}).values():
                    for key in kinds.values():
                        if add:
                            owners[key] = source
                        elif owners.get(key) == source:
                            del owners[key]
        site = Site(self.out_dir, self.root, base_url, files, documents, tuple(problems), published.files, owners)
        changed += self._changed_pages(site, set(changed) | set(removed), edited)
        return site, Change(tuple(sorted(changed)), tuple(removed))

    def with_problems(self, problems: Iterable[Problem]) -> Site:
        return Site(self.out_dir, self.root, self.base_url, self.files, self.documents, tuple(problems),
                    self.placed, self.owners)

    def _changed_pages(self, new: Site, keys: set[str], edited: set[str]) -> list[str]:
        """The preview's own pages whose content changed: a document's, when its entry, a variant or a problem did."""
        pages = edited | {new.owners.get(k) or self.owners.get(k) or "" for k in keys} - {""}
        counts_changed = False
        if self.problems != new.problems:
            old_problems, new_problems = self.problems_by_file(), new.problems_by_file()
            pages |= {f for f in old_problems.keys() | new_problems.keys()
                      if old_problems.get(f) != new_problems.get(f) and f.startswith("assets/") and f.endswith(".md")}
            counts_changed = _counts(old_problems) != _counts(new_problems)
        found = [document_page_key(source) for source in sorted(pages)]
        if edited or counts_changed:
            found.append(REVIEW_PREFIX)  # the list shows titles, variants and problem counts
        return found

    def problems_by_file(self) -> dict[str, list[tuple[str, int | None, str]]]:
        found: dict[str, list[tuple[str, int | None, str]]] = {}
        for p in self.problems:
            found.setdefault(relative(p.where.path, self.root), []).append((p.severity, p.where.line, p.message))
        return found


@dataclass(frozen=True)
class Change:
    changed: tuple[str, ...]  # keys whose bytes changed, or that are new; the preview's own pages among them
    removed: tuple[str, ...]


def _counts(problems: Mapping[str, list[tuple[str, int | None, str]]]) -> dict[str, tuple[int, int]]:
    return {f: (sum(s == "error" for s, _, _ in found), len(found)) for f, found in problems.items()}


def document_page_key(source: str) -> str:
    return f"{REVIEW_PREFIX}doc/{source}"


def relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


class BuildGate:
    """Requests share it; a build's write stage closes it (after the requests in flight) until it is opened."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._closed = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            while self._closed:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """The engine's write gate. It stays closed after the stage: the build's files are not yet listed."""
        with self._cond:
            self._closed = True
            while self._readers:
                self._cond.wait()
        yield

    def open(self) -> None:
        with self._cond:
            self._closed = False
            self._cond.notify_all()


class Events:
    """Server-Sent Events to every open preview: each subscriber has its own queue."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: list[queue.Queue[str]] = []

    def subscribe(self) -> queue.Queue[str]:
        q: queue.Queue[str] = queue.Queue(maxsize=256)
        with self._lock:
            self._queues.append(q)
        return q

    def unsubscribe(self, q: queue.Queue[str]) -> None:
        with self._lock:
            if q in self._queues:
                self._queues.remove(q)

    def publish(self, name: str, data: Mapping[str, Any]) -> None:
        message = sse(name, data)
        with self._lock:
            queues = list(self._queues)
        for q in queues:
            try:
                q.put_nowait(message)
            except queue.Full:  # a client that stopped reading: it is dropped, and reconnects by itself
                self.unsubscribe(q)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._queues)


def sse(name: str, data: Mapping[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@dataclass
class Live:
    """The serve session: the current site, the gate, the push channel, and which files the editor touched."""

    site: Site
    gate: BuildGate = field(default_factory=BuildGate)
    events: Events = field(default_factory=Events)
    session: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    build: int = 0
    touched: set[str] = field(default_factory=set)  # project-relative paths changed since serve started
    errors: list[dict[str, Any]] = field(default_factory=list)  # what the overlay shows now
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def settle(self, result: BuildResult | None, changed: Iterable[str] = (), failure: str = "",
               seconds: float = 0.0, base_url: str | None = None) -> dict[str, Any]:
        """Take a build's outcome (``result`` None: it raised), open the gate, push the event; returns it."""
        try:
            with self._lock:
                self.touched.update(changed)
                change = Change((), ())
                if result is not None and result.published is not None:
                    self.site, change = self.site.after(result.published, result.problems,
                                                        base_url if base_url is not None else self.site.base_url)
                elif result is not None:
                    self.site = self.site.with_problems(result.problems)
                self.build += 1
                self.errors = overlay_errors(self.site, self.touched, failure)
                event = {"build": self.build, "changed": list(change.changed), "removed": list(change.removed),
                         "errors": self.errors, "ms": round(seconds * 1000), "way": result.way if result else "",
                         "paths": sorted(changed)}
        finally:
            self.gate.open()
        self.events.publish("build", event)
        return event

    def hello(self) -> dict[str, Any]:
        with self._lock:
            return {"build": self.build, "session": self.session, "errors": self.errors}


def overlay_errors(site: Site, touched: set[str], failure: str = "") -> list[dict[str, Any]]:
    """Errors for the browser's overlay, with their source lines: those in files the editor changed, and every
    error outside assets/ (config, packs, templates), which breaks more than one page."""
    shown = []
    if failure:
        shown.append({"file": "", "line": None, "message": f"the build failed: {failure}", "lines": []})
    for p in site.problems:
        if p.severity != "error":
            continue
        name = relative(p.where.path, site.root)
        if name not in touched and name.startswith("assets/"):
            continue
        shown.append({"file": name, "line": p.where.line, "key": p.where.key,
                      "message": p.message + (f" ({p.hint})" if p.hint else ""),
                      "lines": source_lines(p.where.path if p.where.path.is_absolute() else site.root / p.where.path,
                                            p.where.line)})
    return shown[:20]


def source_lines(path: Path, line: int | None) -> list[list[Any]]:
    """[number, text] of the lines around ``line`` (1-based), as the file is now."""
    if not line:
        return []
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_SOURCE_BYTES)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    lines = text.splitlines()
    first = max(1, line - CONTEXT_LINES)
    return [[n, lines[n - 1][:300]] for n in range(first, min(len(lines), line + CONTEXT_LINES) + 1)]
