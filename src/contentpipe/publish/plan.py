"""The publish plan: what to upload (and why), what to delete, in which order. Pure: no I/O.

An object is unchanged only when the target holds the same bytes (sha256 from
our state file or the object's metadata, or an ETag equal to the MD5 of a
single-part upload) *and* the same headers (a digest of Content-Type,
Cache-Control, Content-Encoding and ACL). Timestamps never count.

Order, so no reader is served a page whose images are missing: hashed
renditions first, then other non-page files, then pages, then feeds and
sitemaps; deletions of stale objects last.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property

PHASES = ("renditions", "assets", "pages", "feeds")
PAGE_TYPES = ("text/html",)
FEED_SUFFIXES = (".xml", ".atom", ".rss")


@dataclass(frozen=True)
class LocalObject:
    key: str  # relative to the target's prefix
    path: str  # file in the output folder
    sha256: str  # of the bytes as uploaded (after any compression)
    size: int
    headers: Mapping[str, str]  # Content-Type, Cache-Control, Content-Encoding...
    kind: str = ""  # the manifest's kind: "rendition", "page", "feed", "static"...

    @cached_property
    def header_digest(self) -> str:
        return header_digest(self.headers)

    @cached_property
    def md5(self) -> str:
        """Read only for objects the target's state cannot vouch for (their ETag is compared)."""
        with open(self.path, "rb") as fh:
            return hashlib.file_digest(fh, "md5").hexdigest()


@dataclass(frozen=True)
class RemoteObject:
    """What the target says of one object; sha256 and header digest when known."""

    size: int
    etag: str = ""
    sha256: str | None = None
    header_digest: str | None = None


@dataclass(frozen=True)
class Upload:
    key: str
    reason: str  # "new" | "changed" | "headers"
    phase: int


@dataclass
class PublishPlan:
    uploads: list[Upload] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    unchanged: int = 0

    def by_phase(self) -> list[list[Upload]]:
        phases: list[list[Upload]] = [[] for _ in PHASES]
        for up in self.uploads:
            phases[up.phase].append(up)
        return phases

    def to_json(self) -> dict[str, object]:
        return {"uploads": [{"key": u.key, "reason": u.reason, "phase": PHASES[u.phase]} for u in self.uploads],
                "deletes": list(self.deletes), "unchanged": self.unchanged}


def header_digest(headers: Mapping[str, str]) -> str:
    return _digest(tuple(headers.items()))  # a site has a handful of distinct header sets


@cache
def _digest(items: tuple[tuple[str, str], ...]) -> str:
    normal = {k.lower(): v for k, v in items}
    return hashlib.sha256(json.dumps(normal, sort_keys=True).encode()).hexdigest()[:16]


def phase_of(obj: LocalObject) -> int:
    if obj.kind == "rendition":
        return 0
    ctype = obj.headers.get("Content-Type", "")
    if ctype.startswith(PAGE_TYPES):
        return 2
    if obj.key.endswith(FEED_SUFFIXES) or obj.kind in ("feed", "sitemap") or "xml" in ctype:
        return 3
    return 1


def needs_head(local: LocalObject, remote: RemoteObject) -> bool:
    """True when only the object's own metadata can tell whether it (or its headers) changed.

    That is an object the state file does not describe: one changed by someone
    else, or sent by a publish that was killed before it wrote the state.
    """
    return remote.sha256 is None or remote.header_digest is None


def reason(local: LocalObject, remote: RemoteObject | None) -> str | None:
    """Why ``local`` must be uploaded, or None when the target already has it."""
    if remote is None:
        return "new"
    same_bytes = (remote.sha256 == local.sha256 if remote.sha256 is not None
                  else remote.etag == local.md5 and remote.size == local.size)
    if not same_bytes:
        return "changed"
    if remote.header_digest is not None and remote.header_digest != local.header_digest:
        return "headers"
    if remote.header_digest is None:
        return "headers"  # bytes match but we cannot tell the headers: send them again
    return None


def make_plan(local: list[LocalObject], remote: Mapping[str, RemoteObject], delete: bool = True) -> PublishPlan:
    plan = PublishPlan()
    keys = set()
    for obj in sorted(local, key=lambda o: (phase_of(o), o.key)):
        keys.add(obj.key)
        why = reason(obj, remote.get(obj.key))
        if why is None:
            plan.unchanged += 1
        else:
            plan.uploads.append(Upload(obj.key, why, phase_of(obj)))
    if delete:
        plan.deletes = sorted(k for k in remote if k not in keys)
    return plan
